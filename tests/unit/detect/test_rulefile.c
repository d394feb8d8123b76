/* Rules files: every error message, merging with the built-ins, each match
 * field both ways, exceptions, the allowlist, scope, window, the command. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pyrec.h"
#include "collect/pyevents.h"
#include "cmd/rules_cmd.h"
#include "detect/classify.h"
#include "detect/pathclass.h"
#include "detect/rulefile.h"

static struct event ev;
static struct facts fa;
static struct mlw_open op;
static struct mlw_connect conn;
static struct mlw_dup dupr;
static struct netclass net;
static char dir[] = "/tmp/mlwatch-rf-XXXXXX";

/* ---- helpers -------------------------------------------------------- */

static struct rule_errors errs;

/* Parses json as "rules.json"; the set (or NULL) and errs are left for
 * the test to look at. */
static struct ruleset *parse(const char *json)
{
	struct ruleset *rs = NULL;

	rule_errors_free(&errs);
	rule_errors_init(&errs);
	if (ruleset_parse(json, strlen(json), "rules.json", &rs, &errs) == 0)
		CHECK(rs != NULL && errs.n == 0);
	else
		CHECK(rs == NULL && errs.n > 0);
	return rs;
}

static bool has_error(const char *msg)
{
	for (size_t i = 0; i < errs.n; i++)
		if (strcmp(errs.msgs[i], msg) == 0)
			return true;
	printf("  expected error: %s\n", msg);
	for (size_t i = 0; i < errs.n; i++)
		printf("  got:            %s\n", errs.msgs[i]);
	return false;
}

/* The file fails with exactly this one message. */
static bool only_error(const char *json, const char *msg)
{
	struct ruleset *rs = parse(json);

	ruleset_free(rs);
	if (!rs && errs.n == 1 && strcmp(errs.msgs[0], msg) == 0)
		return true;
	has_error(msg);
	return false;
}

/* A file with one rule whose match is given, and an extra rule field. */
static char json_buf[8192];
static const char *one_rule(const char *match, const char *extra)
{
	snprintf(json_buf, sizeof(json_buf),
		 "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"title\": \"T\", \"severity\": \"high\","
		 " \"match\": %s%s%s}]}",
		 match, extra ? ", " : "", extra ? extra : "");
	return json_buf;
}

static void mark(unsigned reason, uint64_t mark_s, uint64_t now_s)
{
	ev.hdr.flags = MLW_F_MARKED;
	ev.hdr.mark.reason = reason;
	ev.hdr.mark.mark_ns = mark_s * 1000000000ull;
	ev.hdr.ts_ns = now_s * 1000000000ull;
}

static void exec_ev(const char *path, const char *const *argv, size_t argc)
{
	memset(&ev, 0, sizeof(ev));
	mark(MLW_MARK_MODEL, 1, 2);
	ev.kind = MLW_EV_EXEC;
	ev.hdr.tgid = (u32)getpid();
	ev.path = path;
	for (size_t i = 0; i < argc; i++)
		ev.argv[i] = argv[i];
	ev.argc = argc;
	classify_event(&ev, &net, NULL, &fa);
}

static void open_ev(const char *path, unsigned flags, int ret)
{
	memset(&ev, 0, sizeof(ev));
	mark(MLW_MARK_MODEL, 1, 2);
	ev.kind = MLW_EV_OPEN;
	ev.hdr.tgid = (u32)getpid();
	ev.path = path;
	memset(&op, 0, sizeof(op));
	op.ret = ret;
	op.dirfd = AT_FDCWD;
	op.flags = flags;
	ev.u.open = &op;
	classify_event(&ev, &net, NULL, &fa);
}

static void connect_ev(const char *addr, unsigned port, int ret)
{
	memset(&ev, 0, sizeof(ev));
	mark(MLW_MARK_MODEL, 1, 2);
	ev.kind = MLW_EV_CONNECT;
	memset(&conn, 0, sizeof(conn));
	conn.ret = ret;
	conn.addr.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	conn.addr.port = (u16)port;
	inet_pton(conn.addr.family, addr, conn.addr.addr);
	ev.u.connect = &conn;
	/* during the load unless a test says otherwise (connect_after_load) */
	ev.hdr.flags |= MLW_F_IN_LOAD;
	classify_event(&ev, &net, NULL, &fa);
}

static void connect_after_load(const char *addr, unsigned port, int ret)
{
	connect_ev(addr, port, ret);
	ev.hdr.flags &= ~MLW_F_IN_LOAD;
}

static void dup_ev(const char *addr, unsigned port)
{
	memset(&ev, 0, sizeof(ev));
	mark(MLW_MARK_MODEL, 1, 2);
	ev.kind = MLW_EV_DUP;
	memset(&dupr, 0, sizeof(dupr));
	dupr.newfd = 0;
	dupr.oldfd = 5;
	dupr.peer.family = AF_INET;
	dupr.peer.port = (u16)port;
	inet_pton(AF_INET, addr, dupr.peer.addr);
	ev.u.dup = &dupr;
	classify_event(&ev, &net, NULL, &fa);
}

static const struct rule *hits[16];

/* Ids of the rules that fire, space-separated ("" for none). */
static const char *fired(const struct ruleset *rs, const char *actor_exe)
{
	static char out[1024];
	size_t n = ruleset_match(rs, &ev, &fa, actor_exe, hits, 16), o = 0;

	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "", hits[i]->id);
	return out;
}

/* Does the one-rule file with this match fire rule "r"? */
static bool fires(const char *match, const char *extra, const char *actor_exe)
{
	struct ruleset *rs = parse(one_rule(match, extra));
	bool hit = false;
	size_t n;

	if (!rs)
		return false;
	n = ruleset_match(rs, &ev, &fa, actor_exe, hits, 16);
	for (size_t i = 0; i < n; i++)
		hit |= strcmp(hits[i]->id, "r") == 0;
	ruleset_free(rs);
	return hit;
}

static const char *write_file_n(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		printf("cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
	return path;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	return write_file_n(name, text, strlen(text), mode);
}

/* Runs `mlwatch rules ...`; out/err captured. */
static char cmd_out[1 << 16], cmd_err[1 << 16];
static int run_cmd(int argc, const char **argv)
{
	FILE *o = tmpfile(), *e = tmpfile();
	size_t n;
	int rc;

	rc = rules_cmd(argc, (char **)argv, o, e);
	rewind(o);
	rewind(e);
	n = fread(cmd_out, 1, sizeof(cmd_out) - 1, o);
	cmd_out[n] = 0;
	n = fread(cmd_err, 1, sizeof(cmd_err) - 1, e);
	cmd_err[n] = 0;
	fclose(o);
	fclose(e);
	return rc;
}

/* ---- errors: one message each, naming the rule and the field ------- */

static void test_error_unknown_keys(void)
{
	CHECK(only_error("{\"version\": 1, \"rulez\": []}",
			 "rules.json: unknown key \"rulez\" (expected version, allow, rules)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"severty\": \"low\""),
			 "rules.json: rule \"r\": unknown key \"severty\" (expected id, title, severity, tags, scope, window, action, enabled, match, except)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"dst\": [\"external\"]}", NULL),
			 "rules.json: rule \"r\": match: unknown key \"dst\" (expected kind, exec_class, exec_class_not, exe, path, argv, argv_contains, dest, cidr, port, open, path_class, dropped, runtime, load, audit, args, failed_too)"));
	/* exceptions and allowlist entries have no failed_too */
	CHECK(only_error(one_rule("{\"kind\": \"connect\"}",
				  "\"except\": [{\"failed_too\": true}]"),
			 "rules.json: rule \"r\": except[0]: unknown key \"failed_too\" (expected kind, exec_class, exec_class_not, exe, path, argv, argv_contains, dest, cidr, port, open, path_class, dropped, runtime, load, audit, args)"));
	CHECK(only_error("{\"version\": 1, \"allow\": [{\"exe\": [\"x\"], \"Exe\": [\"y\"]}]}",
			 "rules.json: allow[0]: unknown key \"Exe\" (expected kind, exec_class, exec_class_not, exe, path, argv, argv_contains, dest, cidr, port, open, path_class, dropped, runtime, load, audit, args)"));
	/* a repeated key: cJSON would silently keep the first */
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": [\"a\"], \"exe\": [\"b\"]}", NULL),
			 "rules.json: rule \"r\": match.exe: duplicate key"));
}

