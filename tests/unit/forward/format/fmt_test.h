/* Helpers of the format tests: render a record given as JSON text, and
 * the properties every rendered message must have. */
#ifndef MLWATCH_TEST_FMT_TEST_H
#define MLWATCH_TEST_FMT_TEST_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward/format/fmt_record.h"
#include "lib/textsan.h"

static const struct fmt_ctx test_ctx = { .host = "node-1",
					 .version = "0.1.0",
					 .facility = 16,
					 .procid = 4242 };

static char test_why[256];

/* The message for the record json (also its line), or NULL when
 * fmt_record fails (test_why says why). The caller frees it. */
static inline char *render_ctx(enum out_type type, enum out_format f, const char *json,
			       const struct fmt_ctx *ctx)
{
	cJSON *rec = cJSON_Parse(json);
	struct fbuf b = { 0 };
	char *s = NULL;

	test_why[0] = '\0';
	if (fmt_record(&b, type, f, rec, json, ctx, test_why, sizeof(test_why)) == 0)
		s = strdup(b.p ? b.p : "");
	fbuf_free(&b);
	cJSON_Delete(rec);
	return s;
}

static inline char *render(enum out_type type, enum out_format f, const char *json)
{
	return render_ctx(type, f, json, &test_ctx);
}

/* One message: no CR or LF, valid UTF-8. */
static inline bool one_line_utf8(const char *s)
{
	return s && !strpbrk(s, "\r\n") && utf8_valid((const uint8_t *)s, strlen(s), NULL);
}

/* The member at a dotted path of a parsed document ("a.b.c"). */
static inline const cJSON *jpath(const cJSON *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

static inline const char *jstr(const cJSON *o, const char *path)
{
	const cJSON *j = jpath(o, path);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static inline double jnum(const cJSON *o, const char *path)
{
	const cJSON *j = jpath(o, path);

	return cJSON_IsNumber(j) ? j->valuedouble : -1;
}

#endif
