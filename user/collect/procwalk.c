/* Reading a running process from /proc for the walk at start (see procwalk.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procwalk.h"

/* A maps line: the fields, then a path of at most PATH_MAX bytes in which
 * each newline takes four; a path may be longer (the kernel writes it in a
 * buffer that grows), so a line grows up to PROCWALK_LINE_CAP. */
#define MAPS_LINE_MAX (4 * PATH_MAX + 256)

/* Reads a small /proc file whole (at most len - 1 bytes), NUL-ended. */
static long read_small(const char *p, char *buf, size_t len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	return n;
}

/* The next space-separated number after *p (a sign allowed); false at the
 * end or on anything else. */
static bool next_num(const char **p, const char *end, long long *v)
{
	char tmp[32], *e;
	size_t n = 0;

	while (*p < end && **p == ' ')
		(*p)++;
	while (*p < end && **p != ' ' && **p != '\n' && n < sizeof(tmp) - 1)
		tmp[n++] = *(*p)++;
	tmp[n] = 0;
	if (!n || (*p < end && **p != ' ' && **p != '\n'))
		return false;
	errno = 0;
	*v = strtoll(tmp, &e, 10);
	return !*e && !errno;
}

int procwalk_parse_stat(const char *buf, size_t len, struct procwalk_stat *st)
{
	const char *open = memchr(buf, '(', len), *close = NULL, *p, *end = buf + len;
	long long v[20];
	char *e;
	unsigned long pid;

	memset(st, 0, sizeof(*st));
	for (const char *q = buf + len; q > buf; q--)
		if (q[-1] == ')') {
			close = q - 1;
			break;
		}
	if (!open || !close || close < open || close + 3 >= end || close[1] != ' ')
		return -EINVAL;
	errno = 0;
	pid = strtoul(buf, &e, 10);
	if (e == buf || *e != ' ' || errno || pid == 0 || pid > UINT32_MAX)
		return -EINVAL;
	st->pid = (uint32_t)pid;
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(close - open - 1), open + 1);
	st->state = close[2];
	p = close + 3;
	/* fields 4 (ppid) to 23 (vsize) */
	for (int i = 0; i < 20; i++)
		if (!next_num(&p, end, &v[i]))
			return -EINVAL;
	if (v[0] < 0 || v[0] > UINT32_MAX || v[18] < 0 || v[19] < 0)
		return -EINVAL;
	st->ppid = (uint32_t)v[0];
	st->flags = (uint32_t)v[5];
	st->start_ticks = (uint64_t)v[18];
	st->vsize = (uint64_t)v[19];
	return 0;
}

int procwalk_read_stat(uint32_t pid, struct procwalk_stat *st)
{
	char p[64], buf[1024];
	long n;

	snprintf(p, sizeof(p), "/proc/%u/stat", pid);
	n = read_small(p, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return procwalk_parse_stat(buf, (size_t)n, st);
}

int procwalk_read_uid(uint32_t pid, uint32_t *uid)
{
	char p[64], buf[4096], *u;
	unsigned long v;
	long n;

	snprintf(p, sizeof(p), "/proc/%u/status", pid);
	n = read_small(p, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	u = strstr(buf, "\nUid:");
	if (!u || sscanf(u + 5, "%lu", &v) != 1 || v > UINT32_MAX)
		return -EINVAL;
	*uid = (uint32_t)v;
	return 0;
}

bool procwalk_parse_maps_line(char *line, struct procwalk_map *m)
{
	unsigned long long start, end, off, ino;
	unsigned maj, min;
	char perms[8];
	int n = -1;
	size_t len;

	memset(m, 0, sizeof(*m));
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[--len] = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &off, &maj, &min,
		   &ino, &n) != 7 ||
	    n < 0)
		return false;
	m->start = start;
	m->end = end;
	m->inode = ino;
	m->dev_major = maj;
	m->dev_minor = min;
	/* padding, then the path: it starts with the first non-space (a
	 * file's path is absolute, so it cannot begin with a space) */
	m->path = line + n;
	while (*m->path == ' ')
		m->path++;
	if (*m->path)
		m->deleted = procwalk_cut_deleted(m->path);
	return true;
}

