/* libFuzzer target: Prometheus text with label values and help text from
 * the input (rule ids and output names come from users' files). Whatever
 * the bytes, the text is exactly three lines, valid UTF-8, with every
 * quote and backslash in the value escaped. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n)
			return false;
		cp = c & (0x7f >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size + 1), *help;
	const char *nl;
	struct expo e;
	size_t lines = 0, mid = size / 2;
	bool esc = false;

	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = 0;
	help = v + mid; /* the value is v up to its first NUL (or mid) */
	if (mid < size)
		v[mid] = 0;
	expo_init(&e, 1 << 20);
	expo_family(&e, "f_total", EXPO_COUNTER, mid < size ? help + 1 : "");
	expo_u64(&e, (const char *const[]){ "rule", v, NULL }, 1);
	if (e.errors || !e.buf || !valid_utf8((const unsigned char *)e.buf, e.len))
		__builtin_trap();
	for (size_t i = 0; i < e.len; i++)
		lines += e.buf[i] == '\n';
	if (lines != 3 || e.buf[e.len - 1] != '\n')
		__builtin_trap();
	/* the sample line: every " inside the braces escaped, ending in "} 1 */
	nl = strrchr(e.buf, '\n');
	for (const char *p = strstr(e.buf, "\nf_total{rule=\"") + 15; p < nl - 4; p++) {
		if (esc)
			esc = false;
		else if (*p == '\\')
			esc = true;
		else if (*p == '"')
			__builtin_trap();
	}
	if (esc || strncmp(nl - 4, "\"} 1", 4))
		__builtin_trap();
	expo_free(&e);
	free(v);
	return 0;
}
