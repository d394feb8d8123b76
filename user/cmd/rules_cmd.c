/* The rules command: check a rules file, list the rules in effect. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_cmd.h"
#include "detect/rulefile.h"
#include "lib/textsan.h"

/* A listing line; longer pattern lists are cut. */
#define LINE_MAX_BYTES (256 * 1024)

struct out {
	char *buf;
	size_t len, o;
};

static void put(struct out *w, const char *s)
{
	size_t n = strlen(s);

	if (w->o + 1 >= w->len)
		return;
	if (n > w->len - 1 - w->o)
		n = w->len - 1 - w->o;
	memcpy(w->buf + w->o, s, n);
	w->o += n;
	w->buf[w->o] = 0;
}

/* Escaped for one line; quoted (with \" inside) when a space, a comma or
 * a quote would make a list ambiguous. */
static void put_pattern(struct out *w, const char *s)
{
	char e[RULE_PATTERN_MAX * 4 + 1];
	bool q = strpbrk(s, " ,\"") != NULL;

	text_escape(s, strlen(s), e, sizeof(e));
	if (!q) {
		put(w, e);
		return;
	}
	put(w, "\"");
	for (char *c = e, *quote; *c; c = quote + 1) {
		quote = strchr(c, '"');
		if (!quote) {
			put(w, c);
			break;
		}
		*quote = 0;
		put(w, c);
		put(w, "\\\"");
	}
	put(w, "\"");
}

static void put_patterns(struct out *w, const char *key, const struct pattern_list *l)
{
	if (!l->n)
		return;
	put(w, w->o ? " " : "");
	put(w, key);
	put(w, "=");
	for (size_t i = 0; i < l->n; i++) {
		put(w, i ? "," : "");
		put_pattern(w, l->v[i].text);
	}
}

static void put_json_list(struct out *w, const cJSON *o, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *el;
	char num[16];
	bool first = true;

	if (!a)
		return;
	put(w, w->o ? " " : "");
	put(w, key);
	put(w, "=");
	if (cJSON_IsString(a)) {
		put(w, a->valuestring);
		return;
	}
	cJSON_ArrayForEach(el, a) {
		put(w, first ? "" : ",");
		first = false;
		if (cJSON_IsNumber(el)) {
			snprintf(num, sizeof(num), "%d", el->valueint);
			put(w, num);
		} else if (cJSON_IsString(el)) {
			put(w, el->valuestring);
		}
	}
}

void rule_filter_summary(const struct rule_filter *m, char *out, size_t len)
{
	struct out w = { out, len, 0 };
	cJSON *o;

	if (!len)
		return;
	out[0] = 0;
	/* The names come from the JSON form: one spelling of everything. */
	o = rule_filter_to_json(m, false);
	if (o) {
		static const char *const named[] = {
			"kind", "exec_class", "exec_class_not", "dest", "cidr",
			"port", "open",       "path_class",     "load",
		};

		for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
			put_json_list(&w, o, named[i]);
		cJSON_Delete(o);
	}
	put_patterns(&w, "exe", &m->exe);
	put_patterns(&w, "path", &m->path);
	put_patterns(&w, "argv", &m->argv);
	put_patterns(&w, "argv_contains", &m->argv_contains);
	put_patterns(&w, "audit", &m->audit);
	put_patterns(&w, "args", &m->args);
	if (m->dropped)
		put(&w, w.o ? " dropped" : "dropped");
	if (m->runtime)
		put(&w, w.o ? " runtime" : "runtime");
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mlwatch rules check FILE\n"
		   "       mlwatch rules list [--json] [FILE]\n"
		   "\n"
		   "check  report every problem in FILE, one per line (exit 1 if any)\n"
		   "list   print the rules in effect: the built-ins merged with FILE, one\n"
		   "       per line, or with --json in the rules file format\n"
		   "See docs/rules.md for the format.\n");
}

/* what: the problem; arg: the word that caused it, or NULL. */
static int usage_error(FILE *err, const char *what, const char *arg)
{
	char safe[256] = "";

	if (arg)
		text_escape(arg, strlen(arg), safe, sizeof(safe));
	fprintf(err, "mlwatch rules: %s%s%s%s (see mlwatch rules --help)\n", what, arg ? " '" : "",
		safe, arg ? "'" : "");
	return RULES_CMD_USAGE;
}

static int load(const char *path, struct ruleset **rs, FILE *err)
{
	struct rule_errors e;
	int rc;

	rule_errors_init(&e);
	rc = ruleset_load(path, rs, &e);
	if (rc)
		rule_errors_print(&e, err);
	rule_errors_free(&e);
	return rc;
}

static const char *origin_name(enum rule_origin o)
{
	switch (o) {
	case RULE_OVERRIDE:
		return "file*";
	case RULE_ADDED:
		return "file";
	default:
		return "built-in";
	}
}

