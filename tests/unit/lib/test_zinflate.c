/* Unit tests for user/zinflate.c on streams written by /usr/bin/python3's
 * zlib and gzip modules at test time (each next to its raw bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "samples.h"
#include "lib/budget.h"
#include "lib/zinflate.h"

/* Runs a python script in the samples directory; true on success. */
static int py(const char *code)
{
	return sample_python("import sys, os, zlib, gzip, random\nos.chdir(sys.argv[1])\n", code) ==
	       0;
}

/* Inflates file name in full through a file view, checks it equals raw. */
static void check_file(const char *name, enum zinflate_fmt fmt, const struct blob *raw)
{
	struct zinflate_result r;
	struct byte_src s;
	int fd = sample_open(name, &s);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(zinflate_src(&s, 0, s.size, fmt, 64u << 20, &r) == 0);
	CHECK(r.ended && !r.truncated && r.zerr == 0);
	CHECK(r.in_used == s.size);
	CHECK(r.len == raw->n && r.data && !memcmp(r.data, raw->b, raw->n));
	CHECK(r.data && r.data[r.len] == 0);
	zinflate_free(&r);
	CHECK(r.data == NULL);
	close(fd);
}

static void test_formats(void)
{
	struct blob raw;

	/* 3 MiB: several 256 KiB input chunks and output growth steps */
	CHECK(py("rnd = random.Random(7)\n"
		 "raw = bytes(rnd.randrange(16) for _ in range(3 << 20))\n"
		 "open('raw', 'wb').write(raw)\n"
		 "open('z', 'wb').write(zlib.compress(raw, 9))\n"
		 "open('gz', 'wb').write(gzip.compress(raw))\n"
		 "c = zlib.compressobj(6, zlib.DEFLATED, -15)\n"
		 "open('rawdef', 'wb').write(c.compress(raw) + c.flush())\n"));
	raw = sample_load("raw");
	CHECK(raw.n == 3u << 20);
	check_file("z", ZINF_ZLIB, &raw);
	check_file("gz", ZINF_GZIP, &raw);
	check_file("rawdef", ZINF_RAW, &raw);
	free(raw.b);
}

static void test_gzip_members(void)
{
	struct blob x, raw;
	struct byte_src s;
	struct zinflate_result r;

	/* as gzip(1) and Python read them: members joined, zero padding skipped */
	CHECK(py("a = b'first member ' * 1000; b = b'second' * 3\n"
		 "open('two.raw', 'wb').write(a + b + a)\n"
		 "open('two.gz', 'wb').write(gzip.compress(a) + gzip.compress(b) + bytes(7) +\n"
		 "                           gzip.compress(a) + bytes(5))\n"
		 "open('one.gz', 'wb').write(gzip.compress(b) + b'garbage')\n"));
	x = sample_load("two.gz");
	raw = sample_load("two.raw");
	bsrc_from_mem(&s, x.b, x.n);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_GZIP, 1 << 20, &r) == 0);
	CHECK(r.ended && !r.truncated && r.zerr == 0);
	CHECK(r.len == raw.n && r.data && !memcmp(r.data, raw.b, raw.n));
	CHECK(r.in_used == x.n);
	zinflate_free(&r);
	/* the first member's raw deflate body alone (gzip header: 10 bytes) */
	CHECK(zinflate_src(&s, 10, x.n, ZINF_RAW, 1 << 20, &r) == 0);
	CHECK(r.ended && r.len == 13000 && r.in_used < x.n);
	zinflate_free(&r);
	free(x.b);
	free(raw.b);

	x = sample_load("one.gz");
	bsrc_from_mem(&s, x.b, x.n);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_GZIP, 1 << 20, &r) == 0);
	CHECK(r.ended && r.zerr == 0 && r.len == 18 && r.data && !memcmp(r.data, "second", 6));
	CHECK(r.in_used == x.n - 7);
	zinflate_free(&r);
	free(x.b);
}

static void test_limits(void)
{
	struct blob x;
	struct byte_src s;
	struct zinflate_result r;

	CHECK(py("open('k.z', 'wb').write(zlib.compress(bytes(range(256)) * 4))\n"
		 "open('bomb.z', 'wb').write(zlib.compress(bytes(100 << 20), 9))\n"));
	x = sample_load("k.z");
	bsrc_from_mem(&s, x.b, x.n);
	/* exactly the stream's length is not a truncation */
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 1024, &r) == 0);
	CHECK(r.len == 1024 && !r.truncated && r.ended && r.zerr == 0);
	zinflate_free(&r);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 1023, &r) == 0);
	CHECK(r.len == 1023 && r.truncated && !r.ended && r.data && r.data[1022] == 0xfe);
	CHECK(r.data && r.data[1023] == 0);
	zinflate_free(&r);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 0, &r) == 0);
	CHECK(r.len == 0 && r.truncated && r.data && r.data[0] == 0);
	zinflate_free(&r);
	/* an offset past the view and an empty range: nothing, cut short */
	CHECK(zinflate_src(&s, x.n + 5, 100, ZINF_ZLIB, 10, &r) == 0);
	CHECK(r.len == 0 && !r.ended && r.zerr == Z_BUF_ERROR && r.data);
	zinflate_free(&r);
	free(x.b);

	x = sample_load("bomb.z");
	CHECK(x.n < 200000);
	bsrc_from_mem(&s, x.b, x.n);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 1 << 20, &r) == 0);
	CHECK(r.len == 1 << 20 && r.truncated && !r.ended && r.in_used < x.n);
	zinflate_free(&r);
	free(x.b);
}

