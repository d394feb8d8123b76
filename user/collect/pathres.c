/* Path resolution: relative opens are resolved against dirfd/cwd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "pathres.h"
#include "procfs.h"

int path_normalize(const char *base, const char *path, char *out, size_t len)
{
	/* Components are copied one by one; ".." pops back to the last '/'. */
	const char *parts[2] = { path[0] == '/' ? "" : base, path };
	size_t o = 0;

	if (len < 2)
		return -ENAMETOOLONG;
	if (path[0] != '/' && (!base || base[0] != '/'))
		return -EINVAL;
	out[0] = 0;
	for (int p = 0; p < 2; p++) {
		const char *s = parts[p];

		while (*s) {
			const char *e;
			size_t n;

			while (*s == '/')
				s++;
			if (!*s)
				break;
			e = strchr(s, '/');
			n = e ? (size_t)(e - s) : strlen(s);
			if (n == 1 && s[0] == '.') {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--; /* drop the '/' too */
				out[o] = 0;
			} else {
				if (o + 1 + n + 1 > len) {
					out[0] = 0;
					return -ENAMETOOLONG;
				}
				out[o++] = '/';
				memcpy(out + o, s, n);
				o += n;
				out[o] = 0;
			}
			s += n;
		}
	}
	if (o == 0) {
		out[0] = '/';
		out[1] = 0;
	}
	return 0;
}

int path_resolve(pid_t pid, int dirfd, const char *path, char *out, size_t len)
{
	char base[PATH_MAX];
	int err;

	if (path[0] == '/')
		return path_normalize("/", path, out, len);
	err = dirfd == AT_FDCWD ? procfs_cwd(pid, base, sizeof(base)) :
				  procfs_fd_path(pid, dirfd, base, sizeof(base));
	if (err || base[0] != '/') {
		/* the process is gone: keep what it asked for, flagged by rc */
		size_t n = strlen(path);

		if (n >= len)
			n = len - 1;
		memcpy(out, path, n);
		out[n] = 0;
		return err ? err : -ENOENT;
	}
	return path_normalize(base, path, out, len);
}
