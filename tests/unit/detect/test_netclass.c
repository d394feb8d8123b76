/* Unit tests for user/netclass.c: CIDR parsing, containment, the internal
 * set and destination classification. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "detect/netclass.h"

/* Address text to (family, bytes) for the tests. */
struct addr {
	int family;
	uint8_t b[16];
};

static struct addr parse_addr(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, s, a.b) != 1)
		a.family = -1; /* makes every check on it fail loudly */
	return a;
}

static enum dest_class classify(const struct netclass *nc, const char *s)
{
	struct addr a = parse_addr(s);

	return netclass_classify(nc, a.family, a.b);
}

static bool contains(const char *cidr, const char *addr)
{
	struct cidr c;
	struct addr a = parse_addr(addr);

	if (cidr_parse(cidr, &c, NULL, 0) != 0)
		return false;
	return cidr_contains(&c, a.family, a.b);
}

static void test_parse_ipv4(void)
{
	struct cidr c;
	char err[128] = "";

	CHECK(cidr_parse("10.0.0.0/8", &c, err, sizeof(err)) == 0);
	CHECK(c.family == AF_INET);
	CHECK(c.prefix == 8);
	CHECK(c.addr[0] == 10 && c.addr[1] == 0 && c.addr[3] == 0);

	CHECK(cidr_parse("192.168.1.7", &c, err, sizeof(err)) == 0);
	CHECK(c.family == AF_INET && c.prefix == 32);
	CHECK(c.addr[0] == 192 && c.addr[1] == 168 && c.addr[2] == 1 && c.addr[3] == 7);

	CHECK(cidr_parse("0.0.0.0/0", &c, err, sizeof(err)) == 0);
	CHECK(c.prefix == 0);
	/* Host bits are cleared so equal networks compare equal. */
	CHECK(cidr_parse("10.1.2.3/8", &c, err, sizeof(err)) == 0);
	CHECK(c.addr[0] == 10 && c.addr[1] == 0 && c.addr[2] == 0 && c.addr[3] == 0);
	CHECK(cidr_parse("172.31.255.255/12", &c, err, sizeof(err)) == 0);
	CHECK(c.addr[1] == 16 && c.addr[2] == 0);
}

static void test_parse_ipv6(void)
{
	struct cidr c;
	char err[128] = "";

	CHECK(cidr_parse("fd00::/8", &c, err, sizeof(err)) == 0);
	CHECK(c.family == AF_INET6 && c.prefix == 8 && c.addr[0] == 0xfd);
	CHECK(cidr_parse("::1", &c, err, sizeof(err)) == 0);
	CHECK(c.family == AF_INET6 && c.prefix == 128 && c.addr[15] == 1);
	CHECK(cidr_parse("2001:db8::/32", &c, err, sizeof(err)) == 0);
	CHECK(c.prefix == 32 && c.addr[0] == 0x20 && c.addr[1] == 0x01);
	CHECK(cidr_parse("fe80::1/10", &c, err, sizeof(err)) == 0);
	CHECK(c.addr[0] == 0xfe && c.addr[1] == 0x80 && c.addr[15] == 0);
	CHECK(cidr_parse("::/0", &c, err, sizeof(err)) == 0);
	CHECK(c.prefix == 0);
}

static void test_parse_errors(void)
{
	static const char *const bad[] = {
		"",
		"abc",
		"10.0.0.0/",
		"10.0.0.0/8x",
		"10.0.0.0/-1",
		"10.0.0.0/ 8",
		"10.0.0.0/+8",
		"10.0.0/8",
		"256.0.0.0/8",
		"10.0.0.0/8/8",
		"fd00::/",
		"fd00:::/8",
		"gg::/8",
		" 10.0.0.0/8",
		"10.0.0.0/8 ",
		"10.0.0.0/0008",
		"1.2.3.4.5",
	};
	struct cidr c;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cidr_parse(bad[i], &c, err, sizeof(err)) != -1) {
			printf("  accepted bad input \"%s\"\n", bad[i]);
			CHECK(!"bad CIDR accepted");
		}
		CHECK(err[0] != '\0');
		CHECK(strstr(err, bad[i]) != NULL);
	}
	CHECK(cidr_parse(NULL, &c, err, sizeof(err)) == -1);
	/* A NULL or empty error buffer is allowed. */
	CHECK(cidr_parse("nope", &c, NULL, 0) == -1);
	CHECK(cidr_parse("nope", &c, err, 0) == -1);
	/* A long input is refused without overflowing anything. */
	char longs[600];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	CHECK(cidr_parse(longs, &c, err, sizeof(err)) == -1);
	/* A tiny error buffer is still NUL-terminated. */
	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	CHECK(cidr_parse("bogus", &c, tiny, sizeof(tiny)) == -1);
	CHECK(memchr(tiny, '\0', sizeof(tiny)) != NULL);
}

