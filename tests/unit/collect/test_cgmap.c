/* cgroup ids to identity by walking a tree: a stand-in tree of plain
 * directories (their inode numbers play the cgroup ids), and the v2 mount
 * chosen from mountinfo as hosts and containers show it. */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "collect/cgmap.h"

#define ID "4c2a3f0e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988"
#define ID2 "1111111111111111111111111111111111111111111111111111111111111111"
#define UID "8a1b2c3d-4e5f-4789-abcd-ef0123456789"
#define POD                                         \
	"kubepods.slice/kubepods-besteffort.slice/" \
	"kubepods-besteffort-pod8a1b2c3d_4e5f_4789_abcd_ef0123456789.slice"
#define CTR POD "/cri-containerd-" ID ".scope"
#define SEC 1000000000ull

static char root[64];

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* mkdir -p root/rel; returns its inode number */
static uint64_t mk(const char *rel)
{
	char p[4096], *s;
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	return stat(p, &st) ? 0 : (uint64_t)st.st_ino;
}

static uint64_t ino(const char *rel)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return stat(p, &st) ? 0 : (uint64_t)st.st_ino;
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static void fresh(void)
{
	snprintf(root, sizeof(root), "/tmp/mlw-cgmap-XXXXXX");
	CHECK(mkdtemp(root) != NULL);
}

static void test_walk_finds_containers_and_pods(void)
{
	struct cgmap m;
	const struct cg_ident *ci;
	char err[128];
	uint64_t ctr, pod, dock, plain;

	fresh();
	ctr = mk(CTR);
	pod = ino(POD);
	dock = mk("system.slice/docker-" ID2 ".scope");
	plain = mk("user.slice/user-1000.slice/session-1.scope");
	CHECK(cgmap_init(&m, root, 0, err, sizeof(err)) == 0);
	CHECK(m.st.walks == 1 && m.st.entries >= 9);
	ci = cgmap_lookup(&m, ctr, mono());
	CHECK(ci && ci->runtime == CG_RT_CONTAINERD);
	CHECK_STR(ci ? ci->container_id : NULL, ID);
	CHECK_STR(ci ? ci->pod_uid : NULL, UID);
	ci = cgmap_lookup(&m, pod, mono());
	CHECK(ci && !ci->container_id[0]);
	CHECK_STR(ci ? ci->pod_uid : NULL, UID);
	ci = cgmap_lookup(&m, dock, mono());
	CHECK(ci && ci->runtime == CG_RT_DOCKER && !ci->pod_uid[0]);
	/* known, and in no container: no identity, no walk, not unresolved */
	CHECK(cgmap_lookup(&m, plain, mono()) == NULL);
	CHECK(cgmap_lookup(&m, ino(""), mono()) == NULL);
	CHECK(m.st.walks == 1 && m.st.unresolved == 0 && m.st.lookups == 5);
	cgmap_free(&m);
	rm_tree();
}

/* A miss walks again, but not within the gap; what the walk does not find
 * is counted. */
static void test_miss_walks_rate_limited(void)
{
	struct cgmap m;
	const struct cg_ident *ci;
	char err[128];
	uint64_t now = mono(), late;

	fresh();
	mk("system.slice");
	CHECK(cgmap_init(&m, root, 0, err, sizeof(err)) == 0);
	late = mk("system.slice/docker-" ID ".scope");
	/* within the gap: held back */
	CHECK(cgmap_lookup(&m, late, m.next_walk_ns - 1) == NULL);
	CHECK(m.st.deferred == 1 && m.st.walks == 1);
	ci = cgmap_lookup(&m, late, m.next_walk_ns);
	CHECK(ci && ci->runtime == CG_RT_DOCKER);
	CHECK(m.st.walks == 2);
	now = m.next_walk_ns;
	CHECK(now > mono()); /* the gap is CGMAP_MIN_GAP_NS at least */
	CHECK(cgmap_lookup(&m, 1ull << 60, now) == NULL);
	CHECK(m.st.walks == 3 && m.st.unresolved == 1);
	cgmap_free(&m);
	rm_tree();
}

/* A cgroup that is gone is kept CGMAP_LINGER_NS for late records. */
static void test_gone_cgroups_linger(void)
{
	struct cgmap m;
	char err[128], p[4096];
	uint64_t id, t;

	fresh();
	id = mk("system.slice/docker-" ID ".scope");
	CHECK(cgmap_init(&m, root, 0, err, sizeof(err)) == 0);
	snprintf(p, sizeof(p), "%s/system.slice/docker-" ID ".scope", root);
	CHECK(rmdir(p) == 0);
	t = mono();
	cgmap_walk(&m, t + 10 * SEC);
	CHECK(cgmap_lookup(&m, id, t + 10 * SEC) != NULL);
	cgmap_walk(&m, t + CGMAP_LINGER_NS + 10 * SEC);
	CHECK(m.st.expired == 1);
	CHECK(cgmap_lookup(&m, id, t + CGMAP_LINGER_NS + 10 * SEC) == NULL);
	cgmap_free(&m);
	rm_tree();
}

