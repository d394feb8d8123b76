/* Default model extensions and their kernel map encoding. */
#include <ctype.h>
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
