/* tar_read_list: archives written at test time by /usr/bin/python3 tarfile
 * (a torch 0.1.x-shaped checkpoint, GNU / pax / ustar long names, an empty
 * member, a directory) compared with what tarfile itself lists, and
 * hand-built or damaged headers. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "samples.h"
#include "scan/formats/tarread.h"

static int generated;

/* Each archive gets a manifest of what tarfile reads back: name, type,
 * size and data offset per member. */
static const char gen_py[] =
	"import io, os, pickle, sys, tarfile\n"
	"d = sys.argv[1]\n"
	"def add(t, name, data):\n"
	"    ti = tarfile.TarInfo(name)\n"
	"    ti.size = len(data)\n"
	"    ti.mtime = 1500000000\n"
	"    t.addfile(ti, io.BytesIO(data))\n"
	"def manifest(n):\n"
	"    with tarfile.open(os.path.join(d, n + '.tar')) as t, \\\n"
	"         open(os.path.join(d, n + '.txt'), 'w') as m:\n"
	"        for ti in t.getmembers():\n"
	"            size = ti.size if ti.isreg() else 0\n"
	"            m.write('%s\\t%s\\t%d\\t%d\\n' % (ti.name, ti.type.decode() or '0', size,\n"
	"                                          ti.offset_data))\n"
	"with tarfile.open(os.path.join(d, 'torch.tar'), 'w', format=tarfile.PAX_FORMAT) as t:\n"
	"    add(t, 'sys_info', pickle.dumps({'protocol_version': 1000, 'little_endian': True,\n"
	"                                     'type_sizes': {'int': 4}}, 2))\n"
	"    add(t, 'pickle', pickle.dumps({'weight': ('FloatStorage', 0)}, 2))\n"
	"    add(t, 'storages', pickle.dumps(1, 2) + bytes(range(256)) * 3)\n"
	"    add(t, 'tensors', pickle.dumps(0, 2))\n"
	"manifest('torch')\n"
	"long = 'dir/' + 'x' * 150 + '/member.bin'\n"
	"for n, fmt, name in (('gnu', tarfile.GNU_FORMAT, long), ('pax', tarfile.PAX_FORMAT, long),\n"
	"                     ('ustar', tarfile.USTAR_FORMAT, 'p' * 120 + '/' + 'n' * 90)):\n"
	"    with tarfile.open(os.path.join(d, n + '.tar'), 'w', format=fmt) as t:\n"
	"        ti = tarfile.TarInfo('adir')\n"
	"        ti.type = tarfile.DIRTYPE\n"
	"        t.addfile(ti)\n"
	"        add(t, 'empty', b'')\n"
	"        add(t, name, b'LONG' * 300)\n"
	"        add(t, 'last', b'end')\n"
	"    manifest(n)\n";

/* Lists sample n.tar through a file view and compares it with the manifest
 * tarfile wrote. Returns the number of members matched, -1 on a mismatch. */
static int same_as_python(const char *n, struct tar_list *l)
{
	char file[128], line[2048];
	struct byte_src s;
	size_t i = 0;
	FILE *m;
	int fd, rc;

	snprintf(file, sizeof(file), "%s.tar", n);
	if ((fd = sample_open(file, &s)) < 0)
		return -1;
	rc = tar_read_list(&s, l, line, sizeof(line));
	close(fd);
	if (rc) {
		printf("%s: %s\n", n, line);
		return -1;
	}
	snprintf(file, sizeof(file), "%s.txt", n);
	if (!(m = fopen(sample_path(file), "r")))
		return -1;
	while (fgets(line, sizeof(line), m)) {
		char *name = strtok(line, "\t"), *type = strtok(NULL, "\t");
		char *size = strtok(NULL, "\t"), *off = strtok(NULL, "\t\n");

		if (!off || i >= l->n || strcmp(l->e[i].name, name) || l->e[i].type != type[0] ||
		    l->e[i].size != strtoull(size, NULL, 10) ||
		    l->e[i].data_off != strtoull(off, NULL, 10)) {
			printf("%s: member %zu differs from tarfile's %s\n", n, i,
			       name ? name : "?");
			fclose(m);
			return -1;
		}
		i++;
	}
	fclose(m);
	return i == l->n && !l->truncated && !l->bad_checksum ? (int)i : -1;
}

