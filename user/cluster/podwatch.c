/* List then watch this node's pods; see podwatch.h. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "podwatch.h"
#include "podjson.h"
#include "forward/backoff.h"

#define TOKEN_MAX 16384      /* a projected token is ~1 KiB */
#define ERRBODY_MAX 4096     /* of a non-200 answer, kept for nothing but a bound */
#define CONNECT_TIMEOUT_S 10 /* connect and TLS handshake */
#define LIST_TIMEOUT_S 60
#define EXPIRE_EVERY_NS (30ull * 1000000000ull)

enum watch_end { WATCH_DONE, WATCH_EXPIRED, WATCH_FAILED };

struct podwatch {
	struct podwatch_conf conf;
	struct podcache *cache;
	pthread_t thread;
	bool running;
	int stopping;       /* atomic */
	pthread_mutex_t mu; /* stats, and the stop wakeup */
	pthread_cond_t cv;
	struct podwatch_stats st;
	char rv[POD_RV_MAX]; /* the thread's own */
	uint64_t last_expire_ns;
	CURL *curl;
};

/* One request's body: a whole list page, or a watch stream's lines. */
struct req {
	struct podwatch *w;
	char *buf;
	size_t len, cap, max;
	bool watch;
	bool too_large;
	bool expired;    /* watch: an ERROR 410 event */
	bool failed;     /* watch: another ERROR event */
	uint64_t events; /* watch lines taken, bookmarks included */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool stopping(struct podwatch *w)
{
	return __atomic_load_n(&w->stopping, __ATOMIC_RELAXED);
}

/* Counts (when counter is set) and keeps the message: never a token. */
__attribute__((format(printf, 3, 4))) static void set_error(struct podwatch *w, uint64_t *counter,
							    const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&w->mu);
	if (counter)
		(*counter)++;
	va_start(ap, fmt);
	vsnprintf(w->st.last_error, sizeof(w->st.last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&w->mu);
}

static void count(struct podwatch *w, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&w->mu);
	*counter += n;
	pthread_mutex_unlock(&w->mu);
}

/* ---- settings */

static bool node_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > POD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

static bool host_ok(const char *s)
{
	if (!*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == ':'))
			return false;
	return true;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

int podwatch_conf_env(struct podwatch_conf *c, char *why, size_t len)
{
	const char *api = getenv("MLWATCH_K8S_API"), *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = env_or("KUBERNETES_SERVICE_PORT", "443"), *node = getenv("NODE_NAME");
	bool explicit = api && *api;

	memset(c, 0, sizeof(*c));
	if (explicit) {
		if (strncmp(api, "https://", 8) || strlen(api) >= sizeof(c->api) ||
		    strlen(api) < 9) {
			snprintf(why, len,
				 "MLWATCH_K8S_API must be an https:// URL (under %zu bytes)",
				 sizeof(c->api));
			return -1;
		}
		snprintf(c->api, sizeof(c->api), "%s", api);
		while (c->api[strlen(c->api) - 1] == '/')
			c->api[strlen(c->api) - 1] = 0;
	} else if (host && *host) {
		if (!host_ok(host) || strspn(port, "0123456789") != strlen(port) ||
		    strlen(port) > 5) {
			snprintf(why, len,
				 "KUBERNETES_SERVICE_HOST or _PORT is not a host and a port");
			return -1;
		}
		snprintf(c->api, sizeof(c->api),
			 strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	} else {
		snprintf(why, len,
			 "not in a Kubernetes cluster (KUBERNETES_SERVICE_HOST and MLWATCH_K8S_API unset)");
		return 0;
	}
	snprintf(c->token_file, sizeof(c->token_file), "%s",
		 env_or("MLWATCH_K8S_TOKEN_FILE", PODWATCH_SA_DIR "/token"));
	snprintf(c->ca_file, sizeof(c->ca_file), "%s",
		 env_or("MLWATCH_K8S_CA_FILE", PODWATCH_SA_DIR "/ca.crt"));
	if (access(c->token_file, R_OK)) {
		snprintf(why, len, "cannot read the service account token %s: %s", c->token_file,
			 strerror(errno));
		/* a pod without an automounted token is a choice, not an error */
		return explicit || getenv("MLWATCH_K8S_TOKEN_FILE") ? -1 : 0;
	}
	if (access(c->ca_file, R_OK)) {
		snprintf(why, len, "cannot read the API server's CA %s: %s", c->ca_file,
			 strerror(errno));
		return -1;
	}
	if (!node_ok(node)) {
		snprintf(why, len,
			 "NODE_NAME is %s: give it from the downward API (fieldRef spec.nodeName)",
			 node && *node ? "not a node name" : "unset");
		return -1;
	}
	snprintf(c->node, sizeof(c->node), "%s", node);
	return 1;
}

/* ---- HTTP */

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return stopping(ud);
}

