/*
 * /proc as the walk at start reads it: stat lines with hostile names, maps
 * lines with spaces, escaped newlines and " (deleted)", and this process's
 * own fds and mappings of files with such names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "collect/procwalk.h"

static const char tail[] = " S 1 100 100 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 123456 1000 "
			   "200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";

static int parse(const char *head, struct procwalk_stat *st)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", head, tail);
	return procwalk_parse_stat(buf, strlen(buf), st);
}

static void test_stat(void)
{
	struct procwalk_stat st;
	char buf[256];

	CHECK(parse("42 (python3)", &st) == 0);
	CHECK(st.pid == 42 && st.ppid == 1 && st.state == 'S' && st.start_ticks == 123456 &&
	      st.vsize == 1000);
	CHECK(st.flags == 4194560 && !(st.flags & PROCWALK_PF_KTHREAD));
	CHECK_STR(st.comm, "python3");
	/* a name with spaces and parentheses: up to the last ')' */
	CHECK(parse("7 (a) S 9 (b))", &st) == 0);
	CHECK(st.pid == 7 && st.ppid == 1 && st.start_ticks == 123456);
	CHECK_STR(st.comm, "a) S 9 (b)");
	CHECK(parse("7 ()", &st) == 0 && !st.comm[0]);
	/* a kernel thread */
	snprintf(buf, sizeof(buf),
		 "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == 0);
	CHECK(st.ppid == 0 && (st.flags & PROCWALK_PF_KTHREAD) && st.start_ticks == 1);
	/* broken lines */
	CHECK(procwalk_parse_stat("", 0, &st) == -EINVAL);
	CHECK(procwalk_parse_stat("42 (x", 5, &st) == -EINVAL);
	CHECK(procwalk_parse_stat("42 (x)", 6, &st) == -EINVAL);
	snprintf(buf, sizeof(buf), "42 (x) S 1 2 3");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	/* up to starttime, no vsize */
	snprintf(buf, sizeof(buf), "5 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	snprintf(buf, sizeof(buf), "x (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	snprintf(buf, sizeof(buf), "0 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	snprintf(buf, sizeof(buf), "5 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 1x9 20");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	snprintf(buf, sizeof(buf), "5 (x) S -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20");
	CHECK(procwalk_parse_stat(buf, strlen(buf), &st) == -EINVAL);
	/* not NUL-terminated: len is the bound */
	memcpy(buf, "42 (python3)", 12);
	CHECK(procwalk_parse_stat(buf, 12, &st) == -EINVAL);
	/* this process */
	CHECK(procwalk_read_stat((uint32_t)getpid(), &st) == 0 && st.pid == (uint32_t)getpid() &&
	      st.ppid == (uint32_t)getppid() && st.start_ticks > 0);
	{
		uint32_t uid = 12345;

		CHECK(procwalk_read_uid((uint32_t)getpid(), &uid) == 0 && uid == getuid());
	}
}

static void test_maps_line(void)
{
	struct procwalk_map m;
	char l[512];

	strcpy(l, "7f00-7f10 r--p 00001000 fd:01 1234                       /srv/m odel.pkl\n");
	CHECK(procwalk_parse_maps_line(l, &m));
	CHECK(m.start == 0x7f00 && m.end == 0x7f10 && m.inode == 1234 && m.dev_major == 0xfd &&
	      m.dev_minor == 1 && !m.deleted);
	CHECK_STR(m.path, "/srv/m odel.pkl");
	/* an unlinked file; a name ending in spaces */
	strcpy(l, "7f00-7f10 r--p 00000000 08:02 99 /tmp/x.pt (deleted)\n");
	CHECK(procwalk_parse_maps_line(l, &m) && m.deleted);
	CHECK_STR(m.path, "/tmp/x.pt");
	strcpy(l, "7f00-7f10 r--p 00000000 08:02 99 /tmp/x.pt  \n");
	CHECK(procwalk_parse_maps_line(l, &m) && !m.deleted);
	CHECK_STR(m.path, "/tmp/x.pt  ");
	/* newlines in names are written as \012 */
	strcpy(l, "7f00-7f10 r--p 00000000 08:02 99 /tmp/a\\012b.pkl\n");
	CHECK(procwalk_parse_maps_line(l, &m));
	CHECK_STR(m.path, "/tmp/a\\012b.pkl");
	CHECK(procwalk_unescape_maps(m.path));
	CHECK_STR(m.path, "/tmp/a\nb.pkl");
	/* anonymous and special mappings */
	strcpy(l, "7f00-7f10 rw-p 00000000 00:00 0 \n");
	CHECK(procwalk_parse_maps_line(l, &m) && !m.inode && !m.path[0]);
	strcpy(l, "7f00-7f10 rw-p 00000000 00:00 0                          [heap]");
	CHECK(procwalk_parse_maps_line(l, &m) && !m.inode);
	CHECK_STR(m.path, "[heap]");
	/* not maps lines */
	strcpy(l, "7f00-7f10 r--p 00000000 08:02\n");
	CHECK(!procwalk_parse_maps_line(l, &m));
	strcpy(l, "garbage\n");
	CHECK(!procwalk_parse_maps_line(l, &m));
	strcpy(l, "");
	CHECK(!procwalk_parse_maps_line(l, &m));
}

static void test_suffixes(void)
{
	char p[64];

	strcpy(p, "/m.pkl (deleted)");
	CHECK(procwalk_cut_deleted(p));
	CHECK_STR(p, "/m.pkl");
	strcpy(p, "/m.pkl (deleted) (deleted)");
	CHECK(procwalk_cut_deleted(p));
	CHECK_STR(p, "/m.pkl (deleted)");
	strcpy(p, " (deleted)");
	CHECK(!procwalk_cut_deleted(p));
	strcpy(p, "/m.pkl(deleted)");
	CHECK(!procwalk_cut_deleted(p));
	strcpy(p, "/a\\01");
	CHECK(!procwalk_unescape_maps(p));
	CHECK_STR(p, "/a\\01");
	strcpy(p, "\\012\\012x\\0122");
	CHECK(procwalk_unescape_maps(p));
	CHECK_STR(p, "\n\nx\n2");
}

struct found {
	const char *want;
	int fds, maps;
	bool maps_deleted;
};

static void on_fd(void *ctx, int fd, char *path)
{
	struct found *f = ctx;

	(void)fd;
	f->fds += !strcmp(path, f->want);
}

static void on_map(void *ctx, const struct procwalk_map *m)
{
	struct found *f = ctx;
	char p[1024];

	snprintf(p, sizeof(p), "%s", m->path);
	procwalk_unescape_maps(p);
	if (!strcmp(p, f->want)) {
		f->maps++;
		f->maps_deleted |= m->deleted;
	}
}

/* A file named with a space and a newline, opened and mapped by this
 * process, then unlinked: its fd link ends in " (deleted)", its maps line
 * is escaped and marked deleted. */
static void test_own_files(void)
{
	char dir[] = "/tmp/mlwatch-ut-pw-XXXXXX", path[256], gone[300];
	struct found f = { 0 };
	bool cut = true;
	uint64_t unnamed = 1;
	void *map;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a b\nc.pkl", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	map = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(map != MAP_FAILED);
	f.want = path;
	CHECK(procwalk_fds((uint32_t)getpid(), 4096, on_fd, &f, &cut, &unnamed) > 0 && !cut);
	CHECK(procwalk_maps((uint32_t)getpid(), 100000, on_map, &f, &cut, &unnamed) > 0 && !cut);
	CHECK(unnamed == 0);
	CHECK(f.fds == 1 && f.maps == 1 && !f.maps_deleted);

	unlink(path);
	snprintf(gone, sizeof(gone), "%s (deleted)", path);
	memset(&f, 0, sizeof(f));
	f.want = gone;
	procwalk_fds((uint32_t)getpid(), 4096, on_fd, &f, &cut, &unnamed);
	CHECK(f.fds == 1);
	f.want = path;
	procwalk_maps((uint32_t)getpid(), 100000, on_map, &f, &cut, &unnamed);
	CHECK(f.maps == 1 && f.maps_deleted);

	/* the bounds: one fd, a few lines */
	procwalk_fds((uint32_t)getpid(), 1, on_fd, &f, &cut, &unnamed);
	CHECK(cut);
	procwalk_maps((uint32_t)getpid(), 2, on_map, &f, &cut, &unnamed);
	CHECK(cut);
	/* a process that is not there */
	CHECK(procwalk_fds(0x7ffffff0u, 10, on_fd, &f, &cut, &unnamed) < 0);
	CHECK(procwalk_maps(0x7ffffff0u, 10, on_map, &f, &cut, &unnamed) < 0);
	munmap(map, 1);
	close(fd);
	rmdir(dir);
}

struct tail {
	const char *want; /* the path ends so */
	int fds, maps;
};

static bool ends(const char *s, const char *t)
{
	size_t n = strlen(s), k = strlen(t);

	return n >= k && !strcmp(s + n - k, t);
}

static void on_fd_tail(void *ctx, int fd, char *path)
{
	struct tail *t = ctx;

	(void)fd;
	t->fds += ends(path, t->want);
}

static void on_map_tail(void *ctx, const struct procwalk_map *m)
{
	struct tail *t = ctx;

	t->maps += ends(m->path, t->want);
}

/* A model under a path longer than PATH_MAX (anyone can make one, a
 * directory at a time): its fd's name the kernel will not give, so it is
 * counted, never dropped unsaid; its maps line is read whole. */
static void test_long_names(void)
{
	char dir[] = "/tmp/mlwatch-ut-pwl-XXXXXX", comp[201];
	enum { DEPTH = PATH_MAX / 200 + 2 };
	struct tail t = { .want = "/m.pkl" };
	uint64_t unnamed = 0;
	int lv[DEPTH + 1], d, fd;
	bool cut;
	void *map;

	memset(comp, 'd', 200);
	comp[200] = 0;
	CHECK(mkdtemp(dir) != NULL);
	lv[0] = open(dir, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < DEPTH; i++) {
		CHECK(lv[i] >= 0 && mkdirat(lv[i], comp, 0700) == 0);
		lv[i + 1] = openat(lv[i], comp, O_RDONLY | O_DIRECTORY);
	}
	d = lv[DEPTH];
	CHECK(d >= 0);
	fd = openat(d, "m.pkl", O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	map = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(map != MAP_FAILED);
	CHECK(procwalk_fds((uint32_t)getpid(), 4096, on_fd_tail, &t, &cut, &unnamed) > 0);
	CHECK(t.fds == 0 && unnamed >= 1); /* the deepest directories too */
	CHECK(procwalk_maps((uint32_t)getpid(), 100000, on_map_tail, &t, &cut, &unnamed) > 0);
	CHECK(t.maps == 1 && unnamed == 0 && !cut);
	printf("  a %d-byte path: the fd counted unnamed, the mapping read whole\n",
	       (int)strlen(dir) + DEPTH * 201 + 6);
	munmap(map, 1);
	close(fd);
	unlinkat(d, "m.pkl", 0);
	for (int i = DEPTH; i > 0; i--) {
		close(lv[i]);
		unlinkat(lv[i - 1], comp, AT_REMOVEDIR);
	}
	close(lv[0]);
	rmdir(dir);
}

/* The fallback's lookup never leaves the mount it is given: a "0::" path
 * read inside a cgroup namespace starts "/..", relative to the namespace's
 * root, and from the mount's root it would reach a directory outside. */
static void test_cgroup_lookup(void)
{
	char dir[] = "/tmp/mlwatch-ut-cg-XXXXXX", p[PATH_MAX];
	struct stat in, out;
	int root;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/mnt", dir);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/mnt/kubepods.slice", dir);
	CHECK(mkdir(p, 0700) == 0 && stat(p, &in) == 0);
	snprintf(p, sizeof(p), "%s/kubepods.slice", dir); /* beside the mount */
	CHECK(mkdir(p, 0700) == 0 && stat(p, &out) == 0);
	snprintf(p, sizeof(p), "%s/mnt", dir);
	root = open(p, O_RDONLY | O_DIRECTORY);
	CHECK(root >= 0);
	CHECK(procwalk_cgroup_lookup(root, "/kubepods.slice", true) == in.st_ino);
	CHECK(procwalk_cgroup_lookup(root, "/", true) != 0);
	/* a path from inside a cgroup namespace is not one under the mount */
	CHECK(procwalk_cgroup_lookup(root, "/kubepods.slice", false) == 0);
	CHECK(procwalk_cgroup_lookup(root, "/../kubepods.slice", true) == 0);
	CHECK(procwalk_cgroup_lookup(root, "/kubepods.slice/../../kubepods.slice", true) == 0);
	CHECK(procwalk_cgroup_lookup(root, "/./kubepods.slice", true) == 0);
	CHECK(procwalk_cgroup_lookup(root, "kubepods.slice", true) == 0);
	CHECK(procwalk_cgroup_lookup(root, "/nothing", true) == 0);
	CHECK(procwalk_cgroup_lookup(-1, "/kubepods.slice", true) == 0);
	/* a name that only starts with dots is a name */
	snprintf(p, sizeof(p), "%s/mnt/..x", dir);
	CHECK(mkdir(p, 0700) == 0 && stat(p, &in) == 0);
	CHECK(procwalk_cgroup_lookup(root, "/..x", true) == in.st_ino);
	close(root);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/kubepods.slice", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/mnt/kubepods.slice", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/mnt", dir);
	rmdir(p);
	rmdir(dir);
}

/* This process's own id: the kernel's (its cgroup directory's inode), or
 * from the path on a kernel without PIDFD_GET_INFO; 0 for no process. */
static void test_cgroup_id_self(void)
{
	char line[4096], mnt[PATH_MAX] = "", p[PATH_MAX + 4096];
	struct stat st;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int root;

	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		char r[PATH_MAX], m[PATH_MAX];

		if (strstr(line, " - cgroup2 ") &&
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) == 2 && !strcmp(r, "/"))
			snprintf(mnt, sizeof(mnt), "%s", m);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::/", 4))
			break;
	if (f)
		fclose(f);
	if (!mnt[0] || strncmp(line, "0::/", 4) || strstr(line, "/..")) {
		printf("  no cgroup v2 mount of this namespace's root: skipped\n");
		return;
	}
	line[strcspn(line, "\n")] = 0;
	snprintf(p, sizeof(p), "%s%s", mnt, line + 3);
	CHECK(stat(p, &st) == 0);
	root = open(mnt, O_RDONLY | O_DIRECTORY);
	CHECK(procwalk_cgroup_id((uint32_t)getpid(), root) == st.st_ino);
	CHECK(procwalk_cgroup_id(0x7ffffff0u, root) == 0);
	close(root);
}

int main(void)
{
	RUN(test_stat);
	RUN(test_maps_line);
	RUN(test_suffixes);
	RUN(test_own_files);
	RUN(test_long_names);
	RUN(test_cgroup_lookup);
	RUN(test_cgroup_id_self);
	return CHECK_DONE();
}
