/*
 * An alert turned into an incident input: its step kind and a one-line
 * summary. Every string is attacker-influenced (argv, paths) and passes
 * text_escape on the way in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "incident_step.h"
#include "pathclass.h"
#include "collect/pyevents.h"
#include "lib/textsan.h"
#include "scan/scan_render.h"

static enum incident_step_kind exec_kind(unsigned classes)
{
	/* most specific first: a miner run from /tmp is a miner */
	if (classes & EXEC_FILELESS)
		return INCIDENT_STEP_FILELESS_EXEC;
	if (classes & EXEC_MINER)
		return INCIDENT_STEP_MINER_EXEC;
	if (classes & EXEC_NETTOOL)
		return INCIDENT_STEP_NETTOOL_EXEC;
	if (classes & (EXEC_SHELL | EXEC_SHELL_INLINE))
		return INCIDENT_STEP_SHELL_EXEC;
	if (classes & EXEC_DOWNLOADER)
		return INCIDENT_STEP_DOWNLOADER_EXEC;
	if (classes & (EXEC_INLINE_INTERP | EXEC_BASE64_DECODE))
		return INCIDENT_STEP_INTERPRETER_EXEC;
	if (classes & EXEC_FROM_TEMP)
		return INCIDENT_STEP_TEMP_EXEC;
	return INCIDENT_STEP_OTHER;
}

enum incident_step_kind incident_step_for_alert(const struct alert *a)
{
	const struct event *ev = a->ev;
	const struct facts *f = a->facts;
	unsigned classes;

	/* By the event's own facts, so a rule from a rules file lands in the
	 * right kind too; the rule only says which side of one exec it saw
	 * (a shell run from /tmp fires two rules: two steps, two kinds). */
	switch (ev->kind) {
	case MLW_EV_EXEC:
		classes = f->exec_classes & a->rule->match.exec_any;
		return exec_kind(classes ? classes : f->exec_classes);
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		if (f->runtime && a->rule->match.runtime)
			return INCIDENT_STEP_RUNTIME_API;
		if (f->dest == DEST_METADATA)
			return INCIDENT_STEP_METADATA_CONNECT;
		if (f->dest == DEST_EXTERNAL)
			return INCIDENT_STEP_EXTERNAL_CONNECT;
		break;
	case MLW_EV_SOCKET:
		return INCIDENT_STEP_RAW_SOCKET;
	case MLW_EV_PYTHON:
		return ev->py.event == PYEV_FIND_CLASS ? INCIDENT_STEP_PYTHON_IMPORT :
							 INCIDENT_STEP_PYTHON_CALL;
	case MLW_EV_DUP:
		if (ev->u.dup->newfd >= 0 && ev->u.dup->newfd <= 2)
			return INCIDENT_STEP_SOCKET_STDIO;
		break;
	case MLW_EV_OPEN:
	case MLW_EV_LINK:
		if (f->credential && !(a->rule->match.path_class & RULE_PATH_PERSISTENCE))
			return INCIDENT_STEP_CREDENTIAL_READ;
		if (f->persistence)
			return INCIDENT_STEP_PERSISTENCE_WRITE;
		break;
	default:
		break;
	}
	return INCIDENT_STEP_OTHER;
}

