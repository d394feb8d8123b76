/* NumPy .npy header (format 1.0, 2.0, 3.0), parsed the way numpy does: a
 * Python dict literal with 'descr', 'fortran_order' and 'shape'. An object
 * dtype (or a structured one with an object field) means the data that
 * follows is a pickle, which np.load(allow_pickle=True) runs. */
#ifndef MLWATCH_NPY_H
#define MLWATCH_NPY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define NPY_MAX_HEADER (1u << 20) /* numpy itself caps at 10000 unless max_header_size */
#define NPY_MAX_DIMS 64
#define NPY_DESCR_MAX 256 /* descr text kept (a structured descr is cut, flagged) */

struct npy_header {
	uint8_t major, minor;
	uint64_t header_len;       /* the dict text's length */
	uint64_t data_off;         /* first byte after the header */
	char descr[NPY_DESCR_MAX]; /* '<f8', or the structured list as text */
	bool descr_cut;
	bool structured; /* descr is a list of fields */
	bool has_object; /* 'O' anywhere in descr: data is a pickle */
	bool fortran_order;
	unsigned ndim;
	uint64_t shape[NPY_MAX_DIMS];
	uint64_t itemsize;   /* 0 when unknown (object, structured) */
	uint64_t data_bytes; /* itemsize * prod(shape); 0 if unknown or it overflows */
	bool size_mismatch;  /* plain data that the view is too short or too long for */
};

/* Returns 0, -EINVAL (not npy or a malformed header: err says what and
 * where), or a read error. */
int npy_parse(const struct byte_src *s, struct npy_header *h, char *err, size_t errlen);
#endif
