/* HOST:PORT for a listening socket (see listen_addr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "listen_addr.h"

/* 1 to 65535 in decimal, no sign, no leading zero: a port a scraper's
 * config can name too (0 would bind a random one). */
static int parse_port(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	if (s[0] == '0')
		return -1;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (!n || v > 65535)
		return -1;
	*out = v;
	return 0;
}

int listen_addr_parse(const char *s, struct listen_addr *a, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port;
	size_t hl;
	unsigned p;
	bool v6 = s[0] == '[';

	memset(a, 0, sizeof(*a));
	if (strlen(s) >= sizeof(a->text)) {
		snprintf(err, errlen, "too long for HOST:PORT");
		return -1;
	}
	if (v6) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "expected [IPV6]:PORT, as in [::1]:9464");
			return -1;
		}
		hl = (size_t)(close - s - 1);
		memcpy(host, s + 1, hl < sizeof(host) ? hl : 0);
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "expected HOST:PORT, as in 127.0.0.1:9464");
			return -1;
		}
		if (strchr(s, ':') != colon) {
			snprintf(err, errlen, "an IPv6 address goes in brackets, as in [::1]:9464");
			return -1;
		}
		hl = (size_t)(colon - s);
		memcpy(host, s, hl < sizeof(host) ? hl : 0);
		port = colon + 1;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "the host is too long for an IP address");
		return -1;
	}
	if (!hl) {
		snprintf(err, errlen,
			 "expected an IP address before the port (0.0.0.0 or [::] for every "
			 "interface)");
		return -1;
	}
	host[hl] = 0;
	if (parse_port(port, &p)) {
		snprintf(err, errlen, "the port must be a number from 1 to 65535");
		return -1;
	}
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "'%.*s' is not an IPv6 address", (int)hl, host);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		a->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		/* inet_pton takes dotted-quad only: no "127.1", no octal */
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen,
				 "'%.*s' is not an IPv4 address (names are not resolved: give "
				 "127.0.0.1, 0.0.0.0 or [::1])",
				 (int)hl, host);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		a->len = sizeof(*sin);
	}
	snprintf(a->text, sizeof(a->text), "%s", s);
	return 0;
}
