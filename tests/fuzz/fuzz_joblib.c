/* libFuzzer target: joblib files (plain, zlib, gzip, joblib<0.10 "ZF") as
 * joblib.load reads them: the whole model scanner on a ".joblib" name,
 * and the joblib-mode pickle walk (inline numpy arrays) on the raw bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "scan/scan_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = scan_default_limits;
	struct scan_report r;
	struct pickle_result pr;
	cJSON *j;

	/* the product's limits; only the deadline is brought under the
	 * runner's 10 s per input, so a slow input is a finding, not a hang */
	lim.max_ms = 5000;
	if (model_scan_mem(data, size, "model.joblib", &lim, &r) == 0) {
		if (r.verdict > SCAN_MALICIOUS || r.nfindings > lim.max_findings)
			__builtin_trap();
		/* a budget that ran out is never a clean file */
		if (r.inflated > lim.max_inflate || (r.cut && r.verdict < SCAN_SUSPICIOUS))
			__builtin_trap();
		j = scan_report_json(&r);
		cJSON_Delete(j);
	}
	scan_report_free(&r);
	(void)pickle_scan_joblib(data, size, &pickle_profile_sklearn, NULL, &pr);
	for (size_t i = 0; i < pr.nfindings; i++)
		if (pr.findings[i].offset >= size)
			__builtin_trap();
	pickle_result_free(&pr);
	return 0;
}
