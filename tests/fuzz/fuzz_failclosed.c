/*
 * Differential libFuzzer target: the one decision that lowers watching
 * (model_inert_check: "this file cannot run code, unmark its loader")
 * against the scanner's walker. For any input, if the walker finds an
 * import that would be called when the bytes are unpickled, the file must
 * not be called inert. The first byte picks the name the file is opened as
 * (the ONNX and compressor hints follow names); the rest is the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model_inert.h"
#include "pickle_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { NULL, "m.pkl", "m.bin", "m.onnx", "m.safetensors",
					      "m.gguf", "m.pkl.gz", "m.txt" };
	struct inert_verdict v;
	struct pickle_result r;
	struct byte_src s;
	const char *name;

	if (size < 1)
		return 0;
	name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
	data++;
	size--;
	bsrc_from_mem(&s, data, size);
	if (model_inert_check(&s, name, &v) != 0 || !v.inert)
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
	return 0;
}
