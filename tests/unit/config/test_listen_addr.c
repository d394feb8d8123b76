/* --metrics-addr: HOST:PORT, strictly. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "check.h"
#include "config/listen_addr.h"

static void test_good(void)
{
	struct listen_addr a;
	char err[256];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
	struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;

	CHECK(listen_addr_parse("127.0.0.1:9464", &a, err, sizeof(err)) == 0);
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 9464);
	CHECK(sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHECK(a.len == sizeof(*sin));
	CHECK_STR(a.text, "127.0.0.1:9464");
	CHECK(listen_addr_parse("0.0.0.0:1", &a, err, sizeof(err)) == 0);
	CHECK(listen_addr_parse("10.1.2.3:65535", &a, err, sizeof(err)) == 0);
	CHECK(ntohs(sin->sin_port) == 65535);
	CHECK(listen_addr_parse("[::1]:9464", &a, err, sizeof(err)) == 0);
	CHECK(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 9464);
	CHECK(!memcmp(&sin6->sin6_addr, &lo6, sizeof(lo6)));
	CHECK(a.len == sizeof(*sin6));
	CHECK(listen_addr_parse("[::]:9464", &a, err, sizeof(err)) == 0);
	CHECK(listen_addr_parse("[fd00:ec2::254]:80", &a, err, sizeof(err)) == 0);
	CHECK(listen_addr_parse("[::ffff:127.0.0.1]:80", &a, err, sizeof(err)) == 0);
}

/* Each refused, with a reason that says what to give instead. */
static void test_bad(void)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "HOST:PORT" },
		{ "9464", "HOST:PORT" },
		{ ":9464", "IP address before the port" },
		{ "127.0.0.1", "HOST:PORT" },
		{ "127.0.0.1:", "port" },
		{ "127.0.0.1:0", "port" },
		{ "127.0.0.1:65536", "port" },
		{ "127.0.0.1:09464", "port" },
		{ "127.0.0.1:+80", "port" },
		{ "127.0.0.1:-1", "port" },
		{ "127.0.0.1:80 ", "port" },
		{ "127.0.0.1:8o", "port" },
		{ "127.0.0.1:123456", "port" },
		{ "localhost:9464", "names are not resolved" },
		{ "127.1:9464", "not an IPv4 address" },
		{ "0127.0.0.1:9464", "not an IPv4 address" },
		{ "256.0.0.1:9464", "not an IPv4 address" },
		{ " 127.0.0.1:9464", "not an IPv4 address" },
		{ "::1:9464", "brackets" },
		{ "[::1]9464", "[IPV6]:PORT" },
		{ "[::1:9464", "[IPV6]:PORT" },
		{ "[]:9464", "IP address before the port" },
		{ "[127.0.0.1]:9464", "not an IPv6 address" },
		{ "[fe80::1%eth0]:9464", "not an IPv6 address" },
		{ "[::1]:", "port" },
		{ "[::1]:9464]", "port" },
		{ "127.0.0.1]:9464", "not an IPv4 address" },
		{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:1",
		  "too long for an IP address" },
		{ "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:1",
		  "too long for HOST:PORT" },
	};
	struct listen_addr a;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (listen_addr_parse(bad[i].in, &a, err, sizeof(err)) != -1 ||
		    !strstr(err, bad[i].why)) {
			printf("  '%s': '%s', want '%s'\n", bad[i].in, err, bad[i].why);
			CHECK(0);
		}
	}
}

int main(void)
{
	RUN(test_good);
	RUN(test_bad);
	return CHECK_DONE();
}
