/* Prometheus text exposition (see expo.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"

void expo_init(struct expo *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
}

void expo_reset(struct expo *e)
{
	e->len = 0;
	e->errors = 0;
	e->family = NULL;
	e->n_families = 0;
	if (e->buf)
		e->buf[0] = 0;
}

void expo_free(struct expo *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

/* Room for n more bytes and a NUL; false (counted) past max. */
static bool reserve(struct expo *e, size_t n)
{
	size_t want = e->len + n + 1, cap;
	char *b;

	if (want > e->max) {
		e->errors++;
		return false;
	}
	if (want <= e->cap)
		return true;
	cap = e->cap ? e->cap : 4096;
	while (cap < want)
		cap *= 2;
	if (cap > e->max)
		cap = e->max;
	b = realloc(e->buf, cap);
	if (!b) {
		e->errors++;
		return false;
	}
	e->buf = b;
	e->cap = cap;
	return true;
}

static bool put(struct expo *e, const char *s, size_t n)
{
	if (!reserve(e, n))
		return false;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = 0;
	return true;
}

static bool puts_(struct expo *e, const char *s)
{
	return put(e, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s escaped: \ and newline always, " too in a label value; bytes that are
 * not UTF-8 become U+FFFD (Prometheus refuses the scrape otherwise). */
static bool put_escaped(struct expo *e, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);
		bool ok;

		if (*p == '\\')
			ok = put(e, "\\\\", 2);
		else if (*p == '\n')
			ok = put(e, "\\n", 2);
		else if (*p == '"' && quote)
			ok = put(e, "\\\"", 2);
		else if (!n)
			ok = put(e, "\xef\xbf\xbd", 3);
		else
			ok = put(e, (const char *)p, n);
		if (!ok)
			return false;
		p += n ? n : 1;
	}
	return true;
}

bool expo_metric_name_ok(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			return false;
	return true;
}

bool expo_label_name_ok(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9') || !strncmp(s, "__", 2))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Back to the text as it was at mark: nothing half written. */
static void cut(struct expo *e, size_t mark)
{
	e->len = mark;
	if (e->buf)
		e->buf[mark] = 0;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

void expo_family(struct expo *e, const char *name, enum expo_type t, const char *help)
{
	size_t mark = e->len;
	bool ok = expo_metric_name_ok(name) && (t == EXPO_COUNTER) == ends_with(name, "_total") &&
		  e->n_families < EXPO_MAX_FAMILIES;

	for (size_t i = 0; ok && i < e->n_families; i++)
		ok = strcmp(e->families[i], name) != 0;
	e->family = NULL;
	if (!ok) {
		e->errors++;
		return;
	}
	if (!(puts_(e, "# HELP ") && puts_(e, name) && puts_(e, " ") &&
	      put_escaped(e, help ? help : "", false) && puts_(e, "\n# TYPE ") && puts_(e, name) &&
	      puts_(e, t == EXPO_COUNTER ? " counter\n" : " gauge\n"))) {
		cut(e, mark);
		return;
	}
	e->families[e->n_families++] = name;
	e->family = name;
}

/* The labels checked before anything is written: names valid, none twice,
 * a value for each. */
static bool labels_ok(const char *const *l)
{
	size_t n = 0;

	for (; l && l[n]; n += 2) {
		if (n / 2 >= EXPO_MAX_LABELS || !expo_label_name_ok(l[n]) || !l[n + 1])
			return false;
		for (size_t k = 0; k < n; k += 2)
			if (!strcmp(l[k], l[n]))
				return false;
	}
	return true;
}

/* "name{a=\"x\",b=\"y\"} " and the value; the text is cut back to where
 * it was when something does not fit. */
static void sample(struct expo *e, const char *const *l, const char *value)
{
	size_t mark = e->len;
	bool ok;

	if (!e->family || !labels_ok(l)) {
		e->errors++;
		return;
	}
	ok = puts_(e, e->family);
	if (ok && l && l[0]) {
		ok = puts_(e, "{");
		for (size_t i = 0; ok && l[i]; i += 2)
			ok = (i == 0 || puts_(e, ",")) && puts_(e, l[i]) && puts_(e, "=\"") &&
			     put_escaped(e, l[i + 1], true) && puts_(e, "\"");
		ok = ok && puts_(e, "}");
	}
	ok = ok && puts_(e, " ") && puts_(e, value) && puts_(e, "\n");
	if (!ok)
		cut(e, mark);
}

void expo_u64(struct expo *e, const char *const *labels, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	sample(e, labels, num);
}

void expo_f64(struct expo *e, const char *const *labels, double v)
{
	char num[64];

	if (isnan(v))
		snprintf(num, sizeof(num), "NaN");
	else if (isinf(v))
		snprintf(num, sizeof(num), v > 0 ? "+Inf" : "-Inf");
	else if (v < 1e15 && v > -1e15)
		snprintf(num, sizeof(num), "%.3f", v);
	else
		snprintf(num, sizeof(num), "%.17g", v);
	sample(e, labels, num);
}