/* A subtree root does not own (systemd delegates user@.service to its
 * user) names no container: its owner could call it anything. */
static void test_delegated_subtree_is_not_trusted(void)
{
	struct cgmap m;
	char err[128], p[4096];
	uint64_t fake, real;

	if (geteuid() != 0) {
		printf("note: not root, ownership not tested\n");
		return;
	}
	fresh();
	mk("user.slice/user@1000.service");
	snprintf(p, sizeof(p), "%s/user.slice/user@1000.service", root);
	CHECK(chown(p, 1000, 1000) == 0);
	fake = mk("user.slice/user@1000.service/" CTR);
	real = mk(CTR);
	CHECK(cgmap_init(&m, root, 0, err, sizeof(err)) == 0);
	CHECK(cgmap_lookup(&m, fake, mono()) == NULL);
	CHECK(cgmap_lookup(&m, real, mono()) != NULL);
	CHECK(m.st.untrusted == 5 && m.st.unresolved == 0);
	cgmap_free(&m);
	rm_tree();
}

static void test_bounds(void)
{
	struct cgmap m;
	char err[128], deep[4096] = "d";

	fresh();
	mk("a/b/c/d/e");
	CHECK(cgmap_init(&m, root, 3, err, sizeof(err)) == 0);
	CHECK(m.st.entries == 3 && m.st.full >= 1 && m.st.walks_cut == 1);
	cgmap_free(&m);
	rm_tree();

	fresh();
	for (int i = 1; i < CGMAP_MAX_DEPTH + 4; i++)
		strcat(deep, "/d");
	mk(deep);
	CHECK(cgmap_init(&m, root, 0, err, sizeof(err)) == 0);
	CHECK(m.st.entries == CGMAP_MAX_DEPTH + 1 && m.st.walks_cut == 1);
	cgmap_free(&m);
	rm_tree();

	CHECK(cgmap_init(&m, "/nonexistent-mlw", 0, err, sizeof(err)) == 0);
	CHECK(m.st.walk_errors == 1 && cgmap_lookup(&m, 5, mono()) == NULL);
	cgmap_free(&m);
}

static void test_find_mount(void)
{
	/* this project's CI host: hybrid, v2 at /sys/fs/cgroup/unified */
	const char *hybrid =
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	const char *unified =
		"25 21 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
	/* a DaemonSet pod: its own namespace's cgroup fs, then the host's
	 * mounted in, whose root sits above the pod's namespace */
	const char *pod =
		"1200 1190 0:22 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup ro\n"
		"1201 1190 0:22 /../../.. /host/sys/fs\\040cgroup ro,nosuid - cgroup2 cgroup2 rw\n"
		"1202 1190 0:22 /../.. /half ro - cgroup2 cgroup2 rw\n";
	const char *sub = "50 1 0:22 /system.slice /sub rw - cgroup2 cgroup2 rw\n"
			  "51 1 0:22 / /whole rw - cgroup2 cgroup2 rw\n";
	char out[256];

	CHECK(cgmap_find_mount(hybrid, out, sizeof(out)) == 0);
	CHECK_STR(out, "/sys/fs/cgroup/unified");
	CHECK(cgmap_find_mount(unified, out, sizeof(out)) == 0);
	CHECK_STR(out, "/sys/fs/cgroup");
	CHECK(cgmap_find_mount(pod, out, sizeof(out)) == 0);
	CHECK_STR(out, "/host/sys/fs cgroup");
	CHECK(cgmap_find_mount(sub, out, sizeof(out)) == 0);
	CHECK_STR(out, "/whole");
	CHECK(cgmap_find_mount("31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", out,
			       sizeof(out)) == -1);
	CHECK(cgmap_find_mount("", out, sizeof(out)) == -1);
	CHECK(cgmap_find_mount("garbage - cgroup2 \n1 2\n\n", out, sizeof(out)) == -1);
}

/* This machine's own mount table, read whole. */
static void test_this_host(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], err[128];
	bool v2 = false;
	struct cgmap m;

	while (f && fgets(line, sizeof(line), f))
		v2 |= strstr(line, " - cgroup2 ") != NULL;
	if (f)
		fclose(f);
	CHECK(cgmap_init(&m, NULL, 0, err, sizeof(err)) == (v2 ? 0 : -1));
	CHECK(v2 ? m.root[0] == '/' && m.st.walks == 1 && m.st.entries >= 1 :
		   strstr(err, "no cgroup v2") != NULL);
	cgmap_free(&m);
}

int main(void)
{
	RUN(test_walk_finds_containers_and_pods);
	RUN(test_miss_walks_rate_limited);
	RUN(test_gone_cgroups_linger);
	RUN(test_delegated_subtree_is_not_trusted);
	RUN(test_bounds);
	RUN(test_find_mount);
	RUN(test_this_host);
	return CHECK_DONE();
}
