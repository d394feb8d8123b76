/* Reopened after a failed write, so a rotated or removed file comes back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tx_file.h"
#include "lib/safeopen.h"

int tx_file_init(struct tx_file *t, const char *path, char *err, size_t errlen)
{
	t->path = path;
	t->err[0] = '\0';
	t->fd = safeopen_output(path, err, errlen);
	return t->fd < 0 ? -1 : 0;
}

int tx_file_write(struct tx_file *t, const char *line, size_t len)
{
	char *buf;
	ssize_t w;

	if (t->fd < 0) {
		t->fd = safeopen_output(t->path, t->err, sizeof(t->err));
		if (t->fd < 0)
			return -1;
	}
	buf = malloc(len + 1);
	if (!buf) {
		snprintf(t->err, sizeof(t->err), "out of memory");
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	w = write(t->fd, buf, len + 1);
	free(buf);
	if (w == (ssize_t)(len + 1))
		return 0;
	snprintf(t->err, sizeof(t->err), "write to %s: %s", t->path,
		 w < 0 ? strerror(errno) : "short write");
	close(t->fd);
	t->fd = -1;
	return -1;
}

void tx_file_free(struct tx_file *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
