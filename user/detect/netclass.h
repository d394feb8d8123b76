/* Destination classes for connect(): which networks count as internal. */
#ifndef MLWATCH_NETCLASS_H
#define MLWATCH_NETCLASS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dest_class {
	DEST_LOOPBACK, /* inside the internal set and in 127/8 or ::1 */
	DEST_INTERNAL, /* inside the internal set */
	DEST_EXTERNAL, /* outside it */
	DEST_METADATA, /* cloud metadata service, whatever the internal set */
	DEST_UNIX,     /* AF_UNIX: never a network connect */
	DEST_OTHER,    /* AF_NETLINK, AF_UNSPEC, ... */
};

struct cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	int prefix;
};

/* Up to 64 internal networks: more is a configuration error, not a truncation. */
#define NETCLASS_MAX_CIDRS 64

struct netclass {
	struct cidr internal[NETCLASS_MAX_CIDRS];
	size_t n;
	bool user_set; /* first user CIDR replaces the defaults */
};

/* Parse "10.0.0.0/8", "fd00::/8", "192.168.1.7" (host = /32 or /128).
 * Returns 0, or -1 with a message naming the problem in err. */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);
bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

/* Defaults: 127/8, 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16,
 * ::1/128, fc00::/7, fe80::/10. */
void netclass_init(struct netclass *nc);
/* Adds a user CIDR; the first call drops the defaults (--internal-net
 * replaces them). Returns 0 or -1 with err set. */
int netclass_add(struct netclass *nc, const char *cidr, char *err, size_t errlen);
/* family AF_INET/AF_INET6; addr as in struct cidr. IPv4-mapped IPv6
 * (::ffff:a.b.c.d) is classified as the IPv4 address. */
enum dest_class netclass_classify(const struct netclass *nc, int family, const uint8_t *addr);
const char *dest_class_name(enum dest_class c);
#endif
