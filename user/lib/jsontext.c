/* See jsontext.h. */
#include <string.h>

#include "jsontext.h"

bool json_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void text_line_col(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

bool json_find_escaped_nul(const char *text, size_t len, size_t *at)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		size_t bs = 0;

		if (text[i] != '\\' || memcmp(text + i + 1, "u0000", 5) != 0)
			continue;
		while (bs < i && text[i - 1 - bs] == '\\')
			bs++;
		if (bs % 2 == 0) {
			*at = i;
			return true;
		}
	}
	return false;
}
