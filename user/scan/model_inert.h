/*
 * Can this file run code when a loader reads it? The one question whose
 * answer may lower watching (a loader of data only is unmarked), so it
 * answers yes ("inert") only on proof:
 *  - the bytes are positively a format that carries no code, by a strict
 *    parse: safetensors (header consistent with the file), ONNX (a clean
 *    ModelProto), GGUF without a chat template, an image, plain text; and
 *  - no code-running loader would read them otherwise: walked as a pickle
 *    stream by the scanner's walker (the unpickler's rules), they import
 *    nothing; and no tar header or compressor's stream at the start, zip
 *    directory at the end or HDF5 superblock inside lets torch's tar
 *    reader, joblib's decompressors, a zip or a Keras loader find
 *    something else.
 * Anything else, "unknown" included, is not inert.
 *
 * Threat model: docs/threat-model.md §4.2 (polyglots that look like data).
 */
#ifndef MLWATCH_MODEL_INERT_H
#define MLWATCH_MODEL_INERT_H
#include <stdbool.h>
#include "modelfmt.h"
#include "lib/bytesrc.h"

/* Bytes of the file walked as a pickle: a data format fails the walk in
 * its first bytes; a stream still going here is not proven harmless. */
#define INERT_PICKLE_PROBE (1u << 20)
/* A safetensors or GGUF header larger than this is not parsed here (on
 * the collector's thread): the load keeps its mark. */
#define INERT_HEADER_MAX (16u << 20)
/* A text file larger than this is not read whole here: it keeps its mark. */
#define INERT_TEXT_MAX (4u << 20)

struct inert_verdict {
	bool inert;
	enum model_format format; /* what the first bytes say, for the record */
	const char *kind; /* inert: "safetensors", "onnx", "gguf", "text", "image", "empty" */
	char why[160];    /* not inert: why it could not be proven */
};

/* s: the whole file (or buffer). name_hint: the name it was opened as (for
 * the ONNX and compressor hints), may be NULL. s->budget, when set, bounds
 * the check in time: every read and the pickle walk stop at its deadline,
 * and a check that reaches it is not inert. Without one the work is still
 * bounded by the sizes above, but not the walk's time: a 1 MiB stream that
 * unpickles one memoized string again and again walks it each time.
 * Returns 0, or -ENOMEM / a read error (then v says not inert). */
int model_inert_check(const struct byte_src *s, const char *name_hint, struct inert_verdict *v);
#endif
