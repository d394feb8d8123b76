/* The scanner against work bombs, built in memory at test time: a zip of
 * 10000 entries on one deflated member, 1 GiB-of-zeros deflate members
 * (alone, many, nested, a whole joblib file), a pickle that unpickles one
 * memoized string again and again. Each must end suspicious with a limit
 * finding naming the limit, within a bound measured here; the clean twins
 * (a checkpoint whose tensor member is that same 1 GiB stream, a big
 * benign pickle) must still scan clean. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "check.h"
#include "lib/budget.h"
#include "scan/model_scan.h"

#define MIB (1u << 20)

/* The product's limits with the byte budgets scaled down 8x, so that a
 * loaded machine runs each bomb in seconds; the e2e test runs mlwatch
 * scan on such bombs with the real defaults. */
static struct scan_limits test_limits(void)
{
	struct scan_limits l = scan_default_limits;

	l.max_member /= 8;
	l.max_inflate /= 8;
	return l;
}

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;

		while (nc < b->n + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		if (!b->p)
			abort();
		b->cap = nc;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(b, x, 4);
}

/* Deflates what is fed, ending each piece with a full flush. */
static void feed(z_stream *zs, struct buf *out, const void *p, size_t n, int flush)
{
	uint8_t tmp[64 << 10];

	zs->next_in = (Bytef *)p;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = tmp;
		zs->avail_out = sizeof(tmp);
		deflate(zs, flush);
		put(out, tmp, sizeof(tmp) - zs->avail_out);
	} while (zs->avail_out == 0);
}

/* prefix, then mib MiB of zeros, as a raw deflate (wbits -15) or zlib
 * (15) stream, by streaming zlib: the MiB of zeros is deflated once after
 * a full flush (byte-aligned, nothing refers back), and its blocks are
 * repeated; the stream deflating 1 GiB would make, in milliseconds.
 * *crc: CRC-32 of the whole output. */
static struct buf zeros_stream(int wbits, const void *prefix, size_t plen, unsigned mib,
			       uint32_t *crc)
{
	static uint8_t zeros[MIB];
	struct buf out = { 0 }, one = { 0 };
	uLong c = crc32(0, prefix, (uInt)plen), a = adler32(1, prefix, (uInt)plen);
	uLong cz = crc32(0, zeros, MIB), az = adler32(1, zeros, MIB);
	z_stream zs = { 0 };

	if (deflateInit2(&zs, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	feed(&zs, &out, prefix, plen, Z_FULL_FLUSH);
	feed(&zs, &one, zeros, MIB, Z_FULL_FLUSH);
	for (unsigned i = 0; i < mib; i++) {
		put(&out, one.p, one.n);
		c = crc32_combine(c, cz, MIB);
		a = adler32_combine(a, az, MIB);
	}
	feed(&zs, &out, NULL, 0, Z_FINISH);
	deflateEnd(&zs);
	if (wbits > 0) { /* the zlib trailer zlib wrote covers one MiB: the real one */
		out.n -= 4;
		for (int s = 24; s >= 0; s -= 8)
			put(&out, (uint8_t[]){ (uint8_t)(a >> s) }, 1);
	}
	free(one.p);
	*crc = (uint32_t)c;
	return out;
}

struct member {
	const char *name;
	const uint8_t *data; /* as stored: deflated when method is 8 */
	size_t len;
	uint16_t method;
	uint32_t crc, usize;
};

static void local_header(struct buf *z, const struct member *m)
{
	put32(z, 0x04034b50);
	put16(z, 20);
	put16(z, 0);
	put16(z, m->method);
	put32(z, 0);
	put32(z, m->crc);
	put32(z, (uint32_t)m->len);
	put32(z, m->usize);
	put16(z, (uint16_t)strlen(m->name));
	put16(z, 0);
	put(z, m->name, strlen(m->name));
}

static void central_header(struct buf *cd, const struct member *m, const char *name, uint32_t off)
{
	put32(cd, 0x02014b50);
	put16(cd, 20);
	put16(cd, 20);
	put16(cd, 0);
	put16(cd, m->method);
	put32(cd, 0);
	put32(cd, m->crc);
	put32(cd, (uint32_t)m->len);
	put32(cd, m->usize);
	put16(cd, (uint16_t)strlen(name));
	put16(cd, 0);
	put16(cd, 0);
	put16(cd, 0);
	put16(cd, 0);
	put32(cd, 0);
	put32(cd, off);
	put(cd, name, strlen(name));
}

static void end_record(struct buf *z, const struct buf *cd, unsigned n)
{
	uint32_t off = (uint32_t)z->n;

	put(z, cd->p, cd->n);
	put32(z, 0x06054b50);
	put32(z, 0);
	put16(z, (uint16_t)n);
	put16(z, (uint16_t)n);
	put32(z, (uint32_t)cd->n);
	put32(z, off);
	put16(z, 0);
}

/* A zip of the members, each with its own bytes. */
static struct buf zip_of(const struct member *m, unsigned n)
{
	struct buf z = { 0 }, cd = { 0 };

	for (unsigned i = 0; i < n; i++) {
		central_header(&cd, &m[i], m[i].name, (uint32_t)z.n);
		local_header(&z, &m[i]);
		put(&z, m[i].data, m[i].len);
	}
	end_record(&z, &cd, n);
	free(cd.p);
	return z;
}

static struct member stored(const char *name, const void *p, size_t n)
{
	return (struct member){ .name = name,
				.data = p,
				.len = n,
				.crc = (uint32_t)crc32(0, p, (uInt)n),
				.usize = (uint32_t)n };
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Scans the buffer, says how long it took. */
static double scan(const struct buf *b, const char *name, const struct scan_limits *lim,
		   struct scan_report *r)
{
	double t0 = now_s();

	CHECK(model_scan_mem(b->p, b->n, name, lim, r) == 0);
	t0 = now_s() - t0;
	printf("# %s: %.2f s, %llu MiB inflated, verdict %d\n", name, t0,
	       (unsigned long long)(r->inflated >> 20), r->verdict);
	return t0;
}

/* The finding of this kind whose detail contains what, or NULL. */
static const struct scan_finding *finding(const struct scan_report *r, enum scan_finding_kind kind,
					  const char *what)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].kind == kind && strstr(r->findings[i].detail, what))
			return &r->findings[i];
	return NULL;
}

