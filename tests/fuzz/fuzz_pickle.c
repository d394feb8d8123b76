/* libFuzzer target: the static pickle walker on untrusted bytes, single,
 * stream and joblib mode, the product's limits and tight ones, each
 * profile, and the JSON. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/budget.h"
#include "scan/pickle/pickle_render.h"

enum mode { ONE, STREAM, JOBLIB };

static void one(const uint8_t *data, size_t size, const struct pickle_profile *p,
		const struct pickle_limits *lim, enum mode m)
{
	struct pickle_result r;
	cJSON *j;
	char *txt;

	if (m == STREAM)
		(void)pickle_scan_stream(data, size, p, lim, &r);
	else if (m == JOBLIB)
		(void)pickle_scan_joblib(data, size, p, lim, &r);
	else
		(void)pickle_scan_opts(data, size, p, lim, &r);
	if (r.verdict > PV_ERROR || r.nfindings > (lim ? lim->max_findings : 4096))
		__builtin_trap();
	/* a walk the deadline cut is never clean */
	if ((r.limits_hit & PLIM_TIME) && r.verdict == PV_CLEAN)
		__builtin_trap();
	if (r.consumed > size || (r.trailing && r.trailing_offset != r.consumed))
		__builtin_trap();
	for (size_t i = 0; i < r.nfindings; i++)
		if (r.findings[i].offset >= size)
			__builtin_trap();
	for (size_t i = 0; i < r.nerrors && i < PICKLE_MAX_ERRORS; i++)
		if (r.errors[i].offset > size)
			__builtin_trap();
	/* only joblib mode reads inline arrays */
	if (m != JOBLIB && r.arrays)
		__builtin_trap();
	j = pickle_result_json(&r);
	if (j) {
		txt = cJSON_PrintUnformatted(j);
		free(txt);
		cJSON_Delete(j);
	}
	pickle_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not the product's: small enough that a fuzzer's inputs reach the
	 * paths where a limit cuts the walk. Every other walk below runs
	 * with the product's limits. */
	struct pickle_limits tight = { .max_input = 4096,
				       .max_opcodes = 200,
				       .max_stack = 16,
				       .max_memo = 16,
				       .max_findings = 4,
				       .max_string = 64,
				       .max_depth = 2 };
	/* the product's, with a deadline as the scanner attaches one,
	 * brought under the runner's 10 s per input */
	struct pickle_limits real = pickle_default_limits;
	struct budget b;

	budget_init(&b, 5000, 0);
	real.budget = &b;
	one(data, size, &pickle_profile_torch, &real, ONE);
	one(data, size, &pickle_profile_sklearn, &real, STREAM);
	one(data, size, NULL, &tight, STREAM);
	one(data, size, &pickle_profile_sklearn, &real, JOBLIB);
	one(data, size, &pickle_profile_ml, &tight, JOBLIB);
	return 0;
}
