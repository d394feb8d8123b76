/* safetensors header validation: 8-byte little-endian header length, a
 * JSON object of tensors {dtype, shape, data_offsets} and an optional
 * "__metadata__" map of strings. The format carries no code; a header the
 * safetensors library would refuse is reported, not trusted. */
#ifndef MLWATCH_SAFETENSORS_H
#define MLWATCH_SAFETENSORS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define ST_MAX_HEADER 100000000u /* the library's own limit (100 MB) */

struct st_info {
	uint64_t header_len;
	size_t tensors;
	size_t metadata_keys;
	uint64_t data_bytes; /* covered by the tensors' offsets */
};

/* Returns 0 for a header the library would accept, -EINVAL with err naming
 * the first problem (tensor name, field, offsets), -ENOMEM, or a read error. */
int safetensors_check(const struct byte_src *s, struct st_info *i, char *err, size_t errlen);
#endif