static void test_generated(void)
{
	CHECK(generated == 0);
}

static void test_torch_checkpoint(void)
{
	struct tar_list l;
	struct blob x = sample_load("torch.tar");
	size_t len = x.n;
	uint8_t *b = x.b;

	CHECK(same_as_python("torch", &l) == 4);
	if (l.n == 4 && b) {
		CHECK_STR(l.e[0].name, "sys_info");
		CHECK_STR(l.e[1].name, "pickle");
		CHECK_STR(l.e[2].name, "storages");
		CHECK_STR(l.e[3].name, "tensors");
		for (size_t i = 0; i < 4; i++) {
			CHECK(l.e[i].type == '0' && l.e[i].data_off % 512 == 0);
			CHECK(l.e[i].data_off + l.e[i].size <= len);
			/* every member's data is a pickle (PROTO 2) */
			CHECK(b[l.e[i].data_off] == 0x80 && b[l.e[i].data_off + 1] == 2);
		}
		/* storages: a pickle then raw bytes 0..255 */
		CHECK(l.e[2].size == 5 + 768);
		CHECK(b[l.e[2].data_off + 5] == 0 && b[l.e[2].data_off + 5 + 255] == 255);
	}
	CHECK(tar_probe(b, len));
	CHECK(!tar_probe(b, 511));
	tar_list_free(&l);
	CHECK(l.e == NULL && l.n == 0);
	free(b);
}

static void check_long(const char *n, const char *want)
{
	struct tar_list l;
	uint8_t *b;
	char file[32];

	snprintf(file, sizeof(file), "%s.tar", n);
	b = sample_load(file).b;
	CHECK(same_as_python(n, &l) == 4);
	if (l.n == 4 && b) {
		CHECK_STR(l.e[0].name, "adir");
		CHECK(l.e[0].type == '5' && l.e[0].size == 0);
		CHECK_STR(l.e[1].name, "empty");
		CHECK(l.e[1].size == 0 && l.e[1].type == '0');
		CHECK_STR(l.e[2].name, want);
		CHECK(l.e[2].size == 1200 && !l.e[2].name_cut);
		CHECK(memcmp(b + l.e[2].data_off, "LONGLONG", 8) == 0);
		CHECK(memcmp(b + l.e[2].data_off + 1196, "LONG", 4) == 0);
		CHECK_STR(l.e[3].name, "last");
		CHECK(l.e[3].size == 3 && memcmp(b + l.e[3].data_off, "end", 3) == 0);
	}
	tar_list_free(&l);
	free(b);
}

