/* npy_parse: real files written at test time by /usr/bin/python3 with numpy
 * (np.save, np.lib.format.write_array for versions 2.0 and 3.0), header
 * literal forms numpy's safe_eval accepts, and malformed headers with the
 * exact messages. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "scan/formats/npy.h"

static int generated;

static const char gen_py[] =
	"import os, sys\n"
	"import numpy as np\n"
	"d = sys.argv[1]\n"
	"def s(n, a, **kw):\n"
	"    np.save(os.path.join(d, n + '.npy'), a, **kw)\n"
	"s('f8', np.arange(6, dtype='<f8').reshape(2, 3))\n"
	"s('i4', np.arange(5, dtype='<i4'))\n"
	"s('bool', np.array([True, False, True]))\n"
	"s('u5', np.array(['ab', 'cdefg'], dtype='<U5'))\n"
	"s('s3', np.array([b'ab', b'xyz'], dtype='S3'))\n"
	"s('dt', np.array(['2020-01-01', '2021-06-01'], dtype='datetime64[ns]'))\n"
	"s('c16', np.array([1 + 2j, 3j], dtype='<c16'))\n"
	"s('void', np.zeros(3, dtype='V16'))\n"
	"s('struct', np.zeros(4, dtype=[('x', '<f4'), ('y', '<i8')]))\n"
	"s('nested_obj', np.zeros(2, dtype=[('a', [('p', '<f8'), ('q', 'O')]),\n"
	"                                   ('b', '<i2', (2, 3))]), allow_pickle=True)\n"
	"s('fortran', np.asfortranarray(np.arange(12, dtype='>i2').reshape(3, 4)))\n"
	"s('zerod', np.array(3.5))\n"
	"s('empty', np.zeros((0, 5), dtype='<f4'))\n"
	"s('obj', np.array([{'a': 1}, None], dtype=object), allow_pickle=True)\n"
	"with open(os.path.join(d, 'v2.npy'), 'wb') as f:\n"
	"    np.lib.format.write_array(f, np.arange(4, dtype='<u2'), version=(2, 0))\n"
	"with open(os.path.join(d, 'v3.npy'), 'wb') as f:\n"
	"    np.lib.format.write_array(f, np.zeros(2, dtype=[('\\u00e9t\\u00e9', '<f8'), ('o', 'O')]),\n"
	"                              version=(3, 0), allow_pickle=True)\n";

/* Parses sample name.npy through a file view; fills *size and the first data
 * byte (-1 when there is none). */
static int parse_file(const char *name, struct npy_header *h, char *err, size_t errlen,
		      uint64_t *size, int *first)
{
	char file[128];
	struct byte_src s;
	uint8_t b;
	int fd, rc;

	*size = 0;
	*first = -1;
	snprintf(file, sizeof(file), "%s.npy", name);
	if ((fd = sample_open(file, &s)) < 0)
		return -100;
	*size = s.size;
	rc = npy_parse(&s, h, err, errlen);
	if (!rc && bsrc_read(&s, h->data_off, &b, 1) == 1)
		*first = b;
	close(fd);
	return rc;
}

/* Builds a .npy in buf: magic, version, header length, text, then ndata
 * zero bytes. Returns the total length. */
static size_t mk(uint8_t *buf, size_t cap, int major, const char *text, size_t ndata)
{
	size_t tl = strlen(text), off = major == 1 ? 10 : 12;

	if (off + tl + ndata > cap)
		return 0;
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (uint8_t)major;
	buf[7] = 0;
	buf[8] = (uint8_t)tl;
	buf[9] = (uint8_t)(tl >> 8);
	if (major != 1) {
		buf[10] = (uint8_t)(tl >> 16);
		buf[11] = (uint8_t)(tl >> 24);
	}
	memcpy(buf + off, text, tl);
	memset(buf + off + tl, 0, ndata);
	return off + tl + ndata;
}

static int parse_text(int major, const char *text, size_t ndata, struct npy_header *h, char *err,
		      size_t errlen)
{
	static uint8_t buf[1 << 16];
	struct byte_src s;
	size_t n = mk(buf, sizeof(buf), major, text, ndata);

	bsrc_from_mem(&s, buf, n);
	return npy_parse(&s, h, err, errlen);
}

