#include <errno.h>
#include <sys/socket.h>
#include "check.h"
#include "detect/classify.h"
#include "detect/netclass.h"
#include "detect/pathclass.h"
#include "detect/rulefile.h"
#include "detect/rules.h"

static struct event ev;

static size_t match(const struct facts *f, const struct rule **hits)
{
	return rules_match(builtin_rules, n_builtin_rules, &ev, f, hits, 16);
}

static bool has(const struct rule **hits, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(hits[i]->id, id))
			return true;
	return false;
}

static void test_shell_exec(void)
{
	const struct rule *hits[16];
	struct facts f = { .exec_classes = EXEC_SHELL | EXEC_SHELL_INLINE };
	size_t n;

	ev.kind = MLW_EV_EXEC;
	n = match(&f, hits);
	CHECK(has(hits, n, "model-loader-shell"));
	CHECK(!has(hits, n, "model-loader-downloader"));
}

/* An exec of path with argv by a process that loaded a model. */
static void exec_at(const char *path, const char *const *argv, size_t argc, struct facts *f)
{
	struct netclass net;

	netclass_init(&net);
	memset(&ev, 0, sizeof(ev));
	ev.kind = MLW_EV_EXEC;
	ev.hdr.mark.reason = MLW_MARK_MODEL;
	ev.path = path;
	for (size_t i = 0; i < argc; i++)
		ev.argv[i] = argv[i];
	ev.argc = argc;
	classify_event(&ev, &net, NULL, f);
}

/*
 * A kernel build as torch.compile/Triton run it after a load, under a user
 * rule on any exec: each program fires that rule on its own (the rules
 * without the allowlist), and the built-in allowlist silences it. The same
 * compiler under a name the allowlist does not know fires: the silence is
 * the allowlist's. (Two built-in entries cover compilers, the benign-ml
 * class and the names: either keeps them silent.)
 */
static void test_benign_compiler_silent(void)
{
	static const char broad[] =
		"{\"version\": 1, \"rules\": [{\"id\": \"any-exec\", \"title\": \"T\","
		" \"severity\": \"low\", \"match\": {\"kind\": \"exec\"}}]}";
	static const struct {
		const char *path;
		const char *argv[4];
		size_t argc;
	} compile[] = {
		{ "/usr/bin/gcc", { "gcc", "-O2", "-shared", "k.c" }, 4 },
		{ "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", { "cc1", "-quiet", "k.c" }, 3 },
		{ "/usr/bin/x86_64-linux-gnu-as", { "as", "--64", "-o", "k.o" }, 4 },
		{ "/usr/lib/gcc/x86_64-linux-gnu/12/collect2", { "collect2", "-shared", "k.o" }, 3 },
		{ "/usr/bin/x86_64-linux-gnu-ld.bfd", { "ld", "-shared", "k.o" }, 3 },
		{ "/usr/bin/nvidia-smi", { "nvidia-smi", "--query-gpu=name" }, 2 },
	};
	static const char *const renamed[] = { "mycc", "-O2", "-shared", "k.c" };
	struct rule_errors errs;
	struct ruleset *rs = NULL;
	const struct rule *hits[16];
	struct facts f;

	rule_errors_init(&errs);
	CHECK(ruleset_parse(broad, strlen(broad), "rules.json", &rs, &errs) == 0);
	rule_errors_free(&errs);
	if (!rs)
		return;
	for (size_t i = 0; i < sizeof(compile) / sizeof(compile[0]); i++) {
		exec_at(compile[i].path, compile[i].argv, compile[i].argc, &f);
		CHECK(has(hits, rules_match(rs->rules, rs->n_rules, &ev, &f, hits, 16),
			  "any-exec"));
		if (ruleset_match(rs, &ev, &f, NULL, hits, 16))
			printf("  %s: not allowlisted (fired %s)\n", compile[i].path, hits[0]->id);
		CHECK(ruleset_match(rs, &ev, &f, NULL, hits, 16) == 0);
	}
	exec_at("/opt/tools/mycc", renamed, 4, &f);
	CHECK(has(hits, ruleset_match(rs, &ev, &f, NULL, hits, 16), "any-exec"));
	ruleset_free(rs);
	memset(&ev, 0, sizeof(ev));
}

