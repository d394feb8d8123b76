/*
 * Where a model file came from, told by its path: the Hugging Face hub
 * cache (repo id and revision), torch hub's checkpoint directory, Ollama's
 * blob store. The path is untrusted (the loader chose it): parsing never
 * reads past it or past any buffer here, and a path that does not have the
 * exact layout gives no origin rather than a guess.
 */
#ifndef MLWATCH_HFCACHE_H
#define MLWATCH_HFCACHE_H
#include <stdbool.h>
#include <stddef.h>

enum model_source {
	MSRC_NONE = 0,
	MSRC_HUGGINGFACE, /* .../models--org--name/{snapshots/<rev>/...,blobs/<etag>} */
	MSRC_TORCH_HUB,   /* .../hub/checkpoints/<file> */
	MSRC_OLLAMA,      /* .../blobs/sha256-<64 hex> */
};

enum hf_repo_type { HF_REPO_NONE = 0, HF_REPO_MODEL, HF_REPO_DATASET, HF_REPO_SPACE };

enum hf_rev_from {
	HF_REV_NONE = 0,
	HF_REV_SNAPSHOT,  /* the snapshots/<rev> directory the file was opened in */
	HF_REV_REFS_MAIN, /* a blob opened directly: refs/main of its repo, a guess */
};

/* huggingface_hub's limit for each part of a repo id (validate_repo_id). */
#define HF_PART_MAX 96
#define HF_REPO_ID_MAX (2 * HF_PART_MAX + 2)
#define HF_REV_LEN 40
#define HF_FILE_MAX 1024

struct model_origin {
	enum model_source source;
	enum hf_repo_type repo_type;   /* Hugging Face only */
	char repo[HF_REPO_ID_MAX];     /* "org/name" or a legacy "name"; "" if none */
	char revision[HF_REV_LEN + 1]; /* commit hash; "" if unknown */
	enum hf_rev_from revision_from;
	/* The file inside the snapshot ("sub/model.bin"), or torch hub's file
	 * name; "" when unknown or longer than HF_FILE_MAX - 1. */
	char file[HF_FILE_MAX];
	/* Hex sha256 (or, for torch hub, a prefix of 8 or more digits) that
	 * the file's cache name promises for its contents: HF LFS blobs and
	 * Ollama blobs are named by it. "" if the name promises nothing. */
	char name_sha256[65];
	/* For HF: bytes of the path up to and including the models--x--y
	 * folder (where refs/ lives); 0 otherwise. */
	size_t repo_dir_len;
};

/* Pure string parsing, no I/O. Fills *o (zeroed first); returns whether
 * any source was recognized. */
bool hfcache_parse(const char *path, struct model_origin *o);

/* Best-effort additions that need the file system, for an origin that
 * hfcache_parse filled from the same path: a snapshot file's symlink
 * target names its blob (the LFS sha256), and a blob opened directly gets
 * the revision from its repo's refs/main. Opens nothing but refs/main
 * (O_NOFOLLOW|O_NONBLOCK, regular file only, 64 bytes at most). */
void hfcache_enrich(const char *path, struct model_origin *o);

/* Whether s[0..len) is a repo id Hugging Face accepts: "name" or
 * "namespace/name", each part 1-96 of [A-Za-z0-9_.-], starting and ending
 * with a letter, digit or '_', no "--" or "..", not ending in ".git".
 * Because "--" is forbidden inside a part, the cache folder name
 * models--<org>--<name> splits back without ambiguity. */
bool hf_repo_id_valid(const char *s, size_t len);

const char *model_source_name(enum model_source s); /* "huggingface", "torch-hub", "ollama", "" */
const char *hf_repo_type_name(enum hf_repo_type t); /* "model", "dataset", "space", "" */
const char *hf_rev_from_name(enum hf_rev_from f);   /* "snapshot", "refs/main", "" */
#endif
