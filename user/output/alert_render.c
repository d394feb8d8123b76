/* JSON rendering of an alert (cJSON). Every string passes utf8_sanitize
 * first: argv and paths are attacker-chosen bytes and must not break the
 * line a SIEM parses. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <mlwatch/schema.h>

#include "alert_render.h"
#include "inventory_render.h"
#include "detect/pathclass.h"
#include "detect/selfprot.h"
#include "collect/pyevents.h"
#include "record_id.h"
#include "workload_render.h"
#include "lib/textsan.h"
#include "lib/timefmt.h"
#include "scan/scan_render.h"

static cJSON *add_str(cJSON *obj, const char *key, const char *s)
{
	/* UTF-8 can grow 3x when every byte is replaced */
	char buf[3 * 4096 + 4];

	utf8_sanitize(s ? s : "", s ? strlen(s) : 0, buf, sizeof(buf));
	return cJSON_AddStringToObject(obj, key, buf);
}

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[3 * 4096 + 4];

	for (size_t i = 0; i < n; i++) {
		utf8_sanitize(v[i], strlen(v[i]), buf, sizeof(buf));
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
	return arr;
}

/* NUL-separated args -> array (bounded by the decode limit). */
static cJSON *args_array(const char *args, size_t len)
{
	const char *v[DECODE_ARGV_MAX];
	size_t n = 0, i = 0;

	while (args && i < len && n < DECODE_ARGV_MAX) {
		v[n++] = args + i;
		i += strlen(args + i) + 1;
	}
	return str_array(v, n);
}

