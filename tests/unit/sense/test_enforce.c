#include <stdlib.h>
#include "check.h"
#include "detect/rulefile.h"
#include "sense/enforce.h"
#include <mlwatch/events.h>

static uint32_t mask_of(const struct enforce_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n_names; i++)
		if (!strcmp(p->names[i], name))
			return p->name_masks[i];
	return 0;
}

static struct ruleset *parse(const char *text)
{
	struct rule_errors e;
	struct ruleset *rs = NULL;

	rule_errors_init(&e);
	if (ruleset_parse(text, strlen(text), "t.json", &rs, &e))
		rule_errors_print(&e, stdout);
	rule_errors_free(&e);
	return rs;
}

static void test_enforce_builtins(void)
{
	struct ruleset *rs = parse("{\"version\": 1}");
	struct enforce_plan p;

	CHECK(rs != NULL);
	CHECK(enforce_plan_build(&p, rs, false, NULL) == 0);
	CHECK(p.n_names == 0 && !p.external_mask);
	CHECK(enforce_plan_build(&p, rs, true, NULL) == 11);
	CHECK(mask_of(&p, "sh") == MLW_MARK_MODEL && mask_of(&p, "bash") == MLW_MARK_MODEL);
	CHECK(mask_of(&p, "curl") == MLW_MARK_MODEL && mask_of(&p, "nc") == MLW_MARK_MODEL);
	/* miners are killed under roots too; shells are a root's normal jobs */
	CHECK(mask_of(&p, "xmrig") == (MLW_MARK_MODEL | MLW_MARK_ROOT));
	CHECK(mask_of(&p, "python3") == 0 && mask_of(&p, "gcc") == 0);
	/* the loader run as a program is a shell's way around its name */
	CHECK(mask_of(&p, "ld-linux-x86-64.so.2") == MLW_MARK_MODEL);
	CHECK(p.temp_mask == MLW_MARK_MODEL && p.fileless_mask == (MLW_MARK_MODEL | MLW_MARK_ROOT));
	/* external connects only while a model loads: the job's own traffic
	 * afterwards is not killed */
	CHECK(p.external_mask == 0 && p.external_load_mask == MLW_MARK_MODEL);
	CHECK(p.metadata_mask == MLW_MARK_ROOT && p.metadata_load_mask == MLW_MARK_MODEL);
	ruleset_free(rs);
}

static void test_kill_rules_from_a_file(void)
{
	struct ruleset *rs = parse(
		"{\"version\": 1, \"rules\": ["
		"{\"id\": \"k1\", \"title\": \"t\", \"severity\": \"high\", \"scope\": \"root\", \"action\": \"kill\","
		" \"match\": {\"kind\": \"exec\", \"exe\": [\"socat\", \"perl\"]}},"
		"{\"id\": \"k2\", \"title\": \"t\", \"severity\": \"high\", \"action\": \"kill\","
		" \"match\": {\"kind\": \"exec\", \"argv_contains\": [\"stratum\"]}},"
		"{\"id\": \"k3\", \"title\": \"t\", \"severity\": \"high\", \"scope\": \"any\", \"action\": \"kill\","
		" \"match\": {\"kind\": \"connect\", \"dest\": [\"external\"]}},"
		"{\"id\": \"k4\", \"title\": \"t\", \"severity\": \"high\", \"action\": \"kill\","
		" \"match\": {\"kind\": \"exec\", \"exe\": [\"x*\"]}}]}");
	struct enforce_plan p;
	char buf[2048] = "";
	FILE *w = fmemopen(buf, sizeof(buf), "w");

	CHECK(rs != NULL && w != NULL);
	if (!rs || !w)
		return;
	CHECK(enforce_plan_build(&p, rs, false, w) == 2);
	fclose(w);
	CHECK(mask_of(&p, "socat") == MLW_MARK_ROOT && mask_of(&p, "perl") == MLW_MARK_ROOT);
	CHECK(mask_of(&p, "sh") == 0);
	CHECK(p.external_mask == (MLW_MARK_MODEL | MLW_MARK_ROOT) && p.metadata_mask == 0);
	/* what cannot be enforced is named, and alerts only */
	CHECK(strstr(buf, "rule \"k2\": action kill is not enforced") != NULL);
	CHECK(strstr(buf,
		     "rule \"k4\": action kill is not enforced (its exe patterns are globs)") !=
	      NULL);
	ruleset_free(rs);
}

int main(void)
{
	RUN(test_enforce_builtins);
	RUN(test_kill_rules_from_a_file);
	return CHECK_DONE();
}
