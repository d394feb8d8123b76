/* Unit tests for user/modelfmt.c. Every sample is built here byte by byte
 * after the layouts the real writers produce (torch 1.13, numpy 1.24,
 * joblib 1.2, CPython pickle); nothing is read from outside the test. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "scan/modelfmt.h"

/* ---- buffer builder -------------------------------------------------- */

#define BB_CAP 16384

struct bb {
	unsigned char b[BB_CAP];
	size_t n;
};

static void put(struct bb *b, const void *p, size_t n)
{
	if (b->n + n > BB_CAP) {
		printf("test buffer overflow\n");
		abort();
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void puts_(struct bb *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put16(struct bb *b, uint16_t v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	put(b, x, 2);
}

static void put32(struct bb *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b, (uint16_t)(v >> 16));
}

static void put64(struct bb *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static void zeros(struct bb *b, size_t n)
{
	static const unsigned char z[BB_CAP];
	put(b, z, n);
}

/* Literal bytes, embedded NULs included. */
#define PUTL(b, lit) put((b), (lit), sizeof(lit) - 1)
#define DETECT(bb_, hint) model_format_detect((bb_)->b, (bb_)->n, (hint))
#define DETECT_LIT(lit, hint) \
	model_format_detect((const unsigned char *)(lit), sizeof(lit) - 1, (hint))

/* ---- zip ------------------------------------------------------------- */

#define ZIP_DD 0x0008 /* sizes in a data descriptor after the data */
#define ZIP_UTF8 0x0800

/* One local file header and its (stored) data. With ZIP_DD the sizes in
 * the header are zero and a data descriptor follows, as torch writes. */
static void zip_entry(struct bb *b, const char *name, uint16_t flags, const void *extra,
		      uint16_t xlen, const void *data, size_t dlen)
{
	bool dd = flags & ZIP_DD;

	PUTL(b, "PK\x03\x04");
	put16(b, 20);
	put16(b, flags);
	put16(b, 0);          /* stored */
	put16(b, 0);          /* time */
	put16(b, 0);          /* date */
	put32(b, 0x12345678); /* crc */
	put32(b, dd ? 0 : (uint32_t)dlen);
	put32(b, dd ? 0 : (uint32_t)dlen);
	put16(b, (uint16_t)strlen(name));
	put16(b, xlen);
	puts_(b, name);
	if (xlen)
		put(b, extra, xlen);
	put(b, data, dlen);
	if (dd) {
		PUTL(b, "PK\x07\x08");
		put32(b, 0x12345678);
		put32(b, (uint32_t)dlen);
		put32(b, (uint32_t)dlen);
	}
}

/* numpy's savez: zip64 entries whose local sizes are 0xffffffff. */
static void zip64_entry(struct bb *b, const char *name, const void *data, size_t dlen)
{
	PUTL(b, "PK\x03\x04");
	put16(b, 45);
	put16(b, 0);
	put16(b, 0);
	put16(b, 0);
	put16(b, 0x21);
	put32(b, 0xcafef00d);
	put32(b, 0xffffffff);
	put32(b, 0xffffffff);
	put16(b, (uint16_t)strlen(name));
	put16(b, 20);
	puts_(b, name);
	put16(b, 0x0001);
	put16(b, 16);
	put64(b, dlen);
	put64(b, dlen);
	put(b, data, dlen);
}

static const char torch_data_pkl[] = "\x80\x02}q\x00X\x01\x00\x00\x00wq\x01"
				     "ctorch._utils\n_rebuild_tensor_v2\n"
				     "q\x02((X\x07\x00\x00\x00storageq\x03"
				     "ctorch\nFloatStorage\nq\x04X\x01\x00"
				     "\x00\x00"
				     "0q\x05X\x03\x00\x00\x00"
				     "cpuq\x06K\x0ctq\x07QK\x00K\x03K\x04\x86q\x08"
				     "K\x04K\x01\x86q\x09\x89h\x00)Rq\x0atq\x0bRq\x0cs.";

/* torch >= 1.6: data.pkl first, 64-byte aligned with an "FB" padding extra. */
static void make_torch_zip(struct bb *b, const char *archive)
{
	char name[128];
	unsigned char pad[4 + 12] = { 'F', 'B', 12, 0 };
	float tensor[12] = { 0 };

	memset(pad + 4, 'Z', 12);
	b->n = 0;
	snprintf(name, sizeof(name), "%s/data.pkl", archive);
	zip_entry(b, name, ZIP_DD | ZIP_UTF8, pad, sizeof(pad), torch_data_pkl,
		  sizeof(torch_data_pkl) - 1);
	snprintf(name, sizeof(name), "%s/data/0", archive);
	zip_entry(b, name, ZIP_DD | ZIP_UTF8, NULL, 0, tensor, sizeof(tensor));
	snprintf(name, sizeof(name), "%s/version", archive);
	zip_entry(b, name, ZIP_DD | ZIP_UTF8, NULL, 0, "3\n", 2);
}

static const unsigned char npy_float_header[] =
	"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
	"                                            \n";

static void test_torch_zip(void)
{
	struct bb b;

	make_torch_zip(&b, "archive");
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	/* torch 1.13 names the archive after the file. */
	make_torch_zip(&b, "resnet50-0676ba61");
	CHECK(DETECT(&b, "x.pth") == MF_TORCH_ZIP);
	/* Any of the three torch names on its own is enough. */
	b.n = 0;
	zip_entry(&b, "archive/version", 0, NULL, 0, "3\n", 2);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	b.n = 0;
	zip_entry(&b, "archive/.data/version", 0, NULL, 0, "3\n", 2);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	b.n = 0;
	zip_entry(&b, "m/data/0", 0, NULL, 0, "abcd", 4);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	/* data.pkl behind another stored member (sizes in the header). */
	b.n = 0;
	zip_entry(&b, "README", 0, NULL, 0, "hello", 5);
	zip_entry(&b, "archive/data.pkl", 0, NULL, 0, torch_data_pkl, sizeof(torch_data_pkl) - 1);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	/* ... and behind a data-descriptor member (sizes after the data). */
	b.n = 0;
	zip_entry(&b, "archive/extra/constants.json", ZIP_DD, NULL, 0, "{}", 2);
	zip_entry(&b, "archive/data.pkl", ZIP_DD, NULL, 0, torch_data_pkl,
		  sizeof(torch_data_pkl) - 1);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	/* Names that only look similar are not torch. */
	b.n = 0;
	zip_entry(&b, "data.pkl.txt", 0, NULL, 0, "x", 1);
	zip_entry(&b, "version", 0, NULL, 0, "3", 1);
	CHECK(DETECT(&b, NULL) == MF_ZIP);
}

static void test_numpy_zip(void)
{
	struct bb b, arr;

	arr.n = 0;
	put(&arr, npy_float_header, sizeof(npy_float_header) - 1);
	zeros(&arr, 24);
	/* np.savez: zip64 local headers, sizes in the extra field. */
	b.n = 0;
	zip64_entry(&b, "a.npy", arr.b, arr.n);
	zip64_entry(&b, "b.npy", arr.b, arr.n);
	CHECK(DETECT(&b, NULL) == MF_NUMPY_ZIP);
	/* np.savez_compressed: deflated, ordinary sizes. */
	b.n = 0;
	zip_entry(&b, "weights.npy", 0, NULL, 0, "\x9b\xec\x17\xea\x1b", 5);
	CHECK(DETECT(&b, NULL) == MF_NUMPY_ZIP);
	/* The walk reads zip64 sizes to reach the next member. */
	b.n = 0;
	zip64_entry(&b, "notes.txt", arr.b, arr.n);
	zip64_entry(&b, "archive/data.pkl", torch_data_pkl, sizeof(torch_data_pkl) - 1);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	/* Only the first member decides: a .npy later in a zip is just a zip. */
	b.n = 0;
	zip_entry(&b, "notes.txt", 0, NULL, 0, "hi", 2);
	zip_entry(&b, "a.npy", 0, NULL, 0, arr.b, arr.n);
	CHECK(DETECT(&b, NULL) == MF_ZIP);
}

static void test_keras_zip(void)
{
	struct bb b;
	static const char meta[] = "{\"keras_version\": \"3.0.0\", \"date_saved\": \"x\"}";
	static const char config[] = "{\"class_name\": \"Sequential\", \"config\": {}}";

	b.n = 0;
	zip_entry(&b, "metadata.json", 0, NULL, 0, meta, sizeof(meta) - 1);
	zip_entry(&b, "config.json", 0, NULL, 0, config, sizeof(config) - 1);
	zip_entry(&b, "model.weights.h5", 0, NULL, 0, "\x89HDF\r\n\x1a\n", 8);
	CHECK(DETECT(&b, "m.keras") == MF_KERAS_ZIP);
	/* config.json as the second member, behind the first one's data. */
	b.n = 0;
	zip_entry(&b, "assets/vocab.txt", 0, NULL, 0, "a\nb\n", 4);
	zip_entry(&b, "config.json", 0, NULL, 0, config, sizeof(config) - 1);
	CHECK(DETECT(&b, NULL) == MF_KERAS_ZIP);
	b.n = 0;
	zip_entry(&b, "model.weights.h5", 0, NULL, 0, "\x89HDF\r\n\x1a\n", 8);
	CHECK(DETECT(&b, NULL) == MF_KERAS_ZIP);
	/* torch wins over keras when both appear. */
	b.n = 0;
	zip_entry(&b, "archive/data.pkl", 0, NULL, 0, torch_data_pkl, sizeof(torch_data_pkl) - 1);
	zip_entry(&b, "config.json", 0, NULL, 0, config, sizeof(config) - 1);
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
}

static void test_plain_and_broken_zip(void)
{
	struct bb b;

	b.n = 0;
	zip_entry(&b, "README.md", 0, NULL, 0, "# hello\n", 8);
	zip_entry(&b, "src/main.py", 0, NULL, 0, "print(1)\n", 9);
	CHECK(DETECT(&b, NULL) == MF_ZIP);
	/* A header cut before its 30 bytes cannot be a zip. */
	CHECK(DETECT_LIT("PK\x03\x04\x14\x00\x00\x00\x08\x00", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("PK\x03\x04", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("PK", NULL) == MF_UNKNOWN);
	/* Empty archive (end of central directory only): nothing to load. */
	CHECK(DETECT_LIT("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", NULL) == MF_UNKNOWN);
	/* Name length far past the buffer: only the visible part is read. */
	b.n = 0;
	zip_entry(&b, "archive/data.pkl", 0, NULL, 0, "", 0);
	b.b[26] = 0xff;
	b.b[27] = 0xff;
	CHECK(DETECT(&b, NULL) == MF_TORCH_ZIP);
	b.n = 30 + 8; /* "archive/" visible only */
	CHECK(DETECT(&b, NULL) == MF_ZIP);
	/* Absurd sizes and extra lengths: no crash, still a zip. */
	b.n = 0;
	zip_entry(&b, "a.bin", 0, NULL, 0, "abc", 3);
	b.b[18] = b.b[19] = b.b[20] = b.b[21] = 0xff;
	b.b[28] = b.b[29] = 0xff;
	CHECK(DETECT(&b, NULL) == MF_ZIP);
	/* zip64 marker without the extra field. */
	b.n = 0;
	zip_entry(&b, "a.bin", 0, NULL, 0, "abc", 3);
	b.b[18] = b.b[19] = b.b[20] = b.b[21] = 0xff;
	zip_entry(&b, "archive/version", 0, NULL, 0, "3", 1);
	CHECK(DETECT(&b, NULL) == MF_ZIP || DETECT(&b, NULL) == MF_TORCH_ZIP);
}

/* ---- torch legacy and tar ------------------------------------------- */

static const char torch_legacy[] =
	"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03."
	"\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03u.";

static void test_torch_legacy(void)
{
	CHECK(DETECT_LIT(torch_legacy, NULL) == MF_TORCH_LEGACY);
	/* One byte of the magic changed: just a pickle. */
	char other[sizeof(torch_legacy)];
	memcpy(other, torch_legacy, sizeof(other));
	other[13] = 0x18;
	CHECK(model_format_detect((const unsigned char *)other, sizeof(other) - 1, NULL) ==
	      MF_PICKLE);
}

static void tar_member(struct bb *b, const char *name, char type, const void *data, size_t n)
{
	unsigned char h[512];
	char size[12];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf(size, sizeof(size), "%011o", (unsigned)n);
	memcpy(h + 124, size, 11);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (unsigned char)type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	put(b, h, sizeof(h));
	put(b, data, n);
	zeros(b, (512 - n % 512) % 512);
}

static void test_torch_tar(void)
{
	static const char sys_info[] = "\x80\x02}q\x00X\x0d\x00\x00\x00little_endianq\x01\x88s.";
	struct bb b;

	b.n = 0;
	tar_member(&b, "sys_info", '0', sys_info, sizeof(sys_info) - 1);
	tar_member(&b, "pickle", '0', torch_data_pkl, sizeof(torch_data_pkl) - 1);
	tar_member(&b, "storages", '0', "\x80\x02]q\x00.", 6);
	CHECK(DETECT(&b, NULL) == MF_TORCH_TAR);
	/* A pax header first (Python's tarfile PAX_FORMAT), then the member. */
	b.n = 0;
	tar_member(&b, "././@PaxHeader", 'x', "20 path=storages\n", 17);
	tar_member(&b, "storages", '0', "\x80\x02]q\x00.", 6);
	CHECK(DETECT(&b, NULL) == MF_TORCH_TAR);
	b.n = 0;
	tar_member(&b, "./tensors", '0', "\x80\x02]q\x00.", 6);
	CHECK(DETECT(&b, NULL) == MF_TORCH_TAR);
	/* Another tar is not a model. */
	b.n = 0;
	tar_member(&b, "readme.txt", '0', "hi\n", 3);
	tar_member(&b, "pickles/notes", '0', "x", 1);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	/* The torch member beyond the probe: unknown, and no overread. */
	b.n = 0;
	tar_member(&b, "big.bin", '0', (const char[4096]){ 0 }, 4096);
	tar_member(&b, "pickle", '0', "x", 1);
	CHECK(model_format_detect(b.b, MODELFMT_PROBE_LEN, NULL) == MF_UNKNOWN);
	CHECK(DETECT(&b, NULL) == MF_TORCH_TAR);
}

/* ---- pickle ---------------------------------------------------------- */

/* What CPython's pickle.dump writes for {"a": [1, 2], "b": "text"} and for
 * an object whose __reduce__ returns (os.system, ("id",)). */
static const char pk0_dict[] = "(dp0\nVa\np1\n(lp2\nI1\naI2\nasVb\np3\nVtext\np4\ns.";
static const char pk0_evil[] = "cposix\nsystem\np0\n(Vid\np1\ntp2\nRp3\n.";
static const char pk1_dict[] = "}q\x00(X\x01\x00\x00\x00"
			       "aq\x01]q\x02(K\x01K\x02"
			       "eX\x01\x00"
			       "\x00\x00"
			       "bq\x03X\x04\x00\x00\x00textq\x04u.";
static const char pk1_evil[] = "cposix\nsystem\nq\x00(X\x02\x00\x00\x00idq\x01tq\x02Rq\x03.";
static const char pk2_evil[] = "\x80\x02"
			       "cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
static const char pk3_bytes[] = "\x80\x03}q\x00X\x01\x00\x00\x00kq\x01"
				"C\x03"
				"abcq\x02s.";
static const char pk4_evil[] = "\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94"
			       "\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";
static const char pk5_list[] = "\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02"
			       "e.";

static void test_pickle_protocols(void)
{
	CHECK(DETECT_LIT(pk0_dict, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk0_evil, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk1_dict, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk1_evil, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk2_evil, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk3_bytes, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk4_evil, NULL) == MF_PICKLE);
	CHECK(DETECT_LIT(pk5_list, NULL) == MF_PICKLE);
	/* The name never matters for a pickle. */
	CHECK(DETECT_LIT(pk4_evil, "pytorch_model.bin") == MF_PICKLE);
	CHECK(DETECT_LIT(pk4_evil, "readme.txt") == MF_PICKLE);
	/* A protocol 0 STRING, GLOBAL/INST and a float. */
	CHECK(DETECT_LIT("(S'abc'\np0\nF1.5\ntp1\n.", NULL) == MF_PICKLE);
	CHECK(DETECT_LIT("(S'id'\nios\nsystem\n.", NULL) == MF_PICKLE);
}

static void test_pickle_cut_and_broken(void)
{
	/* The probe ends inside a long stream: still a pickle. */
	CHECK(model_format_detect((const unsigned char *)pk0_dict, 20, NULL) == MF_PICKLE);
	CHECK(model_format_detect((const unsigned char *)pk1_dict, 16, NULL) == MF_PICKLE);
	CHECK(model_format_detect((const unsigned char *)pk4_evil, 16, NULL) == MF_PICKLE);
	/* nullifAI: the payload first, garbage after; the loader still runs it. */
	CHECK(DETECT_LIT("cos\nsystem\n(S'id'\ntR\xff\xfe garbage", NULL) == MF_PICKLE);
	CHECK(DETECT_LIT("\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94"
			 "\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94\x00\x00junk",
			 NULL) == MF_PICKLE);
	/* Protocol 2+ needs one valid opcode after PROTO. */
	CHECK(DETECT_LIT("\x80\x02", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x80\x02\x00\x00", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x80\x06}.", NULL) == MF_UNKNOWN); /* no protocol 6 */
	CHECK(DETECT_LIT("\x80\x02}.", NULL) == MF_PICKLE);
	/* BINSTRING with a negative length: the unpickler refuses it. */
	CHECK(DETECT_LIT("}q\x00(T\xff\xff\xff\xff", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("}q\x00(T\x02\x00\x00\x00", NULL) == MF_PICKLE);
	/* Stack underflow right away: not a pickle. */
	CHECK(DETECT_LIT("\x80\x02R.", NULL) == MF_UNKNOWN);
}

static void test_joblib(void)
{
	struct bb b;

	/* joblib.dump of an estimator holding an array. */
	b.n = 0;
	PUTL(&b, "\x80\x04\x95\x02\x02\x00\x00\x00\x00\x00\x00\x8c\x1esklearn.linear_model."
		 "_logistic\x94\x8c\x12LogisticRegression\x94\x93\x94)\x81\x94}\x94(\x8c\x05"
		 "coef_\x94\x8c\x13joblib.numpy_pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93\x94)");
	CHECK(DETECT(&b, NULL) == MF_JOBLIB);
	/* Protocol 2 joblib of 0.10 (py27). */
	CHECK(DETECT_LIT("\x80\x02]q\x00(cjoblib.numpy_pickle\nNumpyArrayWrapper\nq\x01)", NULL) ==
	      MF_JOBLIB);
	/* A joblib dump without arrays is a plain pickle. */
	CHECK(DETECT_LIT("\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01k\x94\x8c\x01v\x94s.",
			 "plain.joblib") == MF_PICKLE);
	/* "joblib" in a text file does not make it a pickle. */
	CHECK(DETECT_LIT("see joblib.numpy_pickle for details\n", NULL) == MF_UNKNOWN);
}

/* ---- whole-file compression ----------------------------------------- */

static size_t zcompress(unsigned char *out, size_t cap, const void *in, size_t n, int level,
			int window_bits)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	int r = deflate(&zs, Z_FINISH);
	size_t got = cap - zs.avail_out;
	deflateEnd(&zs);
	return r == Z_STREAM_END ? got : 0;
}

static void make_joblib_payload(struct bb *p)
{
	p->n = 0;
	PUTL(p, "\x80\x04\x95\x02\x02\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01w\x94\x8c\x13"
		"joblib.numpy_pickle\x94\x8c\x11NumpyArrayWrapper\x94\x93\x94)\x81\x94}\x94(");
	for (int i = 0; i < 200; i++)
		PUTL(p, "\x8c\x05shape\x94K\x03\x85\x94");
}

static void test_zlib_gzip(void)
{
	static const char text[] = "Changes from previous version of pkgconf\n=====\n"
				   "Many things were changed and fixed in this release.\n";
	struct bb p, z;
	int levels[] = { 1, 3, 6, 9 };
	unsigned char second[] = { 0x01, 0x5e, 0x9c, 0xda };

	make_joblib_payload(&p);
	for (size_t i = 0; i < 4; i++) {
		z.n = zcompress(z.b, sizeof(z.b), p.b, p.n, levels[i], 15);
		CHECK(z.n > 2 && z.b[0] == 0x78 && z.b[1] == second[i]);
		CHECK(DETECT(&z, NULL) == MF_JOBLIB_COMPRESSED);
		CHECK(DETECT(&z, "model.joblib") == MF_JOBLIB_COMPRESSED);
	}
	/* joblib compress=('gzip', 3). */
	z.n = zcompress(z.b, sizeof(z.b), p.b, p.n, 3, 31);
	CHECK(z.n > 2 && z.b[0] == 0x1f && z.b[1] == 0x8b);
	CHECK(DETECT(&z, NULL) == MF_JOBLIB_COMPRESSED);
	/* A cut stream (the probe is a prefix) still shows the pickle. */
	size_t full = z.n;
	z.n = full / 2;
	CHECK(DETECT(&z, NULL) == MF_JOBLIB_COMPRESSED);
	/* Compressed text is not a model, whatever its name. */
	z.n = zcompress(z.b, sizeof(z.b), text, sizeof(text) - 1, 6, 15);
	CHECK(DETECT(&z, "x.joblib") == MF_UNKNOWN);
	z.n = zcompress(z.b, sizeof(z.b), text, sizeof(text) - 1, 6, 31);
	CHECK(DETECT(&z, "changelog.gz") == MF_UNKNOWN);
	/* Magic bytes followed by garbage. */
	CHECK(DETECT_LIT("\x78\x9c\xff\xff\xff\xff\xff", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x1f\x8b\x08\x00\x00", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x78\x9c", NULL) == MF_UNKNOWN);
}

static void test_joblib_zf(void)
{
	struct bb p, z;
	unsigned char comp[BB_CAP];

	make_joblib_payload(&p);
	size_t n = zcompress(comp, sizeof(comp), p.b, p.n, 3, 15);
	char hdr[32];
	/* "ZF" + hex(len) left-justified to 19 characters, then zlib. */
	snprintf(hdr, sizeof(hdr), "ZF%-19s", "0x31f");
	z.n = 0;
	put(&z, hdr, 21);
	put(&z, comp, n);
	CHECK(DETECT(&z, NULL) == MF_JOBLIB_COMPRESSED);
	/* joblib 0.8 wrote one more space; read_zfile skips it. */
	z.n = 0;
	put(&z, hdr, 21);
	puts_(&z, " ");
	put(&z, comp, n);
	CHECK(DETECT(&z, NULL) == MF_JOBLIB_COMPRESSED);
	/* ZF holding raw array bytes: only a joblib-like name says so. */
	z.n = 0;
	put(&z, hdr, 21);
	unsigned char raw[64] = { 0 };
	n = zcompress(comp, sizeof(comp), raw, sizeof(raw), 3, 15);
	put(&z, comp, n);
	CHECK(DETECT(&z, NULL) == MF_UNKNOWN);
	CHECK(DETECT(&z, "cache.pkl_01.npy.z") == MF_JOBLIB_COMPRESSED);
	CHECK(DETECT_LIT("ZF", "x.pkl") == MF_JOBLIB_COMPRESSED);
	CHECK(DETECT_LIT("ZF", NULL) == MF_UNKNOWN);
}

static void test_other_compressors(void)
{
	static const struct {
		const char *bytes;
		size_t n;
	} magics[] = {
		{ "BZh91AY&SY\x01\x02", 12 },
		{ "\xfd"
		  "7zXZ\x00\x00\x04\xe6\xd6\xb4\x46",
		  12 },
		{ "\x5d\x00\x00\x40\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00", 14 },
		{ "\x04\x22\x4d\x18\x64\x40\xa7", 7 },
	};
	static const char *const yes[] = {
		"model.joblib", "m.pkl",  "m.sav", "m.gz",         "m.z",           "m.bz2",
		"m.xz",         "m.lzma", "m.lz4", "/a/b/EST.PKL", "est.joblib.xz",
	};
	static const char *const no[] = {
		NULL, "", "Packages.txt", "m.bin", "joblib", "m.pkl.txt", "m.tar",
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const unsigned char *b = (const unsigned char *)magics[i].bytes;

		for (size_t j = 0; j < sizeof(yes) / sizeof(yes[0]); j++)
			CHECK(model_format_detect(b, magics[i].n, yes[j]) == MF_JOBLIB_COMPRESSED);
		for (size_t j = 0; j < sizeof(no) / sizeof(no[0]); j++)
			CHECK(model_format_detect(b, magics[i].n, no[j]) == MF_UNKNOWN);
	}
	/* "BZh" needs a block-size digit. */
	CHECK(DETECT_LIT("BZhx", "m.bz2") == MF_UNKNOWN);
	CHECK(DETECT_LIT("BZh0", "m.bz2") == MF_UNKNOWN);
}

/* ---- other formats --------------------------------------------------- */

static void test_numpy(void)
{
	static const char obj[] =
		"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
		"                                            \n\x80\x02"
		"cnumpy.core.multiarray\n";

	CHECK(DETECT_LIT(obj, NULL) == MF_NUMPY);
	CHECK(model_format_detect(npy_float_header, sizeof(npy_float_header) - 1, NULL) ==
	      MF_NUMPY);
	CHECK(DETECT_LIT("\x93NUMP", NULL) == MF_UNKNOWN);
}

static void test_simple_magics(void)
{
	CHECK(DETECT_LIT("\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00", NULL) == MF_HDF5);
	CHECK(DETECT_LIT("\x89HDF\r\n\x1a", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("GGUF\x03\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00", NULL) == MF_GGUF);
	CHECK(DETECT_LIT("GGU", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("7z\xbc\xaf\x27\x1c\x00\x04", NULL) == MF_SEVENZIP);
	CHECK(DETECT_LIT("7z\xbc\xaf\x27", NULL) == MF_UNKNOWN);
}

static void safetensors(struct bb *b, const char *json, uint64_t n_override)
{
	size_t n = strlen(json);

	b->n = 0;
	put64(b, n_override ? n_override : n);
	puts_(b, json);
	/* Tensor data follows a header of the declared length only. */
	if (!n_override)
		zeros(b, 48);
}

static void test_safetensors(void)
{
	struct bb b;

	safetensors(&b, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}}   ",
		    0);
	CHECK(DETECT(&b, NULL) == MF_SAFETENSORS);
	safetensors(&b,
		    "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F16\","
		    "\"shape\":[2],\"data_offsets\":[0,4]}}",
		    0);
	CHECK(DETECT(&b, "model.safetensors") == MF_SAFETENSORS);
	safetensors(&b, "{ \"w\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [0, 2]}}",
		    0);
	CHECK(DETECT(&b, NULL) == MF_SAFETENSORS);
	/* Header longer than the probe (big models): judged on what is visible. */
	safetensors(&b, "{\"model.layers.0.self_attn.q_proj.weight\":{\"dtype\":\"BF16\",", 300000);
	CHECK(DETECT(&b, NULL) == MF_SAFETENSORS);
	/* A header length whose low byte is '(' (MARK) is still safetensors. */
	static const char hdr40[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"x\":[0]}}";
	CHECK(strlen(hdr40) == 40);
	safetensors(&b, hdr40, 0);
	CHECK(b.b[0] == '(');
	CHECK(DETECT(&b, NULL) == MF_SAFETENSORS);

	/* Absurd or impossible lengths. */
	safetensors(&b, "{\"w\":{}}", 1ull << 40);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{\"w\":{}}", 100000001ull);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{\"w\":{}}", 100000000ull);
	CHECK(DETECT(&b, NULL) == MF_SAFETENSORS);
	safetensors(&b, "{", 1);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{\"w\":{}}", 0xffffffffffffffffull);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	/* An empty header has no tensor: nothing to load. */
	safetensors(&b, "{}", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{ 1: 2}", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	/* Length 0 with a '{' after it. */
	CHECK(DETECT_LIT("\0\0\0\0\0\0\0\0{\"a\":{}}", NULL) == MF_UNKNOWN);
	/* A complete header must end its object. */
	safetensors(&b, "{\"a\":[1,2]", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{\"a\":\"b}", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	/* Not JSON after the length. */
	safetensors(&b, "[\"w\"]", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{w: 1}", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	safetensors(&b, "{\"a\x01\":1}", 0);
	CHECK(DETECT(&b, NULL) == MF_UNKNOWN);
	/* Cut after the length. */
	CHECK(DETECT_LIT("\x10\x00\x00\x00\x00\x00\x00\x00", NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x10\x00\x00\x00\x00\x00\x00\x00{", NULL) == MF_SAFETENSORS);
}

static void test_safetensors_pickle_polyglot(void)
{
	struct bb b;

	/* First bytes "(V": a header length of 0x5628 for safetensors, MARK and
	 * a UNICODE line for the unpickler, which then runs os.system. */
	b.n = 0;
	PUTL(&b, "(V\0\0\0\0\0\0{\"a\": \"b\"}\ncposix\nsystem\n(S'id'\ntR.");
	CHECK(DETECT(&b, "model.safetensors") == MF_PICKLE);
	CHECK(model_format_can_run_code(DETECT(&b, NULL)));
}

static void test_onnx(void)
{
	static const char onnx[] = "\x08\x07\x12\x07pytorch\x1a\x03"
				   "2.1:\x8a\x01\n";

	CHECK(DETECT_LIT(onnx, "model.onnx") == MF_ONNX);
	CHECK(DETECT_LIT(onnx, "/models/x/MODEL.ONNX") == MF_ONNX);
	CHECK(DETECT_LIT(onnx, NULL) == MF_UNKNOWN);
	CHECK(DETECT_LIT(onnx, "model.bin") == MF_UNKNOWN);
	CHECK(DETECT_LIT(onnx, "onnx") == MF_UNKNOWN);
	CHECK(DETECT_LIT("\x0a\x07pytorch", "model.onnx") == MF_UNKNOWN);
	/* A pickle named .onnx is a pickle. */
	CHECK(DETECT_LIT(pk4_evil, "model.onnx") == MF_PICKLE);
}

static void test_negatives(void)
{
	static const unsigned char elf[] = {
		0x7f, 'E', 'L',  'F', 2, 1, 1, 0, 0,    0,    0, 0, 0, 0, 0, 0,
		3,    0,   0x3e, 0,   1, 0, 0, 0, 0x40, 0x10, 0, 0, 0, 0, 0, 0,
	};
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
	};
	static const char *const texts[] = {
		"This is a plain text file.\nNothing to see here.\n",
		"{\"a\": 1, \"b\": [1, 2, 3]}\n",
		"[1, 2, 3]\n",
		"#!/bin/sh\necho hi\n",
		/* Text that starts like a pickle: BINFLOAT over "it v2.31" then STOP. */
		"Git v2.31.7 Release Notes\n==========================\n",
		/* SHORT_BINBYTES with a printable length. */
		"Copyright 2012 - 2014\n\nMathis Rosenhauer, Moritz Hanke\n",
		"CMP0046\n-------\n\nError on non-existent dependency\n",
		"0.5\n",
		"(1, 2)\n",
		"Version 1\nVersion 2\nVersion 3\nVersion 4\n",
		"N.",
		"cat\ndog\nRabbit\n",
		"((((((((",
		"def f():\n    return 1\n",
		/* Valid opcodes and a clean STOP, but protocol 1 opcodes with
		 * printable arguments: text, not a protocol 1 stream. */
		"]K1a.",
		"(K1K2l.",
		/* STOP that does not leave one item and no mark. */
		"(NN.",
		"NI1\n.",
		/* An import but no call before the stream breaks. */
		"cat\ndog\nN(N oops\n",
		/* STRING needs quotes. */
		"Status: ok\nN0.",
	};

	CHECK(model_format_detect(elf, sizeof(elf), NULL) == MF_UNKNOWN);
	CHECK(model_format_detect(png, sizeof(png), NULL) == MF_UNKNOWN);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		enum model_format f = model_format_detect((const unsigned char *)texts[i],
							  strlen(texts[i]), "x.pkl");
		if (f != MF_UNKNOWN) {
			printf("  text %zu detected as %s\n", i, model_format_name(f));
			CHECK(f == MF_UNKNOWN);
		}
	}
	CHECK(model_format_detect((const unsigned char *)"", 0, NULL) == MF_UNKNOWN);
	CHECK(model_format_detect(NULL, 0, NULL) == MF_UNKNOWN);
	CHECK(model_format_detect(NULL, 100, "x.pkl") == MF_UNKNOWN);
	/* One byte: never enough, whatever it is. */
	for (unsigned c = 0; c < 256; c++) {
		unsigned char one = (unsigned char)c;

		CHECK(model_format_detect(&one, 1, NULL) == MF_UNKNOWN);
	}
}

/* ---- memory safety --------------------------------------------------- */

/* Place len bytes right before an inaccessible page: any read past len
 * faults the test instead of passing silently. */
struct guarded {
	unsigned char *map;
	size_t maplen, page;
};

static bool guard_init(struct guarded *g)
{
	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->maplen = 2 * g->page + BB_CAP;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return false;
	size_t data_pages = (BB_CAP + g->page - 1) / g->page * g->page;
	return mprotect(g->map + g->page + data_pages, g->page, PROT_NONE) == 0;
}

static const unsigned char *guard_place(struct guarded *g, const void *p, size_t n)
{
	size_t data_pages = (BB_CAP + g->page - 1) / g->page * g->page;
	unsigned char *end = g->map + g->page + data_pages;

	memcpy(end - n, p, n);
	return end - n;
}

static void test_every_prefix_in_bounds(void)
{
	struct guarded g;
	struct bb samples[8];
	size_t ns = 0;

	CHECK(guard_init(&g));
	if (g.map == MAP_FAILED)
		return;
	make_torch_zip(&samples[ns++], "archive");
	samples[ns].n = 0;
	zip64_entry(&samples[ns++], "a.npy", npy_float_header, sizeof(npy_float_header) - 1);
	samples[ns].n = 0;
	tar_member(&samples[ns++], "sys_info", '0', "\x80\x02}.", 4);
	samples[ns].n = 0;
	PUTL(&samples[ns++], pk0_dict);
	samples[ns].n = 0;
	PUTL(&samples[ns++], pk4_evil);
	make_joblib_payload(&samples[ns]);
	struct bb z;
	z.n = zcompress(z.b, sizeof(z.b), samples[ns].b, samples[ns].n, 3, 31);
	samples[ns++] = z;
	safetensors(&samples[ns++],
		    "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0);
	struct bb zl;
	make_joblib_payload(&samples[ns]);
	zl.n = zcompress(zl.b, sizeof(zl.b), samples[ns].b, samples[ns].n, 3, 15);
	samples[ns].n = 0;
	put(&samples[ns], "ZF0x31f              ", 21);
	put(&samples[ns++], zl.b, zl.n);

	for (size_t s = 0; s < ns; s++) {
		enum model_format full = model_format_detect(samples[s].b, samples[s].n, NULL);

		if (full == MF_UNKNOWN)
			printf("  sample %zu not detected\n", s);
		CHECK(full != MF_UNKNOWN);
		for (size_t len = 0; len <= samples[s].n; len++) {
			const unsigned char *p = guard_place(&g, samples[s].b, len);
			enum model_format f = model_format_detect(p, len, "x.onnx");

			CHECK((unsigned)f < MF_FORMAT_MAX);
		}
	}
	munmap(g.map, g.maplen);
}

static void test_random_bytes_in_bounds(void)
{
	struct guarded g;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned char buf[600];
	struct bb seed;

	CHECK(guard_init(&g));
	if (g.map == MAP_FAILED)
		return;
	make_torch_zip(&seed, "archive");
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;

		/* Half mutated torch zips, half random bytes behind a real magic. */
		if (iter % 2) {
			len = seed.n < sizeof(buf) ? seed.n : sizeof(buf);
			memcpy(buf, seed.b, len);
		}
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (iter % 2 == 0 || x % 13 == 0)
				buf[i] = (unsigned char)(x >> 24);
		}
		static const char *const magics[] = { "PK\x03\x04", "\x80\x04", "\x78\x9c",
						      "\x1f\x8b",   "ZF0x",     "(",
						      "}",          "c" };
		const char *m = magics[iter % 8];
		if (iter % 2 == 0)
			memcpy(buf, m, strlen(m));
		len = (size_t)(x % sizeof(buf));
		const unsigned char *p = guard_place(&g, buf, len);
		enum model_format f = model_format_detect(p, len, iter % 3 ? "a.joblib" : NULL);

		if ((unsigned)f >= MF_FORMAT_MAX) {
			CHECK((unsigned)f < MF_FORMAT_MAX);
			break;
		}
	}
	munmap(g.map, g.maplen);
}

/* ---- files, names, capabilities ------------------------------------- */

static void test_detect_file(void)
{
	char dir[] = "/tmp/mlwatch-modelfmt-XXXXXX";
	char path[256];
	enum model_format f = MF_FORMAT_MAX;
	struct bb b;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	make_torch_zip(&b, "archive");
	/* Pad past the probe so only MODELFMT_PROBE_LEN bytes are read. */
	zeros(&b, MODELFMT_PROBE_LEN);
	snprintf(path, sizeof(path), "%s/blob", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, b.b, b.n) == (ssize_t)b.n);
	close(fd);
	CHECK(model_format_detect_file(path, &f) == 0);
	CHECK(f == MF_TORCH_ZIP);

	/* Hugging Face snapshots are symlinks to blobs: followed. */
	char link[256];
	snprintf(link, sizeof(link), "%s/pytorch_model.bin", dir);
	CHECK(symlink("blob", link) == 0);
	f = MF_FORMAT_MAX;
	CHECK(model_format_detect_file(link, &f) == 0);
	CHECK(f == MF_TORCH_ZIP);

	/* The path is the name hint (ONNX needs it). */
	char onnx[256];
	snprintf(onnx, sizeof(onnx), "%s/m.onnx", dir);
	fd = open(onnx, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, "\x08\x07\x12\x07pytorch", 11) == 11);
	close(fd);
	CHECK(model_format_detect_file(onnx, &f) == 0);
	CHECK(f == MF_ONNX);

	/* Through a descriptor link the hint is the link's target. */
	int ofd = open(onnx, O_RDONLY);
	char via_fd[64];
	CHECK(ofd >= 0);
	snprintf(via_fd, sizeof(via_fd), "/proc/self/fd/%d", ofd);
	f = MF_FORMAT_MAX;
	CHECK(model_format_detect_file(via_fd, &f) == 0);
	CHECK(f == MF_ONNX);
	/* ... even once the file is deleted (" (deleted)" is not part of it). */
	unlink(onnx);
	f = MF_FORMAT_MAX;
	CHECK(model_format_detect_file(via_fd, &f) == 0);
	CHECK(f == MF_ONNX);
	close(ofd);

	char empty[256];
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	fd = open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	CHECK(model_format_detect_file(empty, &f) == 0);
	CHECK(f == MF_UNKNOWN);

	char missing[256];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	CHECK(model_format_detect_file(missing, &f) == -ENOENT);
	CHECK(model_format_detect_file(dir, &f) == -EISDIR);
	/* A FIFO would block or steal the loader's data: refused at once. */
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(model_format_detect_file(fifo, &f) < 0);
	CHECK(model_format_detect_file(NULL, &f) == -EINVAL);
	CHECK(model_format_detect_file(path, NULL) == -EINVAL);

	unlink(fifo);
	unlink(empty);
	unlink(onnx);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void test_names(void)
{
	static const char *const want[MF_FORMAT_MAX] = {
		"unknown",
		"torch-zip",
		"torch-legacy",
		"torch-tar",
		"pickle",
		"joblib",
		"joblib-compressed",
		"numpy",
		"numpy-zip",
		"keras",
		"zip",
		"hdf5",
		"gguf",
		"safetensors",
		"onnx",
		"7z",
	};

	for (int f = 0; f < MF_FORMAT_MAX; f++)
		CHECK_STR(model_format_name((enum model_format)f), want[f]);
	CHECK_STR(model_format_name(MF_FORMAT_MAX), "unknown");
	CHECK_STR(model_format_name((enum model_format) - 1), "unknown");
}

static void test_can_run_code(void)
{
	static const enum model_format code[] = {
		MF_TORCH_ZIP, MF_TORCH_LEGACY, MF_TORCH_TAR,
		MF_PICKLE,    MF_JOBLIB,       MF_JOBLIB_COMPRESSED,
		MF_NUMPY,     MF_NUMPY_ZIP,    MF_KERAS_ZIP,
		MF_ZIP,       MF_HDF5,         MF_GGUF,
		MF_SEVENZIP,
	};
	static const enum model_format data[] = { MF_SAFETENSORS, MF_ONNX, MF_UNKNOWN };

	for (size_t i = 0; i < sizeof(code) / sizeof(code[0]); i++)
		CHECK(model_format_can_run_code(code[i]));
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		CHECK(!model_format_can_run_code(data[i]));
	CHECK(!model_format_can_run_code(MF_FORMAT_MAX));
}

int main(void)
{
	RUN(test_torch_zip);
	RUN(test_numpy_zip);
	RUN(test_keras_zip);
	RUN(test_plain_and_broken_zip);
	RUN(test_torch_legacy);
	RUN(test_torch_tar);
	RUN(test_pickle_protocols);
	RUN(test_pickle_cut_and_broken);
	RUN(test_joblib);
	RUN(test_zlib_gzip);
	RUN(test_joblib_zf);
	RUN(test_other_compressors);
	RUN(test_numpy);
	RUN(test_simple_magics);
	RUN(test_safetensors);
	RUN(test_safetensors_pickle_polyglot);
	RUN(test_onnx);
	RUN(test_negatives);
	RUN(test_every_prefix_in_bounds);
	RUN(test_random_bytes_in_bounds);
	RUN(test_detect_file);
	RUN(test_names);
	RUN(test_can_run_code);
	return CHECK_DONE();
}