static void add_flags(cJSON *obj, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" },       { O_EXCL, "O_EXCL" },
		{ O_TRUNC, "O_TRUNC" },       { O_APPEND, "O_APPEND" },
		{ O_NONBLOCK, "O_NONBLOCK" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_PATH, "O_PATH" },         { O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE" },
	};
	cJSON *arr = cJSON_CreateArray();
	unsigned acc = flags & O_ACCMODE;

	cJSON_AddItemToArray(arr, cJSON_CreateString(acc == O_WRONLY ? "O_WRONLY" :
						     acc == O_RDWR   ? "O_RDWR" :
								       "O_RDONLY"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((flags & names[i].bit) == names[i].bit)
			cJSON_AddItemToArray(arr, cJSON_CreateString(names[i].name));
	cJSON_AddItemToObject(obj, "flags", arr);
}

static cJSON *process_json(const struct alert *a)
{
	const struct event *ev = a->ev;
	const struct proc *p = a->proc;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "pid", ev->hdr.tgid);
	cJSON_AddNumberToObject(o, "tid", ev->hdr.tid);
	cJSON_AddNumberToObject(o, "ppid", ev->hdr.ppid);
	cJSON_AddNumberToObject(o, "uid", ev->hdr.uid);
	add_str(o, "comm", ev->comm);
	add_str(o, "exe", p && p->exe ? p->exe : "");
	if (ev->kind == MLW_EV_EXEC) {
		cJSON_AddItemToObject(o, "args", str_array(ev->argv, ev->argc));
		cJSON_AddBoolToObject(o, "args_truncated", ev->args_truncated);
	} else {
		cJSON_AddItemToObject(o, "args",
				      args_array(p ? p->args : NULL, p ? p->args_len : 0));
		cJSON_AddBoolToObject(o, "args_truncated", p && p->args_truncated);
	}
	cJSON_AddNumberToObject(o, "cgroup_id", (double)ev->hdr.cgroup_id);
	return o;
}

/* The lineage was marked by what Python unpickled: the model came through
 * the interpreter, from its open model file or from memory. */
static bool python_source(const struct alert *a)
{
	return a->ev->hdr.mark.reason & MLW_MARK_PYTHON;
}

static cJSON *loader_json(const struct alert *a)
{
	const struct proc *l = a->loader;
	cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
	bool py = python_source(a), file = l && l->model.path;
	const char *none = py ? "memory" : "";

	cJSON_AddNumberToObject(o, "pid", a->loader_pid);
	add_str(o, "exe", l && l->exe ? l->exe : "");
	add_str(m, "path", file ? l->model.path : none);
	add_str(m, "resolved_path", l && l->model.resolved_path ? l->model.resolved_path : none);
	add_str(m, "format",
		model_format_name(file ? l->model.format :
				  py   ? MF_PICKLE :
					 MF_UNKNOWN));
	if (py)
		add_str(m, "source", "python");
	if (l && l->n_models > 1)
		cJSON_AddNumberToObject(m, "models_loaded", l->n_models);
	cJSON_AddItemToObject(o, "model", m);
	return o;
}

static cJSON *sockaddr_json(cJSON *o, const struct facts *f, unsigned family)
{
	add_str(o, "family", sockaddr_family_name(family));
	add_str(o, "address", f->address);
	cJSON_AddNumberToObject(o, "port", f->port);
	add_str(o, "dest_class", dest_class_name(f->dest));
	return o;
}

/* What another process did to mlwatch: the act, and which of mlwatch's
 * threads or objects it aimed at. */
static void self_json(cJSON *o, const struct alert *a)
{
	const struct mlw_self *x = a->ev->u.self;

	add_str(o, "kind", "self");
	add_str(o, "op", selfprot_op_name(x->op));
	switch (x->op) {
	case MLW_SELF_BPF:
		add_str(o, "command", selfprot_bpf_cmd_name(x->arg));
		break;
	case MLW_SELF_SIGNAL:
		add_str(o, "signal", selfprot_signal_name(x->arg));
		cJSON_AddNumberToObject(o, "signo", x->arg);
		add_str(o, "origin", selfprot_origin_name(x->code));
		break;
	case MLW_SELF_PTRACE:
		add_str(o, "request", selfprot_ptrace_name(x->arg));
		break;
	case MLW_SELF_GETFD:
		cJSON_AddNumberToObject(o, "fd", x->arg);
		break;
	case MLW_SELF_MEM_OPEN:
	case MLW_SELF_MAP_MMAP:
		cJSON_AddBoolToObject(o, "write", x->arg);
		break;
	default:
		break;
	}
	if (x->obj) {
		cJSON *obj = cJSON_CreateObject();

		add_str(obj, "type", selfprot_obj_name(x->obj));
		cJSON_AddNumberToObject(obj, "id", x->obj_id);
		add_str(obj, "name", a->facts->self_object ? a->facts->self_object : "");
		cJSON_AddItemToObject(o, "object", obj);
	}
	if (x->target)
		cJSON_AddNumberToObject(o, "thread", x->target);
}

/* A Python audit event: its name, its arguments as text, and for
 * find_class the global and the verdicts. */
static void python_json(cJSON *o, const struct alert *a)
{
	const struct py_args *p = &a->ev->py;
	const struct pyevent_def *d = pyevent_by_id(p->event);
	const struct facts *f = a->facts;
	const char *v[MLW_PY_ARGS];

	add_str(o, "kind", "python");
	add_str(o, "audit", d ? d->name : "");
	for (size_t i = 0; i < p->n; i++)
		v[i] = p->arg[i];
	cJSON_AddItemToObject(o, "args", str_array(v, p->n));
	if (p->event == PYEV_FIND_CLASS && p->n >= 2) {
		add_str(o, "module", p->arg[0]);
		add_str(o, "name", p->arg[1]);
		add_str(o, "verdict",
			f->py_verdict == PYV_DENIED  ? "denied" :
			f->py_verdict == PYV_ALLOWED ? "allowed" :
						       "unsafe");
		cJSON_AddBoolToObject(o, "kernel_flagged", p->pyflags & MLW_PY_F_UNSAFE);
	}
	if (f->py_addr) {
		add_str(o, "address", f->address);
		cJSON_AddNumberToObject(o, "port", f->port);
		add_str(o, "dest_class", dest_class_name(f->dest));
	}
	cJSON_AddBoolToObject(o, "truncated", p->truncated);
	cJSON_AddBoolToObject(o, "unreadable", p->fault);
	add_str(o, "probe", p->pyflags & MLW_PY_F_UPROBE ? "uprobe" : "usdt");
	if (f->py_interp)
		add_str(o, "interpreter", f->py_interp);
}

static cJSON *event_json(const struct alert *a)
{
	const struct event *ev = a->ev;
	const struct facts *f = a->facts;
	cJSON *o = cJSON_CreateObject();
	char classes[256];

	switch (ev->kind) {
	case MLW_EV_EXEC:
		add_str(o, "kind", "exec");
		add_str(o, "filename", ev->path);
		add_str(o, "resolved_path", f->resolved_path);
		if (f->real_path[0])
			add_str(o, "real_path", f->real_path);
		if (f->via[0])
			add_str(o, "via", f->via);
		if (f->script[0])
			add_str(o, "script", f->script);
		cJSON_AddItemToObject(o, "args", str_array(ev->argv, ev->argc));
		cJSON_AddBoolToObject(o, "args_truncated", ev->args_truncated);
		add_str(o, "classes", exec_class_names(f->exec_classes, classes, sizeof(classes)));
		if (f->exec_dropped)
			cJSON_AddTrueToObject(o, "dropped");
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		add_str(o, "kind", "open");
		add_str(o, "path", ev->path);
		add_str(o, "resolved_path", f->resolved_path);
		if (f->real_path[0])
			add_str(o, "real_path", f->real_path);
		add_flags(o, ev->u.open->flags);
		cJSON_AddNumberToObject(o, "result", ev->u.open->ret);
		if (ev->u.open->syscall == MLW_SYS_URING_OPENAT)
			add_str(o, "via", "io_uring");
		if (f->credential)
			add_str(o, "match", f->credential);
		else if (f->persistence)
			add_str(o, "match", f->persistence);
		break;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		add_str(o, "kind", event_kind_name(ev->kind));
		sockaddr_json(o, f, ev->u.connect->addr.family);
		cJSON_AddNumberToObject(o, "fd", ev->u.connect->fd);
		cJSON_AddNumberToObject(o, "result", ev->u.connect->ret);
		cJSON_AddBoolToObject(o, "during_load", ev->hdr.flags & MLW_F_IN_LOAD);
		if (ev->hdr.flags & MLW_F_NO_SYSCALL)
			add_str(o, "via",
				ev->kind == MLW_EV_SEND ? "sendmsg" : "io_uring or sendto");
		if (f->runtime)
			add_str(o, "runtime", f->runtime);
		if (ev->hdr.flags & MLW_F_DENIED)
			add_str(o, "enforcement", "refused");
		break;
	case MLW_EV_DUP: {
		cJSON *peer = cJSON_CreateObject();

		add_str(o, "kind", "dup");
		cJSON_AddNumberToObject(o, "oldfd", ev->u.dup->oldfd);
		cJSON_AddNumberToObject(o, "newfd", ev->u.dup->newfd);
		add_str(o, "syscall", dup_syscall_name(ev->u.dup->syscall));
		cJSON_AddItemToObject(o, "peer", sockaddr_json(peer, f, ev->u.dup->peer.family));
		break;
	}
	case MLW_EV_LINK:
		add_str(o, "kind", "link");
		add_str(o, "syscall", link_syscall_name(ev->u.link->syscall));
		add_str(o, "source", ev->path);
		add_str(o, "resolved_source", f->real_path);
		add_str(o, "path", ev->kpath);
		add_str(o, "resolved_path", f->resolved_path);
		cJSON_AddNumberToObject(o, "result", ev->u.link->ret);
		if (f->credential)
			add_str(o, "match", f->credential);
		else if (f->persistence)
			add_str(o, "match", f->persistence);
		break;
	case MLW_EV_SELF:
		self_json(o, a);
		break;
	case MLW_EV_PYTHON:
		python_json(o, a);
		break;
	case MLW_EV_SOCKET:
		add_str(o, "kind", "socket");
		add_str(o, "class", f->socket_class);
		cJSON_AddNumberToObject(o, "family", ev->u.socket->family);
		cJSON_AddNumberToObject(o, "type", ev->u.socket->type);
		cJSON_AddNumberToObject(o, "protocol", ev->u.socket->protocol);
		cJSON_AddNumberToObject(o, "result", ev->u.socket->ret);
		break;
	default:
		add_str(o, "kind", event_kind_name(ev->kind));
		break;
	}
	cJSON_AddBoolToObject(o, "path_truncated", ev->path_truncated);
	/* --enforce: the kernel SIGKILLed the actor at this event */
	if (ev->hdr.flags & MLW_F_KILLED)
		add_str(o, "action", "killed");
	return o;
}

cJSON *alert_to_json(const struct alert *a)
{
	cJSON *root = cJSON_CreateObject(), *rule = cJSON_CreateObject();
	cJSON *tags = cJSON_CreateArray(), *anc = cJSON_CreateArray();
	char ts[64];

	format_rfc3339(a->realtime_ns, ts, sizeof(ts));
	add_str(root, "record", "alert");
	cJSON_AddNumberToObject(root, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
	add_record_id(root);
	add_str(root, "time", ts);
	if (a->incident_id)
		add_str(root, "incident", a->incident_id);
	add_str(root, "host", a->host);
	add_str(rule, "id", a->rule->id);
	add_str(rule, "title", a->rule->title);
	cJSON_AddItemToObject(root, "rule", rule);
	add_str(root, "severity", severity_name(a->rule->severity));
	for (int i = 0; i < RULE_MAX_TAGS && a->rule->tags[i]; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(a->rule->tags[i]));
	cJSON_AddItemToObject(root, "tags", tags);
	cJSON_AddItemToObject(root, "process", process_json(a));
	workload_to_json(root, a->wl);
	cJSON_AddItemToObject(root, "loader", loader_json(a));
	for (size_t i = 0; i < a->n_ancestry; i++) {
		const struct proc *p = proctable_get(a->pt, a->ancestry[i]);
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "pid", a->ancestry[i]);
		add_str(e, "exe", p && p->exe ? p->exe : "");
		cJSON_AddItemToArray(anc, e);
	}
	cJSON_AddItemToObject(root, "ancestry", anc);
	cJSON_AddItemToObject(root, "event", event_json(a));
	if (a->scan)
		cJSON_AddItemToObject(root, "scan", inv_scan_to_json(a->scan));
	return root;
}

static size_t put_argv(char *out, size_t len, size_t off, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		off = text_putf(out, len, off, i ? " " : "");
		off = text_put(out, len, off, v[i]);
	}
	return off;
}

