/* libFuzzer target: model-format detection on untrusted first bytes, with
 * and without a name hint (the hint changes the ONNX/compressed paths). */
#include <stddef.h>
#include <stdint.h>
#include "scan/modelfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hints[] = { NULL, "m.onnx", "m.joblib", "m.xz", "m.pkl" };
	enum model_format f;

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		f = model_format_detect(data, size, hints[i]);
		if (f >= MF_FORMAT_MAX)
			__builtin_trap();
		(void)model_format_name(f);
		(void)model_format_can_run_code(f);
	}
	return 0;
}
