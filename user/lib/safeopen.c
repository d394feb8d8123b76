/* Opening configuration and output files that other users may control. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"
#include "textsan.h"

__attribute__((format(printf, 5, 6))) static int fail(int rc, const char *path, char *err,
						      size_t errlen, const char *fmt, ...)
{
	char name[1024], msg[512];
	va_list ap;

	if (!err || !errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_escape(path, strlen(path), name, sizeof(name));
	snprintf(err, errlen, "%s: %s", name, msg);
	return rc;
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "not a file";
	}
}

/* Only root and we may own it: anyone else could rewrite it. */
static bool owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int bad_owner(const char *path, const char *what, const struct stat *st, char *err,
		     size_t errlen)
{
	uid_t me = geteuid();

	if (me == 0)
		return fail(-EPERM, path, err, errlen,
			    "%sowned by uid %u (only root may own it); refusing", what,
			    (unsigned)st->st_uid);
	return fail(-EPERM, path, err, errlen,
		    "%sowned by uid %u (only root or uid %u may own it); refusing", what,
		    (unsigned)st->st_uid, (unsigned)me);
}

/* The directory: its owner and those who may write it can swap the file
 * for another; a sticky directory (/tmp) lets them remove only their own. */
static int check_dir(const char *path, int dfd, const char *dir, char *err, size_t errlen)
{
	char what[PATH_MAX + 32], esc[1024];
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return fail(-errno, path, err, errlen, "cannot stat its directory: %s",
			    strerror(errno));
	text_escape(dir, strlen(dir), esc, sizeof(esc));
	snprintf(what, sizeof(what), "its directory %s is ", esc);
	if (!owner_ok(&st))
		return bad_owner(path, what, &st, err, errlen);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return fail(-EPERM, path, err, errlen,
			    "%swritable by group/others (mode %04o); refusing", what,
			    (unsigned)(st.st_mode & 07777));
	return 0;
}

int safeopen_config(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char dir[PATH_MAX];
	struct stat st;
	int dfd, fd, rc;

	if (!*path)
		return fail(-ENOENT, path, err, errlen, "cannot open: %s", strerror(ENOENT));
	if (!*base)
		return fail(-EINVAL, path, err, errlen, "not a regular file (ends in '/')");
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return fail(-ENAMETOOLONG, path, err, errlen, "cannot open: %s",
			    strerror(ENAMETOOLONG));
	/* the directory first, then the file through it: what was checked is
	 * where the file is opened, whatever is renamed in between */
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(-errno, path, err, errlen, "cannot open: %s", strerror(errno));
	if ((rc = check_dir(path, dfd, dir, err, errlen))) {
		close(dfd);
		return rc;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = openat(dfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	rc = fd < 0 ? -errno : 0;
	close(dfd);
	if (fd < 0 && rc == -ELOOP)
		return fail(rc, path, err, errlen,
			    "is a symbolic link; refusing (give the file it points to)");
	if (fd < 0)
		return fail(rc, path, err, errlen, "cannot open: %s", strerror(-rc));
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fail(rc, path, err, errlen, "cannot stat: %s", strerror(-rc));
	}
	if (!S_ISREG(st.st_mode))
		rc = fail(-EINVAL, path, err, errlen, "not a regular file (%s); refusing",
			  type_name(st.st_mode));
	else if (!owner_ok(&st))
		rc = bad_owner(path, "", &st, err, errlen);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rc = fail(-EPERM, path, err, errlen,
			  "writable by group/others (mode %04o); refusing",
			  (unsigned)(st.st_mode & 07777));
	if (rc) {
		close(fd);
		return rc;
	}
	return fd; /* O_NONBLOCK is a no-op on a regular file */
}

int safeopen_output(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO planted here must not hang the monitor */
	fd = open(path,
		  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		  0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			return fail(rc, path, err, errlen,
				    "is a symbolic link; refusing (give the file it points to)");
		/* a FIFO without a reader, a socket, or (fs.protected_regular)
		 * another user's file in a sticky directory */
		if ((rc == -ENXIO || rc == -EOPNOTSUPP) && lstat(path, &st) == 0)
			return fail(-EINVAL, path, err, errlen, "not a regular file (%s); refusing",
				    type_name(st.st_mode));
		if (rc == -EACCES && lstat(path, &st) == 0 && st.st_uid != geteuid())
			return fail(-EPERM, path, err, errlen,
				    "owned by uid %u, not by us (uid %u); refusing to write to it",
				    (unsigned)st.st_uid, (unsigned)geteuid());
		return fail(rc, path, err, errlen, "cannot open: %s", strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = fail(-errno, path, err, errlen, "cannot stat: %s", strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		if (st.st_uid != geteuid())
			rc = fail(-EPERM, path, err, errlen,
				  "owned by uid %u, not by us (uid %u); refusing to write to it",
				  (unsigned)st.st_uid, (unsigned)geteuid());
		else if (st.st_nlink > 1)
			rc = fail(-EMLINK, path, err, errlen,
				  "has %lu hard links (it may be another file); refusing",
				  (unsigned long)st.st_nlink);
	} else if (!S_ISCHR(st.st_mode)) {
		rc = fail(-EINVAL, path, err, errlen, "not a regular file (%s); refusing",
			  type_name(st.st_mode));
	}
	if (!rc && fcntl(fd, F_SETFL, O_APPEND) < 0)
		rc = fail(-errno, path, err, errlen, "cannot open: %s", strerror(errno));
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}
