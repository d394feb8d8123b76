/*
 * The walk of /proc at start, without BPF: the marks it would give (the
 * kernel's rules, table-tested), and a real walk over children of this
 * test that hold files (an fd, a mapping with no fd, a child forked
 * before the walk, a root by name, the twins) into a collector with no
 * sensors: its process table and its judging are checked.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "pipeline/seed.h"

static struct mlw_mark mk(u32 loader, u32 reason, u64 ns, u32 depth, u32 models)
{
	struct mlw_mark m = { .loader_tgid = loader,
			      .reason = reason,
			      .mark_ns = ns,
			      .depth = depth,
			      .models = models };

	return m;
}

static bool same(const struct mlw_mark *a, const struct mlw_mark *b)
{
	return a->loader_tgid == b->loader_tgid && a->reason == b->reason &&
	       a->mark_ns == b->mark_ns && a->depth == b->depth && a->models == b->models;
}

static void test_mark_rules(void)
{
	const u32 M = MLW_MARK_MODEL, U = MLW_MARK_USER, R = MLW_MARK_ROOT, N = MLW_MARK_NOTEBOOK,
		  P = MLW_MARK_PAYLOAD;
	struct mlw_mark loader = mk(10, M | U, 500, 1, 3), root = mk(5, R | U, 400, 0, 0),
			nb = mk(5, R | U | N, 400, 0, 0), payload = mk(10, M | P, 300, 2, 0);
	const struct {
		const struct mlw_mark *inh;
		bool root, notebook;
		u32 models;
		bool marked;
		struct mlw_mark want;
	} t[] = {
		/* nothing to go by */
		{ NULL, false, false, 0, false, { 0 } },
		/* a model file held: a lineage of its own */
		{ NULL, false, false, 2, true, mk(77, M | U, 900, 0, 2) },
		/* roots by name or command line, a notebook one */
		{ NULL, true, false, 0, true, mk(77, R | U, 900, 0, 0) },
		{ NULL, true, true, 0, true, mk(77, R | U | N, 900, 0, 0) },
		/* a root holding a model starts a model lineage, root kept */
		{ NULL, true, false, 1, true, mk(77, M | U | R, 900, 0, 1) },
		/* a loader's child: its lineage, one deeper, none of its models */
		{ &loader, false, false, 0, true, mk(10, M | U, 500, 2, 0) },
		/* ... holding models of its own: counted under that mark */
		{ &loader, false, false, 2, true, mk(10, M | U, 500, 2, 2) },
		/* ... named like a root: still the loader's (marked at exec) */
		{ &loader, true, false, 0, true, mk(10, M | U, 500, 2, 0) },
		/* a root's child: the root's lineage */
		{ &root, false, false, 0, true, mk(5, R | U, 400, 1, 0) },
		/* ... that holds a model: a model lineage, the root's reasons kept */
		{ &root, false, false, 1, true, mk(77, M | U | R, 900, 0, 1) },
		{ &nb, true, false, 1, true, mk(77, M | U | R | N, 900, 0, 1) },
		/* the kernel's payload mark is inherited as it is */
		{ &payload, false, false, 0, true, mk(10, M | P, 300, 3, 0) },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mlw_mark got;
		bool m = seed_mark_for(t[i].inh, 77, 900, t[i].root, t[i].notebook, t[i].models,
				       &got);

		if (m != t[i].marked || (m && !same(&got, &t[i].want))) {
			printf("FAIL case %zu: marked %d loader %u reason %#x ns %llu depth %u "
			       "models %u\n",
			       i, m, got.loader_tgid, got.reason, (unsigned long long)got.mark_ns,
			       got.depth, got.models);
			check_cur_failed = 1;
		}
	}
}

/* not /tmp: a tmpfs there would keep the data-only file from being judged */
static char dir[] = "/var/tmp/mlwatch-ut-seed-XXXXXX";
static char path_buf[8][512];

