/* Sinks: text and JSON-lines output to stdout or a file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory.h"
#include "pathclass.h"
#include "sink.h"
#include "textsan.h"
#include "timefmt.h"

int sink_open(struct sink *s, const char *path, bool json)
{
	memset(s, 0, sizeof(*s));
	s->json = json;
	if (!path) {
		s->f = stdout;
		return 0;
	}
	s->f = fopen(path, "a");
	if (!s->f) {
		int err = errno;

		fprintf(stderr, "mlwatch: cannot open output file %s: %s\n", path, strerror(err));
		return -err;
	}
	s->owned = true;
	return 0;
}

void sink_close(struct sink *s)
{
	if (s->owned && s->f)
		fclose(s->f);
	s->f = NULL;
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
	o = text_putf(out, len, o, "%s %s %s: %s\n", ts, severity_name(a->rule->severity),
		 a->rule->id, a->rule->title);
	o = text_putf(out, len, o, "  process  pid=%u ppid=%u uid=%u comm=", ev->hdr.tgid,
		 ev->hdr.ppid, ev->hdr.uid);
	o = text_put(out, len, o, ev->comm);
	o = text_putf(out, len, o, " exe=");
	o = text_put(out, len, o, a->proc && a->proc->exe ? a->proc->exe : "?");
	o = text_putf(out, len, o, "\n  loader   pid=%u exe=", a->loader_pid);
	o = text_put(out, len, o, l && l->exe ? l->exe : "?");
	o = text_putf(out, len, o, " model=");
	o = text_put(out, len, o, l && l->model.resolved_path ? l->model.resolved_path : "?");
	o = text_putf(out, len, o, " (%s)\n  ancestry ", model_format_name(l ? l->model.format : MF_UNKNOWN));
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
		o = text_putf(out, len, o, " [%s] args: ", exec_class_names(f->exec_classes, classes, sizeof(classes)));
		o = put_argv(out, len, o, ev->argv, ev->argc);
		if (ev->args_truncated)
			o = text_putf(out, len, o, " (args truncated)");
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		o = text_put(out, len, o, f->resolved_path);
		o = text_putf(out, len, o, " (%s) result=%d", f->credential ? f->credential :
			 f->persistence ? f->persistence : "", ev->u.open->ret);
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
			 dup_syscall_name(ev->u.dup->syscall), ev->u.dup->oldfd, ev->u.dup->newfd);
		o = text_put(out, len, o, f->address);
		o = text_putf(out, len, o, " port %u (%s)", f->port, dest_class_name(f->dest));
		break;
	case MLW_EV_LINK:
		o = text_putf(out, len, o, "%s ", link_syscall_name(ev->u.link->syscall));
		o = text_put(out, len, o, f->real_path[0] ? f->real_path : ev->path);
		o = text_putf(out, len, o, " -> ");
		o = text_put(out, len, o, f->resolved_path);
		o = text_putf(out, len, o, " (%s) result=%d", f->credential ? f->credential :
			 f->persistence ? f->persistence : "", ev->u.link->ret);
		break;
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

void sink_alert(struct sink *s, const struct alert *a)
{
	int rc;

	if (s->json) {
		cJSON *j = alert_to_json(a);
		char *line = j ? cJSON_PrintUnformatted(j) : NULL;

		rc = line ? fprintf(s->f, "%s\n", line) : -1;
		free(line);
		cJSON_Delete(j);
	} else {
		char *buf = malloc(64 * 1024);

		rc = buf ? (alert_to_text(a, buf, 64 * 1024), fputs(buf, s->f)) : -1;
		free(buf);
	}
	if (rc < 0 || fflush(s->f) != 0)
		s->failed++;
	else
		s->written++;
}

void sink_line(struct sink *s, const char *line)
{
	if (fprintf(s->f, "%s\n", line) < 0 || fflush(s->f) != 0)
		s->failed++;
	else
		s->written++;
}
