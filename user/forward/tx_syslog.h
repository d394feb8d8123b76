/* Syslog transports: UDP (one datagram per message), TCP with RFC 6587
 * octet counting, TLS per RFC 5425 (OpenSSL, the peer verified unless the
 * output says insecure_skip_verify). Connects on first use and again after
 * a failure. */
#ifndef MLWATCH_TX_SYSLOG_H
#define MLWATCH_TX_SYSLOG_H
#include <stdbool.h>
#include <stddef.h>

#include "config/outputs_conf.h"

struct ssl_ctx_st;
struct ssl_st;

struct tx_syslog {
	const struct output_conf *oc;
	const bool *stop; /* set: every wait ends within 100 ms */
	int fd;
	struct ssl_ctx_st *ctx;
	struct ssl_st *ssl;
	char err[160];
};

/* Prepares (for TLS: loads the CA, the client certificate and key) without
 * connecting. Returns 0, or -1 with the reason in err. */
int tx_syslog_init(struct tx_syslog *t, const struct output_conf *oc, const bool *stop, char *err,
		   size_t errlen);
/* One message, framed for the transport. 0, or -1 with t->err set and the
 * connection closed. */
int tx_syslog_send(struct tx_syslog *t, const char *msg, size_t len);
/* After a batch: waits up to wait_ms for a sign that the receiver went away
 * (a stream closed, a UDP port refused). false: what was sent since the
 * last check may be lost; the connection is closed. */
bool tx_syslog_check(struct tx_syslog *t, unsigned wait_ms);
void tx_syslog_free(struct tx_syslog *t);

#endif
