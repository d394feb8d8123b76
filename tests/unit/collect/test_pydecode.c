/* Decoding of Python audit records (collect/pyargs.c through decode.c):
 * hostile lengths, encodings and text. */
#include <stdlib.h>
#include "check.h"
#include "pyrec.h"
#include "collect/decode.h"
#include "collect/pyevents.h"
#include "lib/textsan.h"

static struct event ev;
static unsigned char buf[16384];

static void test_find_class_utf8(void)
{
	struct pyrec_arg a[] = { PYSTR("posix"), PYSTR("system") };
	size_t n = pyrec_make(buf, 7, PYEV_FIND_CLASS, MLW_PY_F_UNSAFE, a, 2);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK(ev.kind == MLW_EV_PYTHON);
	CHECK(ev.py.event == PYEV_FIND_CLASS);
	CHECK(ev.py.n == 2);
	CHECK_STR(ev.py.arg[0], "posix");
	CHECK_STR(ev.py.arg[1], "system");
	CHECK(!ev.py.truncated && !ev.py.fault);
	CHECK(ev.py.pyflags & MLW_PY_F_UNSAFE);
}

static void test_lengths_past_end_rejected(void)
{
	struct pyrec_arg a[] = { PYSTR("posix"), PYSTR("system") };
	size_t n = pyrec_make(buf, 7, PYEV_FIND_CLASS, 0, a, 2);
	struct mlw_python *r = (struct mlw_python *)buf;
	const char *why = NULL;

	r->len[1] = 7; /* one byte past the record */
	CHECK(event_decode(buf, n, &ev, &why) == -1 && why);
	r->len[1] = 6;
	r->len[0] = 0xffff;
	CHECK(event_decode(buf, n, &ev, &why) == -1);
	/* every length large: their sum must not wrap */
	for (int i = 0; i < MLW_PY_ARGS; i++)
		r->len[i] = 0xffff;
	r->nargs = MLW_PY_ARGS;
	CHECK(event_decode(buf, n, &ev, &why) == -1);
	/* shorter than the struct */
	CHECK(event_decode(buf, sizeof(*r) - 1, &ev, &why) == -1);
}

static void test_too_many_args_rejected(void)
{
	struct pyrec_arg a[] = { PYSTR("a") };
	size_t n = pyrec_make(buf, 7, PYEV_OS_SYSTEM, 0, a, 1);
	const char *why = NULL;

	((struct mlw_python *)buf)->nargs = MLW_PY_ARGS + 1;
	CHECK(event_decode(buf, n, &ev, &why) == -1 && why && strstr(why, "MLW_PY_ARGS"));
}

static void test_unknown_event_rejected(void)
{
	struct pyrec_arg a[] = { PYSTR("a") };
	size_t n = pyrec_make(buf, 7, PYEV_MAX, 0, a, 1);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == -1 && why);
	pyrec_make(buf, 7, 0, 0, a, 1);
	CHECK(event_decode(buf, n, &ev, &why) == -1);
}

static void test_bad_encoding_flagged(void)
{
	struct pyrec_arg a[] = { { .enc = 99, .bytes = "xyz", .len = 3 }, PYSTR("ok") };
	size_t n = pyrec_make(buf, 7, PYEV_COMPILE, 0, a, 2);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK_STR(ev.py.arg[0], "");
	CHECK(ev.py.enc[0] == MLW_PY_ENC_FAULT && ev.py.bad[0] && ev.py.fault);
	CHECK_STR(ev.py.arg[1], "ok"); /* the next one still where it was */
}

