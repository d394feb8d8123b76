/* Building struct mlw_python records for the tests, as the kernel probe
 * sends them: arguments back to back, each with its encoding. */
#ifndef MLWATCH_TEST_PYREC_H
#define MLWATCH_TEST_PYREC_H
#include <stdint.h>
#include <string.h>
#include <mlwatch/events.h>

struct pyrec_arg {
	uint8_t enc;
	const void *bytes;
	uint16_t len;
	uint32_t size; /* 0: worked out from len for the encoding */
};

/* Writes a record into buf (at least sizeof(struct mlw_python) + the
 * arguments' lengths); returns its size. */
static inline size_t pyrec_make(void *buf, uint32_t tgid, uint32_t event, uint16_t pyflags,
				const struct pyrec_arg *args, uint8_t nargs)
{
	struct mlw_python *r = buf;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->hdr.kind = MLW_EV_PYTHON;
	r->hdr.tgid = r->hdr.tid = tgid;
	r->hdr.ppid = 1;
	memcpy(r->hdr.comm, "python3", 8);
	r->event = event;
	r->pyflags = pyflags;
	r->nargs = nargs;
	for (uint8_t i = 0; i < nargs && i < MLW_PY_ARGS; i++) {
		uint32_t unit = args[i].enc == MLW_PY_ENC_UCS2 ? 2 :
				args[i].enc == MLW_PY_ENC_UCS4 ? 4 :
								 1;

		r->enc[i] = args[i].enc;
		r->len[i] = args[i].len;
		r->size[i] = args[i].size ? args[i].size : args[i].len / unit;
		memcpy(r->data + off, args[i].bytes, args[i].len);
		off += args[i].len;
	}
	return sizeof(*r) + off;
}

/* A str argument (ASCII or UTF-8). */
#define PYSTR(s)                                                           \
	{                                                                  \
		.enc = MLW_PY_ENC_UTF8, .bytes = (s), .len = sizeof(s) - 1 \
	}
#endif
