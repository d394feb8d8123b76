#include "check.h"
#include "sense/modelpatterns.h"
#include <mlwatch/events.h>

static void test_key_packing(void)
{
	uint64_t k;

	CHECK(model_ext_key("pt", &k) && k == 0x7470);
	CHECK(model_ext_key("PKL", &k) && k == 0x6c6b70);
	CHECK(model_ext_key("safetens", &k));
	CHECK(model_ext_key("safetensors", &k)); /* long: its last 8 bytes */
	CHECK(k == 0x73726f736e657465ull);       /* "etensors" */
	CHECK(model_ext_flags("safetensors") == MLW_EXT_LONG);
	CHECK(!model_ext_key("", &k));
	CHECK(!model_ext_key("a/b", &k));
	CHECK(!model_ext_key("tar.gz", &k));
}

static void test_defaults_cover_threats(void)
{
	static const char *const need[] = { "pt",     "pth",    "bin",  "ckpt", "pkl",
					    "pickle", "joblib", "npy",  "npz",  "h5",
					    "keras",  "onnx",   "gguf", "dill", NULL };

	for (int i = 0; need[i]; i++) {
		bool found = false;

		for (int j = 0; model_default_exts[j]; j++)
			found |= !strcmp(need[i], model_default_exts[j]);
		CHECK(found);
	}
}

static void test_pth_not_in_packages(void)
{
	CHECK(model_ext_flags("pth") == MLW_EXT_NOT_IN_PACKAGES);
	CHECK(model_ext_flags("pt") == MLW_EXT_ANYWHERE);
}

static void test_bloom_has_every_default(void)
{
	uint64_t b[4] = { 0 }, key;
	int set = 0, n = 0;

	for (int i = 0; model_default_exts[i]; i++, n++) {
		CHECK(model_ext_key(model_default_exts[i], &key));
		model_ext_bloom_add(b, key);
	}
	for (int w = 0; w < 4; w++)
		set += __builtin_popcountll(b[w]);
	/* two bits per extension, at most */
	CHECK(set > 0 && set <= 2 * n);
	/* what a bloom filter is for here: the hot extensions miss it */
	for (int i = 0; model_quiet_exts[i]; i++) {
		uint64_t h1, h2;

		CHECK(model_ext_key(model_quiet_exts[i], &key));
		h1 = (key * 0x9e3779b97f4a7c15ull) >> 56;
		h2 = (key * 0xc2b2ae3d27d4eb4full) >> 56;
		CHECK(!((b[(h1 >> 6) & 3] >> (h1 & 63) & 1) &&
			(b[(h2 >> 6) & 3] >> (h2 & 63) & 1)));
	}
}

int main(void)
{
	RUN(test_key_packing);
	RUN(test_defaults_cover_threats);
	RUN(test_pth_not_in_packages);
	RUN(test_bloom_has_every_default);
	return CHECK_DONE();
}
