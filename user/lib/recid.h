/* Record ids: a UUID (version 7, time-ordered) per record, unique within a
 * run by a counter and across runs and hosts by a random seed, so that a
 * receiver can drop a record delivered twice. */
#ifndef MLWATCH_RECID_H
#define MLWATCH_RECID_H

#define RECID_SIZE 37 /* 36 characters and the NUL */
#define RECID_KEY "id"

void recid_new(char out[RECID_SIZE]);

#endif
