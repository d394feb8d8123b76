/*
 * Decode stage. The record comes from our own BPF code, but it is checked
 * as untrusted bytes anyway: a size or length that does not add up drops
 * the record with a reason instead of reading past it.
 *
 * Threat model: docs/threat-model.md §1.3 (trust boundaries).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "pathres.h"
#include "pyevents.h"

static const size_t min_size[MLW_EV_KIND_MAX] = {
	[MLW_EV_EXEC] = sizeof(struct mlw_exec),
	[MLW_EV_EXEC_FAIL] = sizeof(struct mlw_exec_fail),
	[MLW_EV_FORK] = sizeof(struct mlw_fork),
	[MLW_EV_EXIT] = sizeof(struct mlw_exit),
	[MLW_EV_OPEN] = sizeof(struct mlw_open),
	[MLW_EV_MODEL_OPEN] = sizeof(struct mlw_open),
	[MLW_EV_CONNECT] = sizeof(struct mlw_connect),
	[MLW_EV_DUP] = sizeof(struct mlw_dup),
	[MLW_EV_SEND] = sizeof(struct mlw_connect),
	[MLW_EV_LINK] = sizeof(struct mlw_link),
	[MLW_EV_SOCKET] = sizeof(struct mlw_socket),
	[MLW_EV_SELF] = sizeof(struct mlw_self),
	[MLW_EV_PYTHON] = sizeof(struct mlw_python),
};

const char *event_kind_name(enum mlw_event_kind k)
{
	switch (k) {
	case MLW_EV_EXEC:
		return "exec";
	case MLW_EV_EXEC_FAIL:
		return "exec_fail";
	case MLW_EV_FORK:
		return "fork";
	case MLW_EV_EXIT:
		return "exit";
	case MLW_EV_OPEN:
		return "open";
	case MLW_EV_MODEL_OPEN:
		return "model_open";
	case MLW_EV_CONNECT:
		return "connect";
	case MLW_EV_DUP:
		return "dup";
	case MLW_EV_SEND:
		return "send";
	case MLW_EV_LINK:
		return "link";
	case MLW_EV_SOCKET:
		return "socket";
	case MLW_EV_SELF:
		return "self";
	case MLW_EV_PYTHON:
		return "python";
	default:
		return "unknown";
	}
}

const char *dup_syscall_name(unsigned sys)
{
	static const char *const names[] = {
		[MLW_DUP_DUP] = "dup",         [MLW_DUP_DUP2] = "dup2",
		[MLW_DUP_DUP3] = "dup3",       [MLW_DUP_FCNTL] = "fcntl",
		[MLW_DUP_SOCKET] = "socket",   [MLW_DUP_ACCEPT] = "accept",
		[MLW_DUP_ACCEPT4] = "accept4", [MLW_DUP_PIDFD_GETFD] = "pidfd_getfd",
	};

	return sys < sizeof(names) / sizeof(names[0]) && names[sys] ? names[sys] : "unknown";
}

const char *link_syscall_name(unsigned sys)
{
	switch (sys) {
	case MLW_LINK_RENAME:
		return "rename";
	case MLW_LINK_LINK:
		return "link";
	case MLW_LINK_SYMLINK:
		return "symlink";
	default:
		return "unknown";
	}
}

/* Copies a counted string that should end in a NUL; never reads past avail. */
static const char *copy_str(char *dst, size_t dstlen, const char *src, size_t len, size_t avail)
{
	size_t n = len < avail ? len : avail;

	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	return dst; /* an embedded NUL simply ends the string early */
}

/* A relative name in buf, made absolute with the directory the kernel
 * looked it up from (dir, len bytes with its NUL; none when len is 0).
 * Normalized before anything is cut: a deep directory and a name that
 * climbs out of it ("../../.ssh/x") is a short path. */
static void join_dir(struct event *ev, char *buf, size_t buflen, const char *dir, size_t len)
{
	char d[MLW_PATH_MAX + 1], name[MLW_PATH_MAX + 1];
	size_t dn;

	if (!len || buf[0] == '/' || !buf[0])
		return;
	dn = strnlen(dir, len);
	if (!dn || dir[0] != '/' || dn >= sizeof(d))
		return;
	memcpy(d, dir, dn);
	d[dn] = 0;
	snprintf(name, sizeof(name), "%s", buf);
	if (path_normalize(d, name, buf, buflen) != 0) {
		/* longer than any path the kernel takes: the name as given */
		snprintf(buf, buflen, "%s", name);
		ev->path_truncated = true;
	}
}

static void split_args(struct event *ev, const char *src, size_t len)
{
	size_t i = 0;

	if (len > MLW_ARGS_MAX)
		len = MLW_ARGS_MAX;
	memcpy(ev->argbuf, src, len);
	ev->argbuf[len] = 0; /* a cut last argument still ends */
	ev->argc = 0;
	while (i < len) {
		if (ev->argc == DECODE_ARGV_MAX) {
			ev->args_truncated = true;
			break;
		}
		ev->argv[ev->argc++] = ev->argbuf + i;
		i += strlen(ev->argbuf + i) + 1;
	}
}

