/*
 * The kernel's model-path matcher (bpf/model_match.bpf.c) against the
 * extension lists user space pushes (user/modelpatterns.c): the maps and
 * the bloom filter are filled with the product's own functions, then each
 * path runs through mlw_match_path() by BPF_PROG_TEST_RUN. Expectations for
 * the extensions come from model_default_exts and model_ext_flags(), so a
 * list entry the matcher mishandles fails here; a hand-written table pins
 * the rest (compounds, blobs, benign twins, lengths).
 *
 * Needs root; prints SKIP and exits 77 without it or without syscall
 * program test runs (Linux 5.14+).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h> /* u32 & co. for the skeleton */
#include "check.h"
#include "model_match_test.h"
#include "model_match_test.skel.h"
#include "sense/modelpatterns.h"

#define NONE MLW_TEST_NONE
#define MODEL MLW_TEST_MODEL
#define QUIET MLW_TEST_QUIET
#define SKIP_RC 77

static struct model_match_test_bpf *skel;
static bool loaded;
static int n_paths, n_user;
/* model_path_is_candidate's table, filled like the kernel's maps */
static struct model_exts_table user_table;

/* The matcher's verdict; a negative errno when the test run failed, or
 * -1000 less the program's own error code. */
static int run_match(const char *path, u32 len, u32 want_quiet, bool *unsupported)
{
	static struct mlw_match_test t;
	/* a syscall program's context is copied back into ctx_in: the kernel
	 * takes no ctx_out for this program type */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &t, .ctx_size_in = sizeof(t));
	size_t n = strlen(path);
	int err;

	memset(&t, 0, sizeof(t));
	memcpy(t.path, path, n < sizeof(t.path) ? n : sizeof(t.path) - 1);
	t.len = len;
	t.want_quiet = want_quiet;
	t.result = -1;
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.model_match_test), &opts);
	if (err) {
		if (unsupported)
			*unsupported = err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
		return err;
	}
	if (opts.retval)
		return -1000 - (int)opts.retval;
	return t.result;
}

static const char *verdict(int v)
{
	static char buf[32];

	switch (v) {
	case NONE:
		return "NONE";
	case MODEL:
		return "MODEL";
	case QUIET:
		return "QUIET";
	}
	snprintf(buf, sizeof(buf), "error %d", v);
	return buf;
}

/* Long paths are shown by their ends: the matcher only sees the tail. */
static void print_path(const char *path)
{
	size_t n = strlen(path);

	if (n <= 160)
		printf("'%s'", path);
	else
		printf("'%.40s...%s' (%zu bytes)", path, path + n - 100, n);
}

static void expect_len(const char *path, u32 len, u32 want_quiet, int want)
{
	int got = run_match(path, len, want_quiet, NULL);

	n_paths++;
	if (got != want) {
		printf("FAIL %s: ", check_cur_name);
		print_path(path);
		printf(" len %u want_quiet %u: expected %s, got %s\n", len, want_quiet,
		       verdict(want), verdict(got));
		check_cur_failed = 1;
	}
	/* the user-space matcher (paths found in /proc at start) must agree
	 * with the kernel on every whole path it is asked about */
	if (want_quiet == 0 && len == strlen(path) + 1 && len <= MLW_PATH_MAX) {
		bool user = model_path_is_candidate(&user_table, path);

		n_user++;
		if (user != (want == MODEL)) {
			printf("FAIL %s: ", check_cur_name);
			print_path(path);
			printf(": the kernel says %s, model_path_is_candidate %s\n", verdict(want),
			       user ? "MODEL" : "NONE");
			check_cur_failed = 1;
		}
	}
}

static void expect(const char *path, u32 want_quiet, int want)
{
	expect_len(path, (u32)strlen(path) + 1, want_quiet, want);
}

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	static char buf[MLW_PATH_MAX + 64];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

/* A path of exactly n bytes ending with tail: 10-byte directories, then
 * 'x's in front of tail to make up the length. */
static const char *sized_path(size_t n, const char *tail)
{
	static char buf[MLW_PATH_MAX + 64];
	size_t t = strlen(tail), i = 0;

	if (n >= sizeof(buf) || n < t + 1)
		abort();
	while (i + 10 + 1 + t < n) {
		memcpy(buf + i, "/d12345678", 10);
		i += 10;
	}
	buf[i++] = '/';
	while (i + t < n)
		buf[i++] = 'x';
	memcpy(buf + i, tail, t + 1);
	return buf;
}