static void test_invalid_utf8_replaced(void)
{
	/* a bad byte, an overlong '/', a NUL and a cut sequence */
	struct pyrec_arg a[] = { { .enc = MLW_PY_ENC_UTF8,
				   .bytes = "a\xff\xc0\xaf"
					    "b\0c\xe2\x82",
				   .len = 9 } };
	size_t n = pyrec_make(buf, 7, PYEV_OS_SYSTEM, 0, a, 1);
	const char *why = NULL;
	size_t bad = 0;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK(utf8_valid((const uint8_t *)ev.py.arg[0], strlen(ev.py.arg[0]), &bad));
	CHECK(strncmp(ev.py.arg[0], "a\xef\xbf\xbd", 4) == 0);
	CHECK(strstr(ev.py.arg[0], "b\xef\xbf\xbd"
				   "c") != NULL); /* the NUL kept visible */
	CHECK(ev.py.bad[0] && ev.py.fault);
}

static void test_latin1_ucs_converted(void)
{
	const unsigned char l1[] = { 'c', 0xe9 };              /* "cé" */
	const unsigned char u2[] = { 0xac, 0x20, 0x00, 0xd8 }; /* "€", a lone surrogate */
	const unsigned char u4[] = {
		0x00, 0xf6, 0x01, 0x00, 0x00, 0x00, 0x11, 0x00
	}; /* 😀, past U+10FFFF */
	struct pyrec_arg a[] = { { .enc = MLW_PY_ENC_LATIN1, .bytes = l1, .len = 2 },
				 { .enc = MLW_PY_ENC_UCS2, .bytes = u2, .len = 4 },
				 { .enc = MLW_PY_ENC_UCS4, .bytes = u4, .len = 8 },
				 { .enc = MLW_PY_ENC_UCS2, .bytes = u2, .len = 3 } };
	size_t n = pyrec_make(buf, 7, PYEV_URLLIB_REQUEST, 0, a, 4);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK_STR(ev.py.arg[0], "c\xc3\xa9");
	CHECK_STR(ev.py.arg[1], "\xe2\x82\xac\xef\xbf\xbd");
	CHECK_STR(ev.py.arg[2], "\xf0\x9f\x98\x80\xef\xbf\xbd");
	CHECK_STR(ev.py.arg[3], "\xe2\x82\xac"); /* an odd byte: cut */
	CHECK(ev.py.cut[3] && ev.py.truncated);
}

static void test_bytes_escaped(void)
{
	struct pyrec_arg a[] = {
		{ .enc = MLW_PY_ENC_BYTES, .bytes = "id\n\"x\"\\\0\x90\xe2\x80\xae", .len = 12 }
	};
	size_t n = pyrec_make(buf, 7, PYEV_MARSHAL_LOADS, 0, a, 1);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	/* a quote stays (JSON escapes it), a newline, a backslash, a NUL, a
	 * bad byte and a bidi override are escaped */
	CHECK_STR(ev.py.arg[0], "id\\n\"x\"\\\\\\x00\\x90\\u{202E}");
	CHECK(!ev.py.fault);
}

