/* libFuzzer target: the forwarding formats. Arbitrary bytes are parsed as
 * a record and rendered in every format for every output type, as a HEC
 * event and as a _bulk item; each result must be one message (no CR or
 * LF; a _bulk item exactly two lines), valid UTF-8, and JSON where the
 * format is JSON. The same bytes are read as a _bulk answer. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward/format/fmt_http.h"
#include "forward/format/fmt_record.h"
#include "lib/textsan.h"

static const struct fmt_ctx ctx = { .host = "fuzz-host",
				    .version = "0.1.0",
				    .facility = 23,
				    .procid = 1 };

static void check_text(const struct fbuf *b, size_t lines)
{
	size_t nl = 0;

	if (b->oom)
		return;
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\r' || (b->p[i] == '\n' && ++nl > lines))
			__builtin_trap(); /* framing broken */
	if (b->len && !utf8_valid((const uint8_t *)b->p, b->len, NULL))
		__builtin_trap();
}

static void check_json(const char *s, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(s, len);

	if (!cJSON_IsObject(j))
		__builtin_trap(); /* a JSON format that is not JSON */
	cJSON_Delete(j);
}

static void render(const cJSON *rec, const char *line)
{
	struct fbuf b = { 0 };
	char why[128];

	for (int t = OUT_SYSLOG; t <= OUT_FILE; t++) {
		for (int f = FMT_JSON; f <= FMT_OCSF; f++) {
			fbuf_reset(&b);
			if (fmt_record(&b, t, f, rec, line, &ctx, why, sizeof(why))) {
				if (b.len || !why[0])
					__builtin_trap(); /* failed without a word, or half-written */
				continue;
			}
			check_text(&b, 0);
			if (f == FMT_FALCO || f == FMT_ECS || f == FMT_OCSF ||
			    (f == FMT_JSON && t != OUT_SYSLOG && !line))
				check_json(b.p, b.len);
		}
	}
	for (int f = FMT_JSON; f <= FMT_OCSF; f++) {
		fbuf_reset(&b);
		if (fmt_hec_event(&b, f, rec, line, &ctx, why, sizeof(why)) == 0) {
			check_text(&b, 0);
			check_json(b.p, b.len);
		}
		fbuf_reset(&b);
		if (fmt_bulk_item(&b, f, rec, line, &ctx, why, sizeof(why)) == 0) {
			char *nl = memchr(b.p, '\n', b.len);

			check_text(&b, 2);
			if (!nl || b.p[b.len - 1] != '\n')
				__builtin_trap();
			check_json(b.p, (size_t)(nl - b.p));
			check_json(nl + 1, b.len - (size_t)(nl + 1 - b.p));
		}
	}
	fbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy, not NUL-terminated: ASan sees any read past it */
	char *exact = malloc(size ? size : 1), *line = malloc(size + 1);
	int status[4];
	char why[128];
	cJSON *rec;

	if (!exact || !line)
		goto out;
	memcpy(exact, data, size);
	memcpy(line, data, size);
	line[size] = '\0';
	for (size_t n = 0; n < 4; n++)
		if (bulk_parse_response(exact, size, n, status, why, sizeof(why)) == 0) {
			for (size_t i = 0; i < n; i++)
				if (status[i] < 100 || status[i] > 599)
					__builtin_trap();
		} else if (!why[0] || strpbrk(why, "\r\n")) {
			__builtin_trap(); /* a reason, on one line */
		}
	rec = cJSON_ParseWithLength(exact, size);
	if (rec) {
		/* line as given (possibly not the same JSON: a caller's bug must
		 * not break framing either), and none (rec printed) */
		render(rec, line);
		render(rec, NULL);
		cJSON_Delete(rec);
	}
out:
	free(exact);
	free(line);
	return 0;
}
