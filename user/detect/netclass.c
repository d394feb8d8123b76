/* Destination classes for connect(): CIDR parsing and the internal set. */
#include "netclass.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IPV4_LEN 4
#define IPV6_LEN 16
#define IPV4_MAX_PREFIX 32
#define IPV6_MAX_PREFIX 128
/* Longest text we accept: a full IPv6 address, '/', three prefix digits. */
#define CIDR_TEXT_MAX (INET6_ADDRSTRLEN + 4)

static const char *const default_cidrs[] = {
	"127.0.0.0/8",    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"169.254.0.0/16", "::1/128",    "fc00::/7",      "fe80::/10",
};

/* Cloud metadata services (AWS/GCP/Azure IMDS, ECS task metadata, AWS IPv6
 * IMDS): credential theft targets even though they sit in link-local space. */
static const uint8_t metadata_v4[][IPV4_LEN] = {
	{ 169, 254, 169, 254 },
	{ 169, 254, 170, 2 },
};
static const uint8_t metadata_v6[][IPV6_LEN] = {
	{ 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 },
};

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static int cidr_error(char *err, size_t errlen, const char *s, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "invalid network \"%.*s\": %s", CIDR_TEXT_MAX, s, why);
	return -1;
}

/* Clear the host bits so that equal networks compare equal. */
static void cidr_mask(struct cidr *c)
{
	int bytes = c->family == AF_INET ? IPV4_LEN : IPV6_LEN;

	for (int i = 0; i < bytes; i++) {
		int keep = c->prefix - i * 8;

		if (keep >= 8)
			continue;
		c->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	char text[CIDR_TEXT_MAX + 1];
	struct cidr c;

	if (!s || !*s)
		return cidr_error(err, errlen, s ? s : "", "empty");
	if (strlen(s) > CIDR_TEXT_MAX)
		return cidr_error(err, errlen, s, "too long for an address/prefix");
	strcpy(text, s);

	memset(&c, 0, sizeof(c));
	char *slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	c.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, text, c.addr) != 1)
		return cidr_error(err, errlen, s,
				  c.family == AF_INET ? "not an IPv4 address" :
							"not an IPv6 address");

	int max = c.family == AF_INET ? IPV4_MAX_PREFIX : IPV6_MAX_PREFIX;
	c.prefix = max;
	if (slash) {
		const char *p = slash + 1;
		long v = 0;

		if (!*p)
			return cidr_error(err, errlen, s, "missing prefix length after '/'");
		/* Digits only: strtol would accept " 8", "+8" and "-0". */
		for (const char *q = p; *q; q++) {
			if (!isdigit((unsigned char)*q))
				return cidr_error(err, errlen, s, "prefix length is not a number");
		}
		if (strlen(p) > 3)
			return cidr_error(err, errlen, s, "prefix length out of range");
		v = strtol(p, NULL, 10);
		if (v > max)
			return cidr_error(err, errlen, s,
					  c.family == AF_INET ?
						  "prefix length out of range (0-32 for IPv4)" :
						  "prefix length out of range (0-128 for IPv6)");
		c.prefix = (int)v;
	}
	cidr_mask(&c);
	if (out)
		*out = c;
	return 0;
}

bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	if (!c || !addr || c->family != family)
		return false;

	int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}

void netclass_init(struct netclass *nc)
{
	memset(nc, 0, sizeof(*nc));
	for (size_t i = 0; i < sizeof(default_cidrs) / sizeof(default_cidrs[0]); i++) {
		/* Constant input: cannot fail. */
		if (cidr_parse(default_cidrs[i], &nc->internal[nc->n], NULL, 0) == 0)
			nc->n++;
	}
}

int netclass_add(struct netclass *nc, const char *s, char *err, size_t errlen)
{
	struct cidr c;

	if (cidr_parse(s, &c, err, errlen) < 0)
		return -1;
	/* Only a valid network replaces the defaults: a typo must not leave
	 * the set empty (everything would be external). */
	if (!nc->user_set) {
		nc->n = 0;
		nc->user_set = true;
	}
	if (nc->n >= NETCLASS_MAX_CIDRS) {
		if (err && errlen)
			snprintf(err, errlen, "too many internal networks at \"%.*s\": at most %d",
				 CIDR_TEXT_MAX, s, NETCLASS_MAX_CIDRS);
		return -1;
	}
	nc->internal[nc->n++] = c;
	return 0;
}

static bool is_metadata(int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		for (size_t i = 0; i < sizeof(metadata_v4) / sizeof(metadata_v4[0]); i++)
			if (memcmp(addr, metadata_v4[i], IPV4_LEN) == 0)
				return true;
	} else {
		for (size_t i = 0; i < sizeof(metadata_v6) / sizeof(metadata_v6[0]); i++)
			if (memcmp(addr, metadata_v6[i], IPV6_LEN) == 0)
				return true;
	}
	return false;
}

static bool is_loopback(int family, const uint8_t *addr)
{
	static const uint8_t v6_loop[IPV6_LEN] = { [15] = 1 };

	if (family == AF_INET)
		return addr[0] == 127;
	return memcmp(addr, v6_loop, IPV6_LEN) == 0;
}

enum dest_class netclass_classify(const struct netclass *nc, int family, const uint8_t *addr)
{
	static const uint8_t v4_local[IPV4_LEN] = { 127, 0, 0, 1 };
	static const uint8_t v6_local[IPV6_LEN] = { [15] = 1 };
	static const uint8_t zero[IPV6_LEN];

	if (family == AF_UNIX)
		return DEST_UNIX;
	if ((family != AF_INET && family != AF_INET6) || !addr || !nc)
		return DEST_OTHER;

	if (family == AF_INET6 && memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		family = AF_INET;
		addr += sizeof(v4mapped_prefix);
	}
	/* Linux sends a connect to 0.0.0.0 or :: to the local host: treat it
	 * as the loopback address so "connect to 0.0.0.0:port" is not external. */
	if (memcmp(addr, zero, family == AF_INET ? IPV4_LEN : IPV6_LEN) == 0)
		addr = family == AF_INET ? v4_local : v6_local;

	if (is_metadata(family, addr))
		return DEST_METADATA;
	for (size_t i = 0; i < nc->n && i < NETCLASS_MAX_CIDRS; i++) {
		if (cidr_contains(&nc->internal[i], family, addr))
			return is_loopback(family, addr) ? DEST_LOOPBACK : DEST_INTERNAL;
	}
	return DEST_EXTERNAL;
}

const char *dest_class_name(enum dest_class c)
{
	switch (c) {
	case DEST_LOOPBACK:
		return "loopback";
	case DEST_INTERNAL:
		return "internal";
	case DEST_EXTERNAL:
		return "external";
	case DEST_METADATA:
		return "metadata";
	case DEST_UNIX:
		return "unix";
	case DEST_OTHER:
		return "other";
	}
	return "invalid";
}
