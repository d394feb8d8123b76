/* Reading the very file a process opened (see fileid.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "exeid.h"
#include "fileid.h"

/* Lines of /proc/PID/maps looked at for a mapping of the file: a Python
 * process with torch maps a few thousand regions. */
#define MAPS_MAX_LINES 65536

const char *fileid_how_name(enum fileid_how h)
{
	switch (h) {
	case FILEID_FD:
		return "fd";
	case FILEID_MAP:
		return "mapping";
	case FILEID_PATH:
		return "path";
	case FILEID_GONE:
		return "gone";
	case FILEID_CHANGED:
		return "changed";
	case FILEID_NOT_REG:
		return "not a regular file";
	case FILEID_ERROR:
		return "error";
	}
	return "?";
}

/* Same file (mount and inode; the device when the mount id is unknown),
 * same size, same ctime: nothing has written to it since the kernel's
 * report. */
static bool same(int fd, const struct mlw_file *id, struct stat *out)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_MNT_ID,
		  &sx) != 0)
		return false;
	if (out) {
		memset(out, 0, sizeof(*out));
		out->st_mode = sx.stx_mode;
		out->st_ino = sx.stx_ino;
		out->st_size = (off_t)sx.stx_size;
		out->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		out->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
		out->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
		out->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
		out->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	}
	if (sx.stx_ino != id->ino || sx.stx_size != id->size ||
	    (uint64_t)sx.stx_ctime.tv_sec * 1000000000ull + sx.stx_ctime.tv_nsec != id->ctime_ns)
		return false;
	if (sx.stx_mask & STATX_MNT_ID)
		return sx.stx_mnt_id == id->mnt_id;
	return exeid_kdev(makedev(sx.stx_dev_major, sx.stx_dev_minor)) == id->dev;
}

bool fileid_unchanged(int fd, const struct mlw_file *id)
{
	return same(fd, id, NULL);
}

/* From an O_PATH handle that was checked: a real open of that inode. */
static int reopen(int pfd, struct stat *st, const struct mlw_file *id, enum fileid_how *how,
		  int *err)
{
	char self[64];
	int fd;

	if (!same(pfd, id, st)) {
		*how = FILEID_CHANGED;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*how = FILEID_NOT_REG;
		return -1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	/* O_NOATIME: the monitor should not change what the user sees; it
	 * needs ownership or CAP_FOWNER, so retry without it */
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*err = errno;
		*how = FILEID_ERROR;
		return -1;
	}
	return fd;
}

/* The process's mapping of the file, if it has one (an mmap loader that
 * closed its fd, as safetensors does). maps lists "start-end ... inode". */
static int open_mapping(pid_t pid, const struct mlw_file *id)
{
	char p[64], line[PATH_MAX + 128];
	FILE *f;
	int pfd = -1;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(p, "re")))
		return -1;
	for (unsigned n = 0; pfd < 0 && n < MAPS_MAX_LINES && fgets(line, sizeof(line), f); n++) {
		unsigned long long start, end, ino;
		char range[64];

		if (sscanf(line, "%llx-%llx %*s %*s %*s %llu", &start, &end, &ino) != 3 ||
		    ino != id->ino)
			continue;
		snprintf(range, sizeof(range), "/proc/%d/map_files/%llx-%llx", (int)pid, start,
			 end);
		pfd = open(range, O_PATH | O_CLOEXEC);
		if (pfd >= 0 && !same(pfd, id, NULL)) {
			close(pfd);
			pfd = -1; /* same inode number on another file system */
		}
	}
	fclose(f);
	return pfd;
}

int fileid_open(pid_t pid, int fd, const struct mlw_file *id, const char *path, struct stat *st,
		enum fileid_how *how, int *err)
{
	char via[64];
	int pfd, rfd;

	*err = 0;
	if (!id->mode) {
		*how = FILEID_GONE;
		return -1;
	}
	snprintf(via, sizeof(via), "/proc/%d/fd/%d", (int)pid, fd);
	/* O_PATH: no driver open, no FIFO wait, whatever the fd now is */
	pfd = fd >= 0 ? open(via, O_PATH | O_CLOEXEC) : -1;
	if (pfd >= 0 && !same(pfd, id, NULL)) {
		close(pfd);
		pfd = -1;
		*how = FILEID_CHANGED;
	} else {
		*how = FILEID_FD;
	}
	if (pfd < 0) {
		pfd = open_mapping(pid, id);
		if (pfd >= 0) {
			*how = FILEID_MAP;
		} else if (path && path[0] == '/' && (pfd = open(path, O_PATH | O_CLOEXEC)) >= 0) {
			/* checked like the others before it is read */
			*how = FILEID_PATH;
		} else {
			if (*how != FILEID_CHANGED)
				*how = FILEID_GONE;
			return -1;
		}
	}
	{
		enum fileid_how keep = *how;

		rfd = reopen(pfd, st, id, how, err);
		if (rfd >= 0)
			*how = keep;
	}
	close(pfd);
	return rfd;
}

bool fileid_local_fs(const struct mlw_file *id, const char **fs)
{
	static const struct {
		uint32_t magic;
		const char *name;
	} local[] = {
		{ 0xEF53, "ext4" },         { 0x58465342, "xfs" },      { 0x9123683E, "btrfs" },
		{ 0x01021994, "tmpfs" },    { 0x858458F6, "ramfs" },    { 0x794C7630, "overlay" },
		{ 0x73717368, "squashfs" }, { 0xE0F5E1E2, "erofs" },    { 0xF2F52010, "f2fs" },
		{ 0x2FC12FC1, "zfs" },      { 0xCA451A4E, "bcachefs" }, { 0x3153464A, "jfs" },
		{ 0x4D44, "vfat" },         { 0x2011BAB0, "exfat" },
	};
	static const struct {
		uint32_t magic;
		const char *name;
	} remote[] = {
		{ 0x65735546, "FUSE" },   { 0x6969, "NFS" },      { 0xFF534D42, "CIFS" },
		{ 0xFE534D42, "SMB2" },   { 0x01021997, "9p" },   { 0x00C36400, "Ceph" },
		{ 0x0BD00BD0, "Lustre" }, { 0x47504653, "GPFS" }, { 0x6B414653, "AFS" },
	};

	*fs = "an unknown file system";
	if (id->fs_flags & MLW_FS_USERNS) {
		*fs = "a file system mounted from a user namespace";
		return false;
	}
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (id->fs_magic == local[i].magic)
			return true;
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if (id->fs_magic == remote[i].magic)
			*fs = remote[i].name;
	return false;
}

int fileid_hold(int fd)
{
	return fcntl(fd, F_SETLEASE, F_RDLCK) == 0 ? 0 : -errno;
}

bool fileid_release(int fd)
{
	bool held = fcntl(fd, F_GETLEASE) == F_RDLCK;

	fcntl(fd, F_SETLEASE, F_UNLCK);
	return held;
}
