/* libFuzzer target: the metrics endpoint's requests, from anyone who can
 * reach its port. Whatever arrives gets one of the statuses the parser
 * may give, a route only with 200, and the same verdict however the bytes
 * are split: the verdict at the first prefix that has one is the verdict
 * on the whole. The bytes as a --metrics-addr value, too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/listen_addr.h"
#include "metrics/httpreq.h"

static void check_req(const struct http_req *r)
{
	static const int ok[] = { 200, 400, 404, 405, 414, 431, 505 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]) && ok[i] != r->status; i++)
		;
	if (i == sizeof(ok) / sizeof(ok[0]))
		__builtin_trap();
	if ((r->status == 200) != (r->route != HTTP_ROUTE_NONE) && r->status != 405)
		__builtin_trap();
	if (!strcmp(http_status_text(r->status), "Error"))
		__builtin_trap();
}

static void fuzz_addr(const uint8_t *data, size_t size)
{
	char s[80], err[256];
	struct listen_addr a;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = 0;
	if (listen_addr_parse(s, &a, err, sizeof(err)) == 0) {
		if ((a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6) || !a.len ||
		    strcmp(a.text, s))
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_req whole, part;
	enum http_parse pw = http_req_parse(buf, size, &whole);
	size_t step = size > 512 ? size / 64 : 1;

	if (pw == HTTP_DONE)
		check_req(&whole);
	for (size_t i = 0; i < size; i += step) {
		if (http_req_parse(buf, i, &part) == HTTP_NEED_MORE)
			continue;
		check_req(&part);
		if (pw != HTTP_DONE || part.status != whole.status || part.route != whole.route)
			__builtin_trap();
	}
	/* the server never waits past HTTP_REQ_MAX bytes */
	if (size >= HTTP_REQ_MAX && http_req_parse(buf, HTTP_REQ_MAX, &part) != HTTP_DONE)
		__builtin_trap();
	fuzz_addr(data, size);
	return 0;
}
