/* Small checks on JSON text before and after cJSON parses it, shared by the
 * loaders of root's JSON files (rules, outputs): where an error is, and
 * what cJSON would silently get wrong. */
#ifndef MLWATCH_JSONTEXT_H
#define MLWATCH_JSONTEXT_H
#include <stdbool.h>
#include <stddef.h>

/* JSON's whitespace. */
bool json_is_space(char c);
/* 1-based line and column of byte offset off. */
void text_line_col(const char *text, size_t off, size_t *line, size_t *col);
/* cJSON turns "\u0000" into the end of the string, dropping the rest of the
 * value without a word: true (and its offset) when text holds one that is
 * not itself escaped. */
bool json_find_escaped_nul(const char *text, size_t len, size_t *at);

#endif
