/* ONNX ModelProto top-level check (see onnx.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "onnx.h"

enum wire { WT_VARINT = 0, WT_LEN = 2 };

/* onnx.proto's ModelProto: field number -> wire type. */
static int field_wire(uint64_t field)
{
	switch (field) {
	case 1: /* ir_version */
	case 5: /* model_version */
		return WT_VARINT;
	case 2:  /* producer_name */
	case 3:  /* producer_version */
	case 4:  /* domain */
	case 6:  /* doc_string */
	case 7:  /* graph */
	case 8:  /* opset_import */
	case 14: /* metadata_props */
	case 20: /* training_info */
	case 25: /* functions */
		return WT_LEN;
	default:
		return -1;
	}
}

/* A varint at *off; false when it runs past the view or past 10 bytes. */
static bool varint(const struct byte_src *s, uint64_t *off, uint64_t *v)
{
	uint8_t b[10];
	ssize_t got = bsrc_read(s, *off, b, sizeof(b));

	*v = 0;
	for (ssize_t i = 0; i < got; i++) {
		*v |= (uint64_t)(b[i] & 0x7f) << (7 * i);
		if (!(b[i] & 0x80)) {
			if (i == 9 && b[i] > 1)
				return false; /* more than 64 bits */
			*off += (uint64_t)i + 1;
			return true;
		}
	}
	return false;
}

int onnx_check(const struct byte_src *s, char *err, size_t errlen)
{
	uint64_t off = 0;
	bool graph = false, version = false;

	for (unsigned n = 0; off < s->size; n++) {
		uint64_t key, field, v, at = off;
		int want;

		if (n == ONNX_MAX_FIELDS) {
			snprintf(err, errlen, "more than %d top-level fields", ONNX_MAX_FIELDS);
			return -EINVAL;
		}
		if (!varint(s, &off, &key)) {
			snprintf(err, errlen, "bad field key at %llu", (unsigned long long)at);
			return -EINVAL;
		}
		field = key >> 3;
		want = field_wire(field);
		if (want < 0 || (key & 7) != (uint64_t)want) {
			snprintf(err, errlen,
				 "field %llu wire type %llu at %llu is not ModelProto's",
				 (unsigned long long)field, (unsigned long long)(key & 7),
				 (unsigned long long)at);
			return -EINVAL;
		}
		if (!varint(s, &off, &v)) {
			snprintf(err, errlen, "bad value of field %llu at %llu",
				 (unsigned long long)field, (unsigned long long)at);
			return -EINVAL;
		}
		if (want == WT_LEN) {
			if (v > s->size - off) {
				snprintf(err, errlen, "field %llu at %llu runs past the end",
					 (unsigned long long)field, (unsigned long long)at);
				return -EINVAL;
			}
			off += v;
		}
		graph |= field == 7;
		version |= field == 1;
	}
	if (!graph || !version) {
		snprintf(err, errlen, "no %s", graph ? "ir_version" : "graph");
		return -EINVAL;
	}
	return 0;
}
