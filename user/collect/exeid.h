/*
 * Programs known by identity: the device and inode of each shell,
 * downloader, network tool and dynamic loader installed on the host, so
 * that a hard link or bind mount of one under another name is still
 * classified (and killed) as what it is. Built once at start.
 *
 * Threat model: docs/threat-model.md §4.5 (other names for a program).
 */
#ifndef MLWATCH_EXEID_H
#define MLWATCH_EXEID_H
#include <stddef.h>
#include <stdint.h>

struct exeid_entry {
	uint64_t ino;
	uint32_t dev;     /* kernel encoding (major << 20 | minor), as the sensors send */
	const char *name; /* the program's name (static) */
};

struct exeid {
	struct exeid_entry *v;
	size_t n, cap;
};

/* The directories searched (NULL-terminated): where distributions install
 * programs and the dynamic loader. */
extern const char *const exeid_dirs[];

/* Looks up every name in names (NULL-terminated) in exeid_dirs (following
 * symlinks to the file itself) and remembers what it finds. root: a prefix
 * for the directories ("" for the host; "/proc/PID/root" for a container).
 * Returns how many programs it found, or -ENOMEM. */
int exeid_add_names(struct exeid *t, const char *root, const char *const *names);
/* The name of the program at (dev, ino), or NULL. */
const char *exeid_name(const struct exeid *t, uint32_t dev, uint64_t ino);
/* The kernel's encoding of a st_dev. */
uint32_t exeid_kdev(uint64_t st_dev);
void exeid_free(struct exeid *t);
#endif