static void test_parse_prefix_range(void)
{
	struct cidr c;
	char err[160] = "";

	CHECK(cidr_parse("10.0.0.0/33", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "10.0.0.0/33") != NULL);
	CHECK(strstr(err, "prefix") != NULL);
	CHECK(strstr(err, "range") != NULL);
	err[0] = '\0';
	CHECK(cidr_parse("fd00::/129", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "fd00::/129") != NULL);
	CHECK(strstr(err, "range") != NULL);
	CHECK(cidr_parse("10.0.0.0/32", &c, err, sizeof(err)) == 0);
	CHECK(cidr_parse("fd00::/128", &c, err, sizeof(err)) == 0);
	CHECK(cidr_parse("::ffff:10.0.0.1/128", &c, err, sizeof(err)) == 0);
	CHECK(cidr_parse("10.0.0.0/99999", &c, err, sizeof(err)) == -1);
	err[0] = '\0';
	CHECK(cidr_parse("999.1.1.1", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "IPv4") != NULL);
}

static void test_contains(void)
{
	CHECK(contains("10.0.0.0/8", "10.255.255.255"));
	CHECK(contains("10.0.0.0/8", "10.0.0.0"));
	CHECK(!contains("10.0.0.0/8", "11.0.0.0"));
	CHECK(!contains("10.0.0.0/8", "9.255.255.255"));
	CHECK(contains("172.16.0.0/12", "172.31.0.1"));
	CHECK(!contains("172.16.0.0/12", "172.32.0.1"));
	CHECK(!contains("172.16.0.0/12", "172.15.255.255"));
	CHECK(contains("100.64.0.0/10", "100.127.255.255"));
	CHECK(!contains("100.64.0.0/10", "100.128.0.0"));
	CHECK(contains("192.168.1.7", "192.168.1.7"));
	CHECK(!contains("192.168.1.7", "192.168.1.8"));
	CHECK(contains("0.0.0.0/0", "8.8.8.8"));
	CHECK(contains("fc00::/7", "fdff::1"));
	CHECK(contains("fc00::/7", "fc00::"));
	CHECK(!contains("fc00::/7", "fe00::1"));
	CHECK(contains("fe80::/10", "febf::1"));
	CHECK(!contains("fe80::/10", "fec0::1"));
	CHECK(contains("::/0", "2001:db8::1"));
	/* Families never mix in cidr_contains itself. */
	CHECK(!contains("0.0.0.0/0", "::1"));
	CHECK(!contains("::/0", "10.0.0.1"));

	struct cidr c;
	CHECK(cidr_parse("10.0.0.0/8", &c, NULL, 0) == 0);
	CHECK(!cidr_contains(&c, AF_INET, NULL));
	CHECK(!cidr_contains(NULL, AF_INET, c.addr));
}

static void test_defaults(void)
{
	struct netclass nc;

	netclass_init(&nc);
	CHECK(nc.n == 9);
	CHECK(!nc.user_set);
	CHECK(classify(&nc, "127.0.0.1") == DEST_LOOPBACK);
	CHECK(classify(&nc, "127.255.0.9") == DEST_LOOPBACK);
	CHECK(classify(&nc, "::1") == DEST_LOOPBACK);
	CHECK(classify(&nc, "10.1.2.3") == DEST_INTERNAL);
	CHECK(classify(&nc, "172.16.0.1") == DEST_INTERNAL);
	CHECK(classify(&nc, "172.31.255.254") == DEST_INTERNAL);
	CHECK(classify(&nc, "192.168.0.10") == DEST_INTERNAL);
	CHECK(classify(&nc, "100.64.0.1") == DEST_INTERNAL);
	CHECK(classify(&nc, "169.254.1.1") == DEST_INTERNAL);
	CHECK(classify(&nc, "fd12:3456::1") == DEST_INTERNAL);
	CHECK(classify(&nc, "fe80::1") == DEST_INTERNAL);
	/* Real destinations seen in attacks. */
	CHECK(classify(&nc, "210.117.212.93") == DEST_EXTERNAL);
	CHECK(classify(&nc, "192.248.1.167") == DEST_EXTERNAL);
	CHECK(classify(&nc, "136.243.156.104") == DEST_EXTERNAL);
	CHECK(classify(&nc, "8.8.8.8") == DEST_EXTERNAL);
	CHECK(classify(&nc, "172.32.0.1") == DEST_EXTERNAL);
	CHECK(classify(&nc, "2606:4700::1111") == DEST_EXTERNAL);
	CHECK(classify(&nc, "::2") == DEST_EXTERNAL);
}

