/*
 * Differential libFuzzer target: the one decision that lowers watching
 * (model_inert_check: "this file cannot run code, unmark its loader")
 * against the scanner's walker. For any input, if the walker finds an
 * import that would be called when the bytes are unpickled, the file must
 * not be called inert; nor may a tar reader or zlib find such a pickle
 * inside it. The first byte picks the name the file is opened as
 * (the ONNX and compressor hints follow names); the rest is the file.
 *
 * Threat model: docs/threat-model.md §4.2.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collect/judge.h"
#include "lib/budget.h"
#include "lib/zinflate.h"
#include "scan/formats/tarread.h"
#include "scan/model_inert.h"
#include "scan/pickle/pickle_scan.h"

/* Whether bytes unpickled as a stream call something they imported. */
static bool calls(const uint8_t *b, size_t n)
{
	struct pickle_result r;
	bool hit = false;

	if (pickle_scan_stream(b, n, NULL, NULL, &r) == 0)
		for (size_t i = 0; i < r.nfindings; i++)
			hit |= r.findings[i].called;
	pickle_result_free(&r);
	return hit;
}

/* Whether the stream at off inflates to bytes that call something. */
static bool inflates_to_calls(const struct byte_src *s, uint64_t off, enum zinflate_fmt fmt)
{
	struct zinflate_result z = { 0 };
	bool hit = zinflate_src(s, off, s->size - off, fmt, 1u << 20, &z) == 0 && z.len &&
		   calls(z.data, z.len);

	zinflate_free(&z);
	return hit;
}

/* What other loaders find in an inert file must be no code either: the
 * members of a tar (torch's legacy reader), what zlib or gzip inflate it
 * to (joblib, also behind its old "ZF" header). */
static void check_other_readers(const struct byte_src *s, const uint8_t *data, size_t size)
{
	static const enum zinflate_fmt fmts[] = { ZINF_ZLIB, ZINF_GZIP };
	struct tar_list tl = { 0 };
	char err[128];

	if (tar_read_list(s, &tl, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < tl.n; i++)
			if (tl.e[i].data_off + tl.e[i].size <= size &&
			    calls(data + tl.e[i].data_off, (size_t)tl.e[i].size))
				abort();
		tar_list_free(&tl);
	}
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++)
		if (inflates_to_calls(s, 0, fmts[f]))
			abort();
	/* joblib's oldest files are "ZF", a 19-byte length, then zlib */
	if (size > 21 && !memcmp(data, "ZF", 2) && inflates_to_calls(s, 21, ZINF_ZLIB))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { NULL,       "m.pkl",         "m.bin",
					     "m.onnx",   "m.safetensors", "m.gguf",
					     "m.pkl.gz", "m.txt" };
	struct inert_verdict v;
	struct pickle_result r;
	struct byte_src s;
	struct budget b;
	const char *name;
	int rc;

	if (size < 1)
		return 0;
	name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	data++;
	size--;
	bsrc_from_mem(&s, data, size);
	/* the most time the judge ever gives one file */
	budget_init(&b, JUDGE_BUDGET_MAX_NS / 1000000, 0);
	s.budget = &b;
	rc = model_inert_check(&s, name, &v);
	s.budget = NULL; /* the readers below are the oracle: unbounded */
	if (rc != 0 || !v.inert)
		return 0;
	/* inert: the unpickler's reading of the whole input, as a stream of
	 * pickles and as joblib, must call nothing it imported */
	if (pickle_scan_stream(data, size, NULL, NULL, &r) == 0)
		for (size_t i = 0; i < r.nfindings; i++)
			if (r.findings[i].called)
				abort();
	pickle_result_free(&r);
	if (pickle_scan_joblib(data, size, NULL, NULL, &r) == 0)
		for (size_t i = 0; i < r.nfindings; i++)
			if (r.findings[i].called)
				abort();
	pickle_result_free(&r);
	check_other_readers(&s, data, size);
	return 0;
}
