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

static void test_text_escape_c1_bidi(void)
{
	char out[256];
	/* RLO hides the order: "evil\u202Elmth.exe" shows as "evilexe.html" */
	const char *s = "a\xc2\x85"
			"b\xc2\x9b"
			"31m"
			"evil\xe2\x80\xae"
			"lmth.exe\xe2\x81\xa6"
			"x\xe2\x81\xa9"
			"\xe2\x80\xa8"
			"\xe2\x80\xa9"
			"\xe2\x80\xaa"
			"\xe2\x80\x8f"
			"\xd8\x9c";

	CHECK(text_escape(s, strlen(s), out, sizeof(out)));
	CHECK_STR(out, "a\\u{0085}b\\u{009B}31mevil\\u{202E}lmth.exe\\u{2066}x\\u{2069}"
		       "\\u{2028}\\u{2029}\\u{202A}\\u{200F}\\u{061C}");
}

/* Neighbours of the escaped ranges are ordinary text. */
static void test_text_escape_neighbours_kept(void)
{
	char out[64];
	const char *s = "\xc2\xa0"     /* U+00A0 no-break space */
			"\xe2\x80\xa7" /* U+2027 */
			"\xe2\x80\xaf" /* U+202F */
			"\xe2\x81\xa5" /* U+2065 */
			"\xe2\x81\xaa" /* U+206A */
			"\xe2\x80\x8d" /* U+200D zero-width joiner */
			"\xc3\xa9";

	CHECK(!text_escape(s, strlen(s), out, sizeof(out)));
	CHECK_STR(out, s);
}

/* text_put: the widest escapes fit its buffer; a cut line ends on a whole
 * character. */
static void test_text_put_cut(void)
{
	char in[401], out[2048], small[6];
	size_t o;

	for (int i = 0; i < 200; i++)
		memcpy(in + 2 * i, "\xc2\x9b", 2);
	in[400] = 0;
	o = text_put(out, sizeof(out), 0, in);
	CHECK(o == 1600 && strlen(out) == 1600);
	CHECK(strncmp(out + 1592, "\\u{009B}", 8) == 0);
	o = text_put(small, sizeof(small), 0, "abcd\xc3\xa9");
	CHECK(o >= sizeof(small));
	CHECK_STR(small, "abcd");
	o = text_put(small, sizeof(small), 0, "ab\xe2\x82\xac");
	CHECK_STR(small, "ab\xe2\x82\xac");
	o = text_put(small, sizeof(small), 1, "\xe2\x82\xac\xe2\x82\xac");
	CHECK(o >= sizeof(small));
	CHECK_STR(small + 1, "\xe2\x82\xac");
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
	RUN(test_text_escape_c1_bidi);
	RUN(test_text_escape_neighbours_kept);
	RUN(test_text_put_cut);
	return CHECK_DONE();
}
