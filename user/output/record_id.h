/* Every record's unique id, the same in every output it goes to. */
#ifndef MLWATCH_RECORD_ID_H
#define MLWATCH_RECORD_ID_H
#include <cjson/cJSON.h>

/* Adds "id": a fresh UUID (lib/recid.h). */
void add_record_id(cJSON *root);

#endif