static const char *upper(const char *s)
{
	static char buf[64];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	buf[i] = 0;
	return buf;
}

static bool in_list(const char *const *list, const char *ext)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], ext))
			return true;
	return false;
}

/* What "name.<ext>" is, outside any "-packages" directory, by the flags
 * user space pushes: a compressor's extension alone is no model. */
static int ext_verdict(const char *ext)
{
	return model_ext_flags(ext) & MLW_EXT_COMPRESSOR ? NONE : MODEL;
}

/* Every default extension, in the places and spellings a model takes. */
static void test_default_exts(void)
{
	static const size_t lens[] = { 127, 128, 129, 300, MLW_PATH_MAX - 2, MLW_PATH_MAX - 1 };

	for (int i = 0; model_default_exts[i]; i++) {
		const char *e = model_default_exts[i];
		uint32_t f = model_ext_flags(e);
		int want = ext_verdict(e);
		char name[64];

		expect(fmt("/srv/models/run1/model.%s", e), 0, want);
		expect(fmt("/SRV/Models/RUN1/MODEL.%s", upper(e)), 0, want);
		expect(fmt("w.%c%s", toupper((unsigned char)e[0]), e + 1), 0, want);
		snprintf(name, sizeof(name), "model.%s", e);
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			expect(sized_path(lens[l], name), 0, want);
		/* a last component longer than the matcher's window */
		expect(fmt("/srv/models/%0200d.%s", 7, e), 0, want);
		/* marked processes ask for quiet too; a model is still one */
		expect(fmt("/srv/models/run1/model.%s", e), 1,
		       in_list(model_quiet_exts, e) ? QUIET : want);

		/* twins: not the extension of the last component */
		expect(fmt("/srv/models/model.%s.txt", e), 0, NONE);
		expect(fmt("/srv/models/model.%sx", e), 0, NONE);
		expect(fmt("/srv/models/model.%s/config.json", e), 0, NONE);
		expect(fmt("/srv/models/model.%s/", e), 0, NONE);
		expect(fmt("/srv/models/model.%s~", e), 0, NONE);
		/* no dot: a long extension is keyed by its last 8 bytes alone,
		 * so only it matches this way (user space confirms by content) */
		expect(fmt("/srv/models/model_%s", e), 0, f & MLW_EXT_LONG ? MODEL : NONE);
		expect(fmt("/srv/models/%s", e), 0, f & MLW_EXT_LONG ? MODEL : NONE);
	}
}

/* "name.<inner>.<outer>" for every pair of defaults: a compressor's
 * extension makes a model only behind one that may be inner. The inner
 * key comes from the 8 bytes before the last dot, one of them its own dot:
 * 7 characters at most. */
static void test_compound_exts(void)
{
	for (int i = 0; model_default_exts[i]; i++) {
		const char *in = model_default_exts[i];
		uint32_t fin = model_ext_flags(in);
		bool inner_ok = strlen(in) <= 7 &&
				!(fin & (MLW_EXT_COMPRESSOR | MLW_EXT_NOT_INNER | MLW_EXT_LONG));

		for (int j = 0; model_default_exts[j]; j++) {
			const char *out = model_default_exts[j];
			int want = model_ext_flags(out) & MLW_EXT_COMPRESSOR ?
					   (inner_ok ? MODEL : NONE) :
					   ext_verdict(out);
			char uin[64];

			expect(fmt("/srv/models/clf.%s.%s", in, out), 0, want);
			snprintf(uin, sizeof(uin), "%s", upper(in));
			expect(fmt("/SRV/CLF.%s.%s", uin, upper(out)), 0, want);
		}
	}
}

