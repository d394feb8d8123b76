/* The spool: order, acknowledgement, what survives a restart and a torn
 * write, the bound (oldest out, counted), and folders it must refuse. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "forward/spool.h"

static char base[] = "/tmp/mlwatch-spool-test-XXXXXX";
static int dir_n;

static void fresh(char *dir, size_t n)
{
	snprintf(dir, n, "%s/s%d", base, dir_n++);
}

static void rec(char *buf, size_t n, int i)
{
	snprintf(buf, n, "{\"record\":\"alert\",\"seq\":%d}", i);
}

static void test_order_and_commit(void)
{
	char dir[256], err[256], buf[64];
	struct spool *s;
	struct spool_batch b = { 0 };
	struct spool_stats st;

	fresh(dir, sizeof(dir));
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 10; i++) {
		rec(buf, sizeof(buf), i);
		CHECK(spool_append(s, 1, buf, strlen(buf)) == 0);
	}
	CHECK(spool_read(s, &b, 4, 1 << 20, 0) == 4);
	rec(buf, sizeof(buf), 0);
	CHECK_STR(b.v[0].data, buf);
	rec(buf, sizeof(buf), 3);
	CHECK_STR(b.v[3].data, buf);
	/* not acknowledged: read again from the same place */
	CHECK(spool_read(s, &b, 4, 1 << 20, 0) == 4);
	rec(buf, sizeof(buf), 0);
	CHECK_STR(b.v[0].data, buf);
	spool_commit(s, &b, 2);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 8);
	rec(buf, sizeof(buf), 2);
	CHECK_STR(b.v[0].data, buf);
	CHECK(b.v[0].kind == 1);
	spool_get_stats(s, &st);
	CHECK(st.records == 8);
	spool_commit(s, &b, 8);
	spool_get_stats(s, &st);
	CHECK(st.records == 0);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 0);
	spool_batch_free(&b);
	spool_close(s);
}

/* What was not acknowledged is there after a restart, in order, and a torn
 * last record (a crash mid-write) is cut off and counted. */
static void test_restart_and_torn_tail(void)
{
	char dir[256], err[256], buf[64], path[320];
	struct spool *s;
	struct spool_batch b = { 0 };
	struct spool_stats st;
	int fd;

	fresh(dir, sizeof(dir));
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 6; i++) {
		rec(buf, sizeof(buf), i);
		spool_append(s, 2, buf, strlen(buf));
	}
	CHECK(spool_read(s, &b, 3, 1 << 20, 0) == 3);
	spool_commit(s, &b, 3);
	spool_close(s); /* as a kill would leave it: no shutdown step */

	/* a torn record at the end of the segment written */
	snprintf(path, sizeof(path), "%s/%016x.seg", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd,
			    "MW\x02\x01\x40\x00\x00\x00"
			    "ab",
			    10) == 10);
		close(fd);
	}
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	spool_get_stats(s, &st);
	CHECK(st.recovered == 3);
	CHECK(st.damaged == 1);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 3);
	rec(buf, sizeof(buf), 3);
	CHECK_STR(b.v[0].data, buf);
	CHECK(b.v[0].kind == 2);
	rec(buf, sizeof(buf), 5);
	CHECK_STR(b.v[2].data, buf);
	spool_commit(s, &b, 3);
	/* new records after the recovered ones */
	spool_append(s, 1, "{\"n\":1}", 7);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 1);
	CHECK_STR(b.v[0].data, "{\"n\":1}");
	spool_batch_free(&b);
	spool_close(s);
}

/* Full: the oldest records go and are counted; the newest stay. */
static void test_bound_drops_oldest(void)
{
	char dir[256], err[256], buf[1100];
	struct spool *s;
	struct spool_batch b = { 0 };
	struct spool_stats st;
	size_t n;
	int appended = 3000;

	fresh(dir, sizeof(dir));
	s = spool_open(dir, 1 << 20, err, sizeof(err)); /* 1 MiB: about 950 records */
	CHECK(s != NULL);
	if (!s)
		return;
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < appended; i++) {
		int k = snprintf(buf, sizeof(buf), "%08d", i);

		buf[k] = 'x';
		CHECK(spool_append(s, 1, buf, 1024) == 0);
	}
	spool_get_stats(s, &st);
	CHECK(st.bytes <= 1 << 20);
	CHECK(st.dropped > 0);
	CHECK(st.records + st.dropped == (uint64_t)appended);
	n = spool_read(s, &b, 100000, 64 << 20, 0);
	CHECK(n == st.records);
	if (n) {
		char last[9];

		snprintf(last, sizeof(last), "%08d", appended - 1);
		CHECK(memcmp(b.v[n - 1].data, last, 8) == 0);
	}
	spool_batch_free(&b);
	spool_close(s);
}

