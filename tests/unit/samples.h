/* Sample files for the format tests: a private directory under /tmp, a
 * Python script written into it and run by /usr/bin/python3 (the samples
 * are made by the real libraries at test time), a sample opened as a file
 * view or loaded whole, and the directory removed at the end. */
#ifndef MLWATCH_TEST_SAMPLES_H
#define MLWATCH_TEST_SAMPLES_H
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bytesrc.h"

static char samples_dir[64];

/* Makes /tmp/mlwatch-<tag>-XXXXXX; 0, or -1 after saying why. */
static inline int samples_init(const char *tag)
{
	snprintf(samples_dir, sizeof(samples_dir), "/tmp/mlwatch-%s-XXXXXX", tag);
	if (!mkdtemp(samples_dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Removes the directory and all in it (best effort). */
static inline void samples_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", samples_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", samples_dir);
}

/* samples_dir/name, in one of four buffers used in turn (a call may take
 * a few at once). */
static inline char *sample_path(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", samples_dir, name);
	return p[i];
}

/* Writes head (may be NULL) then code to gen.py in the directory and runs
 * it as "/usr/bin/python3 gen.py <dir>"; 0 when it exits 0, else -1. */
static inline int sample_python(const char *head, const char *code)
{
	char cmd[1200];
	FILE *f = fopen(sample_path("gen.py"), "w");

	if (!f)
		return -1;
	if (head)
		fputs(head, f);
	fputs(code, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", sample_path("gen.py"), samples_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes n bytes from p to sample name; 0, or -1. */
static inline int sample_write(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(sample_path(name), "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(p, 1, n, f) == n ? 0 : -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

/* A file view on sample name, s->size its length. Returns the descriptor
 * for the caller to close, or -1 after saying which sample is missing. */
static inline int sample_open(const char *name, struct byte_src *s)
{
	struct stat st;
	int fd = open(sample_path(name), O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		printf("cannot open %s (sample not generated)\n", sample_path(name));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	bsrc_from_fd(s, fd, (uint64_t)st.st_size);
	return fd;
}

/* A whole sample in memory, with a NUL past its n bytes; b is NULL (and
 * n 0) when it cannot be read. The caller frees b. */
struct blob {
	uint8_t *b;
	size_t n;
};

static inline struct blob sample_load(const char *name)
{
	struct blob x = { 0 };
	struct stat st;
	int fd = open(sample_path(name), O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return x;
	}
	x.b = malloc((size_t)st.st_size + 1);
	if (x.b && read(fd, x.b, (size_t)st.st_size) == st.st_size) {
		x.n = (size_t)st.st_size;
		x.b[x.n] = 0;
	} else {
		free(x.b);
		x.b = NULL;
	}
	close(fd);
	return x;
}

#endif