bool procwalk_unescape_maps(char *path)
{
	char *r = path, *w = path;
	bool any = false;

	while (*r) {
		if (r[0] == '\\' && r[1] == '0' && r[2] == '1' && r[3] == '2') {
			*w++ = '\n';
			r += 4;
			any = true;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	return any;
}

bool procwalk_cut_deleted(char *path)
{
	static const char sfx[] = " (deleted)";
	size_t n = strlen(path), s = sizeof(sfx) - 1;

	if (n <= s || strcmp(path + n - s, sfx) != 0)
		return false;
	path[n - s] = 0;
	return true;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

long procwalk_fds(uint32_t pid, size_t max, procwalk_fd_fn fn, void *ctx, bool *cut,
		  uint64_t *unnamed)
{
	char p[64], target[PATH_MAX + 1];
	struct dirent *de;
	long seen = 0;
	DIR *d;

	*cut = false;
	*unnamed = 0;
	snprintf(p, sizeof(p), "/proc/%u/fd", pid);
	d = opendir(p);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ssize_t n;

		if (!all_digits(de->d_name))
			continue;
		if ((size_t)seen >= max) {
			*cut = true;
			break;
		}
		seen++;
		/* the link is the kernel's d_path: never followed, so a FIFO
		 * or a FUSE file costs nothing here */
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		/* a name past PATH_MAX: the kernel will not say it, and a
		 * model's could be one */
		if (n < 0 && errno == ENAMETOOLONG)
			(*unnamed)++;
		if (n <= 0 || target[0] != '/')
			continue;
		target[n] = 0;
		fn(ctx, atoi(de->d_name), target);
	}
	closedir(d);
	return seen;
}

/* The rest of a line longer than *cap bytes, into a buffer grown up to
 * PROCWALK_LINE_CAP; false (the rest skipped) past that or without memory. */
static bool long_line(FILE *f, char **line, size_t *cap)
{
	size_t n = strlen(*line);

	while (n && (*line)[n - 1] != '\n' && !feof(f)) {
		char *nl;

		if (*cap >= PROCWALK_LINE_CAP || !(nl = realloc(*line, 2 * *cap))) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			return false;
		}
		*line = nl;
		*cap *= 2;
		if (!fgets(*line + n, (int)(*cap - n), f))
			break;
		n += strlen(*line + n);
	}
	return true;
}

long procwalk_maps(uint32_t pid, size_t max_lines, procwalk_map_fn fn, void *ctx, bool *cut,
		   uint64_t *unnamed)
{
	size_t cap = MAPS_LINE_MAX;
	char p[64], *line = malloc(cap);
	long lines = 0;
	FILE *f;

	*cut = false;
	*unnamed = 0;
	if (!line)
		return -ENOMEM;
	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	f = fopen(p, "re");
	if (!f) {
		free(line);
		return -errno;
	}
	while (fgets(line, (int)cap, f)) {
		struct procwalk_map m;

		if ((size_t)lines >= max_lines) {
			*cut = true;
			break;
		}
		lines++;
		if (!long_line(f, &line, &cap)) {
			(*unnamed)++;
			continue;
		}
		if (procwalk_parse_maps_line(line, &m) && m.inode && m.path[0])
			fn(ctx, &m);
	}
	fclose(f);
	free(line);
	return lines;
}

#ifndef PIDFD_GET_INFO
/* include/uapi/linux/pidfd.h (Linux 6.13): its first version, 64 bytes */
struct pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_INFO_CGROUPID (1ull << 2)
#define PIDFD_GET_INFO _IOWR(0xFF, 11, struct pidfd_info)
#endif

/* /proc/self/ns/cgroup's inode in the host's (init) cgroup namespace:
 * PROC_CGROUP_INIT_INO, fixed by the kernel. */
#define CGROUP_INIT_NS_INO 0xEFFFFFFBu

/* The kernel's own cgroup id of pid; 0 with *old set when it could not
 * be had that way (a kernel without PIDFD_GET_INFO, a seccomp filter
 * refusing pidfd_open), 0 alone when pid is gone. */
static uint64_t pidfd_cgroup_id(uint32_t pid, bool *old)
{
	struct pidfd_info info = { .mask = PIDFD_INFO_CGROUPID };
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0), rc, e;

	*old = false;
	if (fd < 0) {
		*old = errno != ESRCH;
		return 0;
	}
	rc = ioctl(fd, PIDFD_GET_INFO, &info);
	e = errno;
	close(fd);
	if (rc != 0) {
		*old = e != ESRCH;
		return 0;
	}
	if (!(info.mask & PIDFD_INFO_CGROUPID)) {
		*old = true;
		return 0;
	}
	return info.cgroupid;
}

uint64_t procwalk_cgroup_lookup(int root_fd, const char *rel, bool host_paths)
{
	struct stat st;

	if (root_fd < 0 || !host_paths || rel[0] != '/')
		return 0;
	for (const char *c = rel + 1; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : "") {
		size_t n = strcspn(c, "/");

		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
	}
	/* "/" alone is the root itself */
	if (fstatat(root_fd, rel[1] ? rel + 1 : ".", &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}

uint64_t procwalk_cgroup_id(uint32_t pid, int root_fd)
{
	char p[64], buf[4096], *l;
	struct stat ns;
	uint64_t id;
	bool old;
	long n;

	if ((id = pidfd_cgroup_id(pid, &old)) || !old)
		return id;
	if (root_fd < 0)
		return 0;
	snprintf(p, sizeof(p), "/proc/%u/cgroup", pid);
	n = read_small(p, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *nl = strchr(l, '\n');

		if (strncmp(l, "0::/", 4) != 0)
			continue;
		if (nl)
			*nl = 0;
		return procwalk_cgroup_lookup(root_fd, l + 3,
					      stat("/proc/self/ns/cgroup", &ns) == 0 &&
						      ns.st_ino == CGROUP_INIT_NS_INO);
	}
	return 0;
}
