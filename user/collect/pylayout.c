#include <errno.h>
#include <string.h>

#include "pylayout.h"

/*
 * Offsets on 64-bit builds, from CPython's headers (Include/object.h,
 * cpython/unicodeobject.h, cpython/bytesobject.h, cpython/tupleobject.h,
 * cpython/listobject.h, cpython/longintrepr.h, cpython/object.h):
 *   PyObject: ob_refcnt 0, ob_type 8; PyVarObject.ob_size 16
 *   PyTypeObject.tp_flags 168 (3.8 to 3.13: tp_print became
 *     tp_vectorcall_offset in 3.8, same size)
 *   PyTupleObject.ob_item 24; PyListObject.ob_item 24 (a pointer)
 *   PyBytesObject.ob_sval 32 (after ob_shash)
 *   PyASCIIObject: length 16, hash 24, state 32; 3.8-3.11 also wstr at 40,
 *     so sizeof 48; 3.12 dropped wstr: 40
 *   PyCompactUnicodeObject: utf8_length, utf8 (then wstr_length up to
 *     3.11): utf8 at 56 and sizeof 72 (3.8-3.11), 48 and 56 (3.12+)
 *   PyLongObject: ob_size (sign and digit count) at 16 up to 3.11; 3.12
 *     made it lv_tag (sign in bits 0-1, count from bit 3); digits at 24
 */
static const struct {
	unsigned minor;
	struct mlw_py_layout l;
} tables[] = {
#define OLD(m)                                                                                \
	{                                                                                     \
		m,                                                                            \
		{                                                                             \
			.version = 0x030000 | (m) << 8, .ob_type = 8, .ob_size = 16,          \
			.tp_flags = 168, .tuple_item = 24, .list_item = 24, .str_length = 16, \
			.str_state = 32, .str_ascii = 48, .str_compact = 72, .str_utf8 = 56,  \
			.bytes_data = 32, .long_digit = 24                                    \
		}                                                                             \
	}
#define NEW(m)                                                                                    \
	{                                                                                         \
		m,                                                                                \
		{                                                                                 \
			.version = 0x030000 | (m) << 8, .flags = MLW_PY_L_LONG_TAG, .ob_type = 8, \
			.ob_size = 16, .tp_flags = 168, .tuple_item = 24, .list_item = 24,        \
			.str_length = 16, .str_state = 32, .str_ascii = 40, .str_compact = 56,    \
			.str_utf8 = 48, .bytes_data = 32, .long_digit = 24                        \
		}                                                                                 \
	}
	OLD(8), OLD(9), OLD(10), OLD(11), NEW(12), NEW(13),
#undef OLD
#undef NEW
};

int pylayout_get(unsigned major, unsigned minor, struct mlw_py_layout *out)
{
	for (size_t i = 0; major == 3 && i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].minor == minor) {
			*out = tables[i].l;
			return 0;
		}
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

const char *pylayout_versions(void)
{
	return "3.8 3.9 3.10 3.11 3.12 3.13";
}
