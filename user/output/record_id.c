/* The "id" of a record: drawn once when the record is rendered, so every
 * output (the JSON lines, --inventory, each forwarder and its retries)
 * carries the same one and a receiver can drop what arrives twice. */
#include "record_id.h"
#include "lib/recid.h"

void add_record_id(cJSON *root)
{
	char id[RECID_SIZE];

	recid_new(id);
	cJSON_AddStringToObject(root, RECID_KEY, id);
}
