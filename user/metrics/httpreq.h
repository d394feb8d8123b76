/*
 * The HTTP/1.x requests the metrics endpoint takes: GET of /metrics,
 * /healthz or /readyz, request line and headers within HTTP_REQ_MAX
 * bytes, every line ending in CRLF. Anything else gets the status that
 * says why; the path is compared as sent (nothing is decoded or
 * normalised, so no spelling of a path reaches anything but the three).
 */
#ifndef MLWATCH_HTTPREQ_H
#define MLWATCH_HTTPREQ_H
#include <stdbool.h>
#include <stddef.h>

#define HTTP_REQ_MAX 4096  /* request line and headers together */
#define HTTP_LINE_MAX 1024 /* the request line alone */
#define HTTP_HEADERS_MAX 64

enum http_route { HTTP_ROUTE_NONE, HTTP_ROUTE_METRICS, HTTP_ROUTE_HEALTHZ, HTTP_ROUTE_READYZ };

enum http_parse {
	HTTP_NEED_MORE, /* no verdict yet: wait for more bytes */
	HTTP_DONE,      /* status (and route when 200) set */
};

struct http_req {
	int status; /* 200, or 400, 404, 405, 414, 431, 505 */
	enum http_route route;
};

/* Judges the bytes received so far (from the connection's first). Bytes
 * after the blank line that ends the headers are not looked at. */
enum http_parse http_req_parse(const char *buf, size_t len, struct http_req *r);
const char *http_status_text(int status);
#endif