static bool grow(struct req *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 65536;
	char *p;

	if (need > r->max) {
		r->too_large = true;
		return false;
	}
	while (cap < need)
		cap *= 2;
	if (cap > r->max + 1)
		cap = r->max + 1;
	if (cap <= r->cap)
		return true;
	p = realloc(r->buf, cap);
	if (!p)
		return false;
	r->buf = p;
	r->cap = cap;
	return true;
}

static void take_event(struct req *r, const char *line, size_t n)
{
	struct podwatch *w = r->w;
	static struct pod_watch_ev ev; /* large; the watch thread's alone */
	char err[128];

	if (podjson_watch_line(line, n, &ev, err, sizeof(err))) {
		set_error(w, &w->st.bad, "watch: %s", err);
		return;
	}
	switch (ev.type) {
	case POD_EV_ERROR:
		if (ev.code == 410)
			r->expired = true;
		else
			r->failed = true;
		set_error(w, NULL, "watch: error event %s (code %d)", ev.reason, ev.code);
		return;
	case POD_EV_BOOKMARK:
		r->events++;
		count(w, &w->st.bookmarks, 1);
		break;
	case POD_EV_DELETED:
		podcache_delete(w->cache, ev.pod.uid, mono_ns());
		r->events++;
		count(w, &w->st.events, 1);
		break;
	default:
		podcache_put(w->cache, &ev.pod, mono_ns());
		r->events++;
		count(w, &w->st.events, 1);
		break;
	}
	snprintf(w->rv, sizeof(w->rv), "%s", ev.rv);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	struct req *r = ud;
	size_t n = sz * nm, start = 0;
	long code = 0;

	curl_easy_getinfo(r->w->curl, CURLINFO_RESPONSE_CODE, &code);
	if (!r->watch || code != 200) {
		/* a list page, or an error's body: kept whole, bounded */
		if (!grow(r, r->len + n + 1))
			return 0;
		memcpy(r->buf + r->len, p, n);
		r->len += n;
		return n;
	}
	/* a watch stream: one JSON object per line */
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (r->len) {
			if (!grow(r, r->len + i - start + 1))
				return 0;
			memcpy(r->buf + r->len, p + start, i - start);
			take_event(r, r->buf, r->len + i - start);
			r->len = 0;
		} else if (i > start) {
			take_event(r, p + start, i - start);
		}
		start = i + 1;
		if (r->expired || r->failed)
			return 0; /* ends the request: the caller lists or retries */
	}
	if (start < n) {
		if (!grow(r, r->len + n - start + 1))
			return 0;
		memcpy(r->buf + r->len, p + start, n - start);
		r->len += n - start;
	}
	return n;
}

/* The token, read again each time; NULL when unreadable. */
static struct curl_slist *auth_headers(struct podwatch *w)
{
	char tok[TOKEN_MAX + 32], hdr[TOKEN_MAX + 64];
	struct curl_slist *h = NULL;
	int fd = open(w->conf.token_file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, tok, TOKEN_MAX + 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || n > TOKEN_MAX) {
		explicit_bzero(tok, sizeof(tok));
		return NULL;
	}
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		n--;
	tok[n] = 0;
	if (!n || strpbrk(tok, "\r\n")) {
		explicit_bzero(tok, sizeof(tok));
		return NULL;
	}
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	h = curl_slist_append(h, hdr);
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(hdr, sizeof(hdr));
	if (h)
		h = curl_slist_append(h, "Accept: application/json");
	return h;
}