static void test_metadata(void)
{
	struct netclass nc;

	netclass_init(&nc);
	CHECK(classify(&nc, "169.254.169.254") == DEST_METADATA);
	CHECK(classify(&nc, "169.254.170.2") == DEST_METADATA);
	CHECK(classify(&nc, "fd00:ec2::254") == DEST_METADATA);
	CHECK(classify(&nc, "::ffff:169.254.169.254") == DEST_METADATA);
	CHECK(classify(&nc, "169.254.169.253") == DEST_INTERNAL);
	/* Whatever the internal set says. */
	CHECK(netclass_add(&nc, "169.254.0.0/16", NULL, 0) == 0);
	CHECK(classify(&nc, "169.254.169.254") == DEST_METADATA);
	netclass_init(&nc);
	CHECK(netclass_add(&nc, "0.0.0.0/0", NULL, 0) == 0);
	CHECK(netclass_add(&nc, "::/0", NULL, 0) == 0);
	CHECK(classify(&nc, "169.254.170.2") == DEST_METADATA);
	CHECK(classify(&nc, "fd00:ec2::254") == DEST_METADATA);
}

static void test_v4_mapped(void)
{
	struct netclass nc;

	netclass_init(&nc);
	CHECK(classify(&nc, "::ffff:127.0.0.1") == DEST_LOOPBACK);
	CHECK(classify(&nc, "::ffff:10.0.0.5") == DEST_INTERNAL);
	CHECK(classify(&nc, "::ffff:8.8.8.8") == DEST_EXTERNAL);
	/* Not mapped: ::ffff:0:a.b.c.d (SIIT) and ::a.b.c.d stay IPv6. */
	CHECK(classify(&nc, "::ffff:0:10.0.0.5") == DEST_EXTERNAL);
	CHECK(classify(&nc, "::10.0.0.5") == DEST_EXTERNAL);
	netclass_init(&nc);
	CHECK(netclass_add(&nc, "10.0.0.0/8", NULL, 0) == 0);
	CHECK(classify(&nc, "::ffff:10.9.9.9") == DEST_INTERNAL);
}

static void test_user_replaces_defaults(void)
{
	struct netclass nc;
	char err[128] = "";

	netclass_init(&nc);
	CHECK(netclass_add(&nc, "10.0.0.0/8", err, sizeof(err)) == 0);
	CHECK(nc.user_set);
	CHECK(nc.n == 1);
	/* --internal-net replaces the defaults: loopback is now external. */
	CHECK(classify(&nc, "127.0.0.1") == DEST_EXTERNAL);
	CHECK(classify(&nc, "192.168.1.1") == DEST_EXTERNAL);
	CHECK(classify(&nc, "::1") == DEST_EXTERNAL);
	CHECK(classify(&nc, "10.2.3.4") == DEST_INTERNAL);
	CHECK(netclass_add(&nc, "127.0.0.0/8", err, sizeof(err)) == 0);
	CHECK(nc.n == 2);
	CHECK(classify(&nc, "127.0.0.1") == DEST_LOOPBACK);
	CHECK(netclass_add(&nc, "2001:db8::/32", err, sizeof(err)) == 0);
	CHECK(classify(&nc, "2001:db8:1::1") == DEST_INTERNAL);
	CHECK(classify(&nc, "2001:db9::1") == DEST_EXTERNAL);
}

static void test_add_error_keeps_defaults(void)
{
	struct netclass nc;
	char err[128] = "";

	netclass_init(&nc);
	CHECK(netclass_add(&nc, "10.0.0.0/40", err, sizeof(err)) == -1);
	CHECK(strstr(err, "10.0.0.0/40") != NULL);
	CHECK(!nc.user_set);
	CHECK(nc.n == 9);
	CHECK(classify(&nc, "127.0.0.1") == DEST_LOOPBACK);
}

