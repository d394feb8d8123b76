/* libFuzzer target: the zip reader and the bounded inflater on untrusted
 * bytes. Every member is listed and read under the scanner's member cap
 * and a per-input inflate budget (the reader must never allocate what the
 * archive claims, nor inflate past the budget, however its entries
 * overlap), and the whole input is also inflated as raw deflate, zlib and
 * gzip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/budget.h"
#include "lib/zinflate.h"
#include "scan/formats/zipread.h"
#include "scan/model_scan.h"

/* The product's member cap and inflate budget (scan_default_limits),
 * scaled down 32x: a few KiB of input can claim 1 GiB of zeros, and under
 * the sanitizers inflating that takes longer than the runner gives one
 * input (10 s). */
#define FUZZ_SCALE 32
#define FUZZ_MAX_OUT ((size_t)(scan_default_limits.max_member / FUZZ_SCALE))
#define FUZZ_BUDGET (scan_default_limits.max_inflate / FUZZ_SCALE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct byte_src s;
	struct zip_dir d;
	struct budget b;
	char err[256];
	uint64_t cost = 0;

	bsrc_from_mem(&s, data, size);
	s.bytes_read = &cost;
	budget_init(&b, 0, FUZZ_BUDGET);
	s.budget = &b;
	/* lazy: entries located on first read, in reverse order for variety */
	if (zip_open_lazy(&s, &d, err, sizeof(err)) == 0) {
		for (size_t i = d.n; i-- > 0;) {
			uint8_t *out = NULL;
			size_t len = 0;
			bool cut = false;

			if (zip_read(&s, &d, &d.e[i], FUZZ_MAX_OUT, &out, &len, &cut) == 0) {
				if (!out || len > FUZZ_MAX_OUT || !d.e[i].located)
					__builtin_trap();
				free(out);
			}
		}
		zip_close(&d);
	}
	if (zip_open(&s, &d, err, sizeof(err)) == 0) {
		if (d.n > ZIP_MAX_ENTRIES || (d.n && !d.e))
			__builtin_trap();
		for (size_t i = 0; i < d.n; i++) {
			struct zip_entry *e = &d.e[i];
			uint8_t *out = NULL;
			size_t len = 0;
			bool cut = false;

			if (strlen(e->name) >= ZIP_NAME_MAX)
				__builtin_trap();
			if (zip_read(&s, &d, e, FUZZ_MAX_OUT, &out, &len, &cut) == 0) {
				if (!out || len > FUZZ_MAX_OUT || out[len] != 0)
					__builtin_trap();
				free(out);
			}
			if (!e->name_cut && !zip_find(&d, e->name))
				__builtin_trap();
		}
		(void)zip_find(&d, "archive/data.pkl");
		for (unsigned bit = 0; bit < ZA_BITS; bit++)
			if (d.anomalies & (1u << bit))
				(void)zip_anomaly_name(1u << bit);
		zip_close(&d);
	} else if (!err[0]) {
		__builtin_trap(); /* a failure always says why */
	}
	/* what the members inflated stayed inside the budget */
	if (b.inflated > FUZZ_BUDGET || (b.inflate_left && (b.spent & BUDGET_INFLATE)))
		__builtin_trap();
	for (int f = ZINF_RAW; f <= ZINF_GZIP; f++) {
		struct zinflate_result r;

		budget_init(&b, 0, FUZZ_BUDGET);
		if (zinflate_src(&s, 0, size, (enum zinflate_fmt)f, FUZZ_MAX_OUT, &r) == 0) {
			if (!r.data || r.len > FUZZ_MAX_OUT || r.data[r.len] != 0 ||
			    r.in_used > size || b.inflated != r.len)
				__builtin_trap();
			zinflate_free(&r);
		}
	}
	return 0;
}
