/* libFuzzer target: the ONNX ModelProto top-level check on untrusted bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct byte_src s;
	char err[128];

	bsrc_from_mem(&s, data, size);
	if (onnx_check(&s, err, sizeof(err)) != 0 && !memchr(err, 0, sizeof(err)))
		__builtin_trap();
	return 0;
}
