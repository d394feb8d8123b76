/* Zip reader for model archives, tolerant where the ML loaders are:
 * PyTorch's reader (miniz) and Python's zipfile take names from the central
 * directory and data from where the local header says, and neither checks
 * the things attackers bend (CRCs, flag bits, local names). So this reader
 * accepts them too, and records each oddity as an anomaly instead of
 * refusing: a scanner that rejects what the loader accepts is bypassed. */
#ifndef MLWATCH_ZIPREAD_H
#define MLWATCH_ZIPREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bytesrc.h"

#define ZIP_NAME_MAX 1024                 /* name bytes kept (NUL-terminated); longer: name_cut */
#define ZIP_MAX_ENTRIES 100000            /* more are counted in entries_dropped */
#define ZIP_MAX_COMMENT_SCAN (65535 + 22) /* EOCD search window, as the spec allows */

/* Bits of zip_entry.anomalies and zip_dir.anomalies. */
enum zip_anomaly {
	ZA_NAME_MISMATCH = 1 << 0, /* local header names another file */
	ZA_BAD_CRC = 1 << 1,       /* CRC-32 differs (known only after a full read) */
	ZA_ENCRYPTED = 1 << 2,     /* flag bit 0: loaders fail, contents unreadable */
	ZA_ODD_FLAGS = 1 << 3,     /* flag bits other than 1-3, 11 */
	ZA_SIZE_MISMATCH = 1 << 4, /* stored member with csize != usize, or local sizes differ */
	ZA_DUP_NAME = 1 << 5,      /* a name used twice in the central directory */
	ZA_BAD_LOCAL = 1 << 6,     /* no local header signature where the directory points */
	ZA_PREPENDED = 1 << 7,     /* bytes before the archive (offsets shifted) */
	ZA_ZIP64 = 1 << 8,         /* zip64 records used */
	ZA_NAME_NUL = 1 << 9,      /* a NUL byte inside a name (replaced by '?') */
	ZA_OUT_OF_RANGE = 1 << 10, /* data extends past the file / into the directory */
	ZA_UNSUPPORTED_METHOD = 1 << 11, /* not stored (0) or deflate (8) */
	ZA_TRAILING = 1 << 12,           /* bytes after the end-of-central-directory record */
	ZA_OVERLAP = 1 << 13, /* its bytes overlap another entry's (an overlapped-zip bomb:
			       * one deflated member counted thousands of times) */
	ZA_BITS = 14,
};

struct zip_entry {
	char name[ZIP_NAME_MAX]; /* central directory name */
	bool name_cut;
	uint16_t method, flags;
	uint32_t crc;
	uint64_t csize, usize;
	uint64_t local_off; /* local header, after any prepended-bytes shift */
	uint64_t data_off;  /* first data byte (from the local header lengths) */
	unsigned anomalies; /* enum zip_anomaly bits */
	uint64_t cen_off;   /* this entry's central header */
	bool located;       /* local header read: data_off and its anomalies known */
};

struct zip_dir {
	struct zip_entry *e;
	size_t n;
	size_t entries_dropped; /* past ZIP_MAX_ENTRIES */
	size_t overlaps;        /* entries marked ZA_OVERLAP */
	unsigned anomalies;     /* union of archive- and entry-level bits */
	uint64_t shift;         /* prepended bytes (ZA_PREPENDED) */
	uint64_t cd_start;      /* where the central directory is */
};

/* Reads the end record and the central directory (and each local header,
 * to find data_off). Returns 0, -EINVAL when there is no usable central
 * directory (err names why), -ENOMEM, or a read error. */
int zip_open(const struct byte_src *s, struct zip_dir *d, char *err, size_t errlen);
/* As zip_open, without reading any local header yet: one read of the
 * directory, however many members. Each entry is located (data_off, local
 * header anomalies) when zip_read or zip_locate first touches it, so a
 * scanner that skips tensor members never seeks to them. */
int zip_open_lazy(const struct byte_src *s, struct zip_dir *d, char *err, size_t errlen);
/* Reads e's local header if not done yet. 0 or -errno. */
int zip_locate(const struct byte_src *s, struct zip_dir *d, struct zip_entry *e);
/* Reads a member's uncompressed bytes, at most max (then *truncated), and
 * no more than the budget s carries has left: inflated or copied out of a
 * stored member, the bytes are charged to it (overlapping entries repeat
 * one member's bytes). Stored or deflate only (-ENOTSUP otherwise, -EACCES
 * if encrypted). A full read checks the CRC and sets ZA_BAD_CRC on e (and
 * d) but still returns the data, as torch does. *out is malloc'd with a
 * NUL after *len. */
int zip_read(const struct byte_src *s, struct zip_dir *d, struct zip_entry *e, size_t max,
	     uint8_t **out, size_t *len, bool *truncated);
/* First member whose name is exactly name, or NULL. */
struct zip_entry *zip_find(struct zip_dir *d, const char *name);
void zip_close(struct zip_dir *d);
const char *zip_anomaly_name(enum zip_anomaly bit); /* "name-mismatch", ... */
#endif