static void test_int_and_seq(void)
{
	const unsigned char port[8] = { 0xbb, 0x01 }; /* 443 */
	const unsigned char neg[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct pyrec_arg a[] = {
		PYSTR("/bin/sh"),
		{ .enc = MLW_PY_ENC_SEQ, .bytes = "sh\0-c\0id\n\0", .len = 10, .size = 3 },
		{ .enc = MLW_PY_ENC_INT, .bytes = port, .len = 8 },
		{ .enc = MLW_PY_ENC_INT, .bytes = neg, .len = 4 }
	};
	size_t n = pyrec_make(buf, 7, PYEV_SUBPROCESS_POPEN, 0, a, 4);
	const char *why = NULL;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK_STR(ev.py.arg[1], "sh -c id\\n");
	CHECK(ev.py.items[1] == 3 && !ev.py.cut[1]);
	CHECK_STR(ev.py.arg[2], "443");
	CHECK_STR(ev.py.arg[3], ""); /* an int is 8 bytes */
	CHECK(ev.py.bad[3]);
	/* fewer items than the list had, and a last one without its NUL */
	((struct mlw_python *)buf)->size[1] = 9;
	CHECK(event_decode(buf, n, &ev, &why) == 0 && ev.py.cut[1]);
	memcpy(buf + sizeof(struct mlw_python) + 7, "sh\0-c\0id\n\n", 10);
	((struct mlw_python *)buf)->size[1] = 3;
	CHECK(event_decode(buf, n, &ev, &why) == 0 && ev.py.cut[1]);
	CHECK_STR(ev.py.arg[1], "sh -c id\\n\\n");
	memcpy(&((struct mlw_python *)buf)->data[7 + 10 + 8], "\x01\0\0\0\0\0\0\x80", 8);
	((struct mlw_python *)buf)->len[3] = 8;
	CHECK(event_decode(buf, n + 4, &ev, &why) == 0);
	CHECK_STR(ev.py.arg[3], "-9223372036854775807");
}

static void test_4k_and_flags(void)
{
	static char big[5000];
	struct pyrec_arg a[] = {
		{ .enc = MLW_PY_ENC_BYTES, .bytes = big, .len = 4500, .size = 9000 }
	};
	size_t n;
	const char *why = NULL;

	memset(big, '\x01', sizeof(big));
	n = pyrec_make(buf, 7, PYEV_MARSHAL_LOADS, MLW_PY_F_FAULT, a, 1);
	CHECK(event_decode(buf, n, &ev, &why) == 0);
	/* only MLW_PY_ARG_MAX bytes read, each escaped */
	CHECK(strlen(ev.py.arg[0]) == 4 * MLW_PY_ARG_MAX);
	CHECK(ev.py.cut[0] && ev.py.truncated && ev.py.fault);
	CHECK(ev.args_truncated);
	/* a cut str: fewer characters than Python's len() */
	{
		struct pyrec_arg b[] = {
			{ .enc = MLW_PY_ENC_UTF8, .bytes = "posi", .len = 4, .size = 5 }
		};

		n = pyrec_make(buf, 7, PYEV_FIND_CLASS, MLW_PY_F_TRUNC, b, 1);
		CHECK(event_decode(buf, n, &ev, &why) == 0 && ev.py.cut[0]);
	}
}

static void test_random_python_records(void)
{
	int accepted = 0;
	const char *why;

	srand(3);
	for (int i = 0; i < 50000; i++) {
		size_t n = sizeof(struct mlw_python) + (size_t)rand() % 1200;
		struct mlw_python *r = (struct mlw_python *)buf;

		for (size_t j = 0; j < n; j++)
			buf[j] = (unsigned char)rand();
		r->hdr.kind = MLW_EV_PYTHON;
		r->event = 1 + (u32)rand() % (PYEV_MAX - 1);
		r->nargs = (u8)(rand() % 6);
		for (int k = 0; k < MLW_PY_ARGS; k++) {
			r->len[k] = (u16)(rand() % 400);
			r->enc[k] = (u8)(rand() % 10);
		}
		if (event_decode(buf, n, &ev, &why))
			continue;
		accepted++;
		for (size_t k = 0; k < ev.py.n; k++) {
			size_t bad;

			CHECK(strlen(ev.py.arg[k]) < PYARGS_TEXT_MAX);
			CHECK(utf8_valid((const uint8_t *)ev.py.arg[k], strlen(ev.py.arg[k]),
					 &bad));
		}
	}
	CHECK(accepted > 100);
}

int main(void)
{
	RUN(test_find_class_utf8);
	RUN(test_lengths_past_end_rejected);
	RUN(test_too_many_args_rejected);
	RUN(test_unknown_event_rejected);
	RUN(test_bad_encoding_flagged);
	RUN(test_invalid_utf8_replaced);
	RUN(test_latin1_ucs_converted);
	RUN(test_bytes_escaped);
	RUN(test_int_and_seq);
	RUN(test_4k_and_flags);
	RUN(test_random_python_records);
	return CHECK_DONE();
}