int event_decode(const void *data, size_t size, struct event *ev, const char **why)
{
	const struct mlw_hdr *h = data;

	ev->path = NULL;
	ev->kpath = NULL;
	ev->argc = 0;
	ev->args_truncated = false;
	ev->path_truncated = false;
	if (size < sizeof(*h)) {
		*why = "record shorter than its header";
		return -1;
	}
	memcpy(&ev->hdr, h, sizeof(*h));
	if (h->kind == 0 || h->kind >= MLW_EV_KIND_MAX) {
		*why = "unknown event kind";
		return -1;
	}
	if (size < min_size[h->kind]) {
		*why = "record shorter than its kind's struct";
		return -1;
	}
	ev->kind = h->kind;
	memcpy(ev->comm, h->comm, MLW_COMM_LEN);
	ev->comm[MLW_COMM_LEN] = 0;
	ev->path_truncated = h->flags & MLW_F_PATH_TRUNC;
	ev->args_truncated = h->flags & MLW_F_ARGS_TRUNC;

	switch (h->kind) {
	case MLW_EV_EXEC: {
		const struct mlw_exec *e = data;
		size_t avail = size - sizeof(*e);

		ev->u.exec = e;
		if (e->filename_len > avail || e->args_len > avail - e->filename_len ||
		    e->kpath_len > avail - e->filename_len - e->args_len) {
			*why = "exec record lengths exceed its size";
			return -1;
		}
		ev->path =
			copy_str(ev->pathbuf, sizeof(ev->pathbuf), e->data, e->filename_len, avail);
		split_args(ev, e->data + e->filename_len, e->args_len);
		if (e->kpath_len)
			ev->kpath = copy_str(ev->kpathbuf, sizeof(ev->kpathbuf),
					     e->data + e->filename_len + e->args_len, e->kpath_len,
					     e->kpath_len);
		break;
	}
	case MLW_EV_EXEC_FAIL: {
		const struct mlw_exec_fail *e = data;
		size_t avail = size - sizeof(*e);

		ev->u.exec_fail = e;
		if (e->path_len > avail) {
			*why = "exec_fail path length exceeds its record";
			return -1;
		}
		ev->path = copy_str(ev->pathbuf, sizeof(ev->pathbuf), e->path, e->path_len, avail);
		break;
	}
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN: {
		const struct mlw_open *o = data;
		size_t avail = size - sizeof(*o);

		ev->u.open = o;
		if (o->path_len > avail || o->kpath_len > avail - o->path_len) {
			*why = "open path lengths exceed its record";
			return -1;
		}
		ev->path = copy_str(ev->pathbuf, sizeof(ev->pathbuf), o->data, o->path_len, avail);
		if (o->kpath_len)
			ev->kpath = copy_str(ev->kpathbuf, sizeof(ev->kpathbuf),
					     o->data + o->path_len, o->kpath_len, o->kpath_len);
		/* io_uring: the name as asked is gone; the real path stands in */
		if (!ev->path[0] && ev->kpath)
			ev->path = ev->kpath;
		break;
	}
	case MLW_EV_LINK: {
		const struct mlw_link *l = data;
		size_t avail = size - sizeof(*l);

		ev->u.link = l;
		if ((uint64_t)l->old_len + l->new_len + l->olddir_len + l->newdir_len > avail) {
			*why = "link path lengths exceed its record";
			return -1;
		}
		ev->path = copy_str(ev->pathbuf, sizeof(ev->pathbuf), l->data, l->old_len, avail);
		ev->kpath = copy_str(ev->kpathbuf, sizeof(ev->kpathbuf), l->data + l->old_len,
				     l->new_len, l->new_len);
		join_dir(ev, ev->pathbuf, sizeof(ev->pathbuf), l->data + l->old_len + l->new_len,
			 l->olddir_len);
		join_dir(ev, ev->kpathbuf, sizeof(ev->kpathbuf),
			 l->data + l->old_len + l->new_len + l->olddir_len, l->newdir_len);
		break;
	}
	case MLW_EV_FORK:
		ev->u.fork = data;
		break;
	case MLW_EV_EXIT:
		ev->u.exit = data;
		break;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		ev->u.connect = data;
		break;
	case MLW_EV_SOCKET:
		ev->u.socket = data;
		break;
	case MLW_EV_DUP:
		ev->u.dup = data;
		break;
	case MLW_EV_SELF: {
		const struct mlw_self *x = data;
		size_t avail = size - sizeof(*x);

		ev->u.self = x;
		if (x->exe_len > avail) {
			*why = "self record length exceeds its size";
			return -1;
		}
		if (x->exe_len)
			ev->kpath = copy_str(ev->kpathbuf, sizeof(ev->kpathbuf), x->data,
					     x->exe_len, avail);
		break;
	}
	case MLW_EV_PYTHON:
		ev->u.python = data;
		if (py_args_decode(data, size, &ev->py, why))
			return -1;
		if (!pyevent_by_id(ev->py.event)) {
			*why = "python record names an event id mlwatch does not read";
			return -1;
		}
		ev->args_truncated = ev->py.truncated;
		break;
	default:
		break;
	}
	return 0;
}