static void test_error_types(void)
{
	CHECK(only_error("{\"version\": 1, \"rules\": {}}",
			 "rules.json: rules: expected an array, got an object"));
	CHECK(only_error("[]", "rules.json: expected a JSON object at the top, got an array"));
	CHECK(only_error(one_rule("[]", NULL),
			 "rules.json: rule \"r\": match: expected an object, got an array"));
	CHECK(only_error(one_rule("{\"kind\": 7}", NULL),
			 "rules.json: rule \"r\": match.kind: expected an event kind (exec, open, connect, send, dup, link, socket, python), or a list of them, got a number"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": \"sh\"}", NULL),
			 "rules.json: rule \"r\": match.exe: expected an array, got a string"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": [\"sh\", 3]}", NULL),
			 "rules.json: rule \"r\": match.exe[1]: expected a string, got a number"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": []}", NULL),
			 "rules.json: rule \"r\": match.exe: empty list (leave the field out instead)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"window\": \"1h\""),
			 "rules.json: rule \"r\": window: expected a number of seconds, got a string"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"window\": 1.5"),
			 "rules.json: rule \"r\": window: 1.5 is not whole seconds from 0 (no limit) to 315360000"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"enabled\": \"no\""),
			 "rules.json: rule \"r\": enabled: expected true or false, got a string"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"tags\": \"T1059\""),
			 "rules.json: rule \"r\": tags: expected an array, got a string"));
	CHECK(only_error("{\"version\": 1, \"rules\": [3]}",
			 "rules.json: rules[0]: expected an object, got a number"));
	CHECK(only_error("{\"version\": \"1\"}",
			 "rules.json: version: expected the number 1, got a string"));
	CHECK(only_error("{\"version\": 2}",
			 "rules.json: version: unsupported version 2 (this mlwatch reads version 1)"));
	CHECK(only_error("{\"rules\": []}", "rules.json: version: missing (write \"version\": 1)"));
}

static void test_error_ids(void)
{
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rules[0]: id: missing"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"\", \"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rules[0]: id: empty"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"a b\", \"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rules[0]: id: \"a b\" may hold only letters, digits, '-', '_' and '.'"));
	CHECK(only_error("{\"version\": 1, \"rules\": ["
			 "{\"id\": \"a\", \"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}},"
			 "{\"id\": \"a\", \"title\": \"U\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rule \"a\": id: duplicate: rules[0] has this id too"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rule \"r\": title: missing"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"title\": \"two\\nlines\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rule \"r\": title: contains a control character (a line break, a tab, ...)"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"title\": \"csi \\u009b2J\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rule \"r\": title: contains a control character (a line break, a tab, ...)"));
}

static void test_error_names(void)
{
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"title\": \"T\", \"severity\": \"hihg\", \"match\": {\"kind\": \"dup\"}}]}",
			 "rules.json: rule \"r\": severity: unknown severity \"hihg\" (expected low, medium, high, critical)"));
	CHECK(only_error(one_rule("{\"kind\": \"dup\"}", "\"scope\": \"all\""),
			 "rules.json: rule \"r\": scope: unknown scope \"all\" (expected model, root, notebook, python, any)"));
	CHECK(only_error(one_rule("{\"kind\": \"dup\"}", "\"action\": \"block\""),
			 "rules.json: rule \"r\": action: unknown action \"block\" (expected alert, kill, record)"));
	CHECK(only_error(one_rule("{\"kind\": [\"exec\", \"fork\"]}", NULL),
			 "rules.json: rule \"r\": match.kind[1]: unknown event kind \"fork\" (expected exec, connect, open, dup, send, link, socket, python)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"dest\": [\"external\", \"extrnal\"]}",
				  NULL),
			 "rules.json: rule \"r\": match.dest[1]: unknown destination class \"extrnal\" (expected loopback, internal, external, metadata)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exec_class\": [\"shel\"]}", NULL),
			 "rules.json: rule \"r\": match.exec_class[0]: unknown exec class \"shel\" (expected shell, shell-inline, downloader, inline-interp, nettool, miner, recon, persist-tool, pkg-install, from-temp, base64-decode, benign-ml, fileless, via-loader)"));
	CHECK(only_error(one_rule("{\"kind\": \"open\", \"open\": \"rw\"}", NULL),
			 "rules.json: rule \"r\": match.open: unknown open mode \"rw\" (expected read, write)"));
	CHECK(only_error(one_rule("{\"kind\": \"open\", \"path_class\": [\"secret\"]}", NULL),
			 "rules.json: rule \"r\": match.path_class[0]: unknown path class \"secret\" (expected credential, persistence)"));
	CHECK(only_error(one_rule("{\"kind\": \"dup\"}", "\"tags\": [\"AML.T0011.000\", \"T105\"]"),
			 "rules.json: rule \"r\": tags[1]: \"T105\" is not an ATLAS or ATT&CK id (such as AML.T0011.000 or T1059.004)"));
	CHECK(only_error(one_rule("{\"kind\": \"dup\"}",
				  "\"tags\": [\"T1001\", \"T1002\", \"T1003\", \"T1004\", \"T1005\", \"T1006\", \"T1007\", \"T1008\", \"T1009\"]"),
			 "rules.json: rule \"r\": tags: 9 tags, at most 8"));
}

static void test_error_networks(void)
{
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"cidr\": [\"10.0.0.0/33\"]}", NULL),
			 "rules.json: rule \"r\": match.cidr[0]: invalid network \"10.0.0.0/33\": prefix length out of range (0-32 for IPv4)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"cidr\": [\"10.0.0.0/8\", \"fd00::zz/8\"]}",
				  NULL),
			 "rules.json: rule \"r\": match.cidr[1]: invalid network \"fd00::zz/8\": not an IPv6 address"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [65536]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: port 65536 out of range (a whole number from 0 to 65535)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [-1]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: port -1 out of range (a whole number from 0 to 65535)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [\"8000-70000\"]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: port range \"8000-70000\" out of range (0-65535)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [\"90-80\"]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: port range \"90-80\" is backwards (low-high)"));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [\"+80-90\"]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: \"+80-90\" is not a port range such as \"8000-8100\""));
	CHECK(only_error(one_rule("{\"kind\": \"connect\", \"port\": [true]}", NULL),
			 "rules.json: rule \"r\": match.port[0]: expected a port number or a \"low-high\" string, got true/false"));
}