/* The budget the view carries: output stops at what it has left (and it
 * says so), is charged when it fits, and a deadline that has passed
 * stops the stream before any output. max_out below the budget is a plain
 * truncation, not the budget's. */
static void test_budget(void)
{
	struct budget b;
	struct blob x;
	struct byte_src s;
	struct zinflate_result r;

	CHECK(py("open('b.z', 'wb').write(zlib.compress(bytes(100 << 20), 9))\n"));
	x = sample_load("b.z");
	bsrc_from_mem(&s, x.b, x.n);
	s.budget = &b;
	budget_init(&b, 0, 3 << 20);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 64 << 20, &r) == 0);
	CHECK(r.len == 3 << 20 && r.truncated && !r.ended);
	CHECK(b.spent == BUDGET_INFLATE && b.inflated == 3 << 20 && b.inflate_left == 0);
	zinflate_free(&r);
	/* spent: nothing more, whatever max_out says */
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 64 << 20, &r) == 0);
	CHECK(r.len == 0 && r.truncated);
	zinflate_free(&r);
	/* room enough: all of it, charged */
	budget_init(&b, 0, 200 << 20);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 128 << 20, &r) == 0);
	CHECK(r.len == 100 << 20 && r.ended && !r.truncated);
	CHECK(!b.spent && b.inflated == 100 << 20);
	zinflate_free(&r);
	/* max_out binds first: truncated, budget untouched but for the bytes */
	budget_init(&b, 0, 200 << 20);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 1 << 20, &r) == 0);
	CHECK(r.len == 1 << 20 && r.truncated && !b.spent && b.inflated == 1 << 20);
	zinflate_free(&r);
	/* past the deadline: stopped before the first step */
	budget_init(&b, 0, 0);
	b.deadline_ns = 1;
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 64 << 20, &r) == 0);
	CHECK(r.len == 0 && r.truncated && !r.ended && b.spent == BUDGET_TIME);
	CHECK(r.data && r.data[0] == 0);
	zinflate_free(&r);
	free(x.b);
}

static void test_damaged(void)
{
	struct blob x, raw;
	struct byte_src s;
	struct zinflate_result r;

	CHECK(py("raw = bytes(random.Random(3).randrange(4) for _ in range(200000))\n"
		 "open('d.raw', 'wb').write(raw)\n"
		 "z = zlib.compress(raw); open('d.z', 'wb').write(z)\n"
		 "g = bytearray(gzip.compress(raw)); g[-6] ^= 1\n"
		 "open('badcrc.gz', 'wb').write(g)\n"));
	x = sample_load("d.z");
	raw = sample_load("d.raw");
	bsrc_from_mem(&s, x.b, x.n);
	/* cut in half: what came before the cut is kept */
	CHECK(zinflate_src(&s, 0, x.n / 2, ZINF_ZLIB, 1 << 20, &r) == 0);
	CHECK(!r.ended && !r.truncated && r.zerr == Z_BUF_ERROR);
	CHECK(r.len > 50000 && r.len < raw.n && r.data && !memcmp(r.data, raw.b, r.len));
	zinflate_free(&r);
	/* not a zlib stream at all */
	CHECK(zinflate_src(&s, 100, x.n, ZINF_ZLIB, 1 << 20, &r) == 0);
	CHECK(r.zerr != 0 && !r.ended && r.data && r.data[r.len] == 0);
	zinflate_free(&r);
	/* damage in the middle (a data error, or a desync that runs out of
	 * input): the bytes before it are kept */
	x.b[x.n / 2] ^= 0x55;
	x.b[x.n / 2 + 1] ^= 0xaa;
	x.b[x.n / 2 + 2] ^= 0x0f;
	CHECK(zinflate_src(&s, 0, x.n, ZINF_ZLIB, 1 << 20, &r) == 0);
	CHECK(r.zerr != 0 && !r.ended);
	CHECK(r.len > 1000 && r.data && !memcmp(r.data, raw.b, 1000));
	zinflate_free(&r);
	free(x.b);

	/* a gzip member whose CRC is wrong: all its bytes, and the error */
	x = sample_load("badcrc.gz");
	bsrc_from_mem(&s, x.b, x.n);
	CHECK(zinflate_src(&s, 0, x.n, ZINF_GZIP, 1 << 20, &r) == 0);
	CHECK(r.zerr == Z_DATA_ERROR && r.len == raw.n && r.data && !memcmp(r.data, raw.b, raw.n));
	zinflate_free(&r);
	free(x.b);
	free(raw.b);
}

int main(void)
{
	if (samples_init("zinflate"))
		return 1;
	RUN(test_formats);
	RUN(test_gzip_members);
	RUN(test_limits);
	RUN(test_budget);
	RUN(test_damaged);
	samples_cleanup();
	return CHECK_DONE();
}