static struct buf gib; /* 1 GiB of zeros, raw deflate */
static uint32_t gib_crc;

/* The classic overlapped zip: 10000 directory entries on one local
 * header. Without a per-file budget each .pkl entry inflates its member
 * cap again (hours); with it the repeats stop once the file's budget is
 * used, and the overlap itself is a finding. */
static void test_overlap_bomb(void)
{
	struct scan_limits lim = test_limits();
	struct member m = { .name = "m00000.pkl",
			    .data = gib.p,
			    .len = gib.n,
			    .method = 8,
			    .crc = gib_crc,
			    .usize = 1u << 30 };
	struct buf z = { 0 }, cd = { 0 };
	struct scan_report r;
	char name[32];
	double t;

	local_header(&z, &m);
	put(&z, gib.p, gib.n);
	for (unsigned i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "m%05u.pkl", i);
		central_header(&cd, &m, name, 0);
	}
	end_record(&z, &cd, 10000);
	t = scan(&z, "overlap.zip", &lim, &r);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(inflate limit)") != NULL);
	CHECK(finding(&r, SF_CONTAINER, "overlapping-data: 10000 entries") != NULL);
	CHECK(r.cut == BUDGET_INFLATE);
	CHECK(r.inflated <= lim.max_inflate);
	CHECK(r.members < 10); /* the repeats are not read */
	CHECK(t < 60);
	scan_report_free(&r);
	free(z.p);
	free(cd.p);
}

/* One 1 GiB member stops at the member cap; sixteen of them, each in its
 * own place (no overlap), at the file's budget: the cap alone would let
 * them inflate 16 times as much. */
