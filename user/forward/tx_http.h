/* HTTP(S) POSTs through libcurl: one handle per output (connections are
 * reused), the peer verified unless the output says insecure_skip_verify,
 * no redirects, bounded by the output's timeout and by a stop flag. */
#ifndef MLWATCH_TX_HTTP_H
#define MLWATCH_TX_HTTP_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/outputs_conf.h"
#include "forward/format/fbuf.h"

struct tx_http {
	const struct output_conf *oc;
	void *curl;
	struct curl_slist *hdrs;
	bool gzip;
	const bool *stop;
	char *url;               /* the URL used, when it is not oc->path */
	struct fbuf body;        /* the answer's body, up to 8 MiB */
	bool body_cut;           /* the answer was longer */
	struct fbuf zbody;       /* the gzip'ed request */
	long retry_after_s;      /* from the last answer's Retry-After, 0 if none */
	pthread_mutex_t sock_mu; /* sockfd: libcurl's socket, for tx_http_abort */
	int sockfd;
	char err[160];
};

/* content_type: the request's; gzip: compress bodies (Splunk HEC).
 * Returns 0, or -1 with the reason in err. */
int tx_http_init(struct tx_http *t, const struct output_conf *oc, const char *content_type,
		 bool gzip, const bool *stop, char *err, size_t errlen);
/* Returns the answer's HTTP status, or -1 when none came (t->err says why). */
long tx_http_post(struct tx_http *t, const char *body, size_t len);
/* From another thread: ends a request in flight now (a hung receiver must
 * not hold a stop for libcurl's next progress call). */
void tx_http_abort(struct tx_http *t);
void tx_http_free(struct tx_http *t);

#endif