static const char *file(int i, const char *name, const void *data, size_t len)
{
	FILE *f;

	snprintf(path_buf[i], sizeof(path_buf[i]), "%s/%s", dir, name);
	f = fopen(path_buf[i], "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	return path_buf[i];
}

/* A child that holds path (map: mapped, fd closed; path NULL: nothing),
 * named comm, with a child of its own when kid; it says it is ready on
 * ready_fd and then waits to be killed. *kid_pid: that child. */
static pid_t holder(const char *path, bool map, const char *comm, bool kid, pid_t *kid_pid)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		pid_t k = 0;

		close(p[0]);
		if (comm)
			prctl(PR_SET_NAME, comm);
		if (path) {
			int fd = open(path, O_RDONLY);

			if (map) {
				if (mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
					_exit(2);
				close(fd);
			}
		}
		if (kid && (k = fork()) == 0) {
			pause();
			_exit(0);
		}
		if (write(p[1], &k, sizeof(k)) != sizeof(k))
			_exit(3);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], kid_pid, sizeof(*kid_pid)) != sizeof(*kid_pid))
		pid = -1;
	close(p[0]);
	return pid;
}

/* What of the walk can hide a loader is an alert: high when whole
 * processes were missed, medium when only some of their files. */
static void test_health(void)
{
	struct seed_stats st = { .listed = 10, .examined = 10, .models_cut = 3, .ms = 7 };
	struct health_alert a;

	/* past the files judged a process: its loader stays marked */
	CHECK(!seed_health(&st, &a));
	st.unnamed = 2;
	CHECK(seed_health(&st, &a));
	CHECK_STR(a.rule_id, "sensor-proc-walk-incomplete");
	CHECK_STR(a.severity, "medium");
	CHECK(a.n == 1 && !strcmp(a.counts[0].reason, "files_unnamed") && a.counts[0].count == 2);
	CHECK(a.window_ns == 7000000ull);
	st.not_examined = 4;
	st.fds_cut = 1;
	CHECK(seed_health(&st, &a));
	CHECK_STR(a.severity, "high");
	CHECK(a.n == 3 && !strcmp(a.counts[0].reason, "procs_not_examined_time") &&
	      a.counts[0].count == 4);
	memset(&st, 0, sizeof(st));
	st.list_failed = 1;
	CHECK(seed_health(&st, &a) && a.n == 1 && !strcmp(a.severity, "high"));
	/* what started mlwatch refusing even root: counted, not alerted */
	memset(&st, 0, sizeof(st));
	st.unreadable = st.ancestors_unreadable = 1;
	CHECK(!seed_health(&st, &a));
	st.unreadable = 3;
	CHECK(seed_health(&st, &a) && a.n == 1 && a.counts[0].count == 2);
	CHECK_STR(a.severity, "high");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = calloc(1, 1 << 20);

	if (f && b)
		fread(b, 1, (1 << 20) - 1, f);
	if (f)
		fclose(f);
	return b;
}

