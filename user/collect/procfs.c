/* /proc readers used to fill in what the kernel side does not send. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"

static int read_link(const char *p, char *out, size_t len)
{
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	n = readlink(p, out, len - 1);
	if (n < 0) {
		out[0] = 0;
		return -errno;
	}
	out[n] = 0;
	return 0;
}

int procfs_exe(pid_t pid, char *out, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	return read_link(p, out, len);
}

int procfs_cwd(pid_t pid, char *out, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/cwd", (int)pid);
	return read_link(p, out, len);
}

int procfs_fd_path(pid_t pid, int fd, char *out, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, fd);
	return read_link(p, out, len);
}

long procfs_cmdline(pid_t pid, char *out, size_t len, bool *truncated)
{
	char p[64], extra;
	ssize_t n;
	int fd;

	*truncated = false;
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, out, len);
	if (n == (ssize_t)len && read(fd, &extra, 1) == 1)
		*truncated = true;
	close(fd);
	return n < 0 ? -errno : n;
}

bool procfs_runs_own_exe(pid_t pid)
{
	/* cached attributes only: a program on a FUSE mount must not make
	 * the collector wait for its server */
	const int how = AT_STATX_DONT_SYNC;
	struct statx self, other;
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	return statx(AT_FDCWD, "/proc/self/exe", how, STATX_INO, &self) == 0 &&
	       statx(AT_FDCWD, p, how, STATX_INO, &other) == 0 &&
	       self.stx_dev_major == other.stx_dev_major &&
	       self.stx_dev_minor == other.stx_dev_minor && self.stx_ino == other.stx_ino;
}
