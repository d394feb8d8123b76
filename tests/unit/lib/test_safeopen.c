#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/safeopen.h"

#define NOBODY 65534

static char dir[] = "/tmp/mlwatch-so-XXXXXX";
static char err[2048];

/* A FIFO that blocks the open would hang the test: fail it instead. */
static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: an open blocked (alarm)\n0 passed, 1 failed\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static const char *at(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
}

static bool has(const char *needle)
{
	if (strstr(err, needle))
		return true;
	printf("  message \"%s\" lacks \"%s\"\n", err, needle);
	return false;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_config_good(void)
{
	char buf[16] = "";
	int fd, cwd;

	put(at("good.json"), "{}", 0644);
	fd = safeopen_config(at("good.json"), err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(read(fd, buf, sizeof(buf)) == 2 && !strcmp(buf, "{}"));
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	put(at("ro.json"), "{}", 0400);
	fd = safeopen_config(at("ro.json"), err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	/* a bare name: the current directory is checked */
	cwd = open(".", O_PATH | O_DIRECTORY);
	CHECK(cwd >= 0 && chdir(dir) == 0);
	fd = safeopen_config("good.json", err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(fchdir(cwd) == 0);
	close(cwd);
}

static void test_config_symlink(void)
{
	put(at("target.json"), "{}", 0644);
	unlink(at("link.json"));
	CHECK(symlink(at("target.json"), at("link.json")) == 0);
	CHECK(safeopen_config(at("link.json"), err, sizeof(err)) == -ELOOP);
	CHECK(has("link.json: is a symbolic link; refusing"));
	unlink(at("link.json"));
}

static void test_config_fifo(void)
{
	double t0 = now();

	unlink(at("fifo.json"));
	CHECK(mkfifo(at("fifo.json"), 0600) == 0);
	alarm(5);
	CHECK(safeopen_config(at("fifo.json"), err, sizeof(err)) == -EINVAL);
	alarm(0);
	CHECK(now() - t0 < 1.0);
	CHECK(has("fifo.json: not a regular file (a FIFO); refusing"));
	unlink(at("fifo.json"));
}

static void test_config_not_a_file(void)
{
	CHECK(safeopen_config(dir, err, sizeof(err)) == -EINVAL);
	CHECK(has(": not a regular file (a directory); refusing"));
	CHECK(safeopen_config(at("none.json"), err, sizeof(err)) == -ENOENT);
	CHECK(has("none.json: cannot open: No such file or directory"));
	CHECK(safeopen_config(at("nodir/x.json"), err, sizeof(err)) == -ENOENT);
	CHECK(safeopen_config("/dev/null", err, sizeof(err)) == -EINVAL);
	CHECK(has("/dev/null: not a regular file (a character device); refusing"));
	CHECK(safeopen_config("", err, sizeof(err)) == -ENOENT);
}

static void test_config_writable(void)
{
	put(at("g.json"), "{}", 0664);
	CHECK(safeopen_config(at("g.json"), err, sizeof(err)) == -EPERM);
	CHECK(has("g.json: writable by group/others (mode 0664); refusing"));
	put(at("o.json"), "{}", 0646);
	CHECK(safeopen_config(at("o.json"), err, sizeof(err)) == -EPERM);
	CHECK(has("o.json: writable by group/others (mode 0646); refusing"));
	/* a hostile name stays one line in the message */
	put(at("a\nb.json"), "{}", 0666);
	CHECK(safeopen_config(at("a\nb.json"), err, sizeof(err)) == -EPERM);
	CHECK(has("a\\nb.json: writable") && !strchr(err, '\n'));
	unlink(at("a\nb.json"));
}

static void test_config_other_owner(void)
{
	if (geteuid() != 0) {
		printf("  skipped: chown needs root\n");
		return;
	}
	put(at("nobody.json"), "{}", 0644);
	CHECK(chown(at("nobody.json"), NOBODY, NOBODY) == 0);
	CHECK(safeopen_config(at("nobody.json"), err, sizeof(err)) == -EPERM);
	CHECK(has("nobody.json: owned by uid 65534 (only root may own it); refusing"));
}

static void test_config_directory(void)
{
	int fd;

	mkdir(at("open"), 0700);
	CHECK(chmod(at("open"), 0777) == 0);
	put(at("open/r.json"), "{}", 0644);
	CHECK(safeopen_config(at("open/r.json"), err, sizeof(err)) == -EPERM);
	CHECK(has("r.json: its directory ") &&
	      has("/open is writable by group/others (mode 0777)"));
	CHECK(chmod(at("open"), 0775) == 0);
	CHECK(safeopen_config(at("open/r.json"), err, sizeof(err)) == -EPERM);
	/* sticky, as /tmp: others cannot replace a file they do not own */
	CHECK(chmod(at("open"), 01777) == 0);
	fd = safeopen_config(at("open/r.json"), err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(chmod(at("open"), 0755) == 0);
	fd = safeopen_config(at("open/r.json"), err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	if (geteuid() == 0) {
		CHECK(chown(at("open"), NOBODY, NOBODY) == 0);
		CHECK(safeopen_config(at("open/r.json"), err, sizeof(err)) == -EPERM);
		CHECK(has("/open is owned by uid 65534 (only root may own it)"));
	}
	unlink(at("open/r.json"));
	rmdir(at("open"));
}

static void test_output_created_0600(void)
{
	mode_t old = umask(0);
	struct stat st;
	char buf[16] = "";
	int fd;

	unlink(at("out.log"));
	fd = safeopen_output(at("out.log"), err, sizeof(err));
	umask(old);
	CHECK(fd >= 0);
	CHECK(stat(at("out.log"), &st) == 0 && (st.st_mode & 07777) == 0600);
	if (fd >= 0) {
		CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFL) & O_APPEND));
		CHECK(write(fd, "a\n", 2) == 2);
		close(fd);
	}
	/* appended, never truncated */
	fd = safeopen_output(at("out.log"), err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, "b\n", 2) == 2);
		close(fd);
	}
	fd = open(at("out.log"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && !strcmp(buf, "a\nb\n"));
	if (fd >= 0)
		close(fd);
	fd = safeopen_output("/dev/null", err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
}

static void test_output_symlink(void)
{
	struct stat st;
	char buf[16] = "";
	int fd;

	put(at("victim"), "keep", 0644);
	unlink(at("alerts.log"));
	CHECK(symlink(at("victim"), at("alerts.log")) == 0);
	CHECK(safeopen_output(at("alerts.log"), err, sizeof(err)) == -ELOOP);
	CHECK(has("alerts.log: is a symbolic link; refusing"));
	fd = open(at("victim"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && !strcmp(buf, "keep"));
	if (fd >= 0)
		close(fd);
	/* dangling: the target is not created either */
	unlink(at("alerts.log"));
	CHECK(symlink(at("created"), at("alerts.log")) == 0);
	CHECK(safeopen_output(at("alerts.log"), err, sizeof(err)) == -ELOOP);
	CHECK(lstat(at("created"), &st) < 0 && errno == ENOENT);
	unlink(at("alerts.log"));
}

static void test_output_other_owner_and_links(void)
{
	double t0;

	put(at("mine.log"), "", 0600);
	unlink(at("hard.log"));
	CHECK(link(at("mine.log"), at("hard.log")) == 0);
	CHECK(safeopen_output(at("hard.log"), err, sizeof(err)) == -EMLINK);
	CHECK(has("hard.log: has 2 hard links"));
	unlink(at("hard.log"));
	if (geteuid() == 0) {
		put(at("theirs.log"), "", 0666);
		CHECK(chown(at("theirs.log"), NOBODY, NOBODY) == 0);
		CHECK(safeopen_output(at("theirs.log"), err, sizeof(err)) == -EPERM);
		CHECK(has("theirs.log: owned by uid 65534, not by us (uid 0); refusing"));
	} else {
		printf("  skipped: chown needs root\n");
	}
	unlink(at("out.fifo"));
	CHECK(mkfifo(at("out.fifo"), 0600) == 0);
	t0 = now();
	alarm(5);
	CHECK(safeopen_output(at("out.fifo"), err, sizeof(err)) == -EINVAL);
	alarm(0);
	CHECK(now() - t0 < 1.0);
	CHECK(has("out.fifo: not a regular file (a FIFO); refusing"));
}

int main(void)
{
	static const char *const made[] = {
		"good.json", "ro.json", "target.json", "g.json",     "o.json",   "nobody.json",
		"out.log",   "victim",  "mine.log",    "theirs.log", "out.fifo",
	};

	signal(SIGALRM, on_alarm);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_config_good);
	RUN(test_config_symlink);
	RUN(test_config_fifo);
	RUN(test_config_not_a_file);
	RUN(test_config_writable);
	RUN(test_config_other_owner);
	RUN(test_config_directory);
	RUN(test_output_created_0600);
	RUN(test_output_symlink);
	RUN(test_output_other_owner_and_links);
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		unlink(at(made[i]));
	rmdir(dir);
	return CHECK_DONE();
}