#define SIMPLE(descr, shape) "{'descr': '" descr "', 'fortran_order': False, 'shape': " shape ", }"

static void test_generated(void)
{
	CHECK(generated == 0);
}

static void test_float_int_bool(void)
{
	struct npy_header h;
	char err[256] = "";
	uint64_t size;
	int first;

	CHECK(parse_file("f8", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(err, "");
	CHECK(h.major == 1 && h.minor == 0);
	CHECK_STR(h.descr, "<f8");
	CHECK(!h.structured && !h.has_object && !h.fortran_order && !h.descr_cut);
	CHECK(h.ndim == 2 && h.shape[0] == 2 && h.shape[1] == 3);
	CHECK(h.data_off == 128 && h.header_len == 118);
	CHECK(h.itemsize == 8 && h.data_bytes == 48);
	CHECK(size == 128 + 48 && !h.size_mismatch);

	CHECK(parse_file("i4", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "<i4");
	CHECK(h.ndim == 1 && h.shape[0] == 5 && h.itemsize == 4 && h.data_bytes == 20);
	CHECK(!h.size_mismatch && h.data_off + h.data_bytes == size);

	CHECK(parse_file("bool", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "|b1");
	CHECK(h.itemsize == 1 && h.data_bytes == 3 && !h.size_mismatch && first == 1);
}

static void test_strings_dates_complex(void)
{
	struct npy_header h;
	char err[256];
	uint64_t size;
	int first;

	CHECK(parse_file("u5", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "<U5");
	CHECK(h.itemsize == 20 && h.data_bytes == 40 && !h.size_mismatch && first == 'a');

	CHECK(parse_file("s3", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "|S3");
	CHECK(h.itemsize == 3 && h.data_bytes == 6 && !h.size_mismatch && first == 'a');

	CHECK(parse_file("dt", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "<M8[ns]");
	CHECK(h.itemsize == 8 && h.data_bytes == 16 && !h.size_mismatch);

	CHECK(parse_file("c16", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "<c16");
	CHECK(h.itemsize == 16 && h.data_bytes == 32 && !h.size_mismatch);

	CHECK(parse_file("void", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "|V16");
	CHECK(h.itemsize == 16 && h.data_bytes == 48 && !h.size_mismatch && !h.has_object);
}

static void test_structured(void)
{
	struct npy_header h;
	char err[256];
	uint64_t size;
	int first;

	CHECK(parse_file("struct", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.structured && !h.has_object && !h.descr_cut);
	CHECK_STR(h.descr, "[('x', '<f4'), ('y', '<i8')]");
	CHECK(h.itemsize == 0 && h.data_bytes == 0 && !h.size_mismatch);
	CHECK(h.ndim == 1 && h.shape[0] == 4);

	/* an object field two levels down: the data is a pickle */
	CHECK(parse_file("nested_obj", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.structured && h.has_object);
	CHECK_STR(h.descr, "[('a', [('p', '<f8'), ('q', '|O')]), ('b', '<i2', (2, 3))]");
	CHECK(first == 0x80);
	CHECK(h.itemsize == 0 && h.data_bytes == 0 && !h.size_mismatch);
}

static void test_fortran_0d_empty(void)
{
	struct npy_header h;
	char err[256];
	uint64_t size;
	int first;

	CHECK(parse_file("fortran", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.fortran_order);
	CHECK_STR(h.descr, ">i2");
	CHECK(h.ndim == 2 && h.shape[0] == 3 && h.shape[1] == 4 && h.data_bytes == 24);
	CHECK(!h.size_mismatch);

	CHECK(parse_file("zerod", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.ndim == 0 && h.itemsize == 8 && h.data_bytes == 8 && !h.size_mismatch);

	CHECK(parse_file("empty", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.ndim == 2 && h.shape[0] == 0 && h.shape[1] == 5);
	CHECK(h.itemsize == 4 && h.data_bytes == 0 && !h.size_mismatch && first == -1);
	CHECK(h.data_off == size);
}

static void test_object_array(void)
{
	struct npy_header h;
	char err[256];
	uint64_t size;
	int first;

	CHECK(parse_file("obj", &h, err, sizeof(err), &size, &first) == 0);
	CHECK_STR(h.descr, "|O");
	CHECK(h.has_object && !h.structured);
	CHECK(h.data_off == 128 && first == 0x80); /* pickle PROTO */
	CHECK(h.itemsize == 0 && h.data_bytes == 0 && !h.size_mismatch);
	CHECK(h.ndim == 1 && h.shape[0] == 2);
}

static void test_versions(void)
{
	struct npy_header h;
	char err[256];
	uint64_t size;
	int first;

	CHECK(parse_file("v2", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.major == 2 && h.minor == 0);
	CHECK(h.data_off == 12 + h.header_len && h.data_off % 64 == 0);
	CHECK_STR(h.descr, "<u2");
	CHECK(h.data_bytes == 8 && !h.size_mismatch && first == 0);

	CHECK(parse_file("v3", &h, err, sizeof(err), &size, &first) == 0);
	CHECK(h.major == 3 && h.structured && h.has_object);
	CHECK(strstr(h.descr, "'\xc3\xa9t\xc3\xa9'") != NULL);
	CHECK(h.data_off == 12 + h.header_len && first == 0x80);
}

static void test_size_mismatch(void)
{
	struct npy_header h;
	char err[256];

	CHECK(parse_text(1, SIMPLE("<f8", "(3,)"), 24, &h, err, sizeof(err)) == 0);
	CHECK(!h.size_mismatch && h.data_bytes == 24);
	CHECK(parse_text(1, SIMPLE("<f8", "(3,)"), 23, &h, err, sizeof(err)) == 0);
	CHECK(h.size_mismatch && h.data_bytes == 24);
	CHECK(parse_text(1, SIMPLE("<f8", "(3,)"), 25, &h, err, sizeof(err)) == 0);
	CHECK(h.size_mismatch);
	/* an object array's size is the pickle's business */
	CHECK(parse_text(1, SIMPLE("|O", "(3,)"), 1, &h, err, sizeof(err)) == 0);
	CHECK(!h.size_mismatch && h.has_object);
	/* elements overflow 64 bits: no size, and no file can hold it */
	CHECK(parse_text(1, SIMPLE("<f8", "(4294967296, 4294967296)"), 0, &h, err, sizeof(err)) ==
	      0);
	CHECK(h.data_bytes == 0 && h.size_mismatch);
	CHECK(parse_text(1, SIMPLE("<f8", "(18446744073709551615, 0)"), 0, &h, err, sizeof(err)) ==
	      0);
	CHECK(h.data_bytes == 0 && !h.size_mismatch);
	CHECK(parse_text(1, SIMPLE("<U4611686018427387904", "(1,)"), 0, &h, err, sizeof(err)) == 0);
	CHECK(h.itemsize == 0 && h.data_bytes == 0 && !h.size_mismatch);
}

/* Forms ast.literal_eval accepts that np.save never writes. */
static void test_literal_forms(void)
{
	struct npy_header h;
	char err[256];

	CHECK(parse_text(1,
			 "{\"shape\": (3, 4,),\n \"fortran_order\": True, # comment\n"
			 " \"descr\": \"<i2\"}\n",
			 24, &h, err, sizeof(err)) == 0);
	CHECK(h.fortran_order && h.ndim == 2 && h.data_bytes == 24 && !h.size_mismatch);
	CHECK(parse_text(1, "{'descr':'<f4','fortran_order':False,'shape':(2,)}", 8, &h, err,
			 sizeof(err)) == 0);
	CHECK(h.data_bytes == 8 && !h.size_mismatch);
	/* Python 2 longs: numpy strips the L in versions 1.0 and 2.0 */
	CHECK(parse_text(1, SIMPLE("<f8", "(2L, 1_0)"), 160, &h, err, sizeof(err)) == 0);
	CHECK(h.shape[0] == 2 && h.shape[1] == 10 && !h.size_mismatch);
	CHECK(parse_text(3, SIMPLE("<f8", "(2L,)"), 16, &h, err, sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, SIMPLE("<f8", "(0x10,)"), 128, &h, err, sizeof(err)) == 0);
	CHECK(h.shape[0] == 16);
	/* spellings of an object dtype */
	CHECK(parse_text(1, SIMPLE("\\x4f", "()"), 0, &h, err, sizeof(err)) == 0);
	CHECK(h.has_object && h.descr[0] == 'O');
	CHECK(parse_text(1, "{'descr': '<' 'O', 'fortran_order': False, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == 0);
	CHECK(h.has_object);
	CHECK_STR(h.descr, "<O");
	CHECK(parse_text(1, SIMPLE("object", "()"), 0, &h, err, sizeof(err)) == 0);
	CHECK(h.has_object);
	CHECK(parse_text(1, SIMPLE("f8,O8", "()"), 0, &h, err, sizeof(err)) == 0);
	CHECK(h.has_object);
	CHECK(parse_text(1, SIMPLE("\\N{LATIN CAPITAL LETTER O}", "()"), 0, &h, err, sizeof(err)) ==
	      0);
	CHECK(h.has_object);
	CHECK(parse_text(1, "{'descr': ('O', (2,)), 'fortran_order': False, 'shape': ()}", 0, &h,
			 err, sizeof(err)) == 0);
	CHECK(h.has_object && !h.structured);
	/* a field named O is not an object field */
	CHECK(parse_text(1,
			 "{'descr': [('O', '<f8'), (('title', 'Obj'), '<i4', (2,))], "
			 "'fortran_order': False, 'shape': (1,)}",
			 0, &h, err, sizeof(err)) == 0);
	CHECK(h.structured && !h.has_object);
	/* the last of a repeated key wins, as in a dict literal */
	CHECK(parse_text(1,
			 "{'descr': '<f8', 'descr': '|O', 'fortran_order': False, "
			 "'shape': ()}",
			 0, &h, err, sizeof(err)) == 0);
	CHECK(h.has_object);
	/* a long structured descr is kept cut */
	{
		char t[2048];
		size_t o = (size_t)snprintf(t, sizeof(t), "{'descr': [");

		for (int i = 0; i < 40; i++)
			o += (size_t)snprintf(t + o, sizeof(t) - o, "('field%02d', '<f8'), ", i);
		snprintf(t + o, sizeof(t) - o,
			 "('z', '|O')], 'fortran_order': False, 'shape': ()}");
		CHECK(parse_text(1, t, 0, &h, err, sizeof(err)) == 0);
		CHECK(h.descr_cut && h.structured && h.has_object);
		CHECK(strlen(h.descr) == NPY_DESCR_MAX - 1);
	}
}

static void test_malformed(void)
{
	static const uint8_t v2_huge[] = "\x93NUMPY\x02\x00\x70\x11\x01\x00{}";
	struct npy_header h;
	struct byte_src s;
	uint8_t buf[256];
	char err[256];

	bsrc_from_mem(&s, "\x93NUM", 4);
	CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy: file too short (size 4)");
	bsrc_from_mem(&s, "PK\x03\x04\x00\x00\x00\x00\x00\x00\x00\x00", 12);
	CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy: bad magic (size 12)");
	bsrc_from_mem(&s, "\x93NUMPY\x04\x00\x02\x00{}", 12);
	CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy: unsupported format version 4.0");
	bsrc_from_mem(&s, v2_huge, 100);
	CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy: header length 70000 runs past end of file (size 100)");
	CHECK(h.data_off == 0);
	/* a truncated header */
	memcpy(buf, "\x93NUMPY\x01\x00\x76\x00{'descr'", 17);
	bsrc_from_mem(&s, buf, 17);
	CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "runs past end of file (size 17)") != NULL);

	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': False}", 0, &h, err, sizeof(err)) ==
	      -EINVAL);
	CHECK_STR(err, "npy header: missing 'shape' key");
	CHECK(parse_text(1, SIMPLE("<f8", "(-1,)"), 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: shape entry -1 at byte 61 is negative");
	CHECK(parse_text(1, SIMPLE("<f8", "(3.0,)"), 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: shape entry 3.0 at byte 61 is not an int");
	CHECK(parse_text(1, SIMPLE("<f8", "(18446744073709551616,)"), 0, &h, err, sizeof(err)) ==
	      -EINVAL);
	CHECK_STR(err, "npy header: shape entry 18446744073709551616 at byte 61 is too large");
	CHECK(parse_text(1, SIMPLE("<f8", "('3',)"), 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, SIMPLE("<f8", "(3)"), 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: shape is not a tuple at byte 61");
	CHECK(parse_text(1, SIMPLE("<f8", "[3]"), 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: fortran_order is not True or False at byte 44");
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}", 0, &h,
			 err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: unexpected key 'x' at byte 64");
	CHECK(parse_text(1, "{b'descr': '<f8', 'fortran_order': False, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, "{'descr': b'<f8', 'fortran_order': False, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: descr is not a str or a list at byte 20");
	/* unbalanced brackets */
	CHECK(parse_text(1, "{'descr': [('a', '<f8'), 'fortran_order': False, 'shape': ()}", 0, &h,
			 err, sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: unbalanced '{' at byte 10");
	CHECK(parse_text(1, SIMPLE("<f8", "()") ")", 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: trailing text after the dict at byte 65");
	CHECK(parse_text(1, "['descr', '<f8']", 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: header is not a dict at byte 10");
	CHECK(parse_text(1, "{'descr': '<f8, 'fortran_order': False, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': false, 'shape': ()}", 0, &h, err,
			 sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: name 'false' is not a literal at byte 44");
	CHECK(parse_text(1, "", 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: unexpected end of header at byte 10");
	/* NUL inside the text: Python will not parse it */
	{
		size_t n = mk(buf, sizeof(buf), 1, SIMPLE("<f8", "()"), 8);

		buf[12] = 0;
		bsrc_from_mem(&s, buf, n);
		CHECK(npy_parse(&s, &h, err, sizeof(err)) == -EINVAL);
		CHECK_STR(err, "npy header: NUL byte at byte 12");
	}
	/* version 3.0 must be UTF-8 */
	CHECK(parse_text(3, "{'descr': [('\xe9', '<f8')], 'fortran_order': False, 'shape': ()}", 8,
			 &h, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "npy header: not valid UTF-8 (version 3.0)");
	/* but latin-1 is fine in 1.0 */
	CHECK(parse_text(1, "{'descr': [('\xe9', '<f8')], 'fortran_order': False, 'shape': ()}", 8,
			 &h, err, sizeof(err)) == 0);
	/* nesting is capped */
	{
		char t[512];
		size_t o = (size_t)snprintf(t, sizeof(t), "{'descr': ");

		for (int i = 0; i < 100; i++)
			t[o++] = '[';
		t[o] = 0;
		CHECK(parse_text(1, t, 0, &h, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "nested deeper than 64") != NULL);
	}
	/* too many dimensions */
	{
		char t[1024];
		size_t o = (size_t)snprintf(t, sizeof(t),
					    "{'descr': '<f8', 'fortran_order': False, "
					    "'shape': (");

		for (int i = 0; i < NPY_MAX_DIMS + 1; i++)
			o += (size_t)snprintf(t + o, sizeof(t) - o, "1,");
		snprintf(t + o, sizeof(t) - o, ")}");
		CHECK(parse_text(1, t, 8, &h, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "more than 64 dimensions") != NULL);
	}
	/* a message never carries raw control bytes from the file */
	CHECK(parse_text(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), '\x1b[2J': 1}",
			 0, &h, err, sizeof(err)) == -EINVAL);
	CHECK(strchr(err, 0x1b) == NULL && strstr(err, "\\x1b[2J") != NULL);
}

int main(void)
{
	if (samples_init("npy"))
		return 1;
	generated = sample_python(NULL, gen_py);
	RUN(test_generated);
	RUN(test_float_int_bool);
	RUN(test_strings_dates_complex);
	RUN(test_structured);
	RUN(test_fortran_0d_empty);
	RUN(test_object_array);
	RUN(test_versions);
	RUN(test_size_mismatch);
	RUN(test_literal_forms);
	RUN(test_malformed);
	samples_cleanup();
	return CHECK_DONE();
}