static void free_headers(struct curl_slist *h)
{
	for (struct curl_slist *i = h; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

/* GET url into r. Returns the HTTP status, or -1 (curl failed; err set). */
static long get(struct podwatch *w, const char *url, struct req *r, long timeout_s, char *err,
		size_t errlen)
{
	CURL *c = w->curl;
	struct curl_slist *h = auth_headers(w);
	CURLcode cc;
	long code = 0;

	if (!h) {
		snprintf(err, errlen, "the token file %.100s is unreadable or empty",
			 w->conf.token_file);
		return -2;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_CAINFO, w->conf.ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mlwatch/" MLWATCH_VERSION);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	free_headers(h);
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && (r->expired || r->failed)))
		return code;
	if (r->watch && cc == CURLE_OPERATION_TIMEDOUT && code == 200)
		return code; /* our own bound on a watch the server did not end */
	snprintf(err, errlen, "%s",
		 r->too_large ? "answer over its size bound" : curl_easy_strerror(cc));
	return -1;
}

static char *pods_url(struct podwatch *w, const char *extra)
{
	char sel[300], *esel, *url;
	size_t n;

	snprintf(sel, sizeof(sel), "spec.nodeName=%s", w->conf.node);
	esel = curl_easy_escape(w->curl, sel, 0);
	if (!esel)
		return NULL;
	n = strlen(w->conf.api) + strlen(esel) + strlen(extra) + 64;
	url = malloc(n);
	if (url)
		snprintf(url, n, "%s/api/v1/pods?fieldSelector=%s%s", w->conf.api, esel, extra);
	curl_free(esel);
	return url;
}

static void http_failed(struct podwatch *w, uint64_t *counter, const char *what, long code,
			const char *err)
{
	if (code == 401 || code == 403 || code == -2)
		count(w, &w->st.auth_errors, 1);
	if (code < 0)
		set_error(w, counter, "%s", err);
	else
		set_error(w, counter, "%s: HTTP %ld", what, code);
}

static void put_listed(const struct pod_meta *p, void *ctx)
{
	podcache_put(ctx, p, mono_ns());
}

/* Every page of the list. 0, or -1. */
static int do_list(struct podwatch *w)
{
	char cont[4096] = "", extra[4200], *ecur, *url, err[160];
	struct req r = { .w = w, .max = PODWATCH_LIST_MAX };
	unsigned bad;
	int rc = -1;

	podcache_list_begin(w->cache);
	do {
		long code;

		ecur = cont[0] ? curl_easy_escape(w->curl, cont, 0) : NULL;
		snprintf(extra, sizeof(extra), "&limit=500%s%s", ecur ? "&continue=" : "",
			 ecur ? ecur : "");
		curl_free(ecur);
		url = pods_url(w, extra);
		if (!url)
			goto out;
		r.len = 0;
		code = get(w, url, &r, LIST_TIMEOUT_S, err, sizeof(err));
		free(url);
		if (code != 200) {
			if (r.too_large)
				count(w, &w->st.too_large, 1);
			http_failed(w, &w->st.list_errors, "list", code, err);
			goto out;
		}
		if (podjson_list(r.buf, r.len, put_listed, w->cache, w->rv, cont, sizeof(cont),
				 &bad, err, sizeof(err))) {
			set_error(w, &w->st.list_errors, "list: %s", err);
			goto out;
		}
		count(w, &w->st.bad, bad);
	} while (cont[0] && !stopping(w));
	if (stopping(w))
		goto out;
	podcache_list_end(w->cache, mono_ns());
	pthread_mutex_lock(&w->mu);
	w->st.lists++;
	w->st.synced = true;
	pthread_mutex_unlock(&w->mu);
	rc = 0;
out:
	free(r.buf);
	return rc;
}

static enum watch_end do_watch(struct podwatch *w)
{
	unsigned ws = w->conf.watch_s ? w->conf.watch_s : PODWATCH_WATCH_S;
	struct req r = { .w = w, .max = PODWATCH_LINE_MAX, .watch = true };
	char extra[200], *erv = curl_easy_escape(w->curl, w->rv, 0), *url, err[160];
	uint64_t t0 = mono_ns();
	long code;

	if (!erv)
		return WATCH_FAILED;
	snprintf(extra, sizeof(extra),
		 "&watch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%s", ws, erv);
	curl_free(erv);
	url = pods_url(w, extra);
	if (!url)
		return WATCH_FAILED;
	count(w, &w->st.watches, 1);
	code = get(w, url, &r, (long)ws + 30, err, sizeof(err));
	free(url);
	free(r.buf);
	if (r.expired || code == 410) {
		count(w, &w->st.expired, 1);
		return WATCH_EXPIRED;
	}
	r.events += mono_ns() - t0 > 1000000000ull; /* it lasted: no spin */
	if (stopping(w))
		return WATCH_DONE;
	if (r.failed) {
		count(w, &w->st.watch_errors, 1); /* the event's Status is the last error */
		return WATCH_FAILED;
	}
	if (code != 200) {
		if (r.too_large)
			count(w, &w->st.too_large, 1);
		http_failed(w, &w->st.watch_errors, "watch", code, err);
		/* an event too large to read is lost: list again to recover it */
		return r.too_large ? WATCH_EXPIRED : WATCH_FAILED;
	}
	/* the server ended it; an empty watch that ended at once is a fault,
	 * or this loop would spin */
	if (r.events)
		return WATCH_DONE;
	set_error(w, &w->st.watch_errors, "watch: ended at once, with nothing");
	return WATCH_FAILED;
}

static void nap(struct podwatch *w, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!stopping(w) && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->mu);
}

