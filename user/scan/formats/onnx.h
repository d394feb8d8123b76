/* ONNX ModelProto, checked at its top level: every field a known one of
 * the right wire type, every length inside the file, the last field ending
 * exactly at the end. ONNX carries no code; a file that is not strictly
 * this is not taken for ONNX. */
#ifndef MLWATCH_ONNX_H
#define MLWATCH_ONNX_H
#include <stddef.h>
#include "lib/bytesrc.h"

/* Top-level fields looked at; a real model has a dozen. */
#define ONNX_MAX_FIELDS 4096

/* 0 when s is a well-formed ModelProto (with a graph), else -EINVAL with
 * err naming the problem, or a read error. */
int onnx_check(const struct byte_src *s, char *err, size_t errlen);
#endif