/* A folder others can reach, or a link in its place, is refused. */
static void test_refuses_unsafe_folder(void)
{
	char dir[256], err[256], link[300];
	struct spool *s;

	fresh(dir, sizeof(dir));
	CHECK(mkdir(dir, 0755) == 0);
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, "reachable by nobody else") != NULL);
	chmod(dir, 0700);
	snprintf(link, sizeof(link), "%s-link", dir);
	CHECK(symlink(dir, link) == 0);
	s = spool_open(link, 1 << 20, err, sizeof(err));
	CHECK(s == NULL);
	s = spool_open("relative/path", 1 << 20, err, sizeof(err));
	CHECK(s == NULL);
}

/* A record damaged on disk after it was written costs the records of that
 * segment up to the damage's end, counted; those appended later still go. */
static void test_damage_in_live_segment(void)
{
	char dir[256], err[256], path[320], buf[64];
	struct spool *s;
	struct spool_batch b = { 0 };
	struct spool_stats st;
	int fd;

	fresh(dir, sizeof(dir));
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 4; i++) {
		rec(buf, sizeof(buf), i);
		spool_append(s, 1, buf, strlen(buf));
	}
	/* flip a byte of the second record's data (segment 1 is this run's) */
	snprintf(path, sizeof(path), "%s/%016x.seg", dir, 1);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	if (fd >= 0) {
		rec(buf, sizeof(buf), 0);
		CHECK(pwrite(fd, "#", 1, 12 + (off_t)strlen(buf) + 12 + 3) == 1);
		close(fd);
	}
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 1); /* the first, then the damage */
	spool_commit(s, &b, 1);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 0); /* skipped to the end */
	spool_get_stats(s, &st);
	CHECK(st.damaged == 3);
	CHECK(st.records == 0);
	spool_append(s, 1, "{\"after\":1}", 11);
	CHECK(spool_read(s, &b, 100, 1 << 20, 0) == 1);
	if (b.n)
		CHECK_STR(b.v[0].data, "{\"after\":1}");
	spool_get_stats(s, &st);
	CHECK(st.records == 1);
	spool_batch_free(&b);
	spool_close(s);
}

/* One spool, one mlwatch; restarts with nothing to send leave no
 * segments behind. */
static void test_lock_and_restarts(void)
{
	char dir[256], err[256];
	struct spool *s, *t;
	int segs = 0;
	DIR *d;
	struct dirent *e;

	fresh(dir, sizeof(dir));
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(s != NULL);
	t = spool_open(dir, 1 << 20, err, sizeof(err));
	CHECK(t == NULL);
	CHECK(strstr(err, "in use") != NULL);
	spool_close(s);
	for (int i = 0; i < 50; i++) {
		s = spool_open(dir, 1 << 20, err, sizeof(err));
		CHECK(s != NULL);
		if (!s)
			return;
		if (i == 25)
			spool_append(s, 1, "{}", 2); /* one left unsent midway */
		spool_close(s);
	}
	d = opendir(dir);
	while (d && (e = readdir(d)))
		segs += strstr(e->d_name, ".seg") != NULL;
	if (d)
		closedir(d);
	CHECK(segs <= 3);
	s = spool_open(dir, 1 << 20, err, sizeof(err));
	if (s) {
		struct spool_stats st;

		spool_get_stats(s, &st);
		CHECK(st.recovered == 1);
		spool_close(s);
	}
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_order_and_commit);
	RUN(test_restart_and_torn_tail);
	RUN(test_bound_drops_oldest);
	RUN(test_refuses_unsafe_folder);
	RUN(test_damage_in_live_segment);
	RUN(test_lock_and_restarts);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd))
			printf("note: could not remove %s\n", base);
	}
	return CHECK_DONE();
}
