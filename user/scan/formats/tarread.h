/* Tar reader (ustar, GNU long names, pax path records) for torch 0.1.x
 * checkpoints: a tar of "sys_info", "pickle", "storages", "tensors". Lists
 * members with their data offsets; reads nothing else. */
#ifndef MLWATCH_TARREAD_H
#define MLWATCH_TARREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define TAR_NAME_MAX 1024
#define TAR_MAX_ENTRIES 100000

struct tar_entry {
	char name[TAR_NAME_MAX]; /* NUL bytes inside a long name become '?' */
	bool name_cut;
	char type; /* '0' regular, '5' dir, ... as in the header */
	uint64_t size, data_off;
};

struct tar_list {
	struct tar_entry *e;
	size_t n;
	size_t entries_dropped;
	bool bad_checksum; /* some header's checksum was wrong (Python rejects) */
	bool truncated;    /* the archive ended inside a member */
};

/* Returns 0 (the entries before any damage are kept, with truncated set),
 * -EINVAL when the first header is not tar (err says why), -ENOMEM, or a
 * read error. */
int tar_read_list(const struct byte_src *s, struct tar_list *l, char *err, size_t errlen);
void tar_list_free(struct tar_list *l);
/* Whether the first 512 bytes look like a tar header (checksum valid). */
bool tar_probe(const uint8_t *b, size_t len);
#endif
