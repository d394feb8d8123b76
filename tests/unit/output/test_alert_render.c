/* JSON and text rendering of alerts carrying hostile strings. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include "check.h"
#include "pyrec.h"
#include "collect/pyevents.h"
#include "schema_check.h"
#include "lib/textsan.h"
#include "output/alert_render.h"

static struct event ev;

static void build(struct alert *a, struct facts *f, struct proctable *pt)
{
	static const char hostile[] = "touch \"x\"\n{\"rule\":\"fake\"}\xff\xfe\\";
	static char big[5000];
	bool c;
	struct proc *p, *l;

	memset(big, 'A', sizeof(big) - 1);
	memset(&ev, 0, sizeof(ev));
	memset(f, 0, sizeof(*f));
	memset(a, 0, sizeof(*a));
	proctable_init(pt, 0);
	ev.kind = MLW_EV_EXEC;
	ev.hdr.tgid = 20;
	ev.hdr.mark.loader_tgid = 10;
	strcpy(ev.comm, "sh\n\xff");
	ev.path = "/bin/sh";
	ev.argv[0] = "sh";
	ev.argv[1] = "-c";
	ev.argv[2] = hostile;
	ev.argv[3] = big;
	ev.argc = 4;
	ev.args_truncated = true;
	strcpy(f->resolved_path, "/bin/sh");
	l = proctable_add(pt, 10, &c);
	proctable_set_exe(pt, l, "/usr/bin/python3");
	proctable_set_model(pt, l, "m\n.pkl", "/tmp/m\n.pkl", MF_PICKLE, 1);
	p = proctable_add(pt, 20, &c);
	p->parent = 10;
	proctable_set_exe(pt, p, "/bin/sh");
	a->rule = &builtin_rules[0];
	a->ev = &ev;
	a->facts = f;
	a->pt = pt;
	a->proc = p;
	a->loader = l;
	a->loader_pid = 10;
	a->n_ancestry = proctable_ancestry(pt, 20, 10, a->ancestry, PROCTABLE_MAX_DEPTH);
	a->realtime_ns = 1763773323123000000ull;
	a->host = "node-1";
}

static void test_json_parses_back(void)
{
	struct alert a;
	struct facts f;
	struct proctable pt;
	char *line, tmp[64];
	cJSON *j, *args;

	build(&a, &f, &pt);
	j = alert_to_json(&a);
	line = cJSON_PrintUnformatted(j);
	CHECK(line && strchr(line, '\n') == NULL);
	/* the printed line is valid UTF-8 */
	CHECK(!utf8_sanitize(line, strlen(line), malloc(strlen(line) * 3 + 1),
			     strlen(line) * 3 + 1));
	cJSON_Delete(j);
	j = cJSON_Parse(line);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "id")->valuestring,
		  "model-loader-shell");
	CHECK_STR(cJSON_GetObjectItem(j, "time")->valuestring, "2025-11-22T01:02:03.123Z");
	args = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "args");
	CHECK(cJSON_GetArraySize(args) == 4);
	CHECK(strncmp(cJSON_GetArrayItem(args, 2)->valuestring, "touch \"x\"\n{", 11) == 0);
	CHECK(strlen(cJSON_GetArrayItem(args, 3)->valuestring) == 4999);
	CHECK(cJSON_IsTrue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "args_truncated")));
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "ancestry")) == 2);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loader"), "pid")->valueint == 10);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loader"),
							  "model"),
				      "format")
			  ->valuestring,
		  "pickle");
	snprintf(tmp, sizeof(tmp), "%s",
		 cJSON_GetObjectItem(cJSON_GetObjectItem(j, "event"), "kind")->valuestring);
	CHECK_STR(tmp, "exec");
	cJSON_Delete(j);
	free(line);
	proctable_free(&pt);
}

/* The version follows "record", on the alert only, not its parts. */
/* An alert about mlwatch itself: the act and the object it aimed at. */
static void test_self_object_rendered(void)
{
	static struct mlw_self x;
	struct alert a;
	struct facts f;
	struct proctable pt;
	char text[4096];
	cJSON *j, *o;

	build(&a, &f, &pt);
	memset(&x, 0, sizeof(x));
	x.op = MLW_SELF_BPF;
	x.arg = 34; /* BPF_LINK_DETACH */
	x.obj = MLW_SELF_OBJ_LINK;
	x.obj_id = 77;
	ev.kind = MLW_EV_SELF;
	ev.u.self = &x;
	f.self_object = "handle_connect4";
	a.rule = &selfprot_rules[SELFPROT_TAMPERED];
	j = alert_to_json(&a);
	o = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "event"), "object");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "event"), "command")->valuestring,
		  "BPF_LINK_DETACH");
	CHECK_STR(cJSON_GetObjectItem(o, "type")->valuestring, "link");
	CHECK(cJSON_GetObjectItem(o, "id")->valueint == 77);
	CHECK_STR(cJSON_GetObjectItem(o, "name")->valuestring, "handle_connect4");
	CHECK_STR(cJSON_GetObjectItem(j, "severity")->valuestring, "critical");
	cJSON_Delete(j);
	alert_to_text(&a, text, sizeof(text));
	CHECK(strstr(text, "event    self bpf BPF_LINK_DETACH on link 77 handle_connect4") != NULL);
	proctable_free(&pt);
}