static int check(const char *path, FILE *out, FILE *err)
{
	size_t kept = 0, over = 0, added = 0;
	struct ruleset *rs;
	struct stat st;
	char name[512];

	if (load(path, &rs, err))
		return RULES_CMD_INVALID;
	for (size_t i = 0; i < rs->n_rules; i++) {
		kept += rs->rules[i].origin == RULE_BUILTIN;
		over += rs->rules[i].origin == RULE_OVERRIDE;
		added += rs->rules[i].origin == RULE_ADDED;
	}
	text_escape(path, strlen(path), name, sizeof(name));
	fprintf(out,
		"%s: ok: %zu rules in effect (%zu built-in, %zu replaced, %zu disabled, "
		"%zu added), %zu allowlist entries (%zu from the file)\n",
		name, rs->n_rules, kept, over, n_builtin_rules - kept - over, added, rs->n_allow,
		rs->n_allow - rs->n_builtin_allow);
	/* a user may check their own file; the monitor (root) would refuse it */
	if (geteuid() != 0 && stat(path, &st) == 0 && st.st_uid != 0)
		fprintf(out,
			"%s: note: owned by uid %u; the monitor, run as root, loads only a "
			"file root owns\n",
			name, (unsigned)st.st_uid);
	ruleset_free(rs);
	return RULES_CMD_OK;
}

static int list_json(const struct ruleset *rs, FILE *out, FILE *err)
{
	cJSON *j = ruleset_to_json(rs, true);
	char *s = j ? cJSON_Print(j) : NULL;

	cJSON_Delete(j);
	if (!s) {
		fprintf(err, "mlwatch rules: out of memory\n");
		return RULES_CMD_INVALID;
	}
	fprintf(out, "%s\n", s);
	cJSON_free(s);
	return RULES_CMD_OK;
}

/* Ids, titles and tags are plain text by the time they load; patterns are
 * escaped by rule_filter_summary. */
static int list_text(const struct ruleset *rs, FILE *out, FILE *err)
{
	char *line = malloc(LINE_MAX_BYTES);

	if (!line) {
		fprintf(err, "mlwatch rules: out of memory\n");
		return RULES_CMD_INVALID;
	}
	fprintf(out, "%-34s %-8s %-14s %-6s %-6s %-8s %s\n", "ID", "SEVERITY", "SCOPE", "WINDOW",
		"ACTION", "ORIGIN", "MATCH");
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct rule *r = &rs->rules[i];
		char scope[32];

		rule_filter_summary(&r->match, line, LINE_MAX_BYTES);
		fprintf(out, "%-34s %-8s %-14s %-6u %-6s %-8s %s%s", r->id,
			severity_name(r->severity), rule_scope_name(r->scope, scope, sizeof(scope)),
			(unsigned)r->window_s, rule_action_name(r->action), origin_name(r->origin),
			line, r->failed_too ? " failed_too" : "");
		if (r->n_except)
			fprintf(out, " except=%zu", r->n_except);
		fprintf(out, "\n");
	}
	fprintf(out, "\n%-8s %s\n", "ALLOW", "MATCH");
	for (size_t i = 0; i < rs->n_allow; i++) {
		rule_filter_summary(&rs->allow[i], line, LINE_MAX_BYTES);
		fprintf(out, "%-8s %s\n", i < rs->n_builtin_allow ? "built-in" : "file", line);
	}
	/* fixed: no rules file changes them (README, Self-protection) */
	fprintf(out, "\n%-34s %-8s %s\n", "SELF-PROTECTION", "SEVERITY", "FIRES WHEN");
	for (size_t i = 0; i < SELFPROT_N; i++)
		fprintf(out, "%-34s %-8s %s\n", selfprot_rules[i].id,
			severity_name(selfprot_rules[i].severity), selfprot_rules[i].title);
	/* fixed too: a global is allowed by a scan profile (docs/python.md) */
	fprintf(out, "\n%-34s %-8s %s\n", "PYTHON UNPICKLING", "SEVERITY", "FIRES WHEN");
	for (size_t i = 0; i < PYRULE_N; i++)
		fprintf(out, "%-34s %-8s %s\n", python_rules[i].id,
			severity_name(python_rules[i].severity), python_rules[i].title);
	free(line);
	return RULES_CMD_OK;
}

static int list(int argc, char **argv, FILE *out, FILE *err)
{
	const char *path = NULL;
	bool json = false, opts = true;
	struct ruleset *rs;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (opts && strcmp(argv[i], "--") == 0) {
			opts = false;
		} else if (opts && argv[i][0] == '-' && argv[i][1]) {
			return usage_error(err, "list: unknown option", argv[i]);
		} else if (path) {
			return usage_error(err, "list: more than one FILE:", argv[i]);
		} else {
			path = argv[i];
		}
	}
	if (load(path, &rs, err))
		return RULES_CMD_INVALID;
	rc = json ? list_json(rs, out, err) : list_text(rs, out, err);
	ruleset_free(rs);
	return rc;
}

int rules_cmd(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 2) {
		usage(err);
		return RULES_CMD_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(out);
		return RULES_CMD_OK;
	}
	if (strcmp(argv[1], "check") == 0) {
		int i = 2;

		if (i < argc && strcmp(argv[i], "--") == 0)
			i++;
		if (i >= argc)
			return usage_error(err, "check: missing FILE", NULL);
		if (i + 1 < argc)
			return usage_error(err, "check: one FILE at a time, not also", argv[i + 1]);
		if (argv[i][0] == '-' && argv[i][1] && i == 2)
			return usage_error(err, "check: unknown option", argv[i]);
		return check(argv[i], out, err);
	}
	if (strcmp(argv[1], "list") == 0)
		return list(argc - 1, argv + 1, out, err);
	return usage_error(err, "unknown subcommand (expected check or list):", argv[1]);
}
