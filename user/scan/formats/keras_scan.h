/* Keras model configs: the JSON that .keras archives keep as config.json and
 * legacy HDF5 (.h5) files keep in the root group's "model_config" attribute.
 * Loading a Lambda layer runs marshalled Python bytecode (legacy) or
 * deserialises a function; a layer whose module is outside Keras makes the
 * loader import that module. */
#ifndef MLWATCH_KERAS_SCAN_H
#define MLWATCH_KERAS_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define KERAS_MAX_CONFIG (64u << 20) /* config JSON bytes read */
#define KERAS_MAX_HITS 32
#define KERAS_MAX_DEPTH 64             /* nesting of layers (functional models in models) */
#define HDF5_CONFIG_SEARCH (64u << 20) /* bytes of an HDF5 file searched for the config */

struct keras_hit {
	char layer[128];      /* the layer's config name, "" if none */
	char class_name[128]; /* "Lambda", or the foreign class */
	char module[128];     /* Keras 3 "module", "" if none */
	char what[64];        /* "lambda-layer", "foreign-module", "custom-object" */
	bool malicious;       /* false: suspicious */
};

struct keras_result {
	bool config_found;
	struct keras_hit hits[KERAS_MAX_HITS];
	size_t nhits, hits_dropped;
	size_t layers; /* layers seen */
};

/* Checks a config JSON text. Returns 0, -EINVAL (not JSON / not a model
 * config: err says so), -ENOMEM. */
int keras_check_config(const char *json, size_t len, struct keras_result *r, char *err,
		       size_t errlen);
/* Finds the model config in an HDF5 file (searching its first
 * HDF5_CONFIG_SEARCH bytes for the attribute's JSON) and checks it. Returns
 * 0 (config_found false when none is readable), -EINVAL, -ENOMEM, or a
 * read error. */
int keras_scan_hdf5(const struct byte_src *s, struct keras_result *r, char *err, size_t errlen);
#endif
