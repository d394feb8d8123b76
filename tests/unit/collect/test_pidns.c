/* Whether mlwatch sees the PIDs the kernel reports: NSpid lines, this
 * process (the host's namespace), and a child in a PID namespace of its
 * own (root only). */
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "collect/pidns.h"

static void test_nspid(void)
{
	CHECK(pidns_nspid_count("Name:\tx\nNSpid:\t42\nNSpgid:\t42\n") == 1);
	CHECK(pidns_nspid_count("NSpid:\t4242\t7\t1\n") == 3);
	CHECK(pidns_nspid_count("Name:\tx\nNSpid:\t12 1") == 2);
	CHECK(pidns_nspid_count("Name:\tx\n") == 0);
	CHECK(pidns_nspid_count("Name:\tNSpid: 1 2\nNSpid:\n") == 0);
	CHECK(pidns_nspid_count("") == 0);
}

static void test_host(void)
{
	char why[512] = "";

	CHECK(pidns_check(why, sizeof(why)) == 0);
	CHECK(!why[0]);
}

static void test_own_namespace(void)
{
	int st = 0;
	pid_t pid;

	if (geteuid() != 0 || unshare(CLONE_NEWPID) != 0) {
		printf("SKIP test_own_namespace: cannot make a PID namespace here\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		char why[512] = "";

		/* pid 1 of its namespace, the host's /proc */
		_exit(getpid() == 1 && pidns_check(why, sizeof(why)) == -1 &&
				      strstr(why, "PID namespace of its own") &&
				      strstr(why, "hostPID: true") ?
			      0 :
			      1);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	RUN(test_nspid);
	RUN(test_host);
	RUN(test_own_namespace);
	return CHECK_DONE();
}
