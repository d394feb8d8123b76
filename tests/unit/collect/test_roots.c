#include "check.h"
#include "collect/roots.h"

static void test_defaults_match_servers_not_scripts(void)
{
	struct roots r;
	const char *jup[] = { "/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "/k.json" };
	const char *vllm[] = { "python3", "-m", "vllm.entrypoints.openai.api_server" };
	const char *ray[] = { "python", "/x/ray/_private/workers/default_worker.py", "--node-ip" };
	const char *plain[] = { "python3", "train.py", "--epochs", "3" };

	roots_defaults(&r);
	CHECK(r.n_comms > 5 && r.n_interpreters > 3 && r.ray_workers);
	CHECK(roots_argv_match(&r, jup, 5, NULL) != NULL);
	CHECK(roots_argv_match(&r, vllm, 3, NULL) != NULL);
	CHECK(roots_argv_match(&r, ray, 3, NULL) != NULL);
	CHECK(roots_argv_match(&r, plain, 4, NULL) == NULL);
	CHECK(roots_argv_match(&r, plain, 0, NULL) == NULL);
}

static void test_user_additions_and_limits(void)
{
	struct roots r = { 0 };
	const char *mine[] = { "python3", "/srv/my_server.py" };

	CHECK(roots_argv_match(&r, mine, 2, NULL) == NULL);
	CHECK(roots_add_argv(&r, "*my_server.py*") == 0);
	CHECK_STR(roots_argv_match(&r, mine, 2, NULL), "*my_server.py*");
	CHECK(roots_add_comm(&r, "exactly15chars!") == 0);
	CHECK(roots_add_comm(&r, "sixteen-chars-xx") == -1);
	CHECK(roots_add_comm(&r, "") == -1);
	for (int i = 0; i < ROOTS_MAX; i++)
		roots_add_comm(&r, "x");
	CHECK(roots_add_comm(&r, "y") == -1);
}

int main(void)
{
	RUN(test_defaults_match_servers_not_scripts);
	RUN(test_user_additions_and_limits);
	return CHECK_DONE();
}