static void test_json_schema_version(void)
{
	struct alert a;
	struct facts f;
	struct proctable pt;
	cJSON *j;

	build(&a, &f, &pt);
	j = alert_to_json(&a);
	CHECK(j && j->child && !strcmp(j->child->string, "record"));
	CHECK(schema_version_index(j) == 1);
	CHECK(schema_version_nested(j) == 0);
	cJSON_Delete(j);
	proctable_free(&pt);
}

static void test_text_one_alert_no_forged_lines(void)
{
	struct alert a;
	struct facts f;
	struct proctable pt;
	char out[32768];
	int lines = 0;

	build(&a, &f, &pt);
	alert_to_text(&a, out, sizeof(out));
	for (char *s = out; *s; s++)
		lines += *s == '\n';
	CHECK(lines == 6); /* header, process, loader, ancestry, event, tags */
	CHECK(strstr(out, "\\n{\"rule\"") != NULL);
	CHECK(strstr(out, "(args truncated)") != NULL);
	proctable_free(&pt);
}

/* Bidirectional overrides and C1 controls in a path or a rules file's
 * title cannot reorder or break the line on a terminal. */
static void test_text_bidi_and_c1_escaped(void)
{
	struct alert a;
	struct facts f;
	struct proctable pt;
	struct rule r;
	char out[32768];

	build(&a, &f, &pt);
	r = *a.rule;
	r.title = "Shell \xe2\x80\xae"
		  "llehs";
	a.rule = &r;
	strcpy(f.resolved_path, "/tmp/evil\xe2\x81\xa6"
				"x\xc2\x9b"
				"2J\xe2\x80\xa8");
	alert_to_text(&a, out, sizeof(out));
	CHECK(strstr(out, "Shell \\u{202E}llehs\n") != NULL);
	CHECK(strstr(out, "/tmp/evil\\u{2066}x\\u{009B}2J\\u{2028}") != NULL);
	CHECK(!strstr(out, "\xe2\x80\xae") && !strstr(out, "\xc2\x9b"));
	proctable_free(&pt);
}

#define CID "4c2a3f0e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988"
#define PUID "8a1b2c3d-4e5f-4789-abcd-ef0123456789"

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "container" and "k8s": absent when the process is in neither, each
 * field only when known, the API's text made safe. */
static void test_json_workload(void)
{
	static struct workload wl;
	struct alert a;
	struct facts f;
	struct proctable pt;
	cJSON *j, *k, *l;
	char *line, out[32768];
	int lines = 0;

	build(&a, &f, &pt);
	j = alert_to_json(&a);
	CHECK(!cJSON_GetObjectItem(j, "container") && !cJSON_GetObjectItem(j, "k8s"));
	cJSON_Delete(j);

	memset(&wl, 0, sizeof(wl));
	strcpy(wl.cg.container_id, CID);
	wl.cg.runtime = CG_RT_UNKNOWN;
	a.wl = &wl;
	j = alert_to_json(&a);
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "container"), "id"), CID);
	CHECK(!cJSON_GetObjectItem(cJSON_GetObjectItem(j, "container"), "runtime"));
	CHECK(!cJSON_GetObjectItem(j, "k8s"));
	cJSON_Delete(j);

	wl.cg.runtime = CG_RT_CONTAINERD;
	strcpy(wl.cg.pod_uid, PUID);
	j = alert_to_json(&a);
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "container"), "runtime"), "containerd");
	k = cJSON_GetObjectItem(j, "k8s");
	CHECK(cJSON_GetArraySize(k) == 1);
	CHECK_STR(jstr(k, "pod_uid"), PUID);
	cJSON_Delete(j);

	wl.have_pod = true;
	strcpy(wl.pod.uid, PUID);
	strcpy(wl.pod.name, "trainer-0\n{\"x\":1}\xff");
	strcpy(wl.pod.ns, "ml");
	memcpy(wl.pod.labels, "app\0trainer\0bad\xfe\0v\n\0", 21);
	wl.pod.labels_len = 21;
	wl.pod.n_labels = 2;
	wl.pod.labels_cut = true;
	j = alert_to_json(&a);
	line = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	CHECK(line && !strchr(line, '\n'));
	CHECK(!utf8_sanitize(line, strlen(line), malloc(strlen(line) * 3 + 1),
			     strlen(line) * 3 + 1));
	j = cJSON_Parse(line);
	k = cJSON_GetObjectItem(j, "k8s");
	CHECK(jstr(k, "pod") && strncmp(jstr(k, "pod"), "trainer-0\n{\"x", 13) == 0);
	CHECK_STR(jstr(k, "namespace"), "ml");
	l = cJSON_GetObjectItem(k, "labels");
	CHECK(cJSON_GetArraySize(l) == 2);
	CHECK_STR(jstr(l, "app"), "trainer");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(k, "labels_truncated")));
	cJSON_Delete(j);
	free(line);

	alert_to_text(&a, out, sizeof(out));
	for (char *s = out; *s; s++)
		lines += *s == '\n';
	CHECK(lines == 6);
	CHECK(strstr(out, " container=" CID " (containerd) pod=ml/trainer-0\\n{") != NULL);
	CHECK(strstr(out, " pod_uid=" PUID "\n") != NULL);
	proctable_free(&pt);
}