static void test_gib_members(void)
{
	struct scan_limits lim = test_limits();
	struct member m[16];
	struct scan_report r;
	struct buf z;
	double t;

	for (unsigned i = 0; i < 16; i++)
		m[i] = (struct member){ .name = "m.pkl",
					.data = gib.p,
					.len = gib.n,
					.method = 8,
					.crc = gib_crc,
					.usize = 1u << 30 };
	z = zip_of(m, 1);
	t = scan(&z, "one.zip", &lim, &r);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(member size limit)") != NULL);
	CHECK(!r.cut && r.inflated == lim.max_member);
	CHECK(t < 60);
	scan_report_free(&r);
	free(z.p);

	for (unsigned i = 0; i < 16; i++) {
		static char names[16][16];

		snprintf(names[i], sizeof(names[i]), "m%02u.pkl", i);
		m[i].name = names[i];
	}
	z = zip_of(m, 16);
	t = scan(&z, "sixteen.zip", &lim, &r);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(inflate limit)") != NULL);
	CHECK(finding(&r, SF_CONTAINER, "overlapping") == NULL);
	CHECK(r.cut == BUDGET_INFLATE && r.inflated <= lim.max_inflate);
	CHECK(t < 60);
	scan_report_free(&r);
	free(z.p);
}

/* Zips inside a zip, each holding the 1 GiB member: what the nested ones
 * inflate is charged to the same file. */
static void test_nested_bomb(void)
{
	struct scan_limits lim = test_limits();
	struct member in = { .name = "data.pkl",
			     .data = gib.p,
			     .len = gib.n,
			     .method = 8,
			     .crc = gib_crc,
			     .usize = 1u << 30 };
	struct buf inner = zip_of(&in, 1), z;
	struct member out[8];
	struct scan_report r;
	double t;

	for (unsigned i = 0; i < 8; i++) {
		static char names[8][16];

		snprintf(names[i], sizeof(names[i]), "in%u.zip", i);
		out[i] = stored(names[i], inner.p, inner.n);
	}
	z = zip_of(out, 8);
	t = scan(&z, "nested.zip", &lim, &r);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(inflate limit)") != NULL);
	CHECK(r.cut == BUDGET_INFLATE && r.inflated <= lim.max_inflate);
	CHECK(t < 60);
	scan_report_free(&r);
	free(z.p);
	free(inner.p);
}

/* joblib.load's whole-file zlib: a pickle start, then 1 GiB of zeros. The
 * file's budget binds where it is below the member cap. */
static void test_joblib_bomb(void)
{
	static const uint8_t start[] = "\x80\x04N";
	struct scan_limits lim = test_limits();
	struct scan_report r;
	uint32_t crc;
	struct buf z = zeros_stream(15, start, sizeof(start) - 1, 1024, &crc);
	double t;

	lim.max_inflate = lim.max_member / 2;
	t = scan(&z, "model.joblib", &lim, &r);
	CHECK(r.format == MF_JOBLIB_COMPRESSED);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(inflate limit)") != NULL);
	CHECK(finding(&r, SF_LIMIT, "(member size limit)") == NULL);
	CHECK(r.cut == BUDGET_INFLATE && r.inflated == lim.max_inflate);
	CHECK(t < 60);
	scan_report_free(&r);
	free(z.p);
}

/* What was inflated before the budget ran out is still walked: a payload
 * in front of a member too big to inflate makes the file malicious, not
 * only cut short. */