static void test_error_patterns(void)
{
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"path\": [\"\"]}", NULL),
			 "rules.json: rule \"r\": match.path[0]: \"\" empty pattern (use \"*\" to match everything)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"path\": [\"tmp/*\"]}", NULL),
			 "rules.json: rule \"r\": match.path[0]: \"tmp/*\" is not absolute: a path pattern starts with \"/\" or a wildcard"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": [\"/bin/sh\"]}", NULL),
			 "rules.json: rule \"r\": match.exe[0]: \"/bin/sh\" is a path: exe takes program names (match paths with \"path\")"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"argv\": [\"*[ab*\"]}", NULL),
			 "rules.json: rule \"r\": match.argv[0]: \"*[ab*\" has an unterminated \"[\" (\"[[]\" matches a bracket)"));
	/* JSON "\\" is one backslash; messages show it escaped */
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"argv\": [\"x\\\\\"]}", NULL),
			 "rules.json: rule \"r\": match.argv[0]: \"x\\\\\" ends with a lone backslash"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"argv_contains\": [\"\"]}", NULL),
			 "rules.json: rule \"r\": match.argv_contains[0]: \"\" empty substring (it would match everything)"));
}

static void test_error_kinds_and_filters(void)
{
	CHECK(only_error(one_rule("{\"exe\": [\"sh\"]}", NULL),
			 "rules.json: rule \"r\": match.kind: missing (exec, open, connect, send, dup, link, socket or python)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"dest\": [\"external\"]}", NULL),
			 "rules.json: rule \"r\": match.dest: applies to connect, dup, send and python events only, not exec"));
	CHECK(only_error(one_rule("{\"kind\": [\"exec\", \"open\"], \"argv\": [\"*x*\"]}", NULL),
			 "rules.json: rule \"r\": match.argv: applies to exec events only, not open"));
	CHECK(only_error(one_rule("{\"kind\": \"dup\", \"failed_too\": true}", NULL),
			 "rules.json: rule \"r\": match.failed_too: applies to connect, open, send, link and socket events only, not dup"));
	CHECK(only_error("{\"version\": 1, \"allow\": [{\"exec_class\": [\"recon\"], \"port\": [22]}]}",
			 "rules.json: allow[0].port: applies to connect, dup and send events only, which the other conditions rule out"));
	CHECK(only_error("{\"version\": 1, \"allow\": [{}]}",
			 "rules.json: allow[0]: empty: it would suppress every event"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\"}", "\"except\": []"),
			 "rules.json: rule \"r\": except: empty list (leave the field out instead)"));
	/* failed_too: false asks for nothing, so it fits any kind */
	ruleset_free(parse(one_rule("{\"kind\": \"dup\", \"failed_too\": false}", NULL)));
	CHECK(errs.n == 0);
}

static void test_error_json_syntax(void)
{
	CHECK(only_error("{\"version\": 1,\n \"rules\": [\n  {\"id\": \"x\",, }]}",
			 "rules.json: line 3, column 15: invalid JSON near \" }]}\""));
	CHECK(only_error("",
			 "rules.json: empty file (expected a JSON object such as {\"version\": 1, \"rules\": []})"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": tru}]}",
			 "rules.json: line 1, column 33: invalid JSON near \"tru}]}\""));
	CHECK(only_error("{\"version\": 1} {}",
			 "rules.json: line 1, column 16: invalid JSON: text after the end of the object"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"a\\u0000b\"}]}",
			 "rules.json: line 1, column 35: \"\\\\u0000\" cannot appear in a rules file"));
	{
		static const char nul[] = "{\"version\": 1}\0";
		struct ruleset *rs = NULL;

		rule_errors_free(&errs);
		CHECK(ruleset_parse(nul, sizeof(nul) - 1, "rules.json", &rs, &errs) == -1 && !rs);
		CHECK(has_error(
			"rules.json: line 1, column 15: a NUL byte (is this a text file?)"));
	}
}

/* Messages are one line each whatever the file holds. */
static void test_error_hostile_text(void)
{
	CHECK(only_error("{\"version\": 1, \"evil\\nrules.json: fake\": 1}",
			 "rules.json: unknown key \"evil\\nrules.json: fake\" (expected version, allow, rules)"));
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"exe\": [\"a\xff\"]}", NULL),
			 "rules.json: rule \"r\": match.exe[0]: \"a\\xff\" is not valid UTF-8"));
	for (size_t i = 0; i < errs.n; i++)
		CHECK(!strchr(errs.msgs[i], '\n'));
}

/* Every problem in one pass, not just the first. */
static void test_every_error_reported(void)
{
	struct ruleset *rs = parse(
		"{\"version\": 1, \"allow\": [{\"exe\": [\"/bin/x\"]}], \"rules\": ["
		"{\"id\": \"a\", \"title\": \"T\", \"severity\": \"bad\", \"match\": {\"kind\": \"connect\", \"dest\": [\"nowhere\"], \"port\": [99999]}},"
		"{\"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"exec\", \"exec_class\": [\"x\"]}},"
		"{\"id\": \"a\", \"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"open\", \"open\": \"all\"}}]}");

	CHECK(!rs);
	CHECK(errs.n == 8);
	CHECK(has_error(
		"rules.json: allow[0].exe[0]: \"/bin/x\" is a path: exe takes program names (match paths with \"path\")"));
	CHECK(has_error(
		"rules.json: rule \"a\": severity: unknown severity \"bad\" (expected low, medium, high, critical)"));
	CHECK(has_error(
		"rules.json: rule \"a\": match.dest[0]: unknown destination class \"nowhere\" (expected loopback, internal, external, metadata)"));
	CHECK(has_error(
		"rules.json: rule \"a\": match.port[0]: port 99999 out of range (a whole number from 0 to 65535)"));
	CHECK(has_error(
		"rules.json: rules[1]: match.exec_class[0]: unknown exec class \"x\" (expected shell, shell-inline, downloader, inline-interp, nettool, miner, recon, persist-tool, pkg-install, from-temp, base64-decode, benign-ml, fileless, via-loader)"));
	CHECK(has_error("rules.json: rules[1]: id: missing"));
	CHECK(has_error(
		"rules.json: rule \"a\": match.open: unknown open mode \"all\" (expected read, write)"));
	CHECK(has_error("rules.json: rule \"a\": id: duplicate: rules[0] has this id too"));
}

static void test_errors_capped(void)
{
	size_t n = RULE_ERRORS_MAX + 50, o = 0;
	char *json = malloc(n * 16 + 64);
	struct ruleset *rs;

	o += (size_t)sprintf(json, "{\"version\": 1");
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(json + o, ", \"k%zu\": 1", i);
	strcpy(json + o, "}");
	rs = parse(json);
	CHECK(!rs && errs.n == RULE_ERRORS_MAX && errs.dropped == 50);
	free(json);
}

