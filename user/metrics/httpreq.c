/* The metrics endpoint's request parser (see httpreq.h). */
#include <string.h>
#include <strings.h>

#include "httpreq.h"

static enum http_parse done(struct http_req *r, int status, enum http_route route)
{
	r->status = status;
	r->route = route;
	return HTTP_DONE;
}

/* RFC 9110 tchar: what a method or a header name is made of. */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The line starting at p (at most end): its length without the CRLF in
 * *n, and where the next starts. NULL: no LF yet. A LF without CR, a CR
 * elsewhere or a NUL: *bad. */
static const char *line_end(const char *p, const char *end, size_t *n, bool *bad)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return NULL;
	if (lf == p || lf[-1] != '\r' || memchr(p, '\r', (size_t)(lf - 1 - p)) ||
	    memchr(p, 0, (size_t)(lf - p)))
		*bad = true;
	*n = lf > p ? (size_t)(lf - 1 - p) : 0;
	return lf + 1;
}

static enum http_route route_of(const char *t, size_t n)
{
	const char *q = memchr(t, '?', n);
	size_t pl = q ? (size_t)(q - t) : n;

	if (pl == 8 && !memcmp(t, "/metrics", 8))
		return HTTP_ROUTE_METRICS;
	if (pl == 8 && !memcmp(t, "/healthz", 8))
		return HTTP_ROUTE_HEALTHZ;
	if (pl == 7 && !memcmp(t, "/readyz", 7))
		return HTTP_ROUTE_READYZ;
	return HTTP_ROUTE_NONE;
}

/* "METHOD SP target SP HTTP/x.y": 0 and the parts, or the status. */
static int request_line(const char *p, size_t n, bool *get, enum http_route *route, bool *http11)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *t, *v;
	size_t tl, vl;

	if (!sp1 || sp1 == p)
		return 400;
	for (const char *c = p; c < sp1; c++)
		if (!tchar((unsigned char)*c))
			return 400;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', (size_t)(p + n - t));
	if (!sp2 || sp2 == t)
		return 400;
	tl = (size_t)(sp2 - t);
	v = sp2 + 1;
	vl = (size_t)(p + n - v);
	/* the target: origin form, visible ASCII, no fragment */
	if (t[0] != '/')
		return 400;
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == '#')
			return 400;
	if (vl == 8 && !memcmp(v, "HTTP/1.1", 8))
		*http11 = true;
	else if (vl == 8 && !memcmp(v, "HTTP/1.0", 8))
		*http11 = false;
	else if (vl == 8 && !memcmp(v, "HTTP/", 5) && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
		 v[7] >= '0' && v[7] <= '9')
		return 505;
	else
		return 400;
	*get = (size_t)(sp1 - p) == 3 && !memcmp(p, "GET", 3);
	*route = route_of(t, tl);
	return 0;
}

/* "name: value": a token, a colon, then SP, HTAB, visible ASCII and
 * obs-text only. */
static bool header_ok(const char *p, size_t n, bool *host)
{
	const char *colon = memchr(p, ':', n);

	if (!colon || colon == p)
		return false;
	for (const char *c = p; c < colon; c++)
		if (!tchar((unsigned char)*c))
			return false;
	for (const char *c = colon + 1; c < p + n; c++) {
		unsigned char u = (unsigned char)*c;

		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return false;
	}
	if (colon - p == 4 && !strncasecmp(p, "host", 4))
		*host = true;
	return true;
}

enum http_parse http_req_parse(const char *buf, size_t len, struct http_req *r)
{
	const char *p = buf, *end = buf + len, *next;
	enum http_route route = HTTP_ROUTE_NONE;
	bool bad = false, get = false, http11 = false, host = false;
	size_t n, headers = 0;
	int st;

	memset(r, 0, sizeof(*r));
	next = line_end(p, end, &n, &bad);
	/* no LF yet: the line holds at least len - 1 bytes (the last may be
	 * its CR) */
	if (!next)
		return len > HTTP_LINE_MAX ? done(r, 414, route) : HTTP_NEED_MORE;
	/* the bound first: the verdict must not change as more bytes come */
	if (n >= HTTP_LINE_MAX)
		return done(r, 414, route);
	if (bad)
		return done(r, 400, route);
	if ((st = request_line(p, n, &get, &route, &http11)))
		return done(r, st, HTTP_ROUTE_NONE);
	for (p = next;; p = next) {
		next = line_end(p, end, &n, &bad);
		if (!next)
			return len >= HTTP_REQ_MAX ? done(r, 431, HTTP_ROUTE_NONE) : HTTP_NEED_MORE;
		if ((size_t)(next - buf) > HTTP_REQ_MAX)
			return done(r, 431, HTTP_ROUTE_NONE);
		if (bad)
			return done(r, 400, HTTP_ROUTE_NONE);
		if (n == 0)
			break;
		/* a line folded onto the last (obs-fold) is refused, as RFC
		 * 9112 lets a server do */
		if (p[0] == ' ' || p[0] == '\t' || !header_ok(p, n, &host))
			return done(r, 400, HTTP_ROUTE_NONE);
		if (++headers > HTTP_HEADERS_MAX)
			return done(r, 431, HTTP_ROUTE_NONE);
	}
	if (http11 && !host) /* RFC 9112 3.2: a server must answer 400 */
		return done(r, 400, HTTP_ROUTE_NONE);
	if (route == HTTP_ROUTE_NONE)
		return done(r, 404, route);
	if (!get)
		return done(r, 405, route);
	return done(r, 200, route);
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}
