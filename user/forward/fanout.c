/* The set of outputs: each record is copied into the queue of every output
 * that takes its kind; everything slow happens on the outputs' threads. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fanout.h"
#include "forwarder.h"

struct fanout {
	struct fmt_ctx ctx;
	char host[256];
	struct forwarder **v;
	size_t n;
};

struct fanout *fanout_start(const struct outputs_conf *conf, const char *host, char *err,
			    size_t errlen)
{
	struct fanout *f = calloc(1, sizeof(*f));

	if (!f || !(f->v = calloc(conf->n ? conf->n : 1, sizeof(*f->v)))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* libcurl's global state, once, before any thread uses it */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(f->v);
		free(f);
		snprintf(err, errlen, "libcurl could not start");
		return NULL;
	}
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->ctx = (struct fmt_ctx){
		.host = f->host, .version = MLWATCH_VERSION, .facility = 16, .procid = (int)getpid()
	};
	for (size_t i = 0; i < conf->n; i++) {
		f->v[i] = forwarder_start(&conf->v[i], &f->ctx, err, errlen);
		if (!f->v[i]) {
			fanout_stop(f, 0);
			fanout_free(f);
			return NULL;
		}
		f->n = i + 1;
	}
	return f;
}

void fanout_submit_except(struct fanout *f, size_t skip, unsigned kind, const char *line,
			  size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (i != skip && forwarder_takes(f->v[i], kind))
			forwarder_submit(f->v[i], kind, line, len);
}

void fanout_submit(struct fanout *f, unsigned kind, const char *line, size_t len)
{
	fanout_submit_except(f, FANOUT_ALL, kind, line, len);
}

size_t fanout_count(const struct fanout *f)
{
	return f ? f->n : 0;
}

void fanout_stats(struct fanout *f, size_t i, struct fwd_stats *st)
{
	forwarder_stats(f->v[i], st);
}

void fanout_stop(struct fanout *f, unsigned drain_ms)
{
	struct timespec ts;
	uint64_t now, deadline;
	bool all;

	if (!f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	deadline = now + (uint64_t)drain_ms * 1000000ull;
	/* one drain time for all outputs together, not one each */
	for (size_t i = 0; i < f->n; i++)
		forwarder_drain(f->v[i], deadline);
	do {
		all = true;
		for (size_t i = 0; i < f->n; i++)
			all &= forwarder_drained(f->v[i]);
		if (all)
			break;
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	} while (now < deadline);
	for (size_t i = 0; i < f->n; i++)
		forwarder_halt(f->v[i]);
}

void fanout_free(struct fanout *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		forwarder_free(f->v[i]);
	free(f->v);
	free(f);
	curl_global_cleanup();
}
