/* Unit tests for user/zipread.c. Archives are made at test time by the real
 * writers (/usr/bin/python3's zipfile, torch.save) in a temporary folder;
 * the evasions are written byte by byte by a small python helper (hz) so
 * each oddity is exactly the one under test. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "lib/budget.h"
#include "scan/formats/zipread.h"

/* Helpers every script gets. hz(path, entries, ...) writes a zip by hand:
 * each entry a dict (name, data, and overrides: lname, lextra, method,
 * flags, crc, csize, usize, comp); z64 moves sizes and offsets to zip64
 * extras and records; eocd=(count, cd_size, cd_off) overrides the end. */
static const char prelude[] =
	"import sys, os, struct, zlib, zipfile, random\n"
	"os.chdir(sys.argv[1])\n"
	"def hz(path, ents, comment=b'', pre=b'', post=b'', eocd=None, z64=False, z64eocd=None):\n"
	"    out = bytearray(); cd = bytearray()\n"
	"    for e in ents:\n"
	"        data = e.get('data', b''); method = e.get('method', 0)\n"
	"        if method == 8:\n"
	"            c = zlib.compressobj(6, zlib.DEFLATED, -15); comp = c.compress(data) + c.flush()\n"
	"        else:\n"
	"            comp = data\n"
	"        comp = e.get('comp', comp)\n"
	"        name = e['name'] if isinstance(e['name'], bytes) else e['name'].encode()\n"
	"        lname = e.get('lname', name); lx = e.get('lextra', b'')\n"
	"        crc = e.get('crc', zlib.crc32(data)); fl = e.get('flags', 0)\n"
	"        cs = e.get('csize', len(comp)); us = e.get('usize', len(data)); off = len(out)\n"
	"        out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, fl, method, 0, 0x21, crc,\n"
	"                           cs, us, len(lname), len(lx)) + lname + lx + comp\n"
	"        cx = b''\n"
	"        if z64:\n"
	"            cx = struct.pack('<HHQQQ', 1, 24, us, cs, off); cs = us = off = 0xffffffff\n"
	"        cd += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45 if z64 else 20, 20, fl,\n"
	"                          method, 0, 0x21, crc, cs, us, len(name), len(cx), 0, 0, 0, 0,\n"
	"                          off) + name + cx\n"
	"    cdoff = len(out); n = len(ents); cds = len(cd)\n"
	"    out += cd\n"
	"    if z64:\n"
	"        zn, zs, zo = z64eocd or (n, cds, cdoff)\n"
	"        at = len(out)\n"
	"        out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, zn, zn, zs, zo)\n"
	"        out += struct.pack('<IIQI', 0x07064b50, 0, at, 1)\n"
	"        n, cds, cdoff = 0xffff, 0xffffffff, 0xffffffff\n"
	"    if eocd:\n"
	"        n, cds, cdoff = eocd\n"
	"    out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, n, n, cds, cdoff, len(comment))\n"
	"    open(path, 'wb').write(pre + out + comment + post)\n";

/* Runs a python script (after the prelude) in the samples directory; true
 * on success. */
static int py(const char *code)
{
	return sample_python(prelude, code) == 0;
}

/* Opens a zip from memory; err kept for the test's checks. */
static char err[256];

static int open_mem(struct blob *x, struct byte_src *s, struct zip_dir *d)
{
	bsrc_from_mem(s, x->b, x->n);
	return zip_open(s, d, err, sizeof(err));
}

static int read_all(const struct byte_src *s, struct zip_dir *d, struct zip_entry *e, size_t max,
		    uint8_t **out, size_t *len, bool *cut)
{
	if (!e)
		return -ENOENT;
	return zip_read(s, d, e, max, out, len, cut);
}