/* Python opens every .pth directly in site-packages at start-up. */
static void test_packages_dir(void)
{
	for (int i = 0; model_default_exts[i]; i++) {
		const char *e = model_default_exts[i];
		int in_pkgs = model_ext_flags(e) & MLW_EXT_NOT_IN_PACKAGES ? NONE : ext_verdict(e);

		expect(fmt("/usr/lib/python3/dist-packages/distutils-precedence.%s", e), 0,
		       in_pkgs);
		expect(fmt("/opt/venv/lib/python3.11/site-packages/easy-install.%s", e), 0,
		       in_pkgs);
		/* the whole name within the 64 bytes the matcher looks back */
		expect(fmt("/usr/lib/python3/site-packages/%0*d.%s", 63 - (int)strlen(e), 1, e), 0,
		       in_pkgs);
		/* below it, or in a directory that only looks like it */
		expect(fmt("/opt/venv/lib/python3.11/site-packages/torch/weights.%s", e), 0,
		       ext_verdict(e));
		expect(fmt("/srv/site-packages-old/weights.%s", e), 0, ext_verdict(e));
		expect(fmt("/srv/packages/weights.%s", e), 0, ext_verdict(e));
	}
}

/* Python's imports: quiet only when asked for, never a model. */
static void test_quiet_exts(void)
{
	for (int i = 0; model_quiet_exts[i]; i++) {
		const char *q = model_quiet_exts[i];
		int plain = in_list(model_default_exts, q) ? ext_verdict(q) : NONE;
		char name[64];

		expect(fmt("/usr/lib/python3.11/json/__init__.%s", q), 1, QUIET);
		expect(fmt("/usr/lib/python3.11/json/__init__.%s", q), 0, plain);
		expect(fmt("/USR/LIB/X.%s", upper(q)), 1, QUIET);
		expect(fmt("/usr/lib/x.%s", upper(q)), 0, plain);
		snprintf(name, sizeof(name), "mod.%s", q);
		expect(sized_path(MLW_PATH_MAX - 1, name), 1, QUIET);
		expect(sized_path(300, name), 1, QUIET);
		/* twins */
		expect(fmt("/usr/lib/python3.11/%s", q), 1, plain);
		expect(fmt("/usr/lib/x.%s.bak", q), 1, NONE);
		expect(fmt("/usr/lib/x.%sx", q), 1, NONE);
		expect(fmt("/usr/lib/x.%s/y", q), 1, NONE);
		expect(fmt("/usr/lib/x.%s.gz", q), 1, NONE);
	}
}

static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static const char *hexn(int n)
{
	return hex64 + 64 - n;
}

/* Content-addressed blobs: the Hugging Face cache and Ollama. */
static void test_blobs(void)
{
	const char *hf = "/root/.cache/huggingface/hub/models--org--name/blobs";
	const char *ol = "/usr/share/ollama/.ollama/models/blobs";

	expect(fmt("%s/%s", hf, hexn(40)), 0, MODEL);
	expect(fmt("%s/%s", hf, hexn(64)), 0, MODEL);
	expect(fmt("%s/%s", hf, hexn(64)), 1, MODEL);
	expect(fmt("%s/sha256-%s", ol, hexn(64)), 0, MODEL);
	expect(fmt("%s/sha256:%s", ol, hexn(64)), 0, MODEL);
	expect(fmt("/blobs/%s", hexn(40)), 0, MODEL);
	expect(fmt("/blobs/sha256-%s", hexn(64)), 0, MODEL);
	expect(sized_path(MLW_PATH_MAX - 1, fmt("models--a--b/blobs/%s", hexn(64))), 0, MODEL);
	expect(sized_path(300, fmt("models/blobs/sha256-%s", hexn(64))), 0, MODEL);

	/* twins: wrong length, wrong digits, wrong directory */
	expect(fmt("%s/%s", hf, hexn(39)), 0, NONE);
	expect(fmt("%s/%s", hf, hexn(41)), 0, NONE);
	expect(fmt("%s/%s", hf, hexn(63)), 0, NONE);
	expect(fmt("%s/%s0", hf, hexn(64)), 0, NONE);
	expect(fmt("%s/%.39sg", hf, hexn(40)), 0, NONE);
	expect(fmt("%s/%.63sg", hf, hexn(64)), 0, NONE);
	expect(fmt("%s/%s", hf, upper(hexn(40))), 0, NONE);
	expect(fmt("%s/%s.incomplete", hf, hexn(40)), 0, NONE);
	expect(fmt("%s/%s/", hf, hexn(40)), 0, NONE);
	expect(fmt("%s/sha256-%s", ol, hexn(63)), 0, NONE);
	expect(fmt("%s/sha512-%s", ol, hexn(64)), 0, NONE);
	expect(fmt("%s/sha256_%s", ol, hexn(64)), 0, NONE);
	expect(fmt("/root/.cache/huggingface/hub/models--org--name/snapshots/%s", hexn(40)), 0,
	       NONE);
	expect(fmt("/srv/blob/%s", hexn(40)), 0, NONE);
	expect(fmt("/srv/myblobs/%s", hexn(40)), 0, NONE);
	expect(fmt("/srv/blobs/x/%s", hexn(40)), 0, NONE);
	expect(fmt("/srv/%s", hexn(64)), 0, NONE);
	expect(fmt("/srv/models/sha256-%s", hexn(64)), 0, NONE);
	expect(fmt("%s", hexn(40)), 0, NONE);
}