static void test_error_files(void)
{
	char big[512];
	struct ruleset *rs = (struct ruleset *)1;
	const char *p;
	char *text;

	rule_errors_free(&errs);
	snprintf(big, sizeof(big), "%s/none.json", dir);
	CHECK(ruleset_load(big, &rs, &errs) == -1 && rs == NULL);
	snprintf(big, sizeof(big), "%s/none.json: cannot open: No such file or directory", dir);
	CHECK(has_error(big));

	rule_errors_free(&errs);
	CHECK(ruleset_load(dir, &rs, &errs) == -1);
	snprintf(big, sizeof(big), "%s: not a regular file (a directory); refusing", dir);
	CHECK(has_error(big));

	text = malloc(RULEFILE_MAX_BYTES + 2);
	memset(text, ' ', RULEFILE_MAX_BYTES + 1);
	memcpy(text, "{\"version\": 1}", 14);
	p = write_file_n("big.json", text, RULEFILE_MAX_BYTES + 1, 0644);
	rule_errors_free(&errs);
	CHECK(ruleset_load(p, &rs, &errs) == -1);
	snprintf(big, sizeof(big), "%s: file too large (more than 1048576 bytes)", p);
	CHECK(has_error(big));
	/* exactly at the cap is fine */
	p = write_file_n("cap.json", text, RULEFILE_MAX_BYTES, 0644);
	rule_errors_free(&errs);
	CHECK(ruleset_load(p, &rs, &errs) == 0 && rs && errs.n == 0);
	ruleset_free(rs);
	rule_errors_free(&errs);
	CHECK(ruleset_parse(text, RULEFILE_MAX_BYTES + 1, "rules.json", &rs, &errs) == -1);
	CHECK(has_error("rules.json: file too large (1048577 bytes; at most 1048576)"));
	free(text);

	/* whoever can write the file can switch detection off */
	p = write_file("open.json", "{\"version\": 1}", 0666);
	rule_errors_free(&errs);
	CHECK(ruleset_load(p, &rs, &errs) == -1 && !rs);
	snprintf(big, sizeof(big), "%s: writable by group/others (mode 0666); refusing", p);
	CHECK(has_error(big));
	p = write_file("open.json", "{\"version\": 1}", 0664);
	rule_errors_free(&errs);
	CHECK(ruleset_load(p, &rs, &errs) == -1 && !rs);
	snprintf(big, sizeof(big), "%s: writable by group/others (mode 0664); refusing", p);
	CHECK(has_error(big));
	p = write_file("ok.json", "{\"version\": 1}", 0644);
	rule_errors_free(&errs);
	CHECK(ruleset_load(p, &rs, &errs) == 0 && rs);
	ruleset_free(rs);
}

/* ---- merging with the built-ins ------------------------------------- */

static void test_builtins_only(void)
{
	struct ruleset *rs = NULL;

	CHECK(ruleset_load(NULL, &rs, NULL) == 0 && rs);
	if (!rs)
		return;
	CHECK(rs->n_rules == n_builtin_rules);
	for (size_t i = 0; i < rs->n_rules && i < n_builtin_rules; i++) {
		CHECK_STR(rs->rules[i].id, builtin_rules[i].id);
		CHECK(rs->rules[i].id != builtin_rules[i].id); /* owned copies */
		CHECK(rs->rules[i].origin == RULE_BUILTIN);
		CHECK(rs->rules[i].scope == builtin_rules[i].scope && rs->rules[i].window_s == 0);
		CHECK(rs->rules[i].action == builtin_rules[i].action);
	}
	CHECK(rs->n_allow == n_builtin_allow && rs->n_builtin_allow == n_builtin_allow);
	ruleset_free(rs);
}

static void test_override_disable_extend(void)
{
	struct ruleset *rs = parse(
		"{\"version\": 1, \"rules\": ["
		" {\"id\": \"model-loader-shell\", \"title\": \"Shell, mine\", \"severity\": \"medium\","
		"  \"tags\": [\"T1059.004\"], \"action\": \"kill\", \"match\": {\"kind\": \"exec\", \"exe\": [\"bash\"]}},"
		" {\"id\": \"model-loader-downloader\", \"enabled\": false},"
		" {\"id\": \"pip-install\", \"title\": \"pip install\", \"severity\": \"low\","
		"  \"match\": {\"kind\": \"exec\", \"exec_class\": [\"pkg-install\"]}},"
		" {\"id\": \"parked\", \"enabled\": false, \"title\": \"off\", \"severity\": \"low\","
		"  \"match\": {\"kind\": \"dup\"}}]}");
	const struct rule *r;

	if (!rs)
		return;
	CHECK(rs->n_rules == n_builtin_rules); /* -1 disabled, +1 added */
	r = &rs->rules[0];
	CHECK_STR(r->id, "model-loader-shell"); /* replaced in place */
	CHECK_STR(r->title, "Shell, mine");
	CHECK(r->severity == SEV_MEDIUM && r->action == RULE_ACTION_KILL &&
	      r->origin == RULE_OVERRIDE);
	CHECK_STR(r->tags[0], "T1059.004");
	CHECK(r->tags[1] == NULL);
	CHECK(!ruleset_find(rs, "model-loader-downloader"));
	CHECK(!ruleset_find(rs, "parked"));
	r = ruleset_find(rs, "pip-install");
	CHECK(r && r->origin == RULE_ADDED && r == &rs->rules[rs->n_rules - 1]);
	CHECK(ruleset_find(rs, "model-loader-miner")->origin == RULE_BUILTIN);

	{
		const char *sh[] = { "sh", "-c", "id" }, *bash[] = { "bash", "-i" };
		const char *curl[] = { "curl", "http://x" }, *pip[] = { "pip", "install", "x" };

		exec_ev("/bin/sh", sh, 3);
		CHECK_STR(fired(rs, NULL), ""); /* the override matches bash only */
		exec_ev("/bin/bash", bash, 2);
		CHECK_STR(fired(rs, NULL), "model-loader-shell");
		exec_ev("/usr/bin/curl", curl, 2);
		CHECK_STR(fired(rs, NULL), "");
		exec_ev("/usr/bin/pip", pip, 3);
		CHECK_STR(fired(rs, NULL), "pip-install");
	}
	ruleset_free(rs);
}

static void test_override_must_be_whole(void)
{
	CHECK(!parse(
		"{\"version\": 1, \"rules\": [{\"id\": \"model-loader-shell\", \"severity\": \"low\"}]}"));
	CHECK(errs.n == 2);
	CHECK(has_error("rules.json: rule \"model-loader-shell\": title: missing"));
	CHECK(has_error("rules.json: rule \"model-loader-shell\": match: missing"));
	CHECK(only_error("{\"version\": 1, \"rules\": [{\"id\": \"model-loader-shel\", \"enabled\": false}]}",
			 "rules.json: rule \"model-loader-shel\": enabled: no built-in rule \"model-loader-shel\" to disable"));
}

/* ---- each match field, both ways ------------------------------------ */

static void test_match_kind(void)
{
	const char *sh[] = { "sh" };

	exec_ev("/bin/sh", sh, 1);
	CHECK(fires("{\"kind\": \"exec\"}", NULL, NULL));
	CHECK(fires("{\"kind\": [\"open\", \"exec\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"open\"}", NULL, NULL));
	connect_ev("8.8.8.8", 53, 0);
	CHECK(fires("{\"kind\": \"connect\"}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"dup\"}", NULL, NULL));
	/* kinds no rule can name never fire, even a rule for every kind */
	connect_ev("8.8.8.8", 53, 0);
	ev.kind = MLW_EV_FORK;
	CHECK(!fires("{\"kind\": [\"exec\", \"connect\", \"open\", \"dup\"]}", NULL, NULL));
}

