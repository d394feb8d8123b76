/* Model scanner internals: pickles, Keras configs and HDF5, met both as
 * whole files and inside archives. Not a public interface. */
#ifndef MLWATCH_SCAN_LEAF_H
#define MLWATCH_SCAN_LEAF_H
#include "scan_findings.h"

/* A profile by name, user extensions included (never NULL). */
const struct pickle_profile *scan_profile(const char *name);
/* Walks a pickle held in buf (member bytes), adding its findings. mode:
 * 0 one pickle, 1 a stream of pickles, 2 as joblib.load reads it. */
void scan_pickle_buf(struct scan_ctx *c, const uint8_t *buf, size_t len, uint64_t base,
		     const char *member, const struct pickle_profile *profile, int mode,
		     bool input_cut);
/* A .keras archive's config.json. */
void scan_keras_config(struct scan_ctx *c, const uint8_t *json, size_t len, const char *member);
/* A Keras HDF5 file's model config. */
void scan_hdf5(struct scan_ctx *c, const struct byte_src *v, const char *member);
#endif