static void test_walk(void)
{
	static struct options opt;
	static struct collector c;
	/* a pickle (it can run code) and a data-only safetensors file */
	static const char pkl[] = "\x80\x04K\x01.";
	static const char st[] =
		"\x38\x00\x00\x00\x00\x00\x00\x00"
		"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}  "
		"\x00\x00\x80\x3f";
	pid_t fd_pid, fd_kid, map_pid, twin_pid, inert_pid, root_pid, root_kid, gone_pid, none;
	struct seed_stats ss;
	struct proc *p;
	char out[600];
	struct sink s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(out, sizeof(out), "%s/out.jsonl", dir);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	CHECK(roots_add_comm(&opt.roots, "seedroot") == 0);
	CHECK(sink_open(&s, out, true) == 0);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);

	fd_pid =
		holder(file(0, "evil model.pkl", pkl, sizeof(pkl) - 1), false, NULL, true, &fd_kid);
	map_pid = holder(file(1, "weights.pt", pkl, sizeof(pkl) - 1), true, NULL, false, &none);
	twin_pid = holder(file(2, "notes.txt", pkl, sizeof(pkl) - 1), false, NULL, false, &none);
	inert_pid = holder(file(3, "w.safetensors", st, sizeof(st) - 1), true, NULL, false, &none);
	root_pid = holder(NULL, false, "seedroot", true, &root_kid);
	/* unlinked after it was opened: its link ends in " (deleted)" */
	gone_pid = holder(file(4, "gone.pkl", pkl, sizeof(pkl) - 1), false, NULL, false, &none);
	unlink(path_buf[4]);
	CHECK(fd_pid > 0 && map_pid > 0 && twin_pid > 0 && inert_pid > 0 && root_pid > 0 &&
	      gone_pid > 0);

	/* no time to read files: the bound is counted, and what needs no
	 * file (a root by name, its child) is marked still */
	CHECK(seed_run(&c, 0, &ss) == 0);
	CHECK(ss.not_examined == ss.listed - ss.late && !ss.examined && !ss.models &&
	      ss.roots >= 1);
	/* said where alerts go, and exported */
	CHECK(c.seed == &ss);
	{
		char *o = slurp(out), want[96];

		snprintf(want, sizeof(want), "\"procs_not_examined_time\":%llu",
			 (unsigned long long)ss.not_examined);
		CHECK(o && strstr(o, "\"sensor-proc-walk-incomplete\"") && strstr(o, want));
		free(o);
	}
	CHECK(!proctable_get(&c.pt, (u32)fd_pid) && !proctable_get(&c.pt, (u32)map_pid));
	p = proctable_get(&c.pt, (u32)root_kid);
	CHECK(p && p->loader == (u32)root_pid);
	collector_free(&c);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);

	CHECK(seed_run(&c, SEED_TIME_MS, &ss) == 0);
	CHECK(!ss.not_examined && ss.examined == ss.listed - ss.late);
	CHECK(ss.loaders >= 4 && ss.roots >= 1 && ss.descendants >= 2 && ss.models >= 3);
	/* the kernel's own cgroup ids (no v2 mount is given here) */
	CHECK(ss.no_cgroup == 0);

	/* held open, with a child forked before the walk */
	p = proctable_get(&c.pt, (u32)fd_pid);
	CHECK(p && p->loader == (u32)fd_pid && p->mark_ns && p->model.resolved_path &&
	      !strcmp(p->model.resolved_path, path_buf[0]) && p->model_state == MODEL_CONFIRMED);
	p = proctable_get(&c.pt, (u32)fd_kid);
	CHECK(p && p->loader == (u32)fd_pid && p->parent == (u32)fd_pid && !p->n_models);
	/* mapped only: found in maps, judged through the mapping */
	p = proctable_get(&c.pt, (u32)map_pid);
	CHECK(p && p->loader == (u32)map_pid && p->model.path &&
	      !strcmp(p->model.path, path_buf[1]) && p->model_state == MODEL_CONFIRMED);
	/* data only, proven through its mapping: cleared as for a kernel open */
	p = proctable_get(&c.pt, (u32)inert_pid);
	CHECK(p && p->loader == (u32)inert_pid && p->model_state == MODEL_INERT);
	CHECK(c.st.models_inert >= 1 && c.st.models_confirmed >= 2);
	/* a root by name, and its child in its lineage */
	p = proctable_get(&c.pt, (u32)root_pid);
	CHECK(p && p->loader == (u32)root_pid && !p->n_models);
	p = proctable_get(&c.pt, (u32)root_kid);
	CHECK(p && p->loader == (u32)root_pid);
	p = proctable_get(&c.pt, (u32)gone_pid);
	CHECK(p && p->loader == (u32)gone_pid && p->model.path &&
	      !strcmp(p->model.path, path_buf[4]));
	/* the twin holds a text file: not marked, not in the table */
	CHECK(!proctable_get(&c.pt, (u32)twin_pid));
	/* this test process is no loader of anything */
	CHECK(!proctable_get(&c.pt, (u32)getpid()));

	{
		pid_t all[] = { fd_kid,   root_kid,  fd_pid,   map_pid,
				twin_pid, inert_pid, root_pid, gone_pid };

		for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
			if (all[k] > 0)
				kill(all[k], SIGKILL);
		for (size_t k = 2; k < sizeof(all) / sizeof(all[0]); k++)
			if (all[k] > 0)
				waitpid(all[k], NULL, 0);
	}
	collector_free(&c);
	sink_close(&s);
	for (int i = 0; i < 4; i++)
		unlink(path_buf[i]);
	unlink(out);
	rmdir(dir);
}

int main(void)
{
	alarm(120); /* a holder left behind must not hang the suite */
	RUN(test_mark_rules);
	RUN(test_health);
	if (geteuid() != 0) {
		printf("SKIP test_walk: needs root (other processes' fds and maps)\n");
	} else {
		RUN(test_walk);
	}
	return CHECK_DONE();
}