static void test_add_limit(void)
{
	struct netclass nc;
	char err[160], text[32];

	netclass_init(&nc);
	for (int i = 0; i < NETCLASS_MAX_CIDRS; i++) {
		snprintf(text, sizeof(text), "10.%d.0.0/16", i);
		CHECK(netclass_add(&nc, text, err, sizeof(err)) == 0);
	}
	CHECK(nc.n == NETCLASS_MAX_CIDRS);
	err[0] = '\0';
	CHECK(netclass_add(&nc, "192.168.0.0/16", err, sizeof(err)) == -1);
	CHECK(strstr(err, "192.168.0.0/16") != NULL);
	CHECK(strstr(err, "64") != NULL);
	CHECK(nc.n == NETCLASS_MAX_CIDRS);
	CHECK(classify(&nc, "10.63.1.1") == DEST_INTERNAL);
	CHECK(classify(&nc, "10.64.1.1") == DEST_EXTERNAL);
}

static void test_unspecified_is_local(void)
{
	struct netclass nc;

	netclass_init(&nc);
	/* Linux connects 0.0.0.0 and :: to the local host. */
	CHECK(classify(&nc, "0.0.0.0") == DEST_LOOPBACK);
	CHECK(classify(&nc, "::") == DEST_LOOPBACK);
	CHECK(classify(&nc, "0.0.0.1") == DEST_EXTERNAL);
}

static void test_other_families(void)
{
	struct netclass nc;
	uint8_t zero[16] = { 0 };

	netclass_init(&nc);
	CHECK(netclass_classify(&nc, AF_UNIX, NULL) == DEST_UNIX);
	CHECK(netclass_classify(&nc, AF_UNIX, zero) == DEST_UNIX);
	CHECK(netclass_classify(&nc, AF_NETLINK, zero) == DEST_OTHER);
	CHECK(netclass_classify(&nc, AF_UNSPEC, zero) == DEST_OTHER);
	CHECK(netclass_classify(&nc, AF_INET, NULL) == DEST_OTHER);
	CHECK(netclass_classify(&nc, AF_INET6, NULL) == DEST_OTHER);
}

/* Callers may hand an IPv4 address in a 4-byte buffer (sin_addr): nothing
 * past it may be read (run under ASan to see an overread). */
static void test_ipv4_short_buffer(void)
{
	struct netclass nc;
	uint8_t *a = malloc(4);
	struct cidr c;

	CHECK(a != NULL);
	if (!a)
		return;
	netclass_init(&nc);
	memcpy(a, (uint8_t[]){ 10, 1, 2, 3 }, 4);
	CHECK(netclass_classify(&nc, AF_INET, a) == DEST_INTERNAL);
	memcpy(a, (uint8_t[]){ 169, 254, 169, 254 }, 4);
	CHECK(netclass_classify(&nc, AF_INET, a) == DEST_METADATA);
	memcpy(a, (uint8_t[]){ 0, 0, 0, 0 }, 4);
	CHECK(netclass_classify(&nc, AF_INET, a) == DEST_LOOPBACK);
	memcpy(a, (uint8_t[]){ 1, 1, 1, 1 }, 4);
	CHECK(netclass_classify(&nc, AF_INET, a) == DEST_EXTERNAL);
	CHECK(cidr_parse("1.1.1.1/32", &c, NULL, 0) == 0);
	CHECK(cidr_contains(&c, AF_INET, a));
	free(a);
}

static void test_names(void)
{
	CHECK_STR(dest_class_name(DEST_LOOPBACK), "loopback");
	CHECK_STR(dest_class_name(DEST_INTERNAL), "internal");
	CHECK_STR(dest_class_name(DEST_EXTERNAL), "external");
	CHECK_STR(dest_class_name(DEST_METADATA), "metadata");
	CHECK_STR(dest_class_name(DEST_UNIX), "unix");
	CHECK_STR(dest_class_name(DEST_OTHER), "other");
	CHECK(dest_class_name((enum dest_class)99) != NULL);
}

int main(void)
{
	RUN(test_parse_ipv4);
	RUN(test_parse_ipv6);
	RUN(test_parse_errors);
	RUN(test_parse_prefix_range);
	RUN(test_contains);
	RUN(test_defaults);
	RUN(test_metadata);
	RUN(test_v4_mapped);
	RUN(test_user_replaces_defaults);
	RUN(test_add_error_keeps_defaults);
	RUN(test_add_limit);
	RUN(test_unspecified_is_local);
	RUN(test_other_families);
	RUN(test_ipv4_short_buffer);
	RUN(test_names);
	return CHECK_DONE();
}
