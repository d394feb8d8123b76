/* libFuzzer target: ring-buffer record decoding. The kernel side is ours,
 * but a decoder that trusts lengths is one bug away from reading past a
 * record, so it is fuzzed like any parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collect/decode.h"
#include "lib/textsan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event ev;
	const char *why;
	/* exact-size heap copy so ASan sees any read past the record */
	uint8_t *rec = malloc(size ? size : 1);

	if (!rec)
		return 0;
	memcpy(rec, data, size);
	if (event_decode(rec, size, &ev, &why) == 0) {
		if (ev.path && strlen(ev.path) > MLW_PATH_MAX)
			__builtin_trap();
		if (ev.kpath && strlen(ev.kpath) > MLW_PATH_MAX)
			__builtin_trap();
		for (size_t i = 0; i < ev.argc; i++)
			if (strlen(ev.argv[i]) > MLW_ARGS_MAX)
				__builtin_trap();
		/* python: every argument is valid UTF-8 within its buffer */
		for (size_t i = 0; ev.kind == MLW_EV_PYTHON && i < ev.py.n; i++) {
			size_t n = strnlen(ev.py.arg[i], PYARGS_TEXT_MAX), bad;

			if (n >= PYARGS_TEXT_MAX || ev.py.n > MLW_PY_ARGS ||
			    !utf8_valid((const uint8_t *)ev.py.arg[i], n, &bad))
				__builtin_trap();
		}
	}
	free(rec);
	return 0;
}
