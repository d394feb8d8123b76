/* Classify stage: paths resolved, destinations and programs classified. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "classify.h"
#include "pathclass.h"
#include "pathres.h"

const char *sockaddr_family_name(unsigned family)
{
	switch (family) {
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_UNIX: return "unix";
	default: return "other";
	}
}

void sockaddr_format(const struct mlw_sockaddr *sa, char *out, size_t len)
{
	if (len == 0)
		return;
	out[0] = 0;
	if (sa->family == AF_INET)
		inet_ntop(AF_INET, sa->addr, out, (socklen_t)len);
	else if (sa->family == AF_INET6)
		inet_ntop(AF_INET6, sa->addr, out, (socklen_t)len);
	else if (sa->family == AF_UNIX)
		snprintf(out, len, "%.*s", (int)strnlen(sa->unix_path, sizeof(sa->unix_path)),
			 sa->unix_path);
}

static enum dest_class classify_sockaddr(const struct mlw_sockaddr *sa,
					 const struct netclass *net)
{
	if (sa->family == AF_UNIX)
		return DEST_UNIX;
	if (sa->family != AF_INET && sa->family != AF_INET6)
		return DEST_OTHER;
	return netclass_classify(net, sa->family, sa->addr);
}

static void classify_exec(const struct event *ev, struct facts *f)
{
	/* A relative program name is resolved against the cwd while the
	 * process still exists; exec from /tmp must not hide behind "./x". */
	f->resolved_ok = path_resolve((pid_t)ev->hdr.tgid, AT_FDCWD, ev->path, f->resolved_path,
				      sizeof(f->resolved_path)) == 0;
	f->exec_classes = exec_classify(f->resolved_path, ev->argv, ev->argc);
}

static void classify_open(const struct event *ev, struct facts *f)
{
	const struct mlw_open *o = ev->u.open;
	unsigned acc = o->flags & O_ACCMODE;

	f->resolved_ok = path_resolve((pid_t)ev->hdr.tgid, o->dirfd, ev->path,
				      f->resolved_path, sizeof(f->resolved_path)) == 0;
	f->open_write = acc == O_WRONLY || acc == O_RDWR || (o->flags & (O_CREAT | O_TRUNC));
	if (acc != O_WRONLY)
		f->credential = credential_path_match(f->resolved_path);
	if (f->open_write)
		f->persistence = persistence_path_match(f->resolved_path);
}

void classify_event(const struct event *ev, const struct netclass *net, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->dest = DEST_OTHER;
	switch (ev->kind) {
	case MLW_EV_EXEC:
		classify_exec(ev, f);
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		classify_open(ev, f);
		break;
	case MLW_EV_CONNECT:
		f->dest = classify_sockaddr(&ev->u.connect->addr, net);
		sockaddr_format(&ev->u.connect->addr, f->address, sizeof(f->address));
		f->port = ev->u.connect->addr.port;
		break;
	case MLW_EV_DUP:
		f->dest = classify_sockaddr(&ev->u.dup->peer, net);
		sockaddr_format(&ev->u.dup->peer, f->address, sizeof(f->address));
		f->port = ev->u.dup->peer.port;
		break;
	default:
		break;
	}
}
