/* The allowlist compiled for the kernel: never looser than user space. */
#include "check.h"
#include "sense/pypattern.h"

static bool side_is(const struct mlw_py_pattern *p, bool mod, int kind, const char *s)
{
	const char *v = mod ? p->mod : p->name;
	unsigned len = mod ? p->mod_len : p->name_len;

	return (mod ? p->mod_kind : p->name_kind) == kind && len == strlen(s) && !memcmp(v, s, len);
}

static void test_shapes(void)
{
	struct mlw_py_pattern p;

	CHECK(pypattern_compile("collections:OrderedDict", true, &p) == PYPAT_EXACT);
	CHECK(p.verdict == MLW_PY_V_ALLOW && side_is(&p, true, MLW_PY_M_EXACT, "collections"));
	CHECK(side_is(&p, false, MLW_PY_M_EXACT, "OrderedDict"));
	CHECK(pypattern_compile("torch.nn.*:*", true, &p) == PYPAT_EXACT);
	CHECK(side_is(&p, true, MLW_PY_M_PREFIX, "torch.nn.") && p.name_kind == MLW_PY_M_ANY);
	CHECK(pypattern_compile("torch:*Storage", true, &p) == PYPAT_EXACT);
	CHECK(side_is(&p, false, MLW_PY_M_SUFFIX, "Storage"));
	CHECK(pypattern_compile("torch.multiprocessing.reductions:rebuild_*", true, &p) ==
	      PYPAT_EXACT);
	CHECK(side_is(&p, false, MLW_PY_M_PREFIX, "rebuild_"));
	CHECK(pypattern_compile("os:*", false, &p) == PYPAT_EXACT);
	CHECK(p.verdict == MLW_PY_V_DENY && side_is(&p, true, MLW_PY_M_EXACT, "os"));
}

static void test_never_looser(void)
{
	struct mlw_py_pattern p;

	/* an allow pattern the kernel cannot match is left out: stricter */
	CHECK(pypattern_compile("a*b:c", true, &p) == PYPAT_LEFT_OUT);
	CHECK(pypattern_compile("a:b?c", true, &p) == PYPAT_LEFT_OUT);
	CHECK(pypattern_compile("a:[bc]", true, &p) == PYPAT_LEFT_OUT);
	CHECK(pypattern_compile("no-colon", true, &p) == PYPAT_LEFT_OUT);
	CHECK(pypattern_compile("x:*y*", true, &p) == PYPAT_LEFT_OUT);
	/* a deny pattern is widened to what precedes its first wildcard */
	CHECK(pypattern_compile("evil*mod:x", false, &p) == PYPAT_WIDER);
	CHECK(side_is(&p, true, MLW_PY_M_PREFIX, "evil"));
	CHECK(pypattern_compile("m:?x", false, &p) == PYPAT_WIDER);
	CHECK(p.name_kind == MLW_PY_M_ANY);
	/* too long for the kernel: left out (allow), widened (deny) */
	char longp[200];

	memset(longp, 'a', 100);
	strcpy(longp + 100, ":b");
	CHECK(pypattern_compile(longp, true, &p) == PYPAT_LEFT_OUT);
	CHECK(pypattern_compile(longp, false, &p) == PYPAT_WIDER);
	CHECK(p.mod_kind == MLW_PY_M_PREFIX && p.mod_len == MLW_PY_PAT_LEN);
}

static void test_runtime_profile(void)
{
	static struct pypattern_set set;
	size_t i, denies = 0;

	pypattern_build(&pickle_profile_runtime, &set);
	CHECK(set.n > 50 && set.n < MLW_PY_PATTERNS);
	/* deny patterns first: the kernel's first match decides */
	for (i = 0; i < set.n && set.v[i].verdict == MLW_PY_V_DENY; i++)
		denies++;
	for (; i < set.n; i++)
		CHECK(set.v[i].verdict == MLW_PY_V_ALLOW);
	CHECK(denies >= 10);
	CHECK(side_is(&set.v[0], true, MLW_PY_M_EXACT, "os") && set.v[0].name_kind == MLW_PY_M_ANY);
	/* __main__:* is in the runtime profile */
	bool main_any = false;

	for (i = 0; i < set.n; i++)
		main_any |= set.v[i].verdict == MLW_PY_V_ALLOW &&
			    side_is(&set.v[i], true, MLW_PY_M_EXACT, "__main__") &&
			    set.v[i].name_kind == MLW_PY_M_ANY;
	CHECK(main_any);
	printf("runtime: %zu patterns, %zu left out, %zu widened\n", set.n, set.left_out,
	       set.widened);
}

int main(void)
{
	RUN(test_shapes);
	RUN(test_never_looser);
	RUN(test_runtime_profile);
	return CHECK_DONE();
}
