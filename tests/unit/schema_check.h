/* Checks of the schema version a top-level JSON record carries
 * (include/mlwatch/schema.h, docs/schema.md). */
#ifndef MLWATCH_TEST_SCHEMA_CHECK_H
#define MLWATCH_TEST_SCHEMA_CHECK_H
#include <cjson/cJSON.h>
#include <string.h>
#include <mlwatch/schema.h>

/* The position of the version among the record's keys (0 is first), or
 * -1 when it is missing or not the whole number MLW_SCHEMA_VERSION. */
static inline int schema_version_index(const cJSON *j)
{
	int i = 0;

	for (const cJSON *c = j ? j->child : NULL; c; c = c->next, i++) {
		if (!c->string || strcmp(c->string, MLW_SCHEMA_KEY))
			continue;
		if (!cJSON_IsNumber(c) || c->valuedouble != (double)MLW_SCHEMA_VERSION ||
		    c->valueint != MLW_SCHEMA_VERSION)
			return -1;
		return i;
	}
	return -1;
}

/* How many objects below the top carry a version: none should, a nested
 * object is part of its record. */
static inline int schema_version_nested(const cJSON *j)
{
	int n = 0;

	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		if (cJSON_IsObject(c) && cJSON_GetObjectItemCaseSensitive(c, MLW_SCHEMA_KEY))
			n++;
		n += schema_version_nested(c);
	}
	return n;
}
#endif
