#include "check.h"
#include "lib/textsan.h"

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
	const char s[] = "a\xff"
			 "b\xc3"
			 "c\xed\xa0\x80"; /* stray, cut, surrogate */

	CHECK(utf8_sanitize(s, sizeof(s) - 1, out, sizeof(out)));
	CHECK_STR(out, "a\xef\xbf\xbd"
		       "b\xef\xbf\xbd"
		       "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
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

static void test_utf8_valid(void)
{
	size_t bad = 99;

	CHECK(utf8_valid((const uint8_t *)"plain \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", 16, &bad));
	CHECK(utf8_valid((const uint8_t *)"", 0, NULL));
	CHECK(!utf8_valid((const uint8_t *)"ab\xc0\xaf", 4, &bad) && bad == 2);   /* overlong '/' */
	CHECK(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3, &bad) && bad == 0); /* surrogate */
	CHECK(!utf8_valid((const uint8_t *)"x\xf4\x90\x80\x80", 5, &bad) &&
	      bad == 1);                                                        /* > U+10FFFF */
	CHECK(!utf8_valid((const uint8_t *)"xy\xe2\x82", 4, &bad) && bad == 2); /* cut */
	CHECK(!utf8_valid((const uint8_t *)"\xff", 1, NULL));
}

int main(void)
{
	RUN(test_utf8_valid);
	RUN(test_valid_utf8_unchanged);
	RUN(test_invalid_bytes_replaced);
	RUN(test_overlong_rejected);
	RUN(test_cut_flagged);
	RUN(test_text_escape_forging);
	return CHECK_DONE();
}
