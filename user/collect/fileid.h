/*
 * Reading the very file a process opened, never another one by the same
 * name. The kernel reports the file's identity (mount, inode) and state
 * (size, ctime) from its struct file; these open a handle the process
 * itself holds (its fd, or its mapping of the file), check it against that
 * report, and only then reopen it for reading. A path is never followed:
 * a swapped symlink could point at a device or a FIFO, and a rewritten
 * file is not what the loader read.
 *
 * Threat model: docs/threat-model.md §4.3.
 */
#ifndef MLWATCH_FILEID_H
#define MLWATCH_FILEID_H
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <mlwatch/events.h>

/* How fileid_open found the file (or why it did not). */
enum fileid_how {
	FILEID_FD = 0,  /* the process's fd */
	FILEID_MAP,     /* the process's mapping of the file (/proc/PID/map_files) */
	FILEID_PATH,    /* its path, found to be the same file: to name it, never to
	                    * decide that it carries no code */
	FILEID_GONE,    /* neither holds it any more */
	FILEID_CHANGED, /* it is another file now, or it changed since it was opened */
	FILEID_NOT_REG, /* not a regular file */
	FILEID_ERROR,   /* could not be opened (errno in *err) */
};

/* Opens for reading the file pid opened as fd, as the kernel described it
 * in id. path (may be NULL): when the process holds it no more, its
 * absolute path is tried too, opened O_PATH and read only if it is that
 * very file (FILEID_PATH). Returns an fd (caller closes; *st filled) or -1
 * with *how saying why not. */
int fileid_open(pid_t pid, int fd, const struct mlw_file *id, const char *path, struct stat *st,
		enum fileid_how *how, int *err);
/* Whether the open file fd is still as id described it (same file, same
 * size, same ctime): after reading from it, this says the bytes read were
 * the file's when it was opened. */
bool fileid_unchanged(int fd, const struct mlw_file *id);
const char *fileid_how_name(enum fileid_how h);

/* Whether a file on the file system id names (its s_magic and flags, as
 * the kernel reported them) is written by this host's kernel alone (ext4,
 * xfs, btrfs, tmpfs, overlay, ...), decided before any syscall touches it.
 * On a network file system another machine can rewrite it; a FUSE server
 * (which an unprivileged user can mount) can answer each reader with other
 * bytes, or never answer; a file system mounted from a user namespace is
 * an unprivileged user's (an overlay over FUSE, say). *fs names what it is
 * when it is not. */
bool fileid_local_fs(const struct mlw_file *id, const char **fs);
/* Holds fd's file against writers while it is read: a read lease is only
 * granted while no one has the file open for writing (a writable shared
 * mapping included), and the next writer's open breaks it. Returns 0, or
 * -errno (EAGAIN: someone has it open for writing). SIGIO, which the
 * kernel sends when a lease breaks, must be ignored by the caller. */
int fileid_hold(int fd);
/* Drops the hold; true when it was never broken (no writer came since
 * fileid_hold). */
bool fileid_release(int fd);
#endif
