/* cgroup v2 ids to containers and pods, by walking the v2 mount. */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgmap.h"

struct cgmap_ent {
	uint64_t id;
	uint64_t seen_ns;       /* the walk that last found it */
	struct cg_ident *ident; /* NULL: no container, no pod */
	struct cgmap_ent *next;
};

struct walk {
	struct cgmap *m;
	uint64_t now_ns;   /* the caller's clock: what seen_ns is in */
	uint64_t deadline; /* CLOCK_MONOTONIC */
	size_t visited;
	size_t untrusted;
	bool stop;       /* out of time or room: walk no further */
	bool incomplete; /* something was not walked: expire nothing */
	char path[PATH_MAX];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t bucket(const struct cgmap *m, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (m->nbuckets - 1);
}

static struct cgmap_ent *find(const struct cgmap *m, uint64_t id)
{
	struct cgmap_ent *e = m->buckets ? m->buckets[bucket(m, id)] : NULL;

	while (e && e->id != id)
		e = e->next;
	return e;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
					  (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = 0;
}

/* How high in the hierarchy a mount's root is: 2 per "/.." above this
 * cgroup namespace's root, 0 for that root, -1 for a cgroup below it. */
static int height(const char *root)
{
	int h = 0;
	const char *p = root;

	while (strncmp(p, "/..", 3) == 0 && (p[3] == '/' || p[3] == 0)) {
		h += 2;
		p += 3;
	}
	return *p && strcmp(p, "/") ? h - 1 : h;
}

int cgmap_find_mount(const char *mountinfo, char *out, size_t len)
{
	int best = -1000;

	for (const char *line = mountinfo; line && *line;) {
		const char *eol = strchr(line, '\n'), *f[5], *sep;
		size_t n = eol ? (size_t)(eol - line) : strlen(line), k = 0;
		char root[PATH_MAX], mnt[PATH_MAX];

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTS */
		for (size_t i = 0; i < n && k < 5; i++)
			if (i == 0 || (line[i - 1] == ' ' && line[i] != ' '))
				f[k++] = line + i;
		sep = memmem(line, n, " - cgroup2 ", 11);
		if (k == 5 && sep) {
			int h;

			unescape(f[3], (size_t)(strchr(f[3], ' ') - f[3]), root, sizeof(root));
			unescape(f[4], (size_t)(strchr(f[4], ' ') - f[4]), mnt, sizeof(mnt));
			h = height(root);
			if (h > best && strlen(mnt) < len) {
				best = h;
				snprintf(out, len, "%s", mnt);
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return best == -1000 ? -1 : 0;
}

static void forget(struct cgmap *m, struct cgmap_ent **pp)
{
	struct cgmap_ent *e = *pp;

	*pp = e->next;
	free(e->ident);
	free(e);
	m->st.entries--;
}

/* One cgroup found: remembered with what its trusted path names. */
static void record(struct walk *w, uint64_t id, size_t trusted)
{
	struct cgmap *m = w->m;
	struct cgmap_ent *e = find(m, id);
	struct cg_ident ci;
	bool any = cgpath_parse(w->path, trusted, &ci);

	if (!e) {
		if (m->st.entries >= m->max) {
			m->st.full++;
			w->stop = w->incomplete = true;
			return;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			m->st.full++;
			return;
		}
		e->id = id;
		e->next = m->buckets[bucket(m, id)];
		m->buckets[bucket(m, id)] = e;
		if (++m->st.entries > m->st.peak)
			m->st.peak = m->st.entries;
	}
	e->seen_ns = w->now_ns;
	if (!any) {
		free(e->ident);
		e->ident = NULL;
		return;
	}
	if (!e->ident && !(e->ident = malloc(sizeof(*e->ident))))
		return;
	*e->ident = ci;
}

/* Directories below fd (path[0..plen]). trusted: how much of the path
 * runs through directories root owns (all of it: whole). Consumes fd. */
static void walk_dir(struct walk *w, int fd, size_t plen, size_t trusted, bool whole, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		w->m->st.walk_errors++;
		return;
	}
	while (!w->stop && (de = readdir(d))) {
		const char *name = de->d_name;
		size_t nl = strlen(name), np = plen + 1 + nl;
		struct stat st;
		bool nw;
		int cfd;

		if ((name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if ((++w->visited & 63) == 0 && mono_ns() > w->deadline) {
			w->stop = w->incomplete = true;
			break;
		}
		if (np >= sizeof(w->path)) {
			w->incomplete = true;
			continue;
		}
		cfd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			if (errno != ENOTDIR && errno != ENOENT)
				w->m->st.walk_errors++;
			continue;
		}
		if (fstat(cfd, &st)) {
			close(cfd);
			w->m->st.walk_errors++;
			continue;
		}
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, name, nl + 1);
		/* a delegated subtree (user@.service, rootless containers) is its
		 * owner's to name: nothing below it is read as a container */
		nw = whole && st.st_uid == 0;
		if (!nw)
			w->untrusted++;
		record(w, (uint64_t)st.st_ino, nw ? np : trusted);
		if (depth + 1 < CGMAP_MAX_DEPTH) {
			walk_dir(w, cfd, np, nw ? np : trusted, nw, depth + 1);
		} else {
			if (st.st_nlink > 2) /* it has subdirectories */
				w->incomplete = true;
			close(cfd);
		}
		w->path[plen] = 0;
	}
	closedir(d);
}

void cgmap_walk(struct cgmap *m, uint64_t now_ns)
{
	static struct walk w; /* PATH_MAX of path; one walk at a time */
	uint64_t t0 = mono_ns(), dur, gap;
	struct stat st;
	int fd;

	if (!m->root[0] || !m->buckets)
		return;
	memset(&w, 0, offsetof(struct walk, path));
	w.m = m;
	w.now_ns = now_ns;
	w.deadline = t0 + CGMAP_WALK_MAX_NS;
	w.path[0] = 0;
	m->st.walks++;
	m->walked = true;
	fd = open(m->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		m->st.walk_errors++;
		w.incomplete = true;
	} else {
		record(&w, (uint64_t)st.st_ino, 0);
		walk_dir(&w, fd, 0, 0, st.st_uid == 0, 0);
	}
	m->st.untrusted = w.untrusted;
	if (w.incomplete) {
		m->st.walks_cut++;
	} else {
		/* a full walk: what it did not find for a while is gone */
		for (size_t b = 0; b < m->nbuckets; b++)
			for (struct cgmap_ent **pp = &m->buckets[b]; *pp;) {
				if ((*pp)->seen_ns != now_ns &&
				    now_ns - (*pp)->seen_ns > CGMAP_LINGER_NS) {
					forget(m, pp);
					m->st.expired++;
				} else {
					pp = &(*pp)->next;
				}
			}
	}
	dur = mono_ns() - t0;
	m->st.last_walk_ns = dur;
	if (dur > m->st.max_walk_ns)
		m->st.max_walk_ns = dur;
	gap = 10 * dur > CGMAP_MIN_GAP_NS ? 10 * dur : CGMAP_MIN_GAP_NS;
	m->next_walk_ns = now_ns + gap;
}

/* All of it: a node with many pods has thousands of mounts. NULL when
 * unreadable or over MOUNTINFO_MAX. */
#define MOUNTINFO_MAX (64u << 20)
static char *read_mountinfo(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t n = 0, cap = 1 << 16;
	char *buf = f ? malloc(cap) : NULL, *p;

	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n + 1 < cap || ferror(f))
			break;
		if (cap >= MOUNTINFO_MAX || !(p = realloc(buf, cap * 2))) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = p;
		cap *= 2;
	}
	if (buf)
		buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

/* The root cgroup's id: the first kernfs node of the hierarchy. */
#define CGROUP_ROOT_ID 1

int cgmap_v2_mount(char *out, size_t len, bool *whole, char *err, size_t errlen)
{
	char *buf = read_mountinfo();
	struct stat st;

	*whole = false;
	if (!buf) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo");
		return -1;
	}
	if (cgmap_find_mount(buf, out, len)) {
		free(buf);
		snprintf(err, errlen, "no cgroup v2 hierarchy is mounted");
		return -1;
	}
	free(buf);
	*whole = stat(out, &st) == 0 && st.st_ino == CGROUP_ROOT_ID;
	return 0;
}

int cgmap_init(struct cgmap *m, const char *root, size_t max, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->max = max ? max : CGMAP_DEF_MAX;
	if (root) {
		snprintf(m->root, sizeof(m->root), "%s", root);
	} else if (cgmap_v2_mount(m->root, sizeof(m->root), &m->whole, err, errlen)) {
		m->root[0] = 0;
		return -1;
	}
	for (m->nbuckets = 64; m->nbuckets < m->max / 2; m->nbuckets <<= 1)
		;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->buckets) {
		m->root[0] = 0;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cgmap_walk(m, mono_ns());
	return 0;
}

void cgmap_free(struct cgmap *m)
{
	for (size_t b = 0; m->buckets && b < m->nbuckets; b++)
		while (m->buckets[b])
			forget(m, &m->buckets[b]);
	free(m->buckets);
	m->buckets = NULL;
	m->root[0] = 0;
}

const struct cg_ident *cgmap_lookup(struct cgmap *m, uint64_t id, uint64_t now_ns)
{
	struct cgmap_ent *e;

	m->st.lookups++;
	e = find(m, id);
	if (!e && m->root[0]) {
		if (now_ns >= m->next_walk_ns) {
			cgmap_walk(m, now_ns);
			e = find(m, id);
		} else {
			m->st.deferred++;
			return NULL;
		}
	}
	if (!e) {
		m->st.unresolved++;
		return NULL;
	}
	return e->ident;
}