/* A find_class alert: the global by name, its args as strings, the flags,
 * and a loader whose model came from memory through Python. A hostile
 * name cannot forge a line or a key. */
static void test_python_find_class(void)
{
	static unsigned char buf[2048];
	struct pyrec_arg args[] = { PYSTR("posix"), PYSTR("system\n{\"rule\":\"fake\"}") };
	struct alert a;
	struct facts f;
	struct proctable pt;
	struct proc *p;
	const char *why;
	char text[4096];
	bool c;
	cJSON *j, *e, *m;

	memset(&a, 0, sizeof(a));
	memset(&f, 0, sizeof(f));
	proctable_init(&pt, 0);
	CHECK(event_decode(buf,
			   pyrec_make(buf, 30, PYEV_FIND_CLASS, MLW_PY_F_UNSAFE | MLW_PY_F_TRUNC,
				      args, 2),
			   &ev, &why) == 0);
	ev.hdr.flags = MLW_F_MARKED;
	ev.hdr.mark.loader_tgid = 30;
	ev.hdr.mark.reason = MLW_MARK_PYTHON;
	f.py_verdict = PYV_DENIED;
	f.py_interp = "/usr/bin/python3.11 (3.11.2)";
	p = proctable_add(&pt, 30, &c);
	proctable_set_exe(&pt, p, "/usr/bin/python3.11");
	a.rule = &python_rules[PYRULE_IMPORT_DENIED];
	a.ev = &ev;
	a.facts = &f;
	a.pt = &pt;
	a.proc = p;
	a.loader = p;
	a.loader_pid = 30;
	a.host = "node-1";
	j = alert_to_json(&a);
	CHECK(schema_version_index(j) == 1 && schema_version_nested(j) == 0);
	e = cJSON_GetObjectItem(j, "event");
	CHECK_STR(cJSON_GetObjectItem(e, "kind")->valuestring, "python");
	CHECK_STR(cJSON_GetObjectItem(e, "audit")->valuestring, "pickle.find_class");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(e, "args")) == 2);
	CHECK(cJSON_IsString(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "args"), 1)));
	CHECK_STR(cJSON_GetObjectItem(e, "module")->valuestring, "posix");
	CHECK_STR(cJSON_GetObjectItem(e, "name")->valuestring, "system\n{\"rule\":\"fake\"}");
	CHECK_STR(cJSON_GetObjectItem(e, "verdict")->valuestring, "denied");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(e, "kernel_flagged")));
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(e, "truncated")));
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(e, "unreadable")));
	CHECK_STR(cJSON_GetObjectItem(e, "probe")->valuestring, "usdt");
	CHECK_STR(cJSON_GetObjectItem(e, "interpreter")->valuestring,
		  "/usr/bin/python3.11 (3.11.2)");
	m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loader"), "model");
	CHECK_STR(cJSON_GetObjectItem(m, "source")->valuestring, "python");
	CHECK_STR(cJSON_GetObjectItem(m, "path")->valuestring, "memory");
	CHECK_STR(cJSON_GetObjectItem(m, "format")->valuestring, "pickle");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "id")->valuestring,
		  "python-pickle-unsafe-import");
	CHECK_STR(cJSON_GetObjectItem(j, "severity")->valuestring, "critical");
	cJSON_Delete(j);
	alert_to_text(&a, text, sizeof(text));
	CHECK(strstr(text, "event    python pickle.find_class (posix, system\\n{") != NULL);
	CHECK(strstr(text, "[denied] (truncated)") != NULL);
	CHECK(strstr(text, "model=memory (pickle, via python)") != NULL);
	CHECK(!strstr(text, "\n{\"rule\""));
	proctable_free(&pt);
}

int main(void)
{
	RUN(test_json_parses_back);
	RUN(test_python_find_class);
	RUN(test_json_schema_version);
	RUN(test_self_object_rendered);
	RUN(test_text_one_alert_no_forged_lines);
	RUN(test_text_bidi_and_c1_escaped);
	RUN(test_json_workload);
	return CHECK_DONE();
}