int alert_to_text(const struct alert *a, char *out, size_t len)
{
	const struct event *ev = a->ev;
	const struct facts *f = a->facts;
	const struct proc *l = a->loader;
	char ts[64], classes[256];
	size_t o = 0;

	format_rfc3339(a->realtime_ns, ts, sizeof(ts));
	o = text_putf(out, len, o, "%s %s %s: ", ts, severity_name(a->rule->severity), a->rule->id);
	o = text_put(out, len, o, a->rule->title); /* a rules file's text */
	o = text_putf(out, len, o, "\n");
	o = text_putf(out, len, o, "  process  pid=%u ppid=%u uid=%u comm=", ev->hdr.tgid,
		      ev->hdr.ppid, ev->hdr.uid);
	o = text_put(out, len, o, ev->comm);
	o = text_putf(out, len, o, " exe=");
	o = text_put(out, len, o, a->proc && a->proc->exe ? a->proc->exe : "?");
	o = workload_to_text(a->wl, out, len, o);
	o = text_putf(out, len, o, "\n  loader   pid=%u exe=", a->loader_pid);
	o = text_put(out, len, o, l && l->exe ? l->exe : "?");
	o = text_putf(out, len, o, " model=");
	o = text_put(out, len, o,
		     l && l->model.resolved_path ? l->model.resolved_path :
		     python_source(a)            ? "memory" :
						   "?");
	o = text_putf(out, len, o, " (%s%s)\n  ancestry ",
		      model_format_name(l && l->model.path ? l->model.format :
					python_source(a)   ? MF_PICKLE :
							     MF_UNKNOWN),
		      python_source(a) ? ", via python" : "");
	for (size_t i = 0; i < a->n_ancestry; i++) {
		const struct proc *p = proctable_get(a->pt, a->ancestry[i]);

		o = text_putf(out, len, o, "%s%u ", i ? " <- " : "", a->ancestry[i]);
		o = text_put(out, len, o, p && p->exe ? p->exe : "?");
	}
	o = text_putf(out, len, o, "\n  event    %s%s ", event_kind_name(ev->kind),
		      ev->hdr.flags & MLW_F_KILLED ? " (KILLED by mlwatch)" : "");
	switch (ev->kind) {
	case MLW_EV_EXEC:
		o = text_put(out, len, o, f->resolved_path);
		if (f->real_path[0] && strcmp(f->real_path, f->resolved_path)) {
			o = text_putf(out, len, o, " (really ");
			o = text_put(out, len, o, f->real_path);
			o = text_putf(out, len, o, ")");
		}
		o = text_putf(out, len, o, " [%s] args: ",
			      exec_class_names(f->exec_classes, classes, sizeof(classes)));
		o = put_argv(out, len, o, ev->argv, ev->argc);
		if (ev->args_truncated)
			o = text_putf(out, len, o, " (args truncated)");
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		o = text_put(out, len, o, f->resolved_path);
		o = text_putf(out, len, o, " (%s) result=%d",
			      f->credential  ? f->credential :
			      f->persistence ? f->persistence :
					       "",
			      ev->u.open->ret);
		break;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		o = text_putf(out, len, o, "%s ", sockaddr_family_name(ev->u.connect->addr.family));
		o = text_put(out, len, o, f->address);
		o = text_putf(out, len, o, " port %u (%s%s%s) result=%d%s", f->port,
			      dest_class_name(f->dest), f->runtime ? ", runtime API " : "",
			      f->runtime ? f->runtime : "", ev->u.connect->ret,
			      ev->hdr.flags & MLW_F_IN_LOAD ? " during the load" : "");
		break;
	case MLW_EV_DUP:
		o = text_putf(out, len, o, "%s fd %d -> %d, socket peer ",
			      dup_syscall_name(ev->u.dup->syscall), ev->u.dup->oldfd,
			      ev->u.dup->newfd);
		o = text_put(out, len, o, f->address);
		o = text_putf(out, len, o, " port %u (%s)", f->port, dest_class_name(f->dest));
		break;
	case MLW_EV_LINK:
		o = text_putf(out, len, o, "%s ", link_syscall_name(ev->u.link->syscall));
		o = text_put(out, len, o, f->real_path[0] ? f->real_path : ev->path);
		o = text_putf(out, len, o, " -> ");
		o = text_put(out, len, o, f->resolved_path);
		o = text_putf(out, len, o, " (%s) result=%d",
			      f->credential  ? f->credential :
			      f->persistence ? f->persistence :
					       "",
			      ev->u.link->ret);
		break;
	case MLW_EV_SELF: {
		const struct mlw_self *x = ev->u.self;

		o = text_putf(out, len, o, "%s", selfprot_op_name(x->op));
		if (x->op == MLW_SELF_BPF)
			o = text_putf(out, len, o, " %s", selfprot_bpf_cmd_name(x->arg));
		else if (x->op == MLW_SELF_SIGNAL)
			o = text_putf(out, len, o, " %s (%s)", selfprot_signal_name(x->arg),
				      selfprot_origin_name(x->code));
		else if (x->op == MLW_SELF_PTRACE)
			o = text_putf(out, len, o, " %s", selfprot_ptrace_name(x->arg));
		else if (x->op == MLW_SELF_GETFD)
			o = text_putf(out, len, o, " fd %u", x->arg);
		else if (x->arg && (x->op == MLW_SELF_MEM_OPEN || x->op == MLW_SELF_MAP_MMAP))
			o = text_putf(out, len, o, " for writing");
		if (x->obj) {
			o = text_putf(out, len, o, " on %s %u ", selfprot_obj_name(x->obj),
				      x->obj_id);
			o = text_put(out, len, o, f->self_object ? f->self_object : "?");
		}
		if (x->target)
			o = text_putf(out, len, o, " on mlwatch thread %u", x->target);
		break;
	}
	case MLW_EV_PYTHON: {
		const struct py_args *p = &ev->py;
		const struct pyevent_def *d = pyevent_by_id(p->event);

		o = text_put(out, len, o, d ? d->name : "?");
		for (size_t i = 0; i < p->n; i++) {
			o = text_putf(out, len, o, i ? ", " : " (");
			o = text_put(out, len, o, p->arg[i]);
			o = text_putf(out, len, o, i + 1 == p->n ? ")" : "");
		}
		if (p->event == PYEV_FIND_CLASS)
			o = text_putf(out, len, o, " [%s]",
				      f->py_verdict == PYV_DENIED ? "denied" :
								    "outside the allowlist");
		if (f->py_addr)
			o = text_putf(out, len, o, " (%s)", dest_class_name(f->dest));
		if (p->truncated)
			o = text_putf(out, len, o, " (truncated)");
		if (p->fault)
			o = text_putf(out, len, o, " (unreadable)");
		break;
	}
	case MLW_EV_SOCKET:
		o = text_putf(out, len, o, "%s socket family=%d type=%d protocol=%d result=%d",
			      f->socket_class ? f->socket_class : "?", ev->u.socket->family,
			      ev->u.socket->type, ev->u.socket->protocol, ev->u.socket->ret);
		break;
	default:
		break;
	}
	if (ev->path_truncated)
		o = text_putf(out, len, o, " (path truncated)");
	if (a->scan) {
		o = text_putf(out, len, o, "\n  scan     %s, %u findings",
			      scan_verdict_name(a->scan->verdict), a->scan->findings);
		for (int i = 0; i < INV_SCAN_TOP && a->scan->top[i][0]; i++) {
			o = text_putf(out, len, o, "\n    ");
			o = text_put(out, len, o, a->scan->top[i]);
		}
	}
	o = text_putf(out, len, o, "\n  tags    ");
	for (int i = 0; i < RULE_MAX_TAGS && a->rule->tags[i]; i++)
		o = text_putf(out, len, o, " %s", a->rule->tags[i]);
	o = text_putf(out, len, o, "\n");
	return (int)o;
}
