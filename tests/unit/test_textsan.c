#include "check.h"
#include "textsan.h"

static void test_valid_utf8_unchanged(void)
{
	char out[64];
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	CHECK(!utf8_sanitize(s, strlen(s), out, sizeof(out)));
	CHECK_STR(out, s);
}

static void test_invalid_bytes_replaced(void)
{
	char out[64];
	const char s[] = "a\xff" "b\xc3" "c\xed\xa0\x80";  /* stray, cut, surrogate */

	CHECK(utf8_sanitize(s, sizeof(s) - 1, out, sizeof(out)));
	CHECK_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_overlong_rejected(void)
{
	char out[16];

	CHECK(utf8_sanitize("\xc0\xaf", 2, out, sizeof(out)));
	CHECK(strstr(out, "/") == NULL);
}

static void test_cut_flagged(void)
{
	char out[4];

	CHECK(utf8_sanitize("abcdef", 6, out, sizeof(out)));
	CHECK_STR(out, "abc");
}

static void test_text_escape_forging(void)
{
	char out[128];
	const char *s = "x\nFAKE ALERT\t\x1b[31m\xff\\";

	CHECK(text_escape(s, strlen(s), out, sizeof(out)));
	CHECK_STR(out, "x\\nFAKE ALERT\\t\\x1b[31m\\xff\\\\");
	CHECK(strchr(out, '\n') == NULL);
}

int main(void)
{
	RUN(test_valid_utf8_unchanged);
	RUN(test_invalid_bytes_replaced);
	RUN(test_overlong_rejected);
	RUN(test_cut_flagged);
	RUN(test_text_escape_forging);
	return CHECK_DONE();
}
