/* The metrics endpoint's request parser on good and hostile requests. */
#include <stdlib.h>
#include "check.h"
#include "metrics/httpreq.h"

/* The verdict on s as a whole; 0 while more is needed. */
static int status_of(const char *s, size_t n, enum http_route *route)
{
	struct http_req r;

	if (http_req_parse(s, n, &r) == HTTP_NEED_MORE)
		return 0;
	if (route)
		*route = r.route;
	return r.status;
}

#define ST(s) status_of(s, sizeof(s) - 1, NULL)

static void test_routes(void)
{
	enum http_route rt = HTTP_ROUTE_NONE;

	CHECK(status_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35, &rt) == 200);
	CHECK(rt == HTTP_ROUTE_METRICS);
	CHECK(ST("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
	CHECK(status_of("GET /readyz HTTP/1.0\r\n\r\n", 24, &rt) == 200);
	CHECK(rt == HTTP_ROUTE_READYZ);
	/* what Prometheus sends */
	CHECK(ST("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: "
		 "Prometheus/2.42.0\r\nAccept: application/openmetrics-text;version=1.0.0,"
		 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
		 "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n\r\n") == 200);
	/* a query is ignored; the path is not */
	CHECK(ST("GET /metrics?x=1 HTTP/1.0\r\n\r\n") == 200);
	/* bytes after the headers (a body, a second request) are not read */
	CHECK(ST("GET /metrics HTTP/1.0\r\n\r\nGARBAGE\n\n") == 200);
}

static void test_paths_not_served(void)
{
	CHECK(ST("GET / HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET /metrics/ HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET /../metrics HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET /metrics/../etc/passwd HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET //metrics HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET /%6detrics HTTP/1.0\r\n\r\n") == 404);
	CHECK(ST("GET /METRICS HTTP/1.0\r\n\r\n") == 404);
	/* not origin form */
	CHECK(ST("GET http://x/metrics HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET * HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET /metrics#x HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET /met\x7frics HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET /met\xc3\xa9 HTTP/1.0\r\n\r\n") == 400);
}

static void test_methods(void)
{
	CHECK(ST("HEAD /metrics HTTP/1.0\r\n\r\n") == 405);
	CHECK(ST("POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc") == 405);
	CHECK(ST("PUT /healthz HTTP/1.0\r\n\r\n") == 405);
	CHECK(ST("get /metrics HTTP/1.0\r\n\r\n") == 405); /* methods are case-sensitive */
	CHECK(ST("G(T /metrics HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST(" GET /metrics HTTP/1.0\r\n\r\n") == 400);
}

static void test_request_line_shape(void)
{
	CHECK(ST("GET  /metrics HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET /metrics  HTTP/1.0\r\n\r\n") == 400);
	CHECK(ST("GET /metrics\r\n\r\n") == 400); /* HTTP/0.9 */
	CHECK(ST("GET /metrics HTTP/2.0\r\n\r\n") == 505);
	CHECK(ST("GET /metrics HTTP/1.1x\r\n\r\n") == 400);
	CHECK(ST("GET /metrics http/1.1\r\n\r\n") == 400);
	CHECK(ST("\r\n") == 400);
	/* HTTP/1.1 without Host (RFC 9112 3.2) */
	CHECK(ST("GET /metrics HTTP/1.1\r\n\r\n") == 400);
}

static void test_line_endings(void)
{
	/* a bare LF, a bare CR, a NUL: refused as soon as seen */
	CHECK(ST("GET /metrics HTTP/1.0\n\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nHost: x\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nHo\rst: x\r\n\r\n") == 400);
	CHECK(status_of("GET /metrics HTTP/1.0\r\nHost: a\0b\r\n\r\n", 36, NULL) == 400);
	CHECK(status_of("GET /met\0rics HTTP/1.0\r\n\r\n", 26, NULL) == 400);
	/* no CRLF yet: wait, up to the bounds */
	CHECK(ST("GET /metrics HTTP/1.0") == 0);
	CHECK(ST("GET /metrics HTTP/1.0\r\nHost: x\r\n") == 0);
	CHECK(ST("") == 0);
}

static void test_headers(void)
{
	CHECK(ST("GET /metrics HTTP/1.0\r\nNoColon\r\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\n: empty name\r\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nBad Name: x\r\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nA: b\r\n folded\r\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nA: b\x01\r\n\r\n") == 400);
	CHECK(ST("GET /metrics HTTP/1.0\r\nA: caf\xc3\xa9\tb\r\n\r\n") == 200);
	CHECK(ST("GET /metrics HTTP/1.1\r\nhOsT: x\r\n\r\n") == 200);
}

/* Long lines, many headers: bounded, whatever arrives. */
static void test_bounds(void)
{
	char *b = malloc(HTTP_REQ_MAX * 2);
	size_t n;

	/* a request line that never ends */
	memset(b, 'A', HTTP_LINE_MAX + 1);
	CHECK(status_of(b, HTTP_LINE_MAX, NULL) == 0); /* its CRLF may come next */
	CHECK(status_of(b, HTTP_LINE_MAX + 1, NULL) == 414);
	/* the longest line taken: HTTP_LINE_MAX - 1 bytes and CRLF */
	n = (size_t)snprintf(b, HTTP_REQ_MAX, "GET /metrics?");
	memset(b + n, 'q', HTTP_LINE_MAX - 1 - n - 9);
	n = HTTP_LINE_MAX - 1 - 9;
	n += (size_t)snprintf(b + n, 64, " HTTP/1.0\r\n\r\n");
	CHECK(status_of(b, n, NULL) == 200);
	b[HTTP_LINE_MAX - 1 - 9] = 'q'; /* one more byte */
	n = HTTP_LINE_MAX - 9;
	n += (size_t)snprintf(b + n, 64, " HTTP/1.0\r\n\r\n");
	CHECK(status_of(b, n, NULL) == 414);
	/* a long target, ended */
	n = (size_t)snprintf(b, HTTP_REQ_MAX, "GET /");
	memset(b + n, 'a', HTTP_LINE_MAX);
	n += HTTP_LINE_MAX;
	n += (size_t)snprintf(b + n, 64, " HTTP/1.0\r\n\r\n");
	CHECK(status_of(b, n, NULL) == 414);
	/* a header that never ends */
	n = (size_t)snprintf(b, HTTP_REQ_MAX, "GET /metrics HTTP/1.0\r\nX: ");
	memset(b + n, 'x', HTTP_REQ_MAX * 2 - n);
	CHECK(status_of(b, HTTP_REQ_MAX - 1, NULL) == 0);
	CHECK(status_of(b, HTTP_REQ_MAX, NULL) == 431);
	CHECK(status_of(b, HTTP_REQ_MAX * 2, NULL) == 431);
	/* headers that end past the bound */
	memcpy(b + HTTP_REQ_MAX, "\r\n\r\n", 4);
	CHECK(status_of(b, HTTP_REQ_MAX + 4, NULL) == 431);
	/* too many short headers */
	n = (size_t)snprintf(b, HTTP_REQ_MAX, "GET /metrics HTTP/1.0\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(b + n, 16, "A: b\r\n");
	n += (size_t)snprintf(b + n, 8, "\r\n");
	CHECK(status_of(b, n, NULL) == 431);
	free(b);
}

/* Byte by byte, as a slow client sends it: the verdict comes at the last
 * byte, and is the same as for the whole. */
static void test_incremental(void)
{
	static const char req[] = "GET /readyz HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n";
	size_t n = sizeof(req) - 1;

	for (size_t i = 0; i < n; i++)
		CHECK(status_of(req, i, NULL) == 0);
	CHECK(status_of(req, n, NULL) == 200);
	/* an error decided early stays decided */
	CHECK(status_of("POST /x HTTP/1.0\r\n", 18, NULL) == 0);
	CHECK(ST("GET /metrics HTTP/1.0\r\nbad\r\n") == 400);
}

int main(void)
{
	RUN(test_routes);
	RUN(test_paths_not_served);
	RUN(test_methods);
	RUN(test_request_line_shape);
	RUN(test_line_endings);
	RUN(test_headers);
	RUN(test_bounds);
	RUN(test_incremental);
	return CHECK_DONE();
}