/* kind python: audit names the event, args any argument (a list joined
 * with spaces); scope python is a lineage that unpickled an unsafe global. */
static void python_ev(u32 event, const struct pyrec_arg *a, u8 n, unsigned reason)
{
	static unsigned char buf[4096];
	const char *why;
	size_t len = pyrec_make(buf, 9, event, 0, a, n);

	CHECK(event_decode(buf, len, &ev, &why) == 0);
	classify_event(&ev, &net, NULL, &fa);
	mark(reason, 1, 2);
}

static void test_match_python(void)
{
	const unsigned char port[8] = { 0x5c, 0x11 };
	struct pyrec_arg popen[] = {
		{ .enc = MLW_PY_ENC_NONE },
		{ .enc = MLW_PY_ENC_SEQ,
		  .bytes = "curl\0-s\0http://x/a.sh\0",
		  .len = 22,
		  .size = 3 },
	};
	struct pyrec_arg conn_ext[] = { PYSTR("203.0.113.9"),
					{ .enc = MLW_PY_ENC_INT, .bytes = port, .len = 8 } };

	python_ev(PYEV_SUBPROCESS_POPEN, popen, 2, MLW_MARK_PYTHON);
	CHECK(fires("{\"kind\": \"python\"}", NULL, NULL));
	CHECK(fires("{\"kind\": \"python\", \"audit\": [\"subprocess.*\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"python\", \"audit\": [\"os.system\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"python\", \"args\": [\"curl *\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"python\", \"args\": [\"*http://x/*\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"python\", \"args\": [\"wget*\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"python\", \"exe\": [\"python3*\"]}", NULL,
		    "/usr/bin/python3.11"));
	CHECK(fires("{\"kind\": \"python\"}", "\"scope\": \"python\"", NULL));
	/* an exception on an argument */
	CHECK(!fires("{\"kind\": \"python\"}", "\"except\": [{\"args\": [\"curl*\"]}]", NULL));
	/* a lineage marked by a model file only: not scope python */
	mark(MLW_MARK_MODEL, 1, 2);
	CHECK(!fires("{\"kind\": \"python\"}", "\"scope\": \"python\"", NULL));
	CHECK(fires("{\"kind\": \"python\"}", NULL, NULL));
	/* dest holds for socket events */
	python_ev(PYEV_SOCKET_CONNECT, conn_ext, 2, MLW_MARK_PYTHON);
	CHECK(fires("{\"kind\": \"python\", \"dest\": [\"external\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"python\", \"dest\": [\"internal\"]}", NULL, NULL));
}

static void test_error_python(void)
{
	CHECK(only_error(one_rule("{\"kind\": \"exec\", \"audit\": [\"os.system\"]}", NULL),
			 "rules.json: rule \"r\": match.audit: applies to python events only, not exec"));
	CHECK(only_error(one_rule("{\"kind\": \"python\", \"argv\": [\"x\"]}", NULL),
			 "rules.json: rule \"r\": match.argv: applies to exec events only, not python"));
	CHECK(only_error(one_rule("{\"kind\": \"python\", \"cidr\": [\"10.0.0.0/8\"]}", NULL),
			 "rules.json: rule \"r\": match.cidr: applies to connect, dup and send events "
			 "only, not python"));
	CHECK(only_error(one_rule("{\"kind\": \"python\", \"args\": [\"[x\"]}", NULL),
			 "rules.json: rule \"r\": match.args[0]: \"[x\" has an unterminated \"[\" "
			 "(\"[[]\" matches a bracket)"));
	CHECK(only_error(one_rule("{\"kind\": \"open\"}", "\"except\": [{\"kind\": \"open\", "
							  "\"args\": [\"x\"]}]"),
			 "rules.json: rule \"r\": except[0].args: applies to python events only, not open"));
}

static void test_match_path(void)
{
	const char *a[] = { "x" };

	exec_ev("/opt/tools/bin/xfer", a, 1);
	CHECK(fires("{\"kind\": \"exec\", \"path\": [\"/opt/tools/bin/xfer\"]}", NULL,
		    NULL)); /* exact */
	CHECK(fires("{\"kind\": \"exec\", \"path\": [\"/opt/*\"]}", NULL,
		    NULL)); /* prefix, any depth */
	CHECK(fires("{\"kind\": \"exec\", \"path\": [\"*/xfer\"]}", NULL, NULL));  /* suffix */
	CHECK(fires("{\"kind\": \"exec\", \"path\": [\"*/bin/*\"]}", NULL, NULL)); /* substring */
	CHECK(fires("{\"kind\": \"exec\", \"path\": [\"/opt/t?ols/*/x[a-f]er\"]}", NULL,
		    NULL)); /* fnmatch */
	CHECK(!fires("{\"kind\": \"exec\", \"path\": [\"/opt/tools/bin/xfe\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"path\": [\"/usr/*\", \"*/yfer\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"path\": [\"/opt/t?ols/*/x[g-z]er\"]}", NULL, NULL));
	open_ev("/srv/models/../secrets/db.key", O_RDONLY, 3);
	CHECK(fires("{\"kind\": \"open\", \"path\": [\"/srv/secrets/*.key\"]}", NULL,
		    NULL)); /* resolved */
	CHECK(!fires("{\"kind\": \"open\", \"path\": [\"/srv/models/*\"]}", NULL, NULL));
}

static void test_match_exe(void)
{
	const char *a[] = { "python3", "x.py" };

	exec_ev("/usr/bin/python3.11", a, 2);
	CHECK(fires("{\"kind\": \"exec\", \"exe\": [\"python3.11\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"exe\": [\"python3*\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"exe\": [\"python3\"]}", NULL, "/usr/bin/python3"));
	/* other kinds: the acting process's exe; unknown never matches */
	connect_ev("8.8.8.8", 443, 0);
	CHECK(fires("{\"kind\": \"connect\", \"exe\": [\"wandb-core\"]}", NULL,
		    "/opt/wandb/bin/wandb-core"));
	CHECK(!fires("{\"kind\": \"connect\", \"exe\": [\"wandb-core\"]}", NULL,
		     "/usr/bin/python3"));
	CHECK(!fires("{\"kind\": \"connect\", \"exe\": [\"*\"]}", NULL, NULL));
}

static void test_match_argv(void)
{
	const char *a[] = { "/opt/x/run", "--pool", "stratum+tcp://p.example:3333", "-t", "8" };

	exec_ev("/opt/x/run", a, 5);
	CHECK(fires("{\"kind\": \"exec\", \"argv\": [\"/opt/x/run --pool *\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"argv\": [\"* -t [0-9]\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"argv\": [\"run --pool *\"]}", NULL,
		     NULL)); /* whole string */
	CHECK(!fires("{\"kind\": \"exec\", \"argv\": [\"* -t [a-z]\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"argv_contains\": [\"stratum+\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"argv_contains\": [\"--pool stratum\"]}", NULL,
		    NULL)); /* across args */
	CHECK(!fires("{\"kind\": \"exec\", \"argv_contains\": [\"stratum+ssl\"]}", NULL, NULL));
	/* a substring is not a glob: '*' is itself */
	CHECK(!fires("{\"kind\": \"exec\", \"argv_contains\": [\"stra*um\"]}", NULL, NULL));
	/* both set: both must hold */
	CHECK(!fires("{\"kind\": \"exec\", \"argv_contains\": [\"stratum\"], \"argv\": [\"nothing\"]}",
		     NULL, NULL));
}