static void test_cut_member_still_walked(void)
{
	static const uint8_t evil[] = "cos\nsystem\n(S'id'\ntR.";
	struct scan_limits lim = test_limits();
	struct member m;
	struct scan_report r;
	uint32_t crc;
	struct buf def = zeros_stream(-15, evil, sizeof(evil) - 1, 64, &crc), z;

	lim.max_inflate = MIB;
	m = (struct member){ .name = "archive/data.pkl",
			     .data = def.p,
			     .len = def.n,
			     .method = 8,
			     .crc = crc,
			     .usize = (uint32_t)(sizeof(evil) - 1 + 64 * MIB) };
	z = zip_of(&m, 1);
	scan(&z, "cut.pt", &lim, &r);
	CHECK(r.verdict == SCAN_MALICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(inflate limit)") != NULL);
	CHECK(r.nfindings && r.findings[0].kind == SF_IMPORT &&
	      !strcmp(r.findings[0].name, "system"));
	scan_report_free(&r);
	free(z.p);
	free(def.p);
}

/* pickle.loads of one memoized 512 KiB bytes object, 87000 times over:
 * each call walks the string again (1 MiB of file, ~45 GB of walking).
 * The deadline ends it; what was seen before stays reported. */
static struct buf loads_bomb(void)
{
	static const uint8_t head[] = "\x80\x04"
				      "cpickle\nloads\n"
				      "q\x00";
	struct buf p = { 0 };
	size_t inner = (512u << 10) - 5;

	put(&p, head, sizeof(head) - 1);
	put(&p, "B", 1);
	put32(&p, (uint32_t)(inner + 5));
	put(&p, "S'", 2);
	for (size_t i = 0; i < inner; i++)
		put(&p, "a", 1);
	put(&p, "'\n.", 3);
	put(&p, "\x85q\x01", 3);
	while (p.n + 8 < MIB)
		put(&p, "h\x00h\x01R0", 6);
	put(&p, "N.", 2);
	return p;
}

static void test_pickle_loop_bomb(void)
{
	struct scan_limits lim = test_limits();
	struct buf p = loads_bomb();
	struct scan_report r;
	double t;

	lim.max_ms = 1000;
	t = scan(&p, "loads.pkl", &lim, &r);
	CHECK(r.verdict == SCAN_SUSPICIOUS);
	CHECK(finding(&r, SF_LIMIT, "(time limit)") != NULL);
	CHECK(r.cut == BUDGET_TIME);
	CHECK(r.nfindings && r.findings[0].kind == SF_IMPORT &&
	      !strcmp(r.findings[0].name, "loads"));
	CHECK(t < 10);
	scan_report_free(&r);
	free(p.p);
}

/* The twins: a checkpoint whose tensor member is the 1 GiB stream (never
 * read: tensors are data), the same with a deflated data.pkl, and a big
 * benign pickle, all clean and within their budget. */
static void test_clean_twins(void)
{
	static const uint8_t pkl[] = "\x80\x02}q\x00X\x01\x00\x00\x00wq\x01K\x01s.";
	struct scan_limits lim = test_limits();
	struct member m[3];
	struct scan_report r;
	struct buf z, def, big = { 0 };
	uint32_t crc;
	double t;

	m[0] = stored("archive/data.pkl", pkl, sizeof(pkl) - 1);
	m[1] = stored("archive/version", "3\n", 2);
	m[2] = (struct member){ .name = "archive/data/0",
				.data = gib.p,
				.len = gib.n,
				.method = 8,
				.crc = gib_crc,
				.usize = 1u << 30 };
	z = zip_of(m, 3);
	t = scan(&z, "twin.pt", &lim, &r);
	CHECK(r.format == MF_TORCH_ZIP && r.verdict == SCAN_CLEAN && r.nfindings == 0);
	CHECK(!r.cut && r.inflated < MIB && t < 10);
	scan_report_free(&r);
	free(z.p);

	def = zeros_stream(-15, pkl, sizeof(pkl) - 1, 0, &crc);
	m[0] = (struct member){ .name = "archive/data.pkl",
				.data = def.p,
				.len = def.n,
				.method = 8,
				.crc = crc,
				.usize = sizeof(pkl) - 1 };
	z = zip_of(m, 3);
	t = scan(&z, "twin_deflated.pt", &lim, &r);
	CHECK(r.verdict == SCAN_CLEAN && r.nfindings == 0 && r.pickles == 1 && !r.cut);
	scan_report_free(&r);
	free(z.p);
	free(def.p);

	/* 6M opcodes of a list of ints: tens of ms of walking, far from 1 s */
	put(&big, "\x80\x04]", 3);
	for (unsigned i = 0; i < 1u << 21; i++)
		put(&big,
		    "K\x07"
		    "a",
		    3);
	put(&big, ".", 1);
	lim.max_ms = 1000;
	t = scan(&big, "big.pkl", &lim, &r);
	CHECK(r.verdict == SCAN_CLEAN && r.nfindings == 0 && !r.cut && t < 1);
	scan_report_free(&r);
	free(big.p);
}

int main(void)
{
	gib = zeros_stream(-15, NULL, 0, 1024, &gib_crc);
	RUN(test_overlap_bomb);
	RUN(test_gib_members);
	RUN(test_nested_bomb);
	RUN(test_joblib_bomb);
	RUN(test_cut_member_still_walked);
	RUN(test_pickle_loop_bomb);
	RUN(test_clean_twins);
	free(gib.p);
	return CHECK_DONE();
}