static void test_connect_classes(void)
{
	const struct rule *hits[16];
	struct mlw_connect c = { .ret = -ECONNREFUSED };
	struct facts f = { .dest = DEST_EXTERNAL };
	size_t n;

	ev.kind = MLW_EV_CONNECT;
	ev.u.connect = &c;
	ev.hdr.flags = MLW_F_IN_LOAD;
	n = match(&f, hits);
	CHECK(n == 1 && has(hits, n, "model-loader-external-connect")); /* failed attempt counts */
	/* after the load: a step for the chains, not the alert */
	ev.hdr.flags = 0;
	n = match(&f, hits);
	CHECK(n == 1 && has(hits, n, "model-loader-egress-after-load"));
	ev.kind = MLW_EV_SEND;
	ev.hdr.flags = MLW_F_IN_LOAD;
	CHECK(has(hits, match(&f, hits), "model-loader-external-connect"));
	ev.kind = MLW_EV_CONNECT;
	f.dest = DEST_METADATA;
	CHECK(has(hits, match(&f, hits), "model-loader-metadata-connect"));
	ev.hdr.flags = 0;
	f.dest = DEST_UNIX;
	CHECK(match(&f, hits) == 0);
	f.dest = DEST_INTERNAL;
	CHECK(match(&f, hits) == 0);
	f.dest = DEST_LOOPBACK;
	CHECK(match(&f, hits) == 0);
}

static void test_credential_open(void)
{
	const struct rule *hits[16];
	struct mlw_open o = { .ret = 3 };
	struct facts f = { .credential = "aws-credentials" };

	ev.kind = MLW_EV_OPEN;
	ev.u.open = &o;
	CHECK(has(hits, match(&f, hits), "model-loader-credential-read"));
	o.ret = -ENOENT; /* a failed read is not a read */
	CHECK(match(&f, hits) == 0);
	o.ret = 3;
	f.credential = NULL;
	CHECK(match(&f, hits) == 0);
}

static void test_dup_always(void)
{
	const struct rule *hits[16];
	struct facts f = { .dest = DEST_LOOPBACK };

	ev.kind = MLW_EV_DUP;
	CHECK(has(hits, match(&f, hits), "model-loader-socket-stdio"));
}

static void test_every_rule_tagged(void)
{
	for (size_t i = 0; i < n_builtin_rules; i++) {
		bool atlas = false, attack = false;

		for (int t = 0; t < RULE_MAX_TAGS && builtin_rules[i].tags[t]; t++) {
			atlas |= !strncmp(builtin_rules[i].tags[t], "AML.T", 5);
			attack |= builtin_rules[i].tags[t][0] == 'T';
		}
		CHECK(atlas && attack);
		CHECK(builtin_rules[i].id && builtin_rules[i].title);
	}
}

/* A control-plane root's lineage alone is not what the model rules are for. */
static void test_root_mark_not_builtin(void)
{
	const struct rule *hits[16];
	struct facts f = { .exec_classes = EXEC_SHELL };

	ev.kind = MLW_EV_EXEC;
	ev.hdr.mark.reason = MLW_MARK_ROOT;
	CHECK(match(&f, hits) == 0);
	ev.hdr.mark.reason = MLW_MARK_ROOT | MLW_MARK_MODEL;
	CHECK(has(hits, match(&f, hits), "model-loader-shell"));
	ev.hdr.mark.reason = 0;
}

static void test_builtin_defaults(void)
{
	for (size_t i = 0; i < n_builtin_rules; i++) {
		const struct rule *r = &builtin_rules[i];

		/* model rules first (some also for notebooks that loaded a
		 * model); the control-plane ones say so in their id */
		if (!strncmp(r->id, "python-", 7))
			CHECK(r->scope == RULE_SCOPE_PYTHON &&
			      r->match.kinds == (1u << MLW_EV_PYTHON));
		else if (strncmp(r->id, "root-", 5))
			CHECK((r->scope & ~RULE_SCOPE_NOTEBOOK) == RULE_SCOPE_MODEL);
		else
			CHECK(r->scope == RULE_SCOPE_ROOT);
		CHECK(r->window_s == 0);
		/* the one exception: an external connect is the next rule's */
		CHECK(r->action != RULE_ACTION_KILL &&
		      (r->n_except == 0 || !strcmp(r->id, "python-socket-connect")));
		/* a context rule is low and never its own alert */
		CHECK(r->action != RULE_ACTION_RECORD || r->severity == SEV_LOW);
		CHECK(r->match.kinds != 0);
	}
}