static void test_match_exec_class(void)
{
	const char *a[] = { "bash", "-c", "id" };

	exec_ev("/bin/bash", a, 3);
	CHECK(fires("{\"kind\": \"exec\", \"exec_class\": [\"shell-inline\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"exec_class\": [\"miner\", \"shell\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"exec_class\": [\"downloader\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"exec\", \"exec_class_not\": [\"shell-inline\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"exec\", \"exec_class_not\": [\"recon\"]}", NULL, NULL));
}

static void test_match_network(void)
{
	connect_ev("203.0.113.9", 4444, 0);
	CHECK(fires("{\"kind\": \"connect\", \"dest\": [\"external\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"connect\", \"dest\": [\"internal\", \"loopback\"]}", NULL,
		     NULL));
	CHECK(fires("{\"kind\": \"connect\", \"cidr\": [\"203.0.113.0/24\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"connect\", \"cidr\": [\"203.0.114.0/24\", \"::/0\"]}", NULL,
		     NULL));
	CHECK(fires("{\"kind\": \"connect\", \"port\": [22, 4444]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"connect\", \"port\": [\"4000-5000\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"connect\", \"port\": [4443, \"4445-5000\"]}", NULL, NULL));
	/* ::ffff:a.b.c.d is the IPv4 host */
	connect_ev("::ffff:203.0.113.9", 4444, 0);
	CHECK(fires("{\"kind\": \"connect\", \"cidr\": [\"203.0.113.0/24\"]}", NULL, NULL));
	connect_ev("2001:db8::1", 443, 0);
	CHECK(fires("{\"kind\": \"connect\", \"cidr\": [\"2001:db8::/32\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"connect\", \"cidr\": [\"2001:db9::/32\", \"0.0.0.0/0\"]}", NULL,
		     NULL));
	connect_ev("169.254.169.254", 80, 0);
	CHECK(fires("{\"kind\": \"connect\", \"dest\": [\"metadata\"]}", NULL, NULL));
	/* a unix socket has no address or port */
	connect_ev("0.0.0.0", 0, 0);
	conn.addr.family = AF_UNIX;
	classify_event(&ev, &net, NULL, &fa);
	CHECK(!fires("{\"kind\": \"connect\", \"port\": [0]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"connect\", \"cidr\": [\"0.0.0.0/0\"]}", NULL, NULL));
	dup_ev("198.51.100.7", 9001);
	CHECK(fires("{\"kind\": \"dup\", \"cidr\": [\"198.51.100.0/24\"], \"port\": [9001]}", NULL,
		    NULL));
	CHECK(!fires("{\"kind\": \"dup\", \"dest\": [\"loopback\"]}", NULL, NULL));
}

static void test_match_open(void)
{
	open_ev("/etc/cron.d/job", O_WRONLY | O_CREAT, 3);
	CHECK(fires("{\"kind\": \"open\", \"open\": \"write\"}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"open\", \"open\": \"read\"}", NULL, NULL));
	CHECK(fires("{\"kind\": \"open\", \"path_class\": [\"persistence\"]}", NULL, NULL));
	CHECK(!fires("{\"kind\": \"open\", \"path_class\": [\"credential\"]}", NULL, NULL));
	open_ev("/root/.aws/credentials", O_RDONLY, 3);
	CHECK(fires("{\"kind\": \"open\", \"open\": \"read\", \"path_class\": [\"credential\", \"persistence\"]}",
		    NULL, NULL));
	CHECK(!fires("{\"kind\": \"open\", \"open\": \"write\"}", NULL, NULL));
	open_ev("/etc/hosts", O_RDWR, 3); /* both */
	CHECK(fires("{\"kind\": \"open\", \"open\": \"read\"}", NULL, NULL));
	CHECK(fires("{\"kind\": \"open\", \"open\": \"write\"}", NULL, NULL));
}

static void test_match_failed_too(void)
{
	open_ev("/root/.ssh/id_rsa", O_RDONLY, -EACCES);
	CHECK(!fires("{\"kind\": \"open\", \"path_class\": [\"credential\"]}", NULL, NULL));
	CHECK(fires("{\"kind\": \"open\", \"path_class\": [\"credential\"], \"failed_too\": true}",
		    NULL, NULL));
	connect_ev("203.0.113.9", 80, -ECONNREFUSED);
	CHECK(!fires("{\"kind\": \"connect\"}", NULL, NULL));
	CHECK(fires("{\"kind\": \"connect\", \"failed_too\": true}", NULL, NULL));
	connect_ev("203.0.113.9", 80, -EINPROGRESS); /* non-blocking: a connect */
	CHECK(fires("{\"kind\": \"connect\"}", NULL, NULL));
}

/* ---- what suppresses ------------------------------------------------ */