/* Written by hand, not derived from the lists: what a user of mlwatch
 * expects of the names models and Python's own files have. */
static void test_fixed_table(void)
{
	static const struct {
		const char *path;
		u32 want_quiet;
		int want;
	} cases[] = {
		{ "/srv/models/model.pt", 0, MODEL },
		{ "/srv/models/model.PT", 0, MODEL },
		{ "/srv/models/pytorch_model.bin", 0, MODEL },
		{ "/srv/models/model.safetensors", 0, MODEL },
		{ "/srv/models/Model.SafeTensors", 0, MODEL },
		{ "/srv/models/clf.joblib", 0, MODEL },
		{ "/srv/models/llama-7b.Q4_K_M.gguf", 0, MODEL },
		{ "/srv/models/resnet.onnx", 0, MODEL },
		{ "/srv/models/weights.h5", 0, MODEL },
		{ "/srv/models/data.npz", 0, MODEL },
		{ "model.pkl", 0, MODEL },
		{ "./m.pt", 0, MODEL },
		/* compounds */
		{ "/srv/models/df.pkl.gz", 0, MODEL },
		{ "/srv/models/clf.joblib.xz", 0, MODEL },
		{ "/srv/models/clf.JOBLIB.XZ", 0, MODEL },
		{ "/srv/models/clf.pickle.bz2", 0, MODEL },
		{ "/srv/models/clf.pkl.lzma", 0, MODEL },
		{ "/srv/models/clf.pkl.zst", 0, MODEL },
		{ "/srv/models/clf.pkl.lz4", 0, MODEL },
		{ "/srv/models/clf.pkl.z", 0, MODEL },
		{ "/srv/models/clf.npy.zip", 0, MODEL },
		{ "/srv/models/ckpt.pth.tar", 0, MODEL },
		{ "/srv/models/ckpt.pth.gz", 0, MODEL },
		{ ".pkl.gz", 0, MODEL },
		{ "/srv/src/release.tar.gz", 0, NONE },
		{ "/srv/models/model.safetensors.gz", 0, NONE },
		{ "/srv/logs/app.log.gz", 0, NONE },
		{ "/srv/logs/app.gz.gz", 0, NONE },
		{ "/srv/logs/app.gz", 0, NONE },
		{ "/srv/logs/bundle.zip", 0, NONE },
		{ "/srv/models/df.pkl.gz.txt", 0, NONE },
		{ "/srv/a.pkl/gz", 0, NONE },
		{ "/srv/x.b/pkl.gz", 0, NONE },
		/* benign twins */
		{ "/usr/lib/python3/dist-packages/torch/nn/modules/linear.py", 0, NONE },
		{ "/usr/lib/python3/dist-packages/torch/_C.cpython-311-x86_64-linux-gnu.so", 0,
		  NONE },
		{ "/usr/lib/python3/__pycache__/pickle.cpython-311.pyc", 0, NONE },
		{ "/usr/lib/x86_64-linux-gnu/libtorch.so.2", 1, NONE },
		{ "/srv/models/model.txt", 0, NONE },
		{ "/srv/models/config.json", 0, NONE },
		{ "/srv/models/tokenizer.model", 0, NONE },
		{ "/srv/models/pkl", 0, NONE },
		{ "/srv/models/modelpkl", 0, NONE },
		{ "/srv/models/model.pt/weights", 0, NONE },
		{ "/srv/models/x.pt/", 0, NONE },
		{ "/srv/models/model.ptx", 0, NONE },
		{ "/srv/models/model.p", 0, NONE },
		{ "/srv/models/model.", 0, NONE },
		{ "/srv/models/model.pkl ", 0, NONE },
		{ "/srv/models/model.pyc", 0, NONE },
		{ "/srv/models/x.abcdefgh", 0, NONE },
		{ "/srv/models/x.tensors", 0, NONE },
		/* quiet only when asked */
		{ "/usr/lib/python3/os.py", 1, QUIET },
		{ "/usr/lib/python3/os.py", 0, NONE },
		{ "/usr/lib/python3/_ssl.so", 1, QUIET },
		{ "/usr/lib/python3/os.PYC", 2, QUIET },
		{ "/usr/lib/python3/os.pyx", 1, NONE },
		{ "/usr/lib/python3/py", 1, NONE },
		/* Python's path configuration */
		{ "/usr/lib/python3/dist-packages/distutils-precedence.pth", 0, NONE },
		{ "/srv/models/resnet.pth", 0, MODEL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(cases[i].path, cases[i].want_quiet, cases[i].want);
}

/* The lengths mlw_match_path() takes: 2 up to MLW_PATH_MAX with the NUL. */
static void test_lengths(void)
{
	const char *max = sized_path(MLW_PATH_MAX - 1, "model.pkl");

	expect_len(max, MLW_PATH_MAX, 0, MODEL);
	expect_len(max, MLW_PATH_MAX + 1, 0, NONE);
	expect_len(max, 0xffffffffu, 0, NONE);
	expect_len("", 1, 0, NONE);
	expect_len("", 0, 0, NONE);
	expect_len("a", 2, 0, NONE);
	/* a short path after a long one: only the bytes before the NUL count */
	expect(sized_path(MLW_PATH_MAX - 1, "model.pkl"), 0, MODEL);
	expect("/a.txt", 0, NONE);
	expect(".pt", 0, MODEL);
	expect("pt", 0, NONE);
}

static int skip(const char *why)
{
	printf("SKIP test_model_match_bpf: %s\n", why);
	return SKIP_RC;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *f, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

/* The test program, with the maps and the bloom filter filled the way
 * sensors_start() fills them (mlw_match_hex_blobs: its default). */
static void test_load(void)
{
	uint64_t bloom[4];

	skel = model_match_test_bpf__open();
	CHECK(skel != NULL);
	if (!skel)
		return;
	skel->rodata->mlw_match_hex_blobs = true;
	model_exts_table_fill(&user_table, NULL, 0, true);
	model_ext_bloom_fill(bloom, NULL, 0);
	memcpy(skel->rodata->mlw_ext_bloom, bloom, sizeof(bloom));
	CHECK(model_match_test_bpf__load(skel) == 0);
	if (check_cur_failed)
		return;
	CHECK(model_exts_push(bpf_map__fd(skel->maps.model_exts),
			      bpf_map__fd(skel->maps.quiet_exts), NULL, 0) == 0);
	loaded = !check_cur_failed;
}

int main(void)
{
	bool unsupported = false;

	if (geteuid() != 0)
		return skip("needs root to load BPF programs");
	libbpf_set_print(quiet_libbpf);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) != 1)
		return skip("this kernel has no BPF_PROG_TYPE_SYSCALL");
	RUN(test_load);
	if (!loaded) {
		model_match_test_bpf__destroy(skel);
		return CHECK_DONE();
	}
	if (run_match("/x.pt", 6, 0, &unsupported) < 0 && unsupported) {
		model_match_test_bpf__destroy(skel);
		return skip("this kernel cannot test-run syscall programs");
	}

	RUN(test_default_exts);
	RUN(test_compound_exts);
	RUN(test_packages_dir);
	RUN(test_quiet_exts);
	RUN(test_blobs);
	RUN(test_fixed_table);
	RUN(test_lengths);
	printf("%d paths through the kernel matcher, %d of them through the user-space one\n",
	       n_paths, n_user);
	model_match_test_bpf__destroy(skel);
	return CHECK_DONE();
}
