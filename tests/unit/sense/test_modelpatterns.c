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

/* The user-space matcher for files found held at start; its agreement
 * with the kernel's on every path is test_model_match_bpf's (root). */
static void test_user_matcher(void)
{
	static const char *const extra[] = { "myfmt", "x/y", "LongerThanEight" };
	static const char blob[] =
		"/root/.cache/huggingface/hub/models--a--b/blobs/"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct model_exts_table t;

	model_exts_table_fill(&t, NULL, 0, true);
	CHECK(model_path_is_candidate(&t, "/srv/models/model.pt"));
	CHECK(model_path_is_candidate(&t, "/srv/a b\nc/M.PKL"));
	CHECK(model_path_is_candidate(&t, "/srv/df.pkl.gz"));
	CHECK(model_path_is_candidate(&t, blob));
	CHECK(!model_path_is_candidate(&t, "/srv/release.tar.gz"));
	CHECK(!model_path_is_candidate(&t, "/usr/lib/python3/dist-packages/x.pth"));
	CHECK(!model_path_is_candidate(&t, "/srv/model.pkl (deleted)"));
	CHECK(!model_path_is_candidate(&t, "/srv/notes.txt"));
	CHECK(!model_path_is_candidate(&t, "/srv/model.myfmt"));
	CHECK(!model_path_is_candidate(&t, ""));
	CHECK(!model_path_is_candidate(&t, NULL));
	/* --model-ext, a long one by its last 8 bytes; --no-hex-blobs */
	model_exts_table_fill(&t, extra, 3, false);
	CHECK(model_path_is_candidate(&t, "/srv/model.myfmt"));
	CHECK(model_path_is_candidate(&t, "/srv/model.longerthaneight"));
	CHECK(!model_path_is_candidate(&t, "/srv/model.y"));
	CHECK(!model_path_is_candidate(&t, blob));
	CHECK(model_path_is_candidate(&t, "/srv/models/model.pt"));
	/* the same extension twice is one entry */
	model_exts_table_fill(&t, (const char *const[]){ "pt", "pt" }, 2, true);
	{
		size_t n = 0;

		for (int i = 0; model_default_exts[i]; i++)
			n++;
		CHECK(t.n == n);
	}
}

int main(void)
{
	RUN(test_key_packing);
	RUN(test_defaults_cover_threats);
	RUN(test_pth_not_in_packages);
	RUN(test_bloom_has_every_default);
	RUN(test_user_matcher);
	return CHECK_DONE();
}
