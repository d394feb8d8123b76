/* Records go memory queue -> spool (writer thread) -> destination (sender
 * thread). The sender holds one batch until every record in it is
 * finished: acknowledged, or refused for good (counted, with the reason).
 * Only then does the spool's cursor move, so a crash or a kill replays
 * what was not acknowledged, with the same ids. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "forwarder.h"
#include "recq.h"
#include "spool.h"
#include "tx_file.h"
#include "tx_http.h"
#include "tx_syslog.h"
#include "forward/format/fmt_http.h"

#define QUEUE_RECORDS 100000
#define QUEUE_BYTES (64u << 20)
#define READ_BYTES (8u << 20) /* one request's records, at most */
#define STREAM_BATCH 4000     /* syslog and files: records per cursor move */
#define STREAM_LINGER_MS 50   /* how long a syslog peer has to say it went away */
#define BACKOFF_BASE_MS 200
#define BACKOFF_CAP_MS 30000

struct forwarder {
	const struct output_conf *oc;
	struct fmt_ctx ctx; /* the set's, with this output's facility */
	struct recq q;
	struct spool *sp;
	pthread_t writer, sender;
	bool writer_up, sender_up;
	bool draining; /* stop: spool everything, send what can be sent */
	bool stop;     /* stop now */
	uint64_t drain_deadline_ns;
	bool writer_done;
	pthread_mutex_t mu; /* the fields below, and the sender's sleeps */
	pthread_cond_t cv;
	uint64_t submitted, delivered, retries, rejected, spool_errors, render_errors;
	uint64_t failing_since_ns;
	char last_error[160];
	/* the sender's own */
	struct tx_syslog sys;
	struct tx_http http;
	struct tx_file file;
	struct backoff bo;
	struct spool_batch b;
	bool *done; /* per record of b */
	size_t done_cap;
	struct fbuf body, one;
	unsigned retry_floor_ms;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool flag(const bool *b)
{
	return __atomic_load_n(b, __ATOMIC_ACQUIRE);
}

static void count(struct forwarder *f, uint64_t *ctr, uint64_t n)
{
	__atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
	(void)f;
}

/* A problem worth telling (the exit report, the health alerts). */
static void note_error(struct forwarder *f, const char *why)
{
	pthread_mutex_lock(&f->mu);
	snprintf(f->last_error, sizeof(f->last_error), "%s", why);
	pthread_mutex_unlock(&f->mu);
}

/* A try that reached no destination: also starts the failing clock that
 * output-unreachable reads (a success stops it). */
static void failed(struct forwarder *f, const char *why)
{
	pthread_mutex_lock(&f->mu);
	snprintf(f->last_error, sizeof(f->last_error), "%s", why);
	if (!f->failing_since_ns)
		f->failing_since_ns = now_ns();
	pthread_mutex_unlock(&f->mu);
}

static void succeeded(struct forwarder *f)
{
	pthread_mutex_lock(&f->mu);
	f->failing_since_ns = 0;
	pthread_mutex_unlock(&f->mu);
	backoff_reset(&f->bo);
	f->retry_floor_ms = 0;
}

/* Sleeps ms unless stopped first. */
static void nap(struct forwarder *f, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	while (!flag(&f->stop))
		if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&f->mu);
}

/* ---- writer: memory queue -> spool ---- */

static bool past_drain(struct forwarder *f)
{
	return flag(&f->draining) && now_ns() >= f->drain_deadline_ns;
}

