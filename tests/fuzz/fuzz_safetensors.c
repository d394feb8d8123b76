/* libFuzzer target: safetensors header validation on untrusted bytes. An
 * accepted header must account for the whole file exactly. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_info i;
	struct byte_src s;
	char err[128];
	int rc;

	bsrc_from_mem(&s, data, size);
	rc = safetensors_check(&s, &i, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		__builtin_trap();
	if (strnlen(err, sizeof(err)) >= sizeof(err))
		__builtin_trap();
	if (rc)
		return 0;
	if (size < 8 || i.header_len > ST_MAX_HEADER || i.header_len > size - 8)
		__builtin_trap();
	if (8 + i.header_len + i.data_bytes != size)
		__builtin_trap();
	if (i.data_bytes && !i.tensors)
		__builtin_trap();
	if (err[0])
		__builtin_trap();
	return 0;
}
