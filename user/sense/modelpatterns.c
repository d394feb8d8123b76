/* Default model extensions and their kernel map encoding. */
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <bpf/bpf.h>
#include <mlwatch/events.h>

#include "modelpatterns.h"

const char *const model_default_exts[] = {
	/* torch: any name works, these are the usual ones */
	"pt",
	"pth",
	"bin",
	"ckpt",
	"th",
	"tar",
	"mar",
	/* pickle and friends (MLflow, Ray, dill, cloudpickle) */
	"pkl",
	"pickle",
	"dat",
	"dill",
	/* joblib / scikit-learn */
	"joblib",
	"sav",
	/* numpy */
	"npy",
	"npz",
	/* keras / hdf5 */
	"h5",
	"hdf5",
	"keras",
	/* llama.cpp, onnx, safetensors (the benign control) */
	"gguf",
	"ggml",
	"onnx",
	"safetensors",
	/* compressors joblib and pandas pick by name: a model only behind one
	 * of the above (model.pkl.gz, clf.joblib.xz), see MLW_EXT_COMPRESSOR */
	"gz",
	"z",
	"bz2",
	"xz",
	"lzma",
	"lz4",
	"zst",
	"zip",
	NULL,
};

static const char *const compressor_exts[] = {
	"gz", "z", "bz2", "xz", "lzma", "lz4", "zst", "zip", NULL,
};

/* Python's imports: a marked process reads hundreds of these after a load,
 * and no rule looks at reading them (writing them is still sent). */
const char *const model_quiet_exts[] = { "py", "pyc", "so", NULL };

bool model_ext_key(const char *ext, uint64_t *key)
{
	size_t n = ext ? strlen(ext) : 0;
	uint64_t k = 0;

	if (n > MLW_EXT_MAX) /* long: keyed by its last 8 bytes */
		ext += n - MLW_EXT_MAX, n = MLW_EXT_MAX;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ext[i];

		if (c == '/' || c == '.')
			return false;
		k |= (uint64_t)tolower(c) << (8 * i);
	}
	*key = k;
	return true;
}

uint32_t model_ext_flags(const char *ext)
{
	for (size_t i = 0; compressor_exts[i]; i++)
		if (strcasecmp(ext, compressor_exts[i]) == 0)
			return MLW_EXT_COMPRESSOR;
	/* torch's .pth and Python's path-configuration .pth share a name */
	if (strcasecmp(ext, "pth") == 0)
		return MLW_EXT_NOT_IN_PACKAGES;
	/* every .tar.gz would be a model */
	if (strcasecmp(ext, "tar") == 0)
		return MLW_EXT_NOT_INNER;
	return strlen(ext) > MLW_EXT_MAX ? MLW_EXT_LONG : MLW_EXT_ANYWHERE;
}

/* Must match bloom_has() in bpf/model_match.bpf.c. */
void model_ext_bloom_add(uint64_t bloom[4], uint64_t key)
{
	uint64_t h1 = (key * 0x9e3779b97f4a7c15ull) >> 56;
	uint64_t h2 = (key * 0xc2b2ae3d27d4eb4full) >> 56;

	bloom[(h1 >> 6) & 3] |= 1ull << (h1 & 63);
	bloom[(h2 >> 6) & 3] |= 1ull << (h2 & 63);
}

void model_ext_bloom_fill(uint64_t bloom[4], const char *const *extra, int n_extra)
{
	uint64_t key;

	memset(bloom, 0, 4 * sizeof(bloom[0]));
	for (int i = 0; model_default_exts[i]; i++)
		if (model_ext_key(model_default_exts[i], &key))
			model_ext_bloom_add(bloom, key);
	for (int i = 0; i < n_extra; i++)
		if (model_ext_key(extra[i], &key))
			model_ext_bloom_add(bloom, key);
}

int model_exts_push(int exts_fd, int quiet_fd, const char *const *extra, int n_extra)
{
	uint64_t key;

	for (int i = 0; model_default_exts[i]; i++) {
		uint32_t flags = model_ext_flags(model_default_exts[i]);

		model_ext_key(model_default_exts[i], &key);
		if (bpf_map_update_elem(exts_fd, &key, &flags, BPF_ANY))
			return -errno;
	}
	for (int i = 0; i < n_extra; i++) {
		uint32_t flags = model_ext_flags(extra[i]);

		if (!model_ext_key(extra[i], &key)) {
			fprintf(stderr,
				"mlwatch: --model-ext '%s' cannot be matched (it holds a '.' or '/'), ignored\n",
				extra[i]);
			continue;
		}
		if (bpf_map_update_elem(exts_fd, &key, &flags, BPF_ANY))
			return -errno;
	}
	for (int i = 0; model_quiet_exts[i]; i++) {
		uint32_t flags = MLW_EXT_QUIET;

		model_ext_key(model_quiet_exts[i], &key);
		if (bpf_map_update_elem(quiet_fd, &key, &flags, BPF_ANY))
			return -errno;
	}
	return 0;
}