static void test_exceptions(void)
{
	const char *wget[] = { "wget", "https://huggingface.co/x" },
		   *wget2[] = { "wget", "http://evil" };
	struct ruleset *rs = parse(
		"{\"version\": 1, \"rules\": [{\"id\": \"dl\", \"title\": \"T\", \"severity\": \"low\","
		" \"match\": {\"kind\": \"exec\", \"exec_class\": [\"downloader\"]},"
		" \"except\": [{\"argv\": [\"wget https://huggingface.co/*\"]}, {\"exe\": [\"curl\"]}]}]}");

	if (!rs)
		return;
	exec_ev("/usr/bin/wget", wget, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-downloader"); /* its exceptions are its own */
	exec_ev("/usr/bin/wget", wget2, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-downloader dl");
	exec_ev("/usr/bin/curl", wget2, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-downloader");
	ruleset_free(rs);
}

static void test_global_allow_from_file(void)
{
	const char *a[] = { "wget", "http://x" };
	struct ruleset *rs = parse(
		"{\"version\": 1, \"allow\": [{\"kind\": \"exec\", \"path\": [\"/opt/mirror/*\"]}]}");

	if (!rs)
		return;
	CHECK(rs->n_allow == n_builtin_allow + 1 && rs->n_builtin_allow == n_builtin_allow);
	exec_ev("/opt/mirror/wget", a, 2);
	CHECK_STR(fired(rs, NULL), ""); /* suppresses built-ins too */
	exec_ev("/usr/bin/wget", a, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-downloader");
	ruleset_free(rs);
}

/* The built-in allowlist keeps a broad user rule quiet on what ML jobs
 * run, but never hides what a built-in class flags. */
static void test_builtin_allowlist(void)
{
	struct ruleset *rs = parse(one_rule("{\"kind\": \"exec\"}", NULL));
	static const struct {
		const char *path;
		const char *argv[4];
		size_t argc;
		const char *want;
	} cases[] = {
		{ "/usr/bin/gcc", { "gcc", "-O2", "x.c" }, 3, "" },
		{ "/usr/bin/x86_64-linux-gnu-gcc-12", { "cc", "x.c" }, 2, "" },
		{ "/usr/local/cuda/bin/ptxas", { "ptxas", "k.ptx" }, 2, "" },
		{ "/usr/bin/nvidia-smi", { "nvidia-smi" }, 1, "" },
		{ "/sbin/ldconfig", { "/sbin/ldconfig", "-p" }, 2, "" },
		{ "/sbin/ldconfig", { "/sbin/ldconfig" }, 1, "r" },
		{ "/usr/bin/uname", { "uname", "-m" }, 2, "" },
		{ "/usr/bin/uname", { "uname", "-a" }, 2, "r" },
		{ "/usr/bin/git", { "git", "rev-parse", "HEAD" }, 3, "" },
		{ "/usr/bin/git", { "git", "-C", "/w", "rev-parse" }, 4, "" }, /* benign-ml class */
		{ "/usr/bin/git", { "git", "push", "origin" }, 3, "r" },
		{ "/usr/bin/python3",
		  { "python3", "-c",
		    "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)" },
		  3,
		  "" },
		/* borrowed names: a miner called gcc, a gcc in /tmp */
		{ "/home/u/.cache/gcc",
		  { "gcc", "-o", "stratum+tcp://pool:3333" },
		  3,
		  "model-loader-miner r" },
		{ "/tmp/gcc", { "gcc" }, 1, "model-loader-exec-from-temp r" },
		{ "/usr/bin/python3", { "python3", "train.py" }, 2, "r" },
	};

	if (!rs)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		exec_ev(cases[i].path, cases[i].argv, cases[i].argc);
		got = fired(rs, NULL);
		if (strcmp(got, cases[i].want) != 0)
			printf("  case %zu (%s): fired \"%s\"\n", i, cases[i].path, got);
		CHECK_STR(got, cases[i].want);
	}
	ruleset_free(rs);
}

static void test_scope(void)
{
	struct ruleset *rs = parse(
		"{\"version\": 1, \"rules\": ["
		"{\"id\": \"m\", \"title\": \"T\", \"severity\": \"low\", \"match\": {\"kind\": \"dup\"}},"
		"{\"id\": \"r\", \"title\": \"T\", \"severity\": \"low\", \"scope\": \"root\", \"match\": {\"kind\": \"dup\"}},"
		"{\"id\": \"a\", \"title\": \"T\", \"severity\": \"low\", \"scope\": \"any\", \"match\": {\"kind\": \"dup\"}}]}");

	if (!rs)
		return;
	dup_ev("198.51.100.7", 1);
	mark(MLW_MARK_MODEL, 1, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-socket-stdio m a");
	mark(MLW_MARK_ROOT | MLW_MARK_USER, 1, 2);
	CHECK_STR(fired(rs, NULL), "root-socket-stdio r a");
	mark(MLW_MARK_ROOT | MLW_MARK_MODEL, 1, 2);
	CHECK_STR(fired(rs, NULL), "model-loader-socket-stdio root-socket-stdio m r a");
	mark(0, 1, 2); /* sensors without reasons: a model mark */
	CHECK_STR(fired(rs, NULL), "model-loader-socket-stdio m a");
	ruleset_free(rs);
}

static void test_window(void)
{
	dup_ev("198.51.100.7", 1);
	mark(MLW_MARK_MODEL, 100, 160);
	CHECK(fires("{\"kind\": \"dup\"}", "\"window\": 60", NULL));
	CHECK(!fires("{\"kind\": \"dup\"}", "\"window\": 59", NULL));
	CHECK(fires("{\"kind\": \"dup\"}", "\"window\": 0", NULL));
	mark(MLW_MARK_MODEL, 100 + 86400 * 365, 100 + 86400 * 365 * 2); /* a year later */
	CHECK(fires("{\"kind\": \"dup\"}", NULL, NULL));
	mark(MLW_MARK_MODEL, 200, 100); /* clocks out of order: no time has passed */
	CHECK(fires("{\"kind\": \"dup\"}", "\"window\": 1", NULL));
}

/* ---- the built-ins, as before --------------------------------------- */

static void test_builtins_unchanged(void)
{
	struct ruleset *rs = NULL;
	const struct rule *old[16];
	static const struct {
		const char *path;
		const char *argv[4];
		size_t argc;
		const char *want;
	} cases[] = {
		{ "/bin/sh", { "sh", "-c", "id" }, 3, "model-loader-shell" },
		{ "/usr/bin/curl", { "curl", "-O", "http://x" }, 3, "model-loader-downloader" },
		{ "/usr/bin/python3",
		  { "python3", "-c", "import os" },
		  3,
		  "model-loader-inline-interpreter" },
		{ "/usr/bin/base64", { "base64", "-d" }, 2, "model-loader-inline-interpreter" },
		{ "/usr/bin/nc", { "nc", "1.2.3.4", "4444" }, 3, "model-loader-network-tool" },
		{ "/opt/xmrig", { "xmrig" }, 1, "model-loader-miner" },
		{ "/dev/shm/x", { "x" }, 1, "model-loader-exec-from-temp" },
		{ "/usr/bin/gcc", { "gcc", "x.c" }, 2, "" },
		{ "/usr/bin/uname", { "uname", "-p" }, 2, "" },
		{ "/usr/bin/id", { "id" }, 1, "" },
	};

	CHECK(ruleset_load(NULL, &rs, NULL) == 0 && rs);
	if (!rs)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;

		exec_ev(cases[i].path, cases[i].argv, cases[i].argc);
		CHECK_STR(fired(rs, NULL), cases[i].want);
		n = rules_match(builtin_rules, n_builtin_rules, &ev, &fa, old, 16);
		CHECK(n == ruleset_match(rs, &ev, &fa, NULL, hits, 16));
		for (size_t k = 0; k < n; k++)
			CHECK_STR(old[k]->id, hits[k]->id);
	}
	connect_ev("203.0.113.9", 443, -ECONNREFUSED);
	CHECK_STR(fired(rs, NULL), "model-loader-external-connect");
	connect_ev("169.254.169.254", 80, 0);
	CHECK_STR(fired(rs, NULL), "model-loader-metadata-connect");
	/* once the load is over, egress is context for the chains only */
	connect_after_load("203.0.113.9", 443, 0);
	CHECK_STR(fired(rs, NULL), "model-loader-egress-after-load");
	connect_after_load("169.254.169.254", 80, 0);
	CHECK_STR(fired(rs, NULL), "model-loader-metadata-after-load");
	connect_ev("10.1.2.3", 443, 0);
	CHECK_STR(fired(rs, NULL), "");
	open_ev("/home/u/.ssh/id_ed25519", O_RDONLY, 3);
	CHECK_STR(fired(rs, NULL), "model-loader-credential-read");
	open_ev("/home/u/.ssh/id_ed25519", O_RDONLY, -ENOENT);
	CHECK_STR(fired(rs, NULL), "");
	open_ev("/etc/systemd/system/x.service", O_WRONLY | O_CREAT | O_TRUNC, 3);
	CHECK_STR(fired(rs, NULL), "model-loader-persistence-write");
	dup_ev("127.0.0.1", 4444);
	CHECK_STR(fired(rs, NULL), "model-loader-socket-stdio");
	ruleset_free(rs);
}

static void test_pattern_compile(void)
{
	static const struct {
		const char *glob;
		enum pattern_kind kind;
		const char *lit;
	} cases[] = {
		{ "gcc", PAT_EXACT, "gcc" },     { "/tmp/*", PAT_PREFIX, "/tmp/" },
		{ "*.pth", PAT_SUFFIX, ".pth" }, { "*stratum+*", PAT_CONTAINS, "stratum+" },
		{ "*", PAT_SUFFIX, "" },         { "a*b", PAT_GLOB, NULL },
		{ "*a?*", PAT_GLOB, NULL },      { "x\\*", PAT_GLOB, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pattern p = { .text = cases[i].glob };

		pattern_compile(&p);
		CHECK(p.kind == cases[i].kind);
		if (cases[i].lit)
			CHECK(p.lit_len == strlen(cases[i].lit) &&
			      !memcmp(p.lit, cases[i].lit, p.lit_len));
	}
	{
		struct pattern p = { .text = "x\\*" };

		pattern_compile(&p);
		CHECK(pattern_match(&p, "x*", 2) && !pattern_match(&p, "xy", 2));
	}
}

/* ---- the format round-trips; the command ---------------------------- */

static void test_json_round_trip(void)
{
	struct ruleset *rs = parse(
		"{\"version\": 1, \"allow\": [{\"exe\": [\"wandb-core\"], \"kind\": \"connect\"}],"
		" \"rules\": [{\"id\": \"x\", \"title\": \"X\", \"severity\": \"critical\", \"tags\": [\"AML.T0011.000\"],"
		" \"scope\": \"any\", \"window\": 600, \"action\": \"kill\","
		" \"match\": {\"kind\": [\"connect\", \"dup\"], \"cidr\": [\"10.0.0.0/8\", \"fd00::/8\"],"
		"  \"port\": [4444, \"8000-8100\"], \"dest\": [\"internal\"]},"
		" \"except\": [{\"exe\": [\"ssh\"]}]}]}");
	struct ruleset *again;
	cJSON *a, *b;
	char *sa, *sb;

	if (!rs)
		return;
	a = ruleset_to_json(rs, false);
	sa = cJSON_PrintUnformatted(a);
	again = parse(sa);
	CHECK(again != NULL);
	if (again) {
		b = ruleset_to_json(again, false);
		sb = cJSON_PrintUnformatted(b);
		CHECK_STR(sa, sb);
		CHECK(strstr(sa,
			     "\"cidr\":[\"10.0.0.0/8\",\"fd00::/8\"],\"port\":[4444,\"8000-8100\"]"));
		cJSON_free(sb);
		cJSON_Delete(b);
		ruleset_free(again);
	}
	cJSON_free(sa);
	cJSON_Delete(a);
	ruleset_free(rs);
}

static void test_command(void)
{
	const char *good =
		write_file("good.json",
			   "{\"version\": 1, \"rules\": [{\"id\": \"model-loader-miner\", \"enabled\": false},"
			   "{\"id\": \"evil-name\", \"title\": \"T\", \"severity\": \"low\","
			   " \"match\": {\"kind\": \"exec\", \"argv_contains\": [\"a\\nb\\u001b[31m, c\"]}}]}",
			   0644);
	char gpath[256], line[512];
	const char *check[] = { "rules", "check", gpath };
	const char *list[] = { "rules", "list", gpath };
	const char *listj[] = { "rules", "list", "--json", gpath };
	const char *bad[] = { "rules", "check", NULL };
	const char *usage1[] = { "rules" }, *usage2[] = { "rules", "check" };
	const char *usage3[] = { "rules", "frob" }, *usage4[] = { "rules", "list", "--yaml" };
	const char *usage5[] = { "rules", "check", "a", "b" };
	cJSON *j;

	snprintf(gpath, sizeof(gpath), "%s", good);
	CHECK(run_cmd(3, check) == RULES_CMD_OK);
	snprintf(line, sizeof(line),
		 "%s: ok: %zu rules in effect (%zu built-in, 0 replaced, 1 disabled, "
		 "1 added), 5 allowlist entries (0 from the file)\n",
		 gpath, n_builtin_rules, n_builtin_rules - 1);
	CHECK_STR(cmd_out, line);
	CHECK_STR(cmd_err, "");

	CHECK(run_cmd(3, list) == RULES_CMD_OK);
	CHECK(strstr(cmd_out, "\nmodel-loader-shell ") != NULL);
	CHECK(strstr(cmd_out, "\nmodel-loader-miner ") == NULL);
	/* the hostile substring stays on its line, escaped and quoted */
	CHECK(strstr(cmd_out, "file     kind=exec argv_contains=\"a\\nb\\x1b[31m, c\"\n") != NULL);
	CHECK(!strstr(cmd_out, "\x1b"));

	CHECK(run_cmd(4, listj) == RULES_CMD_OK);
	j = cJSON_Parse(cmd_out);
	CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")) == (int)n_builtin_rules);
	cJSON_Delete(j);

	bad[2] = write_file("bad.json", "{\"version\": 1, \"rules\": [{\"id\": \"r\"}]}", 0644);
	CHECK(run_cmd(3, bad) == RULES_CMD_INVALID);
	CHECK_STR(cmd_out, "");
	snprintf(line, sizeof(line),
		 "%s: rule \"r\": title: missing\n%s: rule \"r\": severity: missing\n"
		 "%s: rule \"r\": match: missing\n",
		 bad[2], bad[2], bad[2]);
	CHECK_STR(cmd_err, line);
	bad[1] = "list";
	CHECK(run_cmd(3, bad) == RULES_CMD_INVALID);

	CHECK(run_cmd(1, usage1) == RULES_CMD_USAGE);
	CHECK(run_cmd(2, usage2) == RULES_CMD_USAGE);
	CHECK(run_cmd(2, usage3) == RULES_CMD_USAGE);
	CHECK_STR(cmd_err,
		  "mlwatch rules: unknown subcommand (expected check or list): 'frob' (see mlwatch rules --help)\n");
	CHECK(run_cmd(3, usage4) == RULES_CMD_USAGE);
	CHECK(run_cmd(4, usage5) == RULES_CMD_USAGE);
}

static void test_example_file(void)
{
	struct ruleset *rs = NULL;

	rule_errors_free(&errs);
	CHECK(ruleset_load("examples/rules.json", &rs, &errs) == 0);
	for (size_t i = 0; i < errs.n; i++)
		printf("  %s\n", errs.msgs[i]);
	ruleset_free(rs);
}

int main(void)
{
	netclass_init(&net);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_error_unknown_keys);
	RUN(test_error_types);
	RUN(test_error_ids);
	RUN(test_error_names);
	RUN(test_error_networks);
	RUN(test_error_patterns);
	RUN(test_error_kinds_and_filters);
	RUN(test_error_json_syntax);
	RUN(test_error_hostile_text);
	RUN(test_every_error_reported);
	RUN(test_errors_capped);
	RUN(test_error_files);
	RUN(test_builtins_only);
	RUN(test_override_disable_extend);
	RUN(test_override_must_be_whole);
	RUN(test_match_kind);
	RUN(test_match_python);
	RUN(test_error_python);
	RUN(test_match_path);
	RUN(test_match_exe);
	RUN(test_match_argv);
	RUN(test_match_exec_class);
	RUN(test_match_network);
	RUN(test_match_open);
	RUN(test_match_failed_too);
	RUN(test_exceptions);
	RUN(test_global_allow_from_file);
	RUN(test_builtin_allowlist);
	RUN(test_scope);
	RUN(test_window);
	RUN(test_builtins_unchanged);
	RUN(test_pattern_compile);
	RUN(test_json_round_trip);
	RUN(test_command);
	RUN(test_example_file);
	rule_errors_free(&errs);
	{
		static const char *const made[] = {
			"big.json", "cap.json", "open.json", "ok.json", "good.json", "bad.json",
		};
		char path[256];

		for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	return CHECK_DONE();
}
