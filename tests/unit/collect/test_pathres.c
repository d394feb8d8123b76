#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "collect/pathres.h"

static void test_absolute_kept(void)
{
	char out[PATH_MAX];

	CHECK(path_normalize("/ignored", "/etc/passwd", out, sizeof(out)) == 0);
	CHECK_STR(out, "/etc/passwd");
}

static void test_relative_joined(void)
{
	char out[PATH_MAX];

	CHECK(path_normalize("/home/u", ".aws/credentials", out, sizeof(out)) == 0);
	CHECK_STR(out, "/home/u/.aws/credentials");
}

static void test_dots_removed(void)
{
	char out[PATH_MAX];

	CHECK(path_normalize("/a/b", "../c/./d//e/..", out, sizeof(out)) == 0);
	CHECK_STR(out, "/a/c/d");
	CHECK(path_normalize("/", "../../..", out, sizeof(out)) == 0);
	CHECK_STR(out, "/");
	CHECK(path_normalize("/tmp/", "x/", out, sizeof(out)) == 0);
	CHECK_STR(out, "/tmp/x");
}

static void test_too_long_refused(void)
{
	char out[16];

	CHECK(path_normalize("/", "/aaaaaaaaaaaaaaaaaaaaaaaaa", out, sizeof(out)) == -ENAMETOOLONG);
	CHECK(out[0] == 0);
}

static void test_relative_base_refused(void)
{
	char out[64];

	CHECK(path_normalize("rel", "x", out, sizeof(out)) == -EINVAL);
}

static void test_resolve_against_own_cwd(void)
{
	char out[PATH_MAX], cwd[PATH_MAX / 2], want[PATH_MAX];

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(want, sizeof(want), "%s/sub/file.pkl", strcmp(cwd, "/") ? cwd : "");
	CHECK(path_resolve(getpid(), -100, "sub/./file.pkl", out, sizeof(out)) == 0);
	CHECK_STR(out, want);
}

static void test_resolve_gone_process(void)
{
	char out[PATH_MAX];

	/* pid 0x7ffffff0 cannot exist: keep the bare path and say so */
	CHECK(path_resolve(0x7ffffff0, -100, "x.pkl", out, sizeof(out)) < 0);
	CHECK_STR(out, "x.pkl");
}

int main(void)
{
	RUN(test_absolute_kept);
	RUN(test_relative_joined);
	RUN(test_dots_removed);
	RUN(test_too_long_refused);
	RUN(test_relative_base_refused);
	RUN(test_resolve_against_own_cwd);
	RUN(test_resolve_gone_process);
	return CHECK_DONE();
}
