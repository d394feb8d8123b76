/* libFuzzer target: the static pickle walker on untrusted bytes, single,
 * stream and joblib mode, tight limits, each profile, and the JSON. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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
	struct pickle_limits tight = { .max_input = 4096,
				       .max_opcodes = 200,
				       .max_stack = 16,
				       .max_memo = 16,
				       .max_findings = 4,
				       .max_string = 64,
				       .max_depth = 2 };

	one(data, size, &pickle_profile_torch, NULL, ONE);
	one(data, size, &pickle_profile_sklearn, NULL, STREAM);
	one(data, size, NULL, &tight, STREAM);
	one(data, size, &pickle_profile_sklearn, NULL, JOBLIB);
	one(data, size, &pickle_profile_ml, &tight, JOBLIB);
	return 0;
}