/* The static allowlist works uncompiled (fnmatch) too. */
static void test_builtin_allow_static(void)
{
	static const char *gcc[] = { "gcc", "-c", "x.c" };
	struct facts f = { 0 };
	bool allowed;

	memset(&ev, 0, sizeof(ev));
	ev.kind = MLW_EV_EXEC;
	ev.argc = 3;
	memcpy(ev.argv, gcc, sizeof(gcc));
	strcpy(f.resolved_path, "/usr/bin/gcc");
	f.exec_classes = exec_classify(f.resolved_path, NULL, NULL, gcc, 3, NULL);
	allowed = false;
	for (size_t i = 0; i < n_builtin_allow; i++)
		allowed |= rule_filter_match(&builtin_allow[i], &ev, &f, NULL);
	CHECK(allowed);
	strcpy(f.resolved_path, "/tmp/gcc");
	f.exec_classes = exec_classify(f.resolved_path, NULL, NULL, gcc, 3, NULL);
	allowed = false;
	for (size_t i = 0; i < n_builtin_allow; i++)
		allowed |= rule_filter_match(&builtin_allow[i], &ev, &f, NULL);
	CHECK(!allowed);
}

/* GCP's metadata server answers DNS too: port 53 there is a lookup, not a
 * metadata read; any other port is. */
static void test_metadata_dns_is_not_metadata(void)
{
	struct mlw_connect c = { .ret = 0 };
	struct netclass net;
	struct facts f;

	netclass_init(&net);
	memset(&ev, 0, sizeof(ev));
	ev.kind = MLW_EV_SEND;
	ev.u.connect = &c;
	c.addr.family = AF_INET;
	memcpy(c.addr.addr, (uint8_t[]){ 169, 254, 169, 254 }, 4);
	c.addr.port = 53;
	classify_event(&ev, &net, NULL, &f);
	CHECK(f.dest == DEST_INTERNAL);
	c.addr.port = 80;
	classify_event(&ev, &net, NULL, &f);
	CHECK(f.dest == DEST_METADATA);
}

/* A real path the kernel cut short hides where a program lives: it counts
 * as a temporary directory, as --enforce does in the kernel. */
static void test_cut_exec_path_is_temp(void)
{
	static const char *const argv[] = { "x" };
	struct mlw_exec e = { 0 };
	struct netclass net;
	struct facts f;

	netclass_init(&net);
	memset(&ev, 0, sizeof(ev));
	ev.kind = MLW_EV_EXEC;
	ev.u.exec = &e;
	ev.path = "/opt/a/x";
	ev.kpath = "/opt/a/x";
	ev.argc = 1;
	memcpy(ev.argv, argv, sizeof(argv));
	classify_event(&ev, &net, NULL, &f);
	CHECK(!(f.exec_classes & EXEC_FROM_TEMP));
	ev.hdr.flags = MLW_F_KPATH_TRUNC;
	classify_event(&ev, &net, NULL, &f);
	CHECK(f.exec_classes & EXEC_FROM_TEMP);
}

int main(void)
{
	RUN(test_shell_exec);
	RUN(test_benign_compiler_silent);
	RUN(test_connect_classes);
	RUN(test_credential_open);
	RUN(test_dup_always);
	RUN(test_every_rule_tagged);
	RUN(test_root_mark_not_builtin);
	RUN(test_builtin_defaults);
	RUN(test_builtin_allow_static);
	RUN(test_metadata_dns_is_not_metadata);
	RUN(test_cut_exec_path_is_temp);
	return CHECK_DONE();
}
