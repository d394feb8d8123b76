/* Unit tests for user/collect/pyevents.c: ids in order, names the kernel
 * can key (shorter than MLW_PY_EVNAME_MAX) and unique, one argument name
 * per argument a record carries (an address gives two). */
#include "check.h"
#include "collect/pyevents.h"

static void test_table(void)
{
	size_t n, sent;
	const struct pyevent_def *d = pyevent_defs(&n);

	CHECK(n == PYEV_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		CHECK(d[i].id == i + 1);
		CHECK(strlen(d[i].name) < MLW_PY_EVNAME_MAX - 1);
		CHECK(pyevent_by_name(d[i].name) == &d[i]);
		CHECK(pyevent_by_id(d[i].id) == &d[i]);
		sent = 0;
		for (int a = 0; a < MLW_PY_ARGS; a++)
			sent += d[i].arg[a] == MLW_PY_ARG_ADDR ? 2 : d[i].arg[a] != MLW_PY_ARG_SKIP;
		size_t named = 0;
		while (d[i].arg_names[named])
			named++;
		CHECK(sent == named && sent <= MLW_PY_ARGS);
		CHECK(d[i].flags & MLW_PY_S_MARKED);
	}
	CHECK(pyevent_by_id(0) == NULL && pyevent_by_id(PYEV_MAX) == NULL);
	CHECK(pyevent_by_name("import") == NULL && pyevent_by_name(NULL) == NULL);
	/* only find_class is judged for unmarked processes */
	for (size_t i = 0; i < n; i++)
		CHECK(!!(d[i].flags & MLW_PY_S_FIND_CLASS) == (d[i].id == PYEV_FIND_CLASS));
}

int main(void)
{
	RUN(test_table);
	return CHECK_DONE();
}
