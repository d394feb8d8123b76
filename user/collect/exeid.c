/* Programs known by identity (device, inode). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "exeid.h"

const char *const exeid_dirs[] = {
	"/bin",
	"/sbin",
	"/usr/bin",
	"/usr/sbin",
	"/usr/local/bin",
	"/usr/local/sbin",
	"/lib64",
	"/lib",
	"/usr/lib",
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu",
	NULL,
};

uint32_t exeid_kdev(uint64_t st_dev)
{
	return (uint32_t)(major(st_dev) << 20 | (minor(st_dev) & 0xfffff));
}

static int add(struct exeid *t, uint32_t dev, uint64_t ino, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].dev == dev && t->v[i].ino == ino)
			return 0; /* the first name found wins: /bin/sh -> dash stays "dash"'s */
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct exeid_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct exeid_entry){ .ino = ino, .dev = dev, .name = name };
	return 1;
}

int exeid_add_names(struct exeid *t, const char *root, const char *const *names)
{
	int found = 0;

	for (size_t d = 0; exeid_dirs[d]; d++) {
		for (size_t i = 0; names[i]; i++) {
			char p[PATH_MAX];
			struct stat st;
			int r;

			snprintf(p, sizeof(p), "%s%s/%s", root ? root : "", exeid_dirs[d],
				 names[i]);
			if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			r = add(t, exeid_kdev(st.st_dev), st.st_ino, names[i]);
			if (r < 0)
				return r;
			found += r;
		}
	}
	return found;
}

const char *exeid_name(const struct exeid *t, uint32_t dev, uint64_t ino)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].dev == dev && t->v[i].ino == ino)
			return t->v[i].name;
	return NULL;
}

void exeid_free(struct exeid *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
