/* judge_model: the reading that may unmark a loader keeps the mark when
 * the file is open for writing elsewhere or the budget is spent, and a
 * second reading of the same unchanged file comes from the cache. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "collect/exeid.h"
#include "collect/fileid.h"
#include "collect/judge.h"

static char path[] = "/tmp/mlwatch-test-judge-XXXXXX";
static struct judge j;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What the kernel would report for fd: identity and state. */
static void describe(int fd, struct mlw_open *o)
{
	struct statfs sf;
	struct statx sx;

	memset(o, 0, sizeof(*o));
	CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0);
	o->ret = fd;
	o->file.ino = sx.stx_ino;
	o->file.dev = exeid_kdev(makedev(sx.stx_dev_major, sx.stx_dev_minor));
	o->file.mnt_id = (uint32_t)sx.stx_mnt_id;
	o->file.nlink = sx.stx_nlink;
	o->file.mode = sx.stx_mode;
	o->file.size = sx.stx_size;
	o->file.ctime_ns = (uint64_t)sx.stx_ctime.tv_sec * 1000000000ull + sx.stx_ctime.tv_nsec;
	CHECK(fstatfs(fd, &sf) == 0);
	o->file.fs_magic = (uint32_t)sf.f_type;
	o->file.inode = sx.stx_ino ^ 0xffff000000000000ull; /* stands in for the address */
}

static int make_safetensors(void)
{
	static const char hdr[] =
		"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
	uint8_t len[8] = { sizeof(hdr) - 1 };
	float w[2] = { 1, 2 };
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, len, 8) == 8);
	CHECK(write(fd, hdr, sizeof(hdr) - 1) == (ssize_t)(sizeof(hdr) - 1));
	CHECK(write(fd, w, sizeof(w)) == (ssize_t)sizeof(w));
	close(fd);
	return open(path, O_RDONLY);
}

static void test_inert_then_cached(void)
{
	struct inert_verdict v;
	struct mlw_open o;
	const char *fs;
	int fd = make_safetensors();

	judge_init(&j);
	describe(fd, &o);
	if (!fileid_local_fs(&o.file, &fs)) {
		/* where the test runs decides: a network /tmp keeps the mark */
		judge_model(&j, getpid(), &o, path, now_ns(), &v);
		CHECK(!v.inert && j.st.not_local == 1);
		close(fd);
		return;
	}
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(v.inert);
	CHECK_STR(v.kind, "safetensors");
	CHECK(j.st.judged == 1 && j.st.cached == 0);
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(v.inert && j.st.judged == 1 && j.st.cached == 1);
	close(fd);
}

static void test_writer_keeps_the_mark(void)
{
	struct inert_verdict v;
	struct mlw_open o;
	int fd = open(path, O_RDONLY), w = open(path, O_RDWR);

	judge_init(&j);
	describe(fd, &o);
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(!v.inert);
	CHECK(j.st.writers == 1 || j.st.not_local == 1);
	close(w);
	/* the writer gone, the same bytes are judged (not a cached "no") */
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(v.inert || j.st.not_local == 2);
	close(fd);
}

static void test_budget_spent_keeps_the_mark(void)
{
	struct inert_verdict v;
	struct mlw_open o;
	int fd = open(path, O_RDONLY);
	uint64_t t = now_ns();

	judge_init(&j);
	describe(fd, &o);
	j.budget_ns = 0;
	j.refilled_ns = t;
	judge_model(&j, getpid(), &o, path, t, &v);
	CHECK(!v.inert && j.st.over_budget == 1 && j.st.judged == 0);
	/* a second later the budget has grown back */
	judge_model(&j, getpid(), &o, path, t + 1000000000ull, &v);
	CHECK(j.st.over_budget == 1);
	close(fd);
}

/* No reading outlasts the budget left: with almost none left, the reading
 * stops at its deadline, keeps the mark, and is counted. */
static void test_reading_stops_at_the_budget(void)
{
	struct inert_verdict v;
	struct mlw_open o;
	const char *fs;
	int fd = open(path, O_RDONLY);
	uint64_t t = now_ns();

	judge_init(&j);
	describe(fd, &o);
	if (!fileid_local_fs(&o.file, &fs)) {
		close(fd);
		return;
	}
	j.budget_ns = 1;
	j.refilled_ns = t;
	judge_model(&j, getpid(), &o, path, t, &v);
	CHECK(!v.inert && j.st.timed_out == 1 && j.st.judged == 1);
	CHECK(strstr(v.why, "ran out of time") != NULL);
	/* not kept as these bytes' verdict: with time again, read and inert */
	j.budget_ns = JUDGE_BUDGET_MAX_NS;
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(v.inert && j.st.timed_out == 1 && j.st.cached == 0 && j.st.judged == 2);
	close(fd);
}

static void test_changed_file_is_not_cached(void)
{
	struct inert_verdict v;
	struct mlw_open o;
	int fd = open(path, O_RDONLY);

	judge_init(&j);
	describe(fd, &o);
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	/* the kernel's report is of another state than the file's now */
	o.file.ctime_ns ^= 1;
	judge_model(&j, getpid(), &o, path, now_ns(), &v);
	CHECK(!v.inert && j.st.cached == 0 && j.st.unreadable == 1);
	close(fd);
}

/* FUSE, a network file system, or one mounted from a user namespace: not
 * judged, and nothing asked of the file (the pid here has no such fd). */
static void test_untrusted_fs_is_not_touched(void)
{
	struct inert_verdict v;
	struct mlw_open o = { .ret = 1000000, .file = { .ino = 1, .mode = 0100644 } };

	judge_init(&j);
	o.file.fs_magic = 0x65735546; /* FUSE */
	judge_model(&j, 1, &o, "/x.pkl", now_ns(), &v);
	CHECK(!v.inert && j.st.not_local == 1 && j.st.unreadable == 0);
	CHECK(strstr(v.why, "FUSE") != NULL);
	o.file.fs_magic = 0xEF53;
	o.file.fs_flags = MLW_FS_USERNS;
	judge_model(&j, 1, &o, "/x.pkl", now_ns(), &v);
	CHECK(!v.inert && j.st.not_local == 2 && j.st.unreadable == 0);
}

int main(void)
{
	RUN(test_inert_then_cached);
	RUN(test_writer_keeps_the_mark);
	RUN(test_budget_spent_keeps_the_mark);
	RUN(test_reading_stops_at_the_budget);
	RUN(test_changed_file_is_not_cached);
	RUN(test_untrusted_fs_is_not_touched);
	unlink(path);
	return CHECK_DONE();
}
