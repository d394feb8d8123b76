/*
 * Reading what a running process already is from /proc, for the walk at
 * start (pipeline/seed.h): its parent, start time, name and uid, and the
 * files it holds open (fds) or mapped (maps). The text parsers are apart
 * from the reads: file names are the processes' to choose (spaces,
 * newlines, parentheses, a " (deleted)" of their own).
 */
#ifndef MLWATCH_PROCWALK_H
#define MLWATCH_PROCWALK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mlwatch/events.h>

/* PF_KTHREAD in /proc/PID/stat's flags: a kernel thread, no files. */
#define PROCWALK_PF_KTHREAD 0x00200000u

struct procwalk_stat {
	uint32_t pid, ppid;
	char state;
	uint32_t flags;       /* PF_* */
	uint64_t start_ticks; /* clock ticks after boot: with pid, who it is */
	uint64_t vsize;       /* bytes of address space: a model's mapping counts */
	char comm[MLW_COMM_LEN + 1];
};

/* /proc/PID/stat's text (len bytes). comm is what lies between the first
 * '(' and the last ')': it may hold spaces and parentheses. Returns 0, or
 * -EINVAL when a field is missing or not a number. */
int procwalk_parse_stat(const char *buf, size_t len, struct procwalk_stat *st);
/* Reads and parses /proc/PID/stat: 0, or -errno (ENOENT, ESRCH: gone). */
int procwalk_read_stat(uint32_t pid, struct procwalk_stat *st);
/* The real uid ("Uid:" in /proc/PID/status): 0 or -errno. */
int procwalk_read_uid(uint32_t pid, uint32_t *uid);

/* One line of /proc/PID/maps, parsed in place. */
struct procwalk_map {
	uint64_t start, end, inode;
	unsigned dev_major, dev_minor;
	char *path;   /* into the line, newline cut; "" for an anonymous mapping */
	bool deleted; /* it ended with " (deleted)", now cut off */
};

/* Returns false when line is no maps line (the fields before the path
 * must all be there). The path is everything after the inode's padding,
 * spaces and all. */
bool procwalk_parse_maps_line(char *line, struct procwalk_map *m);
/* maps writes a newline in a name as "\012" (and nothing else escaped, so
 * a name may hold that text itself): turns each back into a newline, in
 * place. Returns whether there was one. */
bool procwalk_unescape_maps(char *path);
/* Cuts a trailing " (deleted)" (an unlinked file, in an fd's link or a
 * maps line); returns whether there was one. A file may be named so. */
bool procwalk_cut_deleted(char *path);

/* A maps line (its path) is read up to this long; longer is unnamed. */
#define PROCWALK_LINE_CAP (1u << 20)

/* Each fd of pid whose link is a path (not a socket, pipe or anon inode),
 * at most max of them (*cut when there were more): fn(ctx, fd, path).
 * *unnamed: fds whose name the kernel would not give (longer than
 * PATH_MAX: anyone can make such a path). Returns the number of fds
 * looked at, or -errno (the process is gone, or its fds are not ours to
 * read). */
typedef void (*procwalk_fd_fn)(void *ctx, int fd, char *path);
long procwalk_fds(uint32_t pid, size_t max, procwalk_fd_fn fn, void *ctx, bool *cut,
		  uint64_t *unnamed);
/* Each file-backed mapping of pid (inode not 0), at most max_lines lines
 * read (*cut when there were more); *unnamed: lines past
 * PROCWALK_LINE_CAP, not read. */
typedef void (*procwalk_map_fn)(void *ctx, const struct procwalk_map *m);
long procwalk_maps(uint32_t pid, size_t max_lines, procwalk_map_fn fn, void *ctx, bool *cut,
		   uint64_t *unnamed);
/* The cgroup v2 id of pid, the one the kernel puts in its records: from
 * the kernel itself (a pidfd's PIDFD_GET_INFO, Linux 6.13+), whatever
 * cgroup namespace we are in. On older kernels, from its "0::" line in
 * /proc/PID/cgroup looked up under root_fd (the whole v2 hierarchy's
 * mount), but only in the host's cgroup namespace: in another one that
 * path is relative to our namespace's root ("/../.." above it), not to the
 * mount's. 0 when unknown. */
uint64_t procwalk_cgroup_id(uint32_t pid, int root_fd);
/* The fallback's lookup: the directory's inode at path rel ("/a/b", from a
 * "0::" line) under root_fd, when host_paths (rel is relative to the
 * hierarchy's root). 0 when not host_paths, when rel is not absolute or
 * has a "." or ".." component (never a walk out of the mount), or when
 * there is no such directory. */
uint64_t procwalk_cgroup_lookup(int root_fd, const char *rel, bool host_paths);
#endif
