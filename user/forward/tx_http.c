/* libcurl easy handles; the token goes only into a header, never into an
 * error message (libcurl's own messages do not carry headers). */
#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "tx_http.h"

#define ANSWER_MAX (8u << 20)

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct tx_http *t = ud;
	size_t len = sz * n;

	if (t->body.len + len <= ANSWER_MAX)
		fbuf_add(&t->body, p, len);
	else
		t->body_cut = true;
	return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const struct tx_http *t = ud;

	(void)a, (void)b, (void)c, (void)d;
	return t->stop && __atomic_load_n(t->stop, __ATOMIC_RELAXED);
}

/* libcurl's sockets pass through here, so that a stop can shut one down. */
static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct tx_http *t = ud;
	curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	(void)purpose;
	pthread_mutex_lock(&t->sock_mu);
	t->sockfd = fd;
	pthread_mutex_unlock(&t->sock_mu);
	return fd;
}

static int on_close(void *ud, curl_socket_t fd)
{
	struct tx_http *t = ud;

	pthread_mutex_lock(&t->sock_mu);
	if (t->sockfd == fd)
		t->sockfd = -1;
	close(fd);
	pthread_mutex_unlock(&t->sock_mu);
	return 0;
}

void tx_http_abort(struct tx_http *t)
{
	if (!t->curl)
		return;
	pthread_mutex_lock(&t->sock_mu);
	if (t->sockfd >= 0)
		shutdown(t->sockfd, SHUT_RDWR);
	pthread_mutex_unlock(&t->sock_mu);
}

static const char *auth_scheme(enum out_type type)
{
	switch (type) {
	case OUT_SPLUNK_HEC:
		return "Splunk";
	case OUT_ELASTICSEARCH:
		return "ApiKey";
	default:
		return "Bearer";
	}
}

int tx_http_init(struct tx_http *t, const struct output_conf *oc, const char *content_type,
		 bool gzip, const bool *stop, char *err, size_t errlen)
{
	char h[256];
	CURL *c;

	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->sock_mu, NULL);
	t->sockfd = -1;
	t->oc = oc;
	t->gzip = gzip;
	t->stop = stop;
	c = t->curl = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "libcurl could not start");
		return -1;
	}
	snprintf(h, sizeof(h), "Content-Type: %s", content_type);
	t->hdrs = curl_slist_append(t->hdrs, h);
	if (gzip)
		t->hdrs = curl_slist_append(t->hdrs, "Content-Encoding: gzip");
	/* no "Expect: 100-continue" round trip on large batches */
	t->hdrs = curl_slist_append(t->hdrs, "Expect:");
	if (oc->token) {
		size_t n = strlen(auth_scheme(oc->type)) + strlen(oc->token) + 32;
		char *a = malloc(n);

		if (!a) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(a, n, "Authorization: %s %s", auth_scheme(oc->type), oc->token);
		t->hdrs = curl_slist_append(t->hdrs, a);
		explicit_bzero(a, n);
		free(a);
	}
	if (!t->hdrs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (oc->type == OUT_ELASTICSEARCH) {
		/* only what is read of the answer: a _bulk answer of 10000 items
		 * with all their fields would pass any sane bound */
		static const char keep[] =
			"filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";
		size_t n = strlen(oc->path) + sizeof(keep) + 2;

		t->url = malloc(n);
		if (!t->url) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(t->url, n, "%s%c%s", oc->path, strchr(oc->path, '?') ? '&' : '?', keep);
	}
	curl_easy_setopt(c, CURLOPT_URL, t->url ? t->url : oc->path);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)oc->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)oc->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close);
	curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, t);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mlwatch/" MLWATCH_VERSION);
	if (oc->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, oc->ca_file);
	if (oc->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, oc->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, oc->key_file);
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, oc->insecure_skip_verify ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, oc->insecure_skip_verify ? 0L : 2L);
	return 0;
}

/* gzip (RFC 1952), as Content-Encoding: gzip wants. */
static int gzip_body(struct fbuf *out, const char *p, size_t n)
{
	z_stream z = { 0 };
	int rc;

	fbuf_reset(out);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	do {
		char chunk[16384];

		z.next_out = (Bytef *)chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		fbuf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	deflateEnd(&z);
	return rc == Z_STREAM_END && !out->oom ? 0 : -1;
}

long tx_http_post(struct tx_http *t, const char *body, size_t len)
{
	CURL *c = t->curl;
	curl_off_t ra = 0;
	long status = 0;
	CURLcode rc;

	if (t->gzip) {
		if (gzip_body(&t->zbody, body, len)) {
			snprintf(t->err, sizeof(t->err), "gzip failed");
			return -1;
		}
		body = t->zbody.p;
		len = t->zbody.len;
	}
	fbuf_reset(&t->body);
	t->body_cut = false;
	t->retry_after_s = 0;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(t->err, sizeof(t->err), "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (t->body_cut && status >= 200 && status < 300) {
		snprintf(t->err, sizeof(t->err), "the answer is over %u MiB: not read",
			 ANSWER_MAX >> 20);
		return -1;
	}
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		t->retry_after_s = ra > 3600 ? 3600 : (long)ra;
	return status;
}

void tx_http_free(struct tx_http *t)
{
	if (t->curl) {
		curl_easy_cleanup(t->curl);
		pthread_mutex_destroy(&t->sock_mu);
	}
	curl_slist_free_all(t->hdrs);
	fbuf_free(&t->body);
	fbuf_free(&t->zbody);
	free(t->url);
	t->url = NULL;
	t->curl = NULL;
	t->hdrs = NULL;
}