static void test_zipfile_stored_deflated_comment(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *a, *b;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut = true;

	CHECK(py("data = bytes(i * 7 % 251 for i in range(100000))\n"
		 "with zipfile.ZipFile('basic.zip', 'w') as z:\n"
		 "    z.writestr('a.txt', b'hello', compress_type=zipfile.ZIP_STORED)\n"
		 "    z.writestr('dir/b.bin', data, compress_type=zipfile.ZIP_DEFLATED)\n"
		 "    z.comment = b'a comment'\n"));
	x = sample_load("basic.zip");
	CHECK(x.n > 0);
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2);
	CHECK(d.anomalies == 0);
	CHECK(d.shift == 0 && d.entries_dropped == 0);
	CHECK((a = zip_find(&d, "a.txt")) != NULL);
	CHECK((b = zip_find(&d, "dir/b.bin")) != NULL);
	CHECK(zip_find(&d, "b.bin") == NULL);
	if (!a || !b)
		goto out;
	CHECK(a->method == 0 && b->method == 8);
	CHECK(a->local_off == 0 && a->data_off == 30 + 5);
	CHECK(b->usize == 100000 && b->csize < b->usize);
	CHECK(read_all(&s, &d, a, 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 5 && !cut && out && !memcmp(out, "hello", 6));
	free(out);
	out = NULL;
	CHECK(read_all(&s, &d, b, 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 100000 && !cut && out);
	if (out && len == 100000) {
		size_t bad = 0;

		for (size_t i = 0; i < len; i++)
			bad += out[i] != i * 7 % 251;
		CHECK(bad == 0);
		CHECK(out[len] == 0);
	}
	free(out);
	out = NULL;
	/* a capped read: the first bytes, marked cut, CRC not judged */
	CHECK(read_all(&s, &d, b, 10, &out, &len, &cut) == 0);
	CHECK(len == 10 && cut && out && out[1] == 7);
	free(out);
	CHECK(d.anomalies == 0 && a->anomalies == 0 && b->anomalies == 0);
out:
	zip_close(&d);
	CHECK(d.e == NULL && d.n == 0);
	free(x.b);
}

static void test_zip64(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	/* zipfile's force_zip64: zip64 extra and ~0 sizes in the local header */
	CHECK(py(
		"with zipfile.ZipFile('f64.zip', 'w') as z:\n"
		"    with z.open('big.pkl', 'w', force_zip64=True) as f:\n"
		"        f.write(b'\\x80\\x02' + b'x' * 998)\n"
		"z = zipfile.ZipFile('f64.zip'); assert z.read('big.pkl')[:2] == b'\\x80\\x02'\n"));
	x = sample_load("f64.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1);
	CHECK((d.anomalies & ~ZA_ZIP64) == 0);
	CHECK((e = zip_find(&d, "big.pkl")) != NULL);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 1000 && out && out[0] == 0x80 && out[1] == 0x02 && out[999] == 'x');
	CHECK(e && !(e->anomalies & (ZA_BAD_CRC | ZA_SIZE_MISMATCH)));
	free(out);
	zip_close(&d);
	free(x.b);

	/* zip64 end record, locator and central extras (sizes, offset ~0) */
	CHECK(py("hz('h64.zip', [{'name': 'a', 'data': b'AAAA'},\n"
		 "    {'name': 'b', 'data': b'B' * 5000, 'method': 8}], z64=True)\n"
		 "z = zipfile.ZipFile('h64.zip'); assert z.read('b') == b'B' * 5000\n"));
	x = sample_load("h64.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2);
	CHECK(d.anomalies == ZA_ZIP64);
	CHECK(d.n == 2 && d.e[1].local_off == 30 + 1 + 4 && d.e[1].usize == 5000);
	CHECK(d.n == 2 && (d.e[0].anomalies & ZA_ZIP64));
	out = NULL;
	CHECK(read_all(&s, &d, zip_find(&d, "b"), 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 5000 && out && out[4999] == 'B');
	free(out);
	out = NULL;
	CHECK(read_all(&s, &d, zip_find(&d, "a"), 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 4 && out && !memcmp(out, "AAAA", 4));
	free(out);
	CHECK(!(d.anomalies & ZA_BAD_CRC));
	zip_close(&d);
	free(x.b);
}

static void test_torch_save(void)
{
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *pkl = NULL, *st = NULL;
	char name[ZIP_NAME_MAX + 16];
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut = true;
	int fd;

	CHECK(py("import torch\n"
		 "torch.save({'w': torch.zeros(3)}, 'model.pt')\n"));
	fd = sample_open("model.pt", &s);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(zip_open(&s, &d, err, sizeof(err)) == 0);
	CHECK(d.n >= 3);
	/* torch's writer (miniz) always ends with zip64 records; nothing else */
	CHECK(d.anomalies == ZA_ZIP64);
	for (size_t i = 0; i < d.n; i++) {
		size_t n = strlen(d.e[i].name);

		if (n > 9 && !strcmp(d.e[i].name + n - 9, "/data.pkl"))
			pkl = &d.e[i];
	}
	CHECK(pkl != NULL);
	if (pkl) {
		/* "<archive>/data.pkl": the archive folder names the tensors too */
		CHECK(zip_find(&d, pkl->name) == pkl);
		snprintf(name, sizeof(name), "%.*s/data/0",
			 (int)(strchr(pkl->name, '/') - pkl->name), pkl->name);
		st = zip_find(&d, name);
		CHECK(read_all(&s, &d, pkl, 1 << 20, &out, &len, &cut) == 0);
		CHECK(len > 2 && !cut && out && out[0] == 0x80 && out[1] == 0x02);
		CHECK(out && out[len - 1] == '.'); /* STOP */
		free(out);
		out = NULL;
	}
	CHECK(st != NULL);
	if (st) {
		/* torch aligns storages to 64 bytes with a local extra field */
		CHECK(st->data_off % 64 == 0);
		CHECK(st->data_off > st->local_off + 30 + strlen(st->name));
		CHECK(read_all(&s, &d, st, 1 << 20, &out, &len, &cut) == 0);
		CHECK(len == 12 && out && !memcmp(out, "\0\0\0\0\0\0\0\0\0\0\0\0", 12));
		free(out);
	}
	CHECK(d.anomalies == ZA_ZIP64);
	zip_close(&d);
	close(fd);
}

static void test_bad_crc(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	CHECK(py("with zipfile.ZipFile('crc.zip', 'w') as z:\n"
		 "    z.writestr('data.pkl', b'\\x80\\x02K\\x01.')\n"));
	x = sample_load("crc.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK((e = zip_find(&d, "data.pkl")) != NULL);
	if (!e)
		goto out;
	CHECK(e->data_off + 5 <= x.n);
	x.b[e->data_off + 3] ^= 0x02; /* K\x01 -> K\x03 */
	/* a capped read cannot tell */
	CHECK(zip_read(&s, &d, e, 2, &out, &len, &cut) == 0 && cut && len == 2);
	CHECK(!(e->anomalies & ZA_BAD_CRC));
	free(out);
	out = NULL;
	CHECK(zip_read(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 5 && !cut && out && out[3] == 3);
	CHECK(e->anomalies & ZA_BAD_CRC);
	CHECK(d.anomalies & ZA_BAD_CRC);
	free(out);
out:
	zip_close(&d);
	free(x.b);

	/* a deflated member whose stored CRC is wrong */
	CHECK(py("hz('crc8.zip', [{'name': 'x', 'data': b'y' * 300, 'method': 8, 'crc': 1}])\n"));
	x = sample_load("crc8.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.anomalies == 0);
	out = NULL;
	CHECK(read_all(&s, &d, zip_find(&d, "x"), 1 << 20, &out, &len, &cut) == 0);
	CHECK(len == 300 && out && out[299] == 'y');
	CHECK(d.anomalies == ZA_BAD_CRC);
	free(out);
	zip_close(&d);
	free(x.b);
}

static void test_name_mismatch(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	/* the local header names another, longer file and has an extra field:
	 * the data is where the local lengths say, not the central ones */
	CHECK(py("hz('nm.zip', [{'name': 'a.pkl', 'lname': b'innocent_name.txt',\n"
		 "    'lextra': b'\\x99\\x99\\x02\\x00ab', 'data': b'PAYLOAD'},\n"
		 "    {'name': 'same.pkl', 'lname': b'SAME.pkl', 'data': b'two'}])\n"));
	x = sample_load("nm.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2);
	CHECK((e = zip_find(&d, "a.pkl")) != NULL);
	CHECK(zip_find(&d, "innocent_name.txt") == NULL);
	if (e) {
		CHECK(e->anomalies == ZA_NAME_MISMATCH);
		CHECK(e->data_off == e->local_off + 30 + 17 + 6);
	}
	CHECK(read_all(&s, &d, e, 100, &out, &len, &cut) == 0);
	CHECK(len == 7 && out && !memcmp(out, "PAYLOAD", 7));
	free(out);
	CHECK((e = zip_find(&d, "same.pkl")) != NULL);
	CHECK(e && e->anomalies == ZA_NAME_MISMATCH);
	CHECK(d.anomalies == ZA_NAME_MISMATCH);
	zip_close(&d);
	free(x.b);
}

/* zip_open_lazy reads no local header until a member is touched; then the
 * same data offset and anomalies come out as with zip_open. */
static void test_lazy_open(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint64_t read_before = 0, counter = 0;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	CHECK(py("hz('lz.zip', [{'name': 'a.pkl', 'lname': b'innocent_name.txt',\n"
		 "    'lextra': b'\\x99\\x99\\x02\\x00ab', 'data': b'PAYLOAD'},\n"
		 "    {'name': 'b.bin', 'data': b'untouched'}])\n"));
	x = sample_load("lz.zip");
	bsrc_from_mem(&s, x.b, x.n);
	s.bytes_read = &counter;
	CHECK(zip_open_lazy(&s, &d, NULL, 0) == 0);
	CHECK(d.n == 2);
	for (size_t i = 0; i < d.n; i++)
		CHECK(!d.e[i].located && !(d.e[i].anomalies & ZA_NAME_MISMATCH));
	read_before = counter;
	CHECK((e = zip_find(&d, "a.pkl")) != NULL);
	CHECK(e && zip_read(&s, &d, e, 100, &out, &len, &cut) == 0);
	CHECK(len == 7 && out && !memcmp(out, "PAYLOAD", 7));
	free(out);
	if (e) {
		CHECK(e->located && e->anomalies == ZA_NAME_MISMATCH);
		CHECK(e->data_off == e->local_off + 30 + 17 + 6);
	}
	CHECK(d.anomalies & ZA_NAME_MISMATCH);
	CHECK(counter > read_before);
	CHECK((e = zip_find(&d, "b.bin")) != NULL && !e->located);
	zip_close(&d);
	free(x.b);
}

static void test_flags(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	uint8_t *out = (uint8_t *)"x";
	size_t len = 9;
	bool cut;

	CHECK(py("hz('fl.zip', [{'name': 'odd', 'data': b'1', 'flags': 0x40 | 0x2000},\n"
		 "    {'name': 'usual', 'data': b'2', 'flags': 0x2 | 0x4 | 0x8 | 0x800},\n"
		 "    {'name': 'enc', 'data': b'0123456789abcdef', 'flags': 1}])\n"));
	x = sample_load("fl.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 3);
	if (d.n == 3) {
		CHECK(d.e[0].anomalies == ZA_ODD_FLAGS);
		CHECK(d.e[1].anomalies == 0);
		CHECK(d.e[2].anomalies == ZA_ENCRYPTED);
		CHECK(zip_read(&s, &d, &d.e[2], 100, &out, &len, &cut) == -EACCES);
		CHECK(out == NULL && len == 0);
		CHECK(zip_read(&s, &d, &d.e[0], 100, &out, &len, &cut) == 0 && len == 1);
		free(out);
	}
	CHECK(d.anomalies == (ZA_ODD_FLAGS | ZA_ENCRYPTED));
	zip_close(&d);
	free(x.b);

	/* zipfile sets bit 11 for a UTF-8 name: usual, not odd */
	CHECK(py("with zipfile.ZipFile('utf.zip', 'w') as z:\n"
		 "    z.writestr('caf\\u00e9.txt', b'x')\n"));
	x = sample_load("utf.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1 && d.e[0].flags == 0x800);
	CHECK(zip_find(&d, "caf\xc3\xa9.txt") != NULL);
	CHECK(d.anomalies == 0);
	zip_close(&d);
	free(x.b);
}

static void test_prepended_and_trailing(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	CHECK(py("with zipfile.ZipFile('p0.zip', 'w') as z:\n"
		 "    z.writestr('a.pkl', b'first', compress_type=zipfile.ZIP_STORED)\n"
		 "    z.writestr('b.pkl', b'second' * 50, compress_type=zipfile.ZIP_DEFLATED)\n"
		 "raw = open('p0.zip', 'rb').read()\n"
		 "open('pre.zip', 'wb').write(b'J' * 100 + raw)\n"
		 "open('post.zip', 'wb').write(raw + b'trailing junk')\n"
		 "open('abs.zip', 'wb').write(b'\\x80\\x02N.' + b'J' * 60)\n"
		 "with zipfile.ZipFile('abs.zip', 'a') as z:\n"
		 "    z.writestr('a.pkl', b'first')\n"
		 "assert zipfile.ZipFile('pre.zip').read('b.pkl') == b'second' * 50\n"));
	x = sample_load("pre.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2);
	CHECK(d.anomalies == ZA_PREPENDED);
	CHECK(d.shift == 100);
	CHECK(d.n == 2 && d.e[0].local_off == 100 && d.e[0].data_off == 100 + 30 + 5);
	CHECK(read_all(&s, &d, zip_find(&d, "a.pkl"), 100, &out, &len, &cut) == 0);
	CHECK(len == 5 && out && !memcmp(out, "first", 5));
	free(out);
	out = NULL;
	CHECK(read_all(&s, &d, zip_find(&d, "b.pkl"), 1000, &out, &len, &cut) == 0);
	CHECK(len == 300 && out && !memcmp(out + 294, "second", 6));
	free(out);
	CHECK(!(d.anomalies & ZA_BAD_CRC));
	for (size_t i = 0; i < d.n; i++)
		CHECK(d.e[i].anomalies == 0); /* reported once, on the archive */
	zip_close(&d);
	free(x.b);

	x = sample_load("post.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2 && d.anomalies == ZA_TRAILING && d.shift == 0);
	zip_close(&d);
	free(x.b);

	/* a zip appended to other bytes with offsets that account for them */
	x = sample_load("abs.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1 && d.anomalies == ZA_PREPENDED && d.shift == 0);
	CHECK(d.n == 1 && d.e[0].local_off == 64);
	zip_close(&d);
	free(x.b);
}

static void test_truncated(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;

	CHECK(py("data = random.Random(1).randbytes(50000)\n"
		 "with zipfile.ZipFile('full.zip', 'w') as z:\n"
		 "    z.writestr('a.bin', data)\n"
		 "    z.writestr('b.bin', b'b')\n"
		 "raw = open('full.zip', 'rb').read()\n"
		 "open('half.zip', 'wb').write(raw[:len(raw) // 2])\n"
		 "open('noend.zip', 'wb').write(raw[:-10])\n"
		 "open('headless.zip', 'wb').write(raw[30000:])\n"
		 "open('empty.zip', 'wb').write(b'')\n"));
	x = sample_load("half.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK_STR(err, "no end of central directory record");
	CHECK(d.e == NULL && d.n == 0);
	free(x.b);

	x = sample_load("noend.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK_STR(err, "no end of central directory record");
	free(x.b);

	x = sample_load("headless.zip");
	CHECK(x.n > 0);
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK(strstr(err, "past end of file (size ") != NULL);
	free(x.b);

	x = sample_load("empty.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK(strstr(err, "no end of central directory record") != NULL);
	free(x.b);
	zip_close(&d); /* safe after a failed open */
}

/* AddressSanitizer reserves more address space than the limit below. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* zip_open in a child limited to 64 MiB of address space: an allocation
 * sized by a claimed count fails there. Returns the child's d.n, or -1. */
static int open_small(const char *name, int *rc_out)
{
	int pipefd[2], st = 0;
	int res[2] = { -1, -1 };
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 64u << 20, 64u << 20 };
		struct blob x = sample_load(name);
		struct byte_src s;
		struct zip_dir d;

#ifndef UNDER_ASAN
		setrlimit(RLIMIT_AS, &rl);
#else
		(void)rl;
#endif
		res[0] = open_mem(&x, &s, &d);
		res[1] = (int)d.n;
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid < 0 || read(pipefd[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = -1;
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	*rc_out = res[0];
	return res[1];
}

static void test_huge_claims(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	int rc = 1;

	CHECK(py(
		"e = [{'name': 'a', 'data': b'AA'}]\n"
		"hz('hc1.zip', e, eocd=(0xffff, 0xfffffff0, 0))\n"
		"hz('hc2.zip', e, eocd=(0xffff, 46 + 1, 32 + 1))\n"
		"hz('hc3.zip', e, z64=True, z64eocd=(1 << 62, 1 << 61, 1 << 60))\n"
		"hz('hc4.zip', e, z64=True, z64eocd=(1 << 40, 46 + 1 + 28, 32 + 1))\n"
		"hz('hc5.zip', e, eocd=(1, 46 + 1, 0xfffffff0))\n"
		"hz('hc6.zip', e, z64=True, z64eocd=(1, 1 << 61, 5), eocd=(1, 46 + 1 + 28, 33))\n"));
	x = sample_load("hc1.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK(strstr(err, "central directory size 4294967280 larger than") != NULL);
	free(x.b);

	/* huge counts, true sizes: the one real entry, no slot per claim */
	CHECK(open_small("hc2.zip", &rc) == 1 && rc == 0);
	CHECK(open_small("hc4.zip", &rc) == 1 && rc == 0);

	x = sample_load("hc3.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK(strstr(err, "larger than") != NULL);
	free(x.b);

	/* a zip64 record that leads nowhere: the 32-bit values still work */
	x = sample_load("hc6.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1 && !(d.anomalies & ~ZA_ZIP64) && zip_find(&d, "a") != NULL);
	zip_close(&d);
	free(x.b);

	x = sample_load("hc5.zip");
	CHECK(open_mem(&x, &s, &d) == -EINVAL);
	CHECK(strstr(err, "central directory at 4294967280 past end of file (size ") != NULL);
	free(x.b);
}

static void test_deflate_bomb(void)
{
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint8_t *out = NULL;
	size_t len = 0, nz = 0;
	bool cut = false;
	int fd;

	CHECK(py("with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n"
		 "    with z.open('bomb.pkl', 'w') as f:\n"
		 "        blk = bytes(1 << 20)\n"
		 "        for _ in range(200): f.write(blk)\n"));
	fd = sample_open("bomb.zip", &s);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(s.size < 1 << 20);
	CHECK(zip_open(&s, &d, err, sizeof(err)) == 0);
	CHECK((e = zip_find(&d, "bomb.pkl")) != NULL);
	CHECK(e && e->usize == 200u << 20);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(cut && len == 1 << 20 && out);
	for (size_t i = 0; out && i < len; i++)
		nz += out[i] != 0;
	CHECK(nz == 0);
	CHECK(d.anomalies == 0);
	free(out);
	zip_close(&d);
	close(fd);
}

static void test_entry_oddities(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut;

	CHECK(py("hz('odd.zip', [{'name': 'x.pkl', 'data': b'one'},\n"
		 "    {'name': 'x.pkl', 'data': b'two'},\n"
		 "    {'name': b'a\\x00b', 'data': b'nul'},\n"
		 "    {'name': 'bz', 'data': b'q', 'method': 12},\n"
		 "    {'name': 'far', 'data': b'far', 'csize': 0x7fffffff, 'usize': 0x7fffffff},\n"
		 "    {'name': 'sz', 'data': b'size', 'usize': 9},\n"
		 "    {'name': 'dd', 'data': b'dd', 'flags': 8, 'csize': 0, 'usize': 0}])\n"));
	x = sample_load("odd.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 7);
	if (d.n != 7)
		goto out;
	CHECK(d.e[0].anomalies == ZA_DUP_NAME && d.e[1].anomalies == ZA_DUP_NAME);
	CHECK(zip_find(&d, "x.pkl") == &d.e[0]);
	CHECK_STR(d.e[2].name, "a?b");
	CHECK(d.e[2].anomalies == ZA_NAME_NUL);
	CHECK(d.e[3].anomalies == ZA_UNSUPPORTED_METHOD);
	CHECK(zip_read(&s, &d, &d.e[3], 100, &out, &len, &cut) == -ENOTSUP);
	/* its 2 GiB would cover every header after it: those overlap it */
	CHECK(d.e[4].anomalies == (ZA_OUT_OF_RANGE | ZA_OVERLAP));
	/* what exists is still returned, within max */
	CHECK(zip_read(&s, &d, &d.e[4], 8, &out, &len, &cut) == 0);
	CHECK(len == 8 && cut && out && !memcmp(out, "far", 3));
	free(out);
	out = NULL;
	/* central usize 9, local 4: stored csize != usize, local differs */
	CHECK(d.e[5].anomalies == (ZA_SIZE_MISMATCH | ZA_OVERLAP));
	/* a data descriptor's zero local sizes are not a mismatch */
	CHECK(d.e[6].anomalies == ZA_OVERLAP);
	CHECK(d.overlaps == 3);
	CHECK(d.anomalies == (ZA_DUP_NAME | ZA_NAME_NUL | ZA_UNSUPPORTED_METHOD | ZA_OUT_OF_RANGE |
			      ZA_SIZE_MISMATCH | ZA_OVERLAP));
out:
	zip_close(&d);
	free(x.b);
}

static void test_bad_local_header(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;

	CHECK(py("hz('bl.zip', [{'name': 'a', 'data': b'AAAA'}, {'name': 'b', 'data': b'BB'}])\n"
		 "raw = bytearray(open('bl.zip', 'rb').read()); raw[0] = 0x51\n"
		 "open('bl.zip', 'wb').write(raw)\n"));
	x = sample_load("bl.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2 && d.e[0].anomalies == ZA_BAD_LOCAL && d.e[1].anomalies == 0);
	CHECK(d.anomalies == ZA_BAD_LOCAL);
	zip_close(&d);
	free(x.b);
}

static void test_fake_eocd_in_comment(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;

	/* zipfile itself takes the last signature and would see no member */
	CHECK(py(
		"with zipfile.ZipFile('fk.zip', 'w') as z:\n"
		"    z.writestr('evil.pkl', b'cos\\nsystem\\n.')\n"
		"    z.writestr('ok.txt', b'ok')\n"
		"    z.comment = b'PK\\x05\\x06' + bytes(18)\n"
		"with zipfile.ZipFile('fk2.zip', 'w') as z:\n"
		"    z.writestr('evil.pkl', b'x')\n"
		"    z.comment = b'xxPK\\x05\\x06' + struct.pack('<HHHHIIH', 0, 0, 5, 5, 99, 7777, 0)\n"));
	x = sample_load("fk.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 2 && zip_find(&d, "evil.pkl") != NULL);
	CHECK(d.anomalies == 0);
	zip_close(&d);
	free(x.b);

	x = sample_load("fk2.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1 && zip_find(&d, "evil.pkl") != NULL);
	zip_close(&d);
	free(x.b);
}

static void test_long_name(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;

	CHECK(py("hz('ln.zip', [{'name': 'n' * 2000, 'data': b'L'}])\n"));
	x = sample_load("ln.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 1);
	if (d.n == 1) {
		CHECK(d.e[0].name_cut);
		CHECK(strlen(d.e[0].name) == ZIP_NAME_MAX - 1);
		CHECK(d.e[0].anomalies == 0);
		CHECK(d.e[0].data_off == 30 + 2000);
		CHECK(zip_find(&d, d.e[0].name) == NULL);
	}
	zip_close(&d);
	free(x.b);
}

/* Listing reads the directory and local headers, never member data; and
 * past ZIP_MAX_ENTRIES entries are only counted. */
static void test_many_entries(void)
{
	struct byte_src s;
	struct zip_dir d;
	uint64_t cost = 0;
	int fd;

	CHECK(py("with zipfile.ZipFile('many.zip', 'w') as z:\n"
		 "    for i in range(100005): z.writestr('%d' % i, b'')\n"
		 "with zipfile.ZipFile('wide.zip', 'w') as z:\n"
		 "    for i in range(300): z.writestr('archive/data/%d' % i, bytes(40000))\n"));
	fd = sample_open("many.zip", &s);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(zip_open(&s, &d, err, sizeof(err)) == 0);
		CHECK(d.n == ZIP_MAX_ENTRIES);
		CHECK(d.entries_dropped == 5);
		CHECK(d.anomalies == ZA_ZIP64); /* > 65535 entries: zip64 end records */
		CHECK(zip_find(&d, "99999") != NULL && zip_find(&d, "100000") == NULL);
		zip_close(&d);
		close(fd);
	}
	fd = sample_open("wide.zip", &s);
	CHECK(fd >= 0);
	if (fd >= 0) {
		s.bytes_read = &cost;
		CHECK(s.size > 12000000);
		CHECK(zip_open(&s, &d, err, sizeof(err)) == 0);
		CHECK(d.n == 300 && d.anomalies == 0);
		CHECK(cost < 40000); /* 4 KiB tail, directory, 300 local headers */
		zip_close(&d);
		close(fd);
	}
}

/* Several directory entries on one local header, and one whose header
 * lies inside another member's data: each is marked, the archive counts
 * them, and an entry of its own stays unmarked. */
static void test_overlap(void)
{
	struct blob x;
	struct byte_src s;
	struct zip_dir d;

	CHECK(py(
		"def lh(name, comp, crc, us):\n"
		"    return struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, 8, 0, 0, crc, len(comp),\n"
		"                       us, len(name), 0) + name + comp\n"
		"def ch(name, comp, crc, us, off):\n"
		"    return struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, 8, 0, 0, crc,\n"
		"                       len(comp), us, len(name), 0, 0, 0, 0, 0, off) + name\n"
		"raw = b'x' * 1000; c = zlib.compressobj(6, zlib.DEFLATED, -15)\n"
		"comp = c.compress(raw) + c.flush(); crc = zlib.crc32(raw)\n"
		"body = lh(b'a.pkl', comp, crc, 1000); boff = len(body)\n"
		"body += lh(b'b.pkl', comp, crc, 1000)\n"
		"cd = ch(b'a.pkl', comp, crc, 1000, 0) + ch(b'a2.pkl', comp, crc, 1000, 0)\n"
		"cd += ch(b'b.pkl', comp, crc, 1000, boff) + ch(b'a3.pkl', comp, crc, 1000, 0)\n"
		"cd += ch(b'c.pkl', comp, crc, 1000, 5)\n"
		"open('ov.zip', 'wb').write(body + cd + struct.pack('<IHHHHIIH', 0x06054b50, 0, 0,\n"
		"                          5, 5, len(cd), len(body), 0))\n"));
	x = sample_load("ov.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	CHECK(d.n == 5);
	if (d.n == 5) {
		CHECK(d.e[0].anomalies & ZA_OVERLAP);
		CHECK(d.e[1].anomalies & ZA_OVERLAP);
		CHECK(!(d.e[2].anomalies & ZA_OVERLAP));
		CHECK(d.e[3].anomalies & ZA_OVERLAP);
		CHECK(d.e[4].anomalies & ZA_OVERLAP);
		CHECK(d.overlaps == 4 && (d.anomalies & ZA_OVERLAP));
	}
	zip_close(&d);
	free(x.b);
}

/* What a read inflates, or copies out of a stored member, is charged to
 * the budget the view carries; past it a read is cut and the budget says
 * so, whatever max allows. */
static void test_budget(void)
{
	struct budget b;
	struct blob x;
	struct byte_src s;
	struct zip_dir d;
	struct zip_entry *e;
	uint8_t *out = NULL;
	size_t len = 0;
	bool cut = false;

	CHECK(py("with zipfile.ZipFile('bud.zip', 'w') as z:\n"
		 "    z.writestr('z.pkl', bytes(1 << 20), zipfile.ZIP_DEFLATED)\n"
		 "    z.writestr('s.pkl', bytes(1 << 20), zipfile.ZIP_STORED)\n"));
	x = sample_load("bud.zip");
	CHECK(open_mem(&x, &s, &d) == 0);
	budget_init(&b, 0, 96 << 10);
	s.budget = &b;
	CHECK((e = zip_find(&d, "z.pkl")) != NULL);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(cut && len == 96 << 10 && b.spent == BUDGET_INFLATE);
	CHECK(b.inflated == 96 << 10 && b.inflate_left == 0);
	free(out);
	out = NULL;
	/* spent: the stored member gets nothing either */
	CHECK((e = zip_find(&d, "s.pkl")) != NULL);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(cut && len == 0);
	free(out);
	out = NULL;
	/* a stored member on its own budget: copied out, charged */
	budget_init(&b, 0, 100000);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(cut && len == 100000 && b.spent == BUDGET_INFLATE && b.inflated == 100000);
	free(out);
	out = NULL;
	/* enough budget: whole, and still charged */
	budget_init(&b, 0, 4 << 20);
	CHECK(read_all(&s, &d, e, 1 << 20, &out, &len, &cut) == 0);
	CHECK(!cut && len == 1 << 20 && !b.spent && b.inflated == 1 << 20);
	free(out);
	zip_close(&d);
	free(x.b);
}

static void test_anomaly_names(void)
{
	for (int b = 0; b < ZA_BITS; b++) {
		const char *n = zip_anomaly_name(1 << b);

		CHECK(n && strcmp(n, "unknown") != 0);
		for (int c = 0; c < b; c++)
			CHECK(strcmp(n, zip_anomaly_name(1 << c)) != 0);
	}
	CHECK_STR(zip_anomaly_name(ZA_NAME_MISMATCH), "name-mismatch");
	CHECK_STR(zip_anomaly_name(ZA_BITS), "unknown");
}

int main(void)
{
	if (samples_init("zipread"))
		return 1;
	RUN(test_zipfile_stored_deflated_comment);
	RUN(test_zip64);
	RUN(test_torch_save);
	RUN(test_bad_crc);
	RUN(test_name_mismatch);
	RUN(test_lazy_open);
	RUN(test_flags);
	RUN(test_prepended_and_trailing);
	RUN(test_truncated);
	RUN(test_huge_claims);
	RUN(test_deflate_bomb);
	RUN(test_entry_oddities);
	RUN(test_bad_local_header);
	RUN(test_fake_eocd_in_comment);
	RUN(test_long_name);
	RUN(test_many_entries);
	RUN(test_overlap);
	RUN(test_budget);
	RUN(test_anomaly_names);
	samples_cleanup();
	return CHECK_DONE();
}
