/* libFuzzer target: the /proc texts the walk at start parses (stat lines,
 * maps lines and their escapes, "(deleted)" suffixes), whose names are the
 * watched processes' to choose. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collect/procwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procwalk_stat st;
	struct procwalk_map m;
	char *s;

	if (!size)
		return 0;
	/* exact-size copies so ASan sees any read past the text */
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (data[0] % 3) {
	case 0: {
		char *raw = malloc(size - 1 ? size - 1 : 1);

		if (raw) {
			memcpy(raw, data + 1, size - 1);
			if (procwalk_parse_stat(raw, size - 1, &st) == 0 &&
			    strnlen(st.comm, sizeof(st.comm)) >= sizeof(st.comm))
				__builtin_trap();
			free(raw);
		}
		break;
	}
	case 1:
		if (procwalk_parse_maps_line(s, &m)) {
			size_t n = strlen(m.path);

			if (m.path < s || m.path + n > s + size - 1)
				__builtin_trap();
			procwalk_unescape_maps(m.path);
			if (strlen(m.path) > n)
				__builtin_trap();
		}
		break;
	default: {
		size_t n = strlen(s);

		if (procwalk_cut_deleted(s) && strlen(s) + 10 != n)
			__builtin_trap();
		break;
	}
	}
	free(s);
	return 0;
}
