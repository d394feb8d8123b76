/* --metrics-addr: HOST:PORT, parsed strictly. HOST is an IPv4 address in
 * dotted-quad form or an IPv6 address in brackets ([::1]:9464); no names,
 * so start-up never waits on a resolver and binds where it says. */
#ifndef MLWATCH_LISTEN_ADDR_H
#define MLWATCH_LISTEN_ADDR_H
#include <stddef.h>
#include <sys/socket.h>

struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as given: "[::1]:9464" */
};

/* Returns 0, or -1 with the reason in err (which does not repeat s). */
int listen_addr_parse(const char *s, struct listen_addr *a, char *err, size_t errlen);
#endif
