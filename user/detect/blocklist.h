/*
 * Blocklist of models: sha256 digests and Hugging Face repo ids (exact, or
 * a whole organization, written org/ and a star), read from a JSON file at
 * start (format in docs/inventory.md). A load that matches raises "model-blocklisted".
 */
#ifndef MLWATCH_BLOCKLIST_H
#define MLWATCH_BLOCKLIST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A blocklist file larger than this is refused (and surely a mistake). */
#define BLOCKLIST_MAX_BYTES (64u << 20)
#define BLOCKLIST_MAX_ENTRIES 1000000u
#define BLOCKLIST_MAX_REASON 1024

enum bl_kind {
	BL_SHA256, /* a file's sha256 */
	BL_REPO,   /* one repo id, any repo type */
	BL_ORG,    /* every repo of a namespace (org/ and a star) */
};

struct bl_entry {
	enum bl_kind kind;
	char *text;     /* as written (hex lower-cased): "9f86...", "Org/Name", "Org/" + star */
	char *reason;   /* NULL when the file gives none */
	char *key;      /* lookup key: kind letter + lower-cased id */
	unsigned index; /* position in its list, for messages */
};

struct blocklist {
	struct bl_entry *entries;
	size_t n, cap;
	uint32_t *slots; /* open addressing: entry index + 1; 0 empty */
	size_t nslots;
	size_t duplicates; /* entries given twice: kept once */
};

void blocklist_init(struct blocklist *bl);
/* Reads and parses path, opened with safeopen_config (whoever can write
 * it can clear it). Returns 0, or -errno / -EINVAL with a message in err
 * naming the file, the entry (list[index]) and the problem. On error the
 * blocklist is left empty. */
int blocklist_load(struct blocklist *bl, const char *path, char *err, size_t errlen);
/* The same for text in memory; name is used in messages only. */
int blocklist_parse(struct blocklist *bl, const char *name, const char *text, size_t len, char *err,
		    size_t errlen);
/* Lookups; NULL when nothing matches. hex: 64 hex digits, any case. A repo
 * id matches case-insensitively, exactly or by its namespace's wildcard entry. */
const struct bl_entry *blocklist_match_sha256(const struct blocklist *bl, const char *hex);
const struct bl_entry *blocklist_match_repo(const struct blocklist *bl, const char *repo_id);
size_t blocklist_count(const struct blocklist *bl);
void blocklist_free(struct blocklist *bl);
#endif