/* Bounded appends: the summary is cut, never overrun. */
static size_t app(char *out, size_t len, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t app(char *out, size_t len, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (off + 1 >= len)
		return off;
	va_start(ap, fmt);
	n = vsnprintf(out + off, len - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return off;
	return off + (size_t)n < len ? off + (size_t)n : len - 1;
}

static size_t app_endpoint(char *out, size_t len, size_t off, unsigned family,
			   const struct facts *f)
{
	if (family == 10 /* AF_INET6 */)
		return app(out, len, off, "[%s]:%u", f->address, f->port);
	return app(out, len, off, "%s:%u", f->address, f->port);
}

/* "find_class posix.system", "os.system id", "subprocess.Popen sh -c id";
 * exec, marshal.loads and code.__new__ by name only, so a lineage's many
 * imports and evals after the mark are one step with a count (importing
 * numpy makes some 300 code objects). */
static void python_summary(const struct event *ev, char *summary, size_t len)
{
	const struct py_args *a = &ev->py;
	const struct pyevent_def *d = pyevent_by_id(a->event);
	size_t o = 0;

	if (a->event == PYEV_FIND_CLASS && a->n >= 2) {
		app(summary, len, 0, "find_class %s.%s", a->arg[0], a->arg[1]);
		return;
	}
	o = app(summary, len, o, "%s", d ? d->name : "python");
	/* by name only, so the many an import makes fold into one step with
	 * a count (the first one's alert keeps its arguments); a compile by
	 * its file name: namedtuple's "<string>" folds, a payload's own name
	 * is a step of its own */
	if (a->event == PYEV_EXEC || a->event == PYEV_MARSHAL_LOADS || a->event == PYEV_CODE_NEW)
		return;
	if (a->event == PYEV_COMPILE) {
		if (a->n >= 2 && a->arg[1][0])
			app(summary, len, o, " %s", a->arg[1]);
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->arg[i][0])
			o = app(summary, len, o, " %s", a->arg[i]);
	if (a->truncated)
		app(summary, len, o, " (cut)");
}

void incident_input_from_alert(const struct alert *a, struct incident_input *in, char *summary,
			       size_t len)
{
	const struct event *ev = a->ev;
	const struct facts *f = a->facts;
	const struct proc *l = a->loader;
	size_t o = 0, n_tags = 0;

	memset(in, 0, sizeof(*in));
	in->loader_pid = a->loader_pid;
	in->mark_ns = ev->hdr.mark.mark_ns;
	in->ts_ns = ev->hdr.ts_ns;
	in->pid = ev->hdr.tgid;
	in->rule_id = a->rule->id;
	in->rule_title = a->rule->title;
	in->severity = a->rule->severity;
	while (n_tags < RULE_MAX_TAGS && a->rule->tags[n_tags])
		n_tags++;
	in->tags = a->rule->tags;
	in->n_tags = n_tags;
	in->step = incident_step_for_alert(a);
	in->loader_exe = l && l->exe ? l->exe : NULL;
	in->model_path = l && l->model.resolved_path ? l->model.resolved_path :
			 l && l->model.path          ? l->model.path :
						       NULL;
	/* the mark says what the lineage is: a control-plane root that also
	 * loaded a model is still a root (its rules are the root ones) */
	in->root_scope = (ev->hdr.mark.reason & MLW_MARK_ROOT) != 0;
	in->python_scope = (ev->hdr.mark.reason & (MLW_MARK_PYTHON | MLW_MARK_MODEL)) ==
			   MLW_MARK_PYTHON;
	/* unpickled with no model file open: from memory (a socket, a cache) */
	if (in->python_scope && !in->model_path)
		in->model_path = "memory";
	in->model_scan = l && l->model.scanned ?
				 scan_verdict_name((enum scan_verdict)l->model.scan_verdict) :
				 NULL;
	/* the loader's, or the actor's when the loader is not known (a
	 * lineage shares its container) */
	in->cgroup_id = l && l->cgroup_id ? l->cgroup_id : ev->hdr.cgroup_id;
	in->summary = summary;
	if (!len)
		return;
	summary[0] = 0;
	switch (ev->kind) {
	case MLW_EV_EXEC:
		o = app(summary, len, o, "exec %s",
			f->resolved_path[0] ? f->resolved_path :
			ev->path            ? ev->path :
					      "?");
		for (size_t i = 1; i < ev->argc; i++)
			o = app(summary, len, o, " %s", ev->argv[i]);
		break;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		o = app(summary, len, o, "%s ", event_kind_name(ev->kind));
		o = app_endpoint(summary, len, o, ev->u.connect->addr.family, f);
		/* EINPROGRESS is a non-blocking connect under way, not a failure */
		if (ev->u.connect->ret < 0 && ev->u.connect->ret != -EINPROGRESS)
			o = app(summary, len, o, " (failed: %d)", ev->u.connect->ret);
		break;
	case MLW_EV_DUP:
		/* no fd number: dup2 onto 0, 1 and 2 is one step with count 3 */
		o = app(summary, len, o, "%s socket ", dup_syscall_name(ev->u.dup->syscall));
		o = app_endpoint(summary, len, o, ev->u.dup->peer.family, f);
		o = app(summary, len, o, " onto stdin/stdout/stderr");
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		o = app(summary, len, o, "%s %s", f->open_write ? "write" : "open",
			f->resolved_path[0] ? f->resolved_path :
			ev->path            ? ev->path :
					      "?");
		break;
	case MLW_EV_LINK:
		o = app(summary, len, o, "%s %s -> %s", link_syscall_name(ev->u.link->syscall),
			f->real_path[0] ? f->real_path : ev->path, f->resolved_path);
		break;
	case MLW_EV_SOCKET:
		o = app(summary, len, o, "%s socket", f->socket_class ? f->socket_class : "raw");
		break;
	case MLW_EV_PYTHON:
		python_summary(ev, summary, len);
		break;
	default:
		o = app(summary, len, o, "%s %s", event_kind_name(ev->kind),
			ev->path ? ev->path : "");
		break;
	}
}

/* ---- JSON */
