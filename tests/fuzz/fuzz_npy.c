/* libFuzzer target: the .npy header parser on untrusted bytes. Checks that
 * what it reports stays inside the input and agrees with itself. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy_header h;
	struct byte_src s;
	char err[128];
	int rc;

	bsrc_from_mem(&s, data, size);
	rc = npy_parse(&s, &h, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		__builtin_trap();
	if (strnlen(err, sizeof(err)) >= sizeof(err))
		__builtin_trap();
	if (rc)
		return 0;
	if (h.data_off > size || h.header_len + 10 > h.data_off || h.header_len > NPY_MAX_HEADER)
		__builtin_trap();
	if (h.major < 1 || h.major > 3 || h.minor != 0 || h.ndim > NPY_MAX_DIMS)
		__builtin_trap();
	if (strnlen(h.descr, NPY_DESCR_MAX) >= NPY_DESCR_MAX)
		__builtin_trap();
	/* a pickle-bearing or structured dtype has no fixed item size here */
	if ((h.has_object || h.structured) && (h.itemsize || h.data_bytes))
		__builtin_trap();
	if (!h.itemsize && (h.data_bytes || h.size_mismatch))
		__builtin_trap();
	if (h.itemsize && !h.size_mismatch && h.data_bytes != size - h.data_off)
		__builtin_trap();
	return 0;
}