static void *run(void *arg)
{
	struct podwatch *w = arg;
	struct backoff bo;
	bool need_list = true;

	backoff_init(&bo, 500, 30000, (uint64_t)mono_ns() ^ (uint64_t)getpid());
	while (!stopping(w)) {
		uint64_t now = mono_ns(), t0;
		enum watch_end e;

		if (now - w->last_expire_ns > EXPIRE_EVERY_NS) {
			podcache_expire(w->cache, now);
			w->last_expire_ns = now;
		}
		if (need_list) {
			if (do_list(w)) {
				nap(w, backoff_next(&bo, 0));
				continue;
			}
			need_list = false;
		}
		t0 = mono_ns();
		e = do_watch(w);
		if (e == WATCH_EXPIRED) {
			need_list = true;
			/* a server that expires every watch at once is not hammered */
			if (mono_ns() - t0 < 1000000000ull)
				nap(w, backoff_next(&bo, 0));
		} else if (e == WATCH_FAILED) {
			nap(w, backoff_next(&bo, 0));
		} else if (mono_ns() - t0 > 1000000000ull) {
			backoff_reset(&bo);
		}
	}
	return NULL;
}

struct podwatch *podwatch_start(const struct podwatch_conf *c, char *err, size_t errlen)
{
	struct podwatch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;

	if (!w || !(w->cache = podcache_new(0))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->conf = *c;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(w->curl = curl_easy_init())) {
		podcache_free(w->cache);
		free(w);
		snprintf(err, errlen, "libcurl could not start");
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* signals are the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->running = pthread_create(&w->thread, NULL, run, w) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->running) {
		snprintf(err, errlen, "cannot start the pod watch thread");
		podwatch_stop(w);
		return NULL;
	}
	return w;
}

void podwatch_stop(struct podwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->running)
		pthread_join(w->thread, NULL);
	curl_easy_cleanup(w->curl);
	curl_global_cleanup();
	podcache_free(w->cache);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

bool podwatch_get(struct podwatch *w, const char *uid, struct pod_meta *out)
{
	return w && podcache_get(w->cache, uid, out);
}

void podwatch_stats(struct podwatch *w, struct podwatch_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
	podcache_stats(w->cache, &out->cache);
}