void model_exts_table_fill(struct model_exts_table *t, const char *const *extra, int n_extra,
			   bool hex_blobs)
{
	memset(t, 0, sizeof(*t));
	t->hex_blobs = hex_blobs;
	for (int pass = 0; pass < 2; pass++) {
		const char *const *list = pass ? extra : model_default_exts;
		int n = pass ? n_extra : INT_MAX;

		for (int i = 0; i < n && list && list[i]; i++) {
			uint64_t key;
			size_t k;

			if (!model_ext_key(list[i], &key))
				continue;
			/* a map update: the same key again replaces its flags */
			for (k = 0; k < t->n && t->key[k] != key; k++)
				;
			if (k == MODEL_EXTS_TABLE_MAX)
				continue;
			t->key[k] = key;
			t->flags[k] = model_ext_flags(list[i]);
			if (k == t->n)
				t->n++;
		}
	}
}

/* The rest mirrors bpf/model_match.bpf.c function for function: t is the
 * path's last MATCH_TAIL bytes, t[TL] its last character, zeros before a
 * shorter path. */
#define MATCH_TAIL 128
#define TL (MATCH_TAIL - 1)

static const uint32_t *ext_flags(const struct model_exts_table *t, uint64_t key)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->key[i] == key)
			return &t->flags[i];
	return NULL;
}

/* Eight bytes as the kernel loads them on a little-endian CPU. */
static uint64_t load8(const char *p)
{
	uint64_t w = 0;

	for (int i = 0; i < 8; i++)
		w |= (uint64_t)(unsigned char)p[i] << (8 * i);
	return w;
}

/* ASCII letters only, byte by byte, as lower8() does. */
static uint64_t lower8(uint64_t x)
{
	for (int i = 0; i < 8; i++) {
		unsigned c = (x >> (8 * i)) & 0xff;

		if (c >= 'A' && c <= 'Z')
			x |= (uint64_t)0x20 << (8 * i);
	}
	return x;
}

static bool tail_is(const char *t, int end, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		if (t[end - n + 1 + i] != lit[i])
			return false;
	return true;
}

static bool in_packages_dir(const char *t)
{
	for (int l = 5; l <= 64; l++)
		if (t[TL - l] == '/')
			return tail_is(t, TL - l - 1, "-packages", 9);
	return false;
}

static uint64_t inner_ext_key(const char *t, int e)
{
	uint64_t w;

	if (e < 1 || e > 8)
		return 0;
	w = load8(&t[TL - e - 8]);
	for (int i = 1; i < 8; i++)
		if (((w >> (8 * (7 - i))) & 0xff) == '.')
			return lower8(w >> (8 * (8 - i)));
	return 0;
}

static bool inner_is_model(const struct model_exts_table *tb, const char *t, int e)
{
	uint64_t key = inner_ext_key(t, e);
	const uint32_t *flags = key ? ext_flags(tb, key) : NULL;

	return flags && !(*flags & (MLW_EXT_COMPRESSOR | MLW_EXT_NOT_INNER | MLW_EXT_LONG));
}

static bool ext_matches(const struct model_exts_table *tb, const char *t)
{
	const uint32_t *flags;
	uint64_t key;
	int e = 0;

	for (int i = 1; i <= MLW_EXT_MAX; i++) {
		if (t[TL - i + 1] == '/' || t[TL - i + 1] == 0)
			break;
		if (t[TL - i] == '.') {
			e = i;
			break;
		}
	}
	key = load8(&t[TL - 7]);
	if (e != 0 && e != 8)
		key >>= 8 * (8 - e);
	flags = ext_flags(tb, lower8(key));
	if (!flags || (e == 0) != !!(*flags & MLW_EXT_LONG))
		return false;
	if (*flags & MLW_EXT_COMPRESSOR)
		return inner_is_model(tb, t, e);
	if (*flags & MLW_EXT_NOT_IN_PACKAGES)
		return !in_packages_dir(t);
	return true;
}

static bool all_hex(const char *t, int end, int n)
{
	for (int i = 0; i < n; i++) {
		char c = t[end - i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static bool blob_matches(const struct model_exts_table *tb, const char *t)
{
	if (!tb->hex_blobs)
		return false;
	if (t[TL - 64] == '/' && tail_is(t, TL - 65, "/blobs", 6))
		return all_hex(t, TL, 64);
	if (t[TL - 40] == '/' && tail_is(t, TL - 41, "/blobs", 6))
		return all_hex(t, TL, 40);
	if ((t[TL - 64] == '-' || t[TL - 64] == ':') && tail_is(t, TL - 65, "/blobs/sha256", 13))
		return all_hex(t, TL, 64);
	return false;
}

bool model_path_is_candidate(const struct model_exts_table *tb, const char *path)
{
	char t[MATCH_TAIL] = { 0 };
	size_t n = path ? strlen(path) : 0;

	if (n == 0)
		return false;
	if (n > MATCH_TAIL)
		path += n - MATCH_TAIL, n = MATCH_TAIL;
	memcpy(t + MATCH_TAIL - n, path, n);
	return ext_matches(tb, t) || blob_matches(tb, t);
}