static void *writer_main(void *arg)
{
	struct forwarder *f = arg;

	for (;;) {
		bool draining = flag(&f->draining);
		struct qrec *list = recq_take_all(&f->q, 200);

		while (list) {
			struct qrec *r = list;
			int rc = spool_append(f->sp, r->kind, r->data, r->len);

			if (rc == -EMSGSIZE) {
				/* larger than the whole spool: it can never be sent */
				count(f, &f->rejected, 1);
				note_error(f, "a record larger than the spool was dropped");
			} else if (rc) {
				char why[160];

				snprintf(why, sizeof(why), "spool write failed: %s", strerror(-rc));
				note_error(f, why);
				count(f, &f->spool_errors, 1);
				/* keep it (and the rest) in memory and try again,
				 * until the drain at exit runs out */
				recq_unshift(&f->q, list);
				list = NULL;
				if (flag(&f->stop) || past_drain(f))
					goto out;
				nap(f, 500);
				break;
			}
			list = r->next;
			free(r);
		}
		if (draining && !list && !__atomic_load_n(&f->q.records, __ATOMIC_RELAXED))
			goto out;
		if (flag(&f->stop) || past_drain(f))
			goto out;
	}
out:
	__atomic_store_n(&f->writer_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- sender: spool -> destination ---- */

static bool is_http(const struct forwarder *f)
{
	return f->oc->type == OUT_HTTP || f->oc->type == OUT_SPLUNK_HEC ||
	       f->oc->type == OUT_ELASTICSEARCH;
}

enum render_as { AS_RECORD, AS_HEC, AS_BULK };

/* Appends record i in the output's convention. 1: done; 0: the record
 * cannot be rendered (counted; it is finished, there is nothing to retry);
 * -1: out of memory (not the record's fault: try again later). */
static int render(struct forwarder *f, size_t i, enum render_as as, struct fbuf *out)
{
	const struct spool_rec *r = &f->b.v[i];
	cJSON *rec = cJSON_ParseWithLength(r->data, r->len);
	char why[160] = "not a JSON object";
	int rc = -1;

	if (rec && cJSON_IsObject(rec)) {
		switch (as) {
		case AS_RECORD:
			rc = fmt_record(out, f->oc->type, f->oc->format, rec, r->data, &f->ctx, why,
					sizeof(why));
			break;
		case AS_HEC:
			rc = fmt_hec_event(out, f->oc->format, rec, r->data, &f->ctx, why,
					   sizeof(why));
			break;
		case AS_BULK:
			rc = fmt_bulk_item(out, f->oc->format, rec, r->data, &f->ctx, why,
					   sizeof(why));
			break;
		}
	}
	cJSON_Delete(rec);
	if (rc == 0 && !out->oom)
		return 1;
	if (out->oom || (!rec && r->len < (1u << 24))) {
		/* cJSON fails a valid record only when memory is out */
		failed(f, "out of memory while rendering");
		return -1;
	}
	count(f, &f->render_errors, 1);
	{
		char msg[160];

		snprintf(msg, sizeof(msg), "a record could not be rendered: %.120s", why);
		note_error(f, msg);
	}
	f->done[i] = true;
	return 0;
}

static void send_syslog(struct forwarder *f)
{
	size_t sent = 0;

	/* a peer that left while we were idle: reconnect before sending */
	if (f->sys.fd >= 0)
		tx_syslog_check(&f->sys, 0);
	for (size_t i = 0; i < f->b.n; i++) {
		int rc;

		if (f->done[i])
			continue;
		fbuf_reset(&f->one);
		rc = render(f, i, AS_RECORD, &f->one);
		if (rc < 0)
			return;
		if (rc == 0)
			continue;
		rc = tx_syslog_send(&f->sys, f->one.p, f->one.len);
		if (rc == -2) {
			count(f, &f->rejected, 1);
			failed(f, f->sys.err);
			f->done[i] = true;
			continue;
		}
		if (rc) {
			failed(f, f->sys.err);
			return; /* nothing of this batch counts as delivered */
		}
		sent++;
	}
	/* syslog has no acknowledgement: a peer that closes right after is
	 * taken to have lost the batch, which goes again (same ids) */
	if (sent && !tx_syslog_check(&f->sys, STREAM_LINGER_MS)) {
		failed(f, f->sys.err);
		return;
	}
	for (size_t i = 0; i < f->b.n; i++)
		f->done[i] = true;
	count(f, &f->delivered, sent);
	succeeded(f);
}

static void send_file(struct forwarder *f)
{
	for (size_t i = 0; i < f->b.n; i++) {
		int rc;

		if (f->done[i])
			continue;
		fbuf_reset(&f->one);
		rc = render(f, i, AS_RECORD, &f->one);
		if (rc < 0)
			return;
		if (rc == 0)
			continue;
		if (tx_file_write(&f->file, f->one.p, f->one.len)) {
			failed(f, f->file.err);
			return;
		}
		f->done[i] = true;
		count(f, &f->delivered, 1);
	}
	succeeded(f);
}

static bool retriable(long status)
{
	return status < 0 || status == 408 || status == 429 || status >= 500;
}

static void http_failed(struct forwarder *f, long status)
{
	char why[200], body[81];
	size_t j = 0;

	if (status < 0) {
		failed(f, f->http.err);
		return;
	}
	/* the answer is the receiver's text: only printable ASCII of it, and
	 * never the token, should a proxy echo the request's headers */
	for (size_t i = 0; i < f->http.body.len && j < sizeof(body) - 1; i++) {
		const char *tok = f->oc->token;
		size_t tl = tok ? strlen(tok) : 0;
		unsigned char c = (unsigned char)f->http.body.p[i];

		if (tl && f->http.body.len - i >= tl && !memcmp(f->http.body.p + i, tok, tl)) {
			j += (size_t)snprintf(body + j, sizeof(body) - j, "***");
			if (j >= sizeof(body))
				j = sizeof(body) - 1;
			i += tl - 1;
			continue;
		}
		body[j++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	body[j] = '\0';
	snprintf(why, sizeof(why), "HTTP %ld%s%s", status, j ? ": " : "", body);
	failed(f, why);
}

/* One POST of the unfinished records of the batch, or of record only (when
 * splitting a refused batch). Returns the status, -1 for no answer, 0 when
 * there was nothing to send. */
static long post_records(struct forwarder *f, ssize_t only, size_t *sent, size_t *idx)
{
	enum render_as as = f->oc->type == OUT_SPLUNK_HEC    ? AS_HEC :
			    f->oc->type == OUT_ELASTICSEARCH ? AS_BULK :
							       AS_RECORD;

	*sent = 0;
	fbuf_reset(&f->body);
	for (size_t i = 0; i < f->b.n; i++) {
		int rc;

		if (f->done[i] || (only >= 0 && (size_t)only != i))
			continue;
		rc = render(f, i, as, &f->body);
		if (rc < 0) {
			snprintf(f->http.err, sizeof(f->http.err), "out of memory");
			*sent = 0;
			return -1;
		}
		if (rc == 0)
			continue;
		/* NDJSON: a newline after each (bulk items end with theirs) */
		if (as != AS_BULK && f->oc->format != FMT_FALCO)
			fbuf_add(&f->body, "\n", 1);
		idx[(*sent)++] = i;
	}
	if (!*sent)
		return 0;
	if (f->body.oom) {
		snprintf(f->http.err, sizeof(f->http.err), "out of memory");
		return -1;
	}
	return tx_http_post(&f->http, f->body.p, f->body.len);
}

static void send_http(struct forwarder *f)
{
	size_t sent, *idx = malloc(f->b.n * sizeof(*idx));
	long st;

	if (!idx)
		return;
	st = post_records(f, -1, &sent, idx);
	if (!sent) {
		free(idx);
		return;
	}
	if (st >= 200 && st < 300 && f->oc->type == OUT_ELASTICSEARCH) {
		int *item = calloc(sent, sizeof(*item));
		char why[160];
		bool again = false;

		if (!item || bulk_parse_response(f->http.body.p ? f->http.body.p : "",
						 f->http.body.len, sent, item, why, sizeof(why))) {
			/* an answer we cannot read: assume nothing arrived (ids dedupe) */
			failed(f, item ? why : "out of memory");
			free(item);
			free(idx);
			return;
		}
		for (size_t k = 0; k < sent; k++) {
			size_t i = idx[k];

			if ((item[k] >= 200 && item[k] < 300) || item[k] == 409) {
				/* 409: that id is already there, from an earlier try */
				f->done[i] = true;
				count(f, &f->delivered, 1);
			} else if (retriable(item[k])) {
				again = true;
			} else {
				snprintf(why, sizeof(why),
					 "Elasticsearch refused a record: status %d", item[k]);
				failed(f, why);
				f->done[i] = true;
				count(f, &f->rejected, 1);
			}
		}
		free(item);
		free(idx);
		if (again)
			failed(f, "Elasticsearch asked to retry some records");
		else
			succeeded(f);
		return;
	}
	if (st >= 200 && st < 300) {
		for (size_t k = 0; k < sent; k++)
			f->done[idx[k]] = true;
		count(f, &f->delivered, sent);
		succeeded(f);
		free(idx);
		return;
	}
	if (retriable(st)) {
		if (f->http.retry_after_s)
			f->retry_floor_ms = (unsigned)f->http.retry_after_s * 1000;
		http_failed(f, st);
		free(idx);
		return;
	}
	http_failed(f, st);
	/* a batch refused as a whole for its content: one record at a time,
	 * so that one bad record does not take the others with it */
	if (sent > 1 && (st == 400 || st == 413)) {
		size_t one[1], n1;

		for (size_t k = 0; k < sent && !flag(&f->stop); k++) {
			long s1 = post_records(f, (ssize_t)idx[k], &n1, one);
			int item = (int)s1;
			char why[160];

			if (!n1)
				continue;
			/* a _bulk answer says per item, even for one */
			if (s1 >= 200 && s1 < 300 && f->oc->type == OUT_ELASTICSEARCH &&
			    bulk_parse_response(f->http.body.p ? f->http.body.p : "",
						f->http.body.len, 1, &item, why, sizeof(why))) {
				failed(f, why);
				free(idx);
				return;
			}
			if (retriable(item)) {
				http_failed(f, s1 == item ? s1 : item);
				free(idx);
				return;
			}
			f->done[idx[k]] = true;
			if ((item >= 200 && item < 300) || item == 409) {
				count(f, &f->delivered, 1);
			} else {
				http_failed(f, item);
				count(f, &f->rejected, 1);
			}
		}
		free(idx);
		return;
	}
	/* 401, 403, 404...: trying again will not help; counted, alerted */
	for (size_t k = 0; k < sent; k++)
		f->done[idx[k]] = true;
	count(f, &f->rejected, sent);
	free(idx);
}

static size_t done_prefix(const struct forwarder *f)
{
	size_t n = 0;

	while (n < f->b.n && f->done[n])
		n++;
	return n;
}

static bool read_batch(struct forwarder *f, uint64_t *partial_since)
{
	size_t want = is_http(f) ? f->oc->batch : STREAM_BATCH;
	uint64_t pending = spool_pending(f->sp);
	size_t n;

	/* HTTP: a partial batch waits for more, at most flush_ms (counted
	 * without reading the spool: that waits for the lock and the disk) */
	if (is_http(f) && pending && pending < want && !flag(&f->draining)) {
		uint64_t now = now_ns();

		if (!*partial_since)
			*partial_since = now;
		if (now - *partial_since < (uint64_t)f->oc->flush_ms * 1000000ull) {
			nap(f, 20);
			return false;
		}
	}
	n = spool_read(f->sp, &f->b, want, READ_BYTES, 200);
	if (!n)
		return false;
	*partial_since = 0;
	if (f->done_cap < n) {
		bool *d = realloc(f->done, n * sizeof(*d));

		if (!d) {
			spool_batch_clear(&f->b);
			nap(f, 100);
			return false;
		}
		f->done = d;
		f->done_cap = n;
	}
	memset(f->done, 0, n * sizeof(*f->done));
	return true;
}

static void *sender_main(void *arg)
{
	struct forwarder *f = arg;
	uint64_t partial_since = 0;

	while (!flag(&f->stop)) {
		size_t fin;

		if (!f->b.n && !read_batch(f, &partial_since))
			continue;
		switch (f->oc->type) {
		case OUT_SYSLOG:
			send_syslog(f);
			break;
		case OUT_FILE:
			send_file(f);
			break;
		default:
			send_http(f);
			break;
		}
		fin = done_prefix(f);
		if (fin == f->b.n) {
			spool_commit(f->sp, &f->b, fin);
			spool_batch_clear(&f->b);
			continue;
		}
		count(f, &f->retries, 1);
		nap(f, backoff_next(&f->bo, f->retry_floor_ms));
	}
	spool_batch_clear(&f->b);
	return NULL;
}

/* ---- life cycle ---- */

static int open_transport(struct forwarder *f, char *err, size_t errlen)
{
	const struct output_conf *oc = f->oc;

	switch (oc->type) {
	case OUT_SYSLOG:
		return tx_syslog_init(&f->sys, oc, &f->stop, err, errlen);
	case OUT_FILE:
		return tx_file_init(&f->file, oc->path, err, errlen);
	case OUT_SPLUNK_HEC:
		return tx_http_init(&f->http, oc, "application/json", true, &f->stop, err, errlen);
	case OUT_ELASTICSEARCH:
		return tx_http_init(&f->http, oc, "application/x-ndjson", false, &f->stop, err,
				    errlen);
	case OUT_HTTP:
		return tx_http_init(&f->http, oc,
				    oc->format == FMT_FALCO ? "application/json" :
							      "application/x-ndjson",
				    false, &f->stop, err, errlen);
	}
	snprintf(err, errlen, "unknown output type");
	return -1;
}

static void free_forwarder(struct forwarder *f)
{
	if (f->sp)
		spool_close(f->sp);
	recq_destroy(&f->q);
	tx_syslog_free(&f->sys);
	tx_http_free(&f->http);
	tx_file_free(&f->file);
	spool_batch_free(&f->b);
	free(f->done);
	fbuf_free(&f->body);
	fbuf_free(&f->one);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

struct forwarder *forwarder_start(const struct output_conf *oc, const struct fmt_ctx *ctx,
				  char *err, size_t errlen)
{
	struct forwarder *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;
	char why[512];

	if (!f) {
		snprintf(err, errlen, "output %s: out of memory", oc->name);
		return NULL;
	}
	f->oc = oc;
	f->ctx = *ctx;
	f->ctx.facility = oc->facility;
	f->sys.fd = f->file.fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	recq_init(&f->q, QUEUE_RECORDS, QUEUE_BYTES);
	backoff_init(&f->bo, BACKOFF_BASE_MS, BACKOFF_CAP_MS,
		     (uint64_t)now_ns() ^ (uint64_t)(uintptr_t)f);
	f->sp = spool_open(oc->spool_dir, oc->spool_max_bytes, why, sizeof(why));
	if (!f->sp || open_transport(f, why, sizeof(why))) {
		snprintf(err, errlen, "output %s: %s", oc->name, why);
		free_forwarder(f);
		return NULL;
	}
	if (pthread_create(&f->writer, NULL, writer_main, f) == 0)
		f->writer_up = true;
	if (f->writer_up && pthread_create(&f->sender, NULL, sender_main, f) == 0)
		f->sender_up = true;
	if (!f->sender_up) {
		snprintf(err, errlen, "output %s: cannot start its threads", oc->name);
		forwarder_stop(f, 0);
		free_forwarder(f);
		return NULL;
	}
	return f;
}

bool forwarder_takes(const struct forwarder *f, unsigned kind)
{
	return (f->oc->records & kind) != 0;
}

void forwarder_submit(struct forwarder *f, unsigned kind, const char *line, size_t len)
{
	count(f, &f->submitted, 1);
	recq_push(&f->q, kind, line, len);
}

void forwarder_stats(struct forwarder *f, struct fwd_stats *st)
{
	struct spool_stats ss = { 0 };

	memset(st, 0, sizeof(*st));
	st->name = f->oc->name;
	st->submitted = __atomic_load_n(&f->submitted, __ATOMIC_RELAXED);
	st->delivered = __atomic_load_n(&f->delivered, __ATOMIC_RELAXED);
	st->retries = __atomic_load_n(&f->retries, __ATOMIC_RELAXED);
	st->rejected = __atomic_load_n(&f->rejected, __ATOMIC_RELAXED);
	st->spool_errors = __atomic_load_n(&f->spool_errors, __ATOMIC_RELAXED);
	st->render_errors = __atomic_load_n(&f->render_errors, __ATOMIC_RELAXED);
	st->queue_dropped = __atomic_load_n(&f->q.dropped, __ATOMIC_RELAXED);
	st->queue_records = __atomic_load_n(&f->q.records, __ATOMIC_RELAXED);
	if (f->sp)
		spool_get_stats(f->sp, &ss);
	st->spool_records = ss.records;
	st->spool_bytes = ss.bytes;
	st->spool_dropped = ss.dropped;
	st->spool_damaged = ss.damaged;
	st->spool_recovered = ss.recovered;
	pthread_mutex_lock(&f->mu);
	snprintf(st->last_error, sizeof(st->last_error), "%s", f->last_error);
	st->failing_ms = f->failing_since_ns ? (now_ns() - f->failing_since_ns) / 1000000 : 0;
	pthread_mutex_unlock(&f->mu);
}

void forwarder_drain(struct forwarder *f, uint64_t deadline_ns)
{
	f->drain_deadline_ns = deadline_ns;
	__atomic_store_n(&f->draining, true, __ATOMIC_RELEASE);
	recq_wake(&f->q);
}

bool forwarder_drained(struct forwarder *f)
{
	return (!f->writer_up || flag(&f->writer_done)) && (!f->sender_up || !spool_pending(f->sp));
}

void forwarder_halt(struct forwarder *f)
{
	uint64_t left;

	pthread_mutex_lock(&f->mu);
	__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	recq_wake(&f->q);
	if (f->sp)
		spool_wake(f->sp);
	if (is_http(f))
		tx_http_abort(&f->http);
	if (f->writer_up)
		pthread_join(f->writer, NULL);
	if (f->sender_up)
		pthread_join(f->sender, NULL);
	f->writer_up = f->sender_up = false;
	/* what never reached the spool is lost: counted, in the exit report */
	left = __atomic_load_n(&f->q.records, __ATOMIC_RELAXED);
	__atomic_fetch_add(&f->q.dropped, left, __ATOMIC_RELAXED);
}

void forwarder_stop(struct forwarder *f, unsigned drain_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)drain_ms * 1000000ull;

	if (!f)
		return;
	forwarder_drain(f, deadline);
	while (!forwarder_drained(f) && now_ns() < deadline)
		usleep(10000);
	forwarder_halt(f);
}

void forwarder_free(struct forwarder *f)
{
	if (f)
		free_forwarder(f);
}
