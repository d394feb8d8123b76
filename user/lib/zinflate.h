/* Bounded decompression with zlib of untrusted streams (zip deflate
 * members, joblib's whole-file zlib and gzip). Output is capped, per call
 * and by the job's budget (lib/budget.h) that src carries across calls: a
 * decompression bomb ends as "truncated", never as an allocation of what
 * the stream claims nor as time the job does not have. */
#ifndef MLWATCH_ZINFLATE_H
#define MLWATCH_ZINFLATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bytesrc.h"

enum zinflate_fmt {
	ZINF_RAW = 0, /* raw deflate (zip method 8) */
	ZINF_ZLIB,    /* RFC 1950 */
	ZINF_GZIP,    /* RFC 1952; concatenated members are followed */
};

struct zinflate_result {
	uint8_t *data; /* malloc'd, NUL-terminated past len; caller frees */
	size_t len;
	bool truncated;   /* max_out or the budget reached before the stream's end */
	bool ended;       /* the stream's end marker was reached */
	uint64_t in_used; /* compressed bytes consumed */
	int zerr;         /* zlib error code when the stream is damaged, else 0 */
};

/* Inflates [off, off+in_len) of src, at most max_out bytes of output and
 * no more than src->budget has left (what it produces is charged there; a
 * stream cut by the budget, or at its deadline, is truncated and marks the
 * budget spent). Returns 0 (a damaged stream is 0 with zerr set and the
 * bytes produced before the damage kept: a scanner still looks at them),
 * -ENOMEM, or a read error. */
int zinflate_src(const struct byte_src *src, uint64_t off, uint64_t in_len, enum zinflate_fmt fmt,
		 size_t max_out, struct zinflate_result *r);
void zinflate_free(struct zinflate_result *r);
#endif