static void test_long_names(void)
{
	char want[256];

	snprintf(want, sizeof(want), "dir/%.150s/member.bin",
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	check_long("gnu", want);
	check_long("pax", want);
	snprintf(want, sizeof(want), "%.120s/%.90s",
		 "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
		 "pppppppppppppppppppppppppppppppppppppppppppp",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		 "nnnnnnnnnnnn");
	check_long("ustar", want);
}

/* ---- hand-built archives ------------------------------------------------------ */

static void set_checksum(uint8_t *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A ustar header at h: name, type, octal size. */
static void hdr(uint8_t *h, const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (uint8_t)type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	set_checksum(h);
}

static int list(const uint8_t *b, size_t n, struct tar_list *l, char *err, size_t errlen)
{
	struct byte_src s;

	bsrc_from_mem(&s, b, n);
	return tar_read_list(&s, l, err, errlen);
}

static uint8_t arc[16 * 512];

static void test_damaged(void)
{
	struct tar_list l;
	char err[256];

	/* a: 10 bytes of data; b: 600 bytes (two blocks) */
	memset(arc, 0, sizeof(arc));
	hdr(arc, "a", '0', 10);
	memcpy(arc + 512, "0123456789", 10);
	hdr(arc + 1024, "b", '0', 600);
	CHECK(list(arc, 3584, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && !l.truncated && !l.bad_checksum);
	CHECK(l.n == 2 && l.e[1].data_off == 1536 && l.e[1].size == 600);
	tar_list_free(&l);

	/* the data of b runs past the end: kept, flagged */
	CHECK(list(arc, 1536 + 599, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && l.truncated);
	tar_list_free(&l);
	/* a partial header */
	CHECK(list(arc, 1024 + 100, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.truncated);
	tar_list_free(&l);
	/* the view ends right after a member: no end blocks, nothing missing */
	CHECK(list(arc, 1024, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !l.truncated);
	tar_list_free(&l);

	/* bad checksum: first header refused, a later one ends the list */
	arc[1024 + 148] = '7';
	CHECK(list(arc, 3584, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.bad_checksum);
	tar_list_free(&l);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: bad header checksum at byte 0");
	CHECK(l.n == 0 && l.e == NULL);
	CHECK(!tar_probe(arc + 1024, 512));

	/* garbage in the size field */
	hdr(arc + 1024, "b", '0', 600);
	memcpy(arc + 1024 + 124, "0000001x110", 11);
	set_checksum(arc + 1024);
	CHECK(tar_probe(arc + 1024, 512));
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: bad size field in the header at byte 0");
	CHECK(list(arc, 3584, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.truncated && !l.bad_checksum);
	tar_list_free(&l);
	/* garbage elsewhere (mtime) is refused by Python too */
	hdr(arc + 1024, "b", '0', 600);
	memcpy(arc + 1024 + 136, "9", 1);
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: bad mtime field in the header at byte 0");
	/* octal with spaces, a NUL end, underscores as int(x, 8) takes them */
	hdr(arc + 1024, "b", '0', 0);
	memcpy(arc + 1024 + 124, "  1_130\0    ", 12);
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.e[0].size == 600);
	tar_list_free(&l);

	/* GNU base-256 size: the same 600, then one too big for 64 bits */
	hdr(arc + 1024, "b", '0', 0);
	memset(arc + 1024 + 124, 0, 12);
	arc[1024 + 124] = 0x80;
	arc[1024 + 134] = 600 >> 8;
	arc[1024 + 135] = 600 & 0xff;
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.e[0].size == 600 && !l.truncated);
	tar_list_free(&l);
	arc[1024 + 126] = 1; /* 2^72 + 600 */
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: bad size field in the header at byte 0");
	arc[1024 + 126] = 0;
	arc[1024 + 128] = 1; /* 2^56 + 600: fits, but not in the file */
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && l.truncated && l.e[0].size == (1ull << 56) + 600);
	tar_list_free(&l);
	arc[1024 + 124] = 0xff; /* negative */
	set_checksum(arc + 1024);
	CHECK(list(arc + 1024, 2560, &l, err, sizeof(err)) == -EINVAL);

	/* empty input, and an archive of only end blocks */
	CHECK(list(arc, 0, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: empty file");
	CHECK(list(arc, 300, &l, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "tar: truncated header at byte 0 (size 300)");
	memset(arc, 0, 1024);
	CHECK(list(arc, 1024, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 0 && !l.truncated);
	tar_list_free(&l);
	CHECK(!tar_probe(arc, 512));
}

static void test_python_rules(void)
{
	struct tar_list l;
	char err[256];

	/* the signed byte sum is a valid checksum too */
	memset(arc, 0, sizeof(arc));
	hdr(arc, "caf\xe9", '0', 0);
	{
		int sum = 0;

		memset(arc + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += (int8_t)arc[i];
		snprintf((char *)arc + 148, 8, "%06o", sum);
	}
	CHECK(tar_probe(arc, 512));
	CHECK(list(arc, 1536, &l, err, sizeof(err)) == 0 && l.n == 1);
	tar_list_free(&l);

	/* a negative signed sum, written base-256: -(256**7 - v) */
	hdr(arc, "x", '0', 0);
	memset(arc + 100, 0x80, 8);
	memset(arc + 345, 0x80, 155);
	{
		int64_t sum = 256;
		uint64_t v;

		for (int i = 0; i < 512; i++)
			if (i < 148 || i >= 156)
				sum += (int8_t)arc[i];
		CHECK(sum < 0);
		v = ((uint64_t)1 << 56) + (uint64_t)sum;
		arc[148] = 0xff;
		for (int i = 0; i < 7; i++)
			arc[149 + i] = (uint8_t)(v >> (8 * (6 - i)));
	}
	CHECK(tar_probe(arc, 512));

	/* str.strip() takes \x1c-\x1f as whitespace: so must the checksum */
	hdr(arc, "x", '0', 0);
	memmove(arc + 149, arc + 148, 6);
	arc[148] = 0x1c;
	arc[155] = 0x1f;
	CHECK(tar_probe(arc, 512));

	/* a directory's size field owns no data (Python does not skip it) */
	hdr(arc, "d/", '5', 512);
	hdr(arc + 512, "f", '0', 1);
	CHECK(list(arc, 2048, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && l.e[0].size == 0 && l.e[0].type == '5');
	CHECK(l.n == 2 && !strcmp(l.e[0].name, "d") && !strcmp(l.e[1].name, "f"));
	tar_list_free(&l);
	/* an old V7 directory: type NUL, name ending in '/' */
	hdr(arc, "old/", 0, 0);
	CHECK(list(arc, 2048, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && l.e[0].type == '5' && !strcmp(l.e[0].name, "old"));
	tar_list_free(&l);
	hdr(arc, "plain", 0, 0);
	CHECK(list(arc, 2048, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 2 && l.e[0].type == '0');
	tar_list_free(&l);

	/* one zero block ends the archive, as it does for Python */
	hdr(arc, "a", '0', 0);
	memset(arc + 512, 0, 512);
	hdr(arc + 1024, "hidden", '0', 0);
	CHECK(list(arc, 2048, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !l.truncated);
	tar_list_free(&l);

	/* GNU L then pax x: the first of the chain names the member, NUL ends
	 * a GNU name; pax size replaces the header's */
	memset(arc, 0, sizeof(arc));
	hdr(arc, "././@LongLink", 'L', 9);
	memcpy(arc + 512, "gnu\0name", 9);
	hdr(arc + 1024, "pax", 'x', 26);
	memcpy(arc + 1536, "13 path=paxn\n13 size=1000\n", 26);
	hdr(arc + 2048, "short", '0', 0);
	CHECK(list(arc, 8 * 512, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !strcmp(l.e[0].name, "gnu") && l.e[0].size == 1000);
	CHECK(l.n == 1 && l.e[0].data_off == 2560 && !l.truncated);
	tar_list_free(&l);
	/* pax alone: a NUL inside the path shows as '?' */
	CHECK(list(arc + 1024, 6 * 512, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !strcmp(l.e[0].name, "paxn") && l.e[0].data_off == 1536);
	tar_list_free(&l);
	memcpy(arc + 1536, "13 path=p\0xn\n", 13);
	CHECK(list(arc + 1024, 6 * 512, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !strcmp(l.e[0].name, "p?xn"));
	tar_list_free(&l);
	/* a pax record of length 0 is an error in Python */
	memcpy(arc + 1536, "0 path=x\n", 9);
	CHECK(list(arc + 1024, 6 * 512, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 0 && l.truncated);
	tar_list_free(&l);
	/* pax g (global) changes nothing here */
	hdr(arc + 1024, "glob", 'g', 13);
	memcpy(arc + 1536, "13 path=glob\n", 13);
	CHECK(list(arc + 1024, 6 * 512, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1 && !strcmp(l.e[0].name, "short"));
	tar_list_free(&l);
	/* a long name and then the end: the member never comes */
	hdr(arc, "././@LongLink", 'L', 9);
	memset(arc + 1024, 0, 1024);
	CHECK(list(arc, 2048, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 0 && l.truncated);
	tar_list_free(&l);
	/* a long name longer than TAR_NAME_MAX is cut, flagged */
	{
		static uint8_t big[512 * 8];

		hdr(big, "././@LongLink", 'L', 2000);
		memset(big + 512, 'n', 2000);
		hdr(big + 512 * 5, "x", '0', 0);
		CHECK(list(big, sizeof(big), &l, err, sizeof(err)) == 0);
		CHECK(l.n == 1 && l.e[0].name_cut && strlen(l.e[0].name) == TAR_NAME_MAX - 1);
		tar_list_free(&l);
	}
}

int main(void)
{
	if (samples_init("tar"))
		return 1;
	generated = sample_python(NULL, gen_py);
	RUN(test_generated);
	RUN(test_torch_checkpoint);
	RUN(test_long_names);
	RUN(test_damaged);
	RUN(test_python_rules);
	samples_cleanup();
	return CHECK_DONE();
}
