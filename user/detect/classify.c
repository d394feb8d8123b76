/* Classify stage: paths resolved, destinations and programs classified. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "classify.h"
#include "pathclass.h"
#include "pyclass.h"
#include "collect/exeid.h"
#include "collect/pathres.h"

const char *sockaddr_family_name(unsigned family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return "other";
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

static enum dest_class classify_sockaddr(const struct mlw_sockaddr *sa, const struct netclass *net)
{
	if (sa->family == AF_UNIX)
		return DEST_UNIX;
	enum dest_class c;

	if (sa->family != AF_INET && sa->family != AF_INET6)
		return DEST_OTHER;
	c = netclass_classify(net, sa->family, sa->addr);
	/* GCP's metadata server is also the VPC's DNS resolver: a lookup is
	 * not a metadata read (the kernel side makes the same cut) */
	if (c == DEST_METADATA && sa->port == 53)
		c = DEST_INTERNAL;
	return c;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/*
 * A container runtime's or the kubelet's API: whoever reaches it can run
 * anything on the node. Unix sockets by name (wherever the runtime put
 * them), TCP by the ports those APIs listen on.
 */
static const char *runtime_api(const struct mlw_sockaddr *sa)
{
	static const struct {
		const char *sock;
		const char *name;
	} socks[] = {
		{ "docker.sock", "docker" },
		{ "containerd.sock", "containerd" },
		{ "crio.sock", "cri-o" },
		{ "podman.sock", "podman" },
		{ "cri-dockerd.sock", "cri-dockerd" },
		{ "dockershim.sock", "dockershim" },
		{ "kubelet.sock", "kubelet" },
		{ "buildkitd.sock", "buildkit" },
		{ "frakti.sock", "frakti" },
		{ "rktlet.sock", "rktlet" },
	};
	static const struct {
		unsigned port;
		const char *name;
	} ports[] = {
		{ 2375, "docker" },
		{ 2376, "docker" },
		{ 10250, "kubelet" },
		{ 10255, "kubelet" },
	};

	if (sa->family == AF_UNIX) {
		char path[MLW_UNIX_PATH_MAX + 1];
		const char *base;

		snprintf(path, sizeof(path), "%.*s",
			 (int)strnlen(sa->unix_path, sizeof(sa->unix_path)), sa->unix_path);
		base = basename_of(path);
		for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++)
			if (strcmp(base, socks[i].sock) == 0)
				return socks[i].name;
		/* containerd's shims listen on abstract sockets */
		if (strstr(path, "containerd-shim"))
			return "containerd-shim";
		return NULL;
	}
	if (sa->family != AF_INET && sa->family != AF_INET6)
		return NULL;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (sa->port == ports[i].port)
			return ports[i].name;
	return NULL;
}

/* A memfd or an unlinked file: nothing on disk says what ran. */
static bool fileless(const struct mlw_file *f, const char *real)
{
	if (f->mode && f->nlink == 0)
		return true;
	return real && strncmp(real, "/memfd:", 7) == 0;
}

static void classify_exec(const struct event *ev, const struct exeid *exe, struct facts *f)
{
	const struct mlw_exec *e = ev->u.exec; /* NULL for a synthetic event */
	const char *known = e ? exeid_name(exe, e->file.dev, e->file.ino) : NULL;
	const char *real = ev->kpath && ev->kpath[0] ? ev->kpath : NULL;
	size_t loaded = 0, script;

	/* A relative program name is resolved against the cwd while the
	 * process still exists; exec from /tmp must not hide behind "./x". */
	f->resolved_ok = path_resolve((pid_t)ev->hdr.tgid, AT_FDCWD, ev->path, f->resolved_path,
				      sizeof(f->resolved_path)) == 0;
	if (real)
		snprintf(f->real_path, sizeof(f->real_path), "%s", real);
	f->exec_classes = exec_classify(f->resolved_path, real, known, ev->argv, ev->argc, &loaded);
	if ((e && fileless(&e->file, real)) || (!e && fileless(&(struct mlw_file){ 0 }, real)))
		f->exec_classes |= EXEC_FILELESS;
	/* a real path cut short (deeper than a record holds) hides where the
	 * program lives: as the kernel's --enforce check does, count it as temp */
	if (ev->hdr.flags & MLW_F_KPATH_TRUNC)
		f->exec_classes |= EXEC_FROM_TEMP;
	if (loaded)
		snprintf(f->via, sizeof(f->via), "%.*s", (int)sizeof(f->via) - 1,
			 basename_of(real ? real : f->resolved_path));
	/* the script an interpreter runs: its own name, or the loaded one */
	script = exec_script_index(basename_of(loaded ? ev->argv[loaded] :
					       real   ? real :
							f->resolved_path),
				   ev->argv + loaded, ev->argc - loaded);
	if (script)
		path_resolve((pid_t)ev->hdr.tgid, AT_FDCWD, ev->argv[loaded + script], f->script,
			     sizeof(f->script));
}

/* Both names a file goes by are evidence: the path as asked (a dotfiles
 * symlink keeps ~/.aws/credentials a credential) and the file's real path
 * (a symlink named /tmp/x does not hide one). */
static void classify_paths(struct facts *f, bool read, bool write)
{
	if (read) {
		f->credential = credential_path_match(f->resolved_path);
		if (!f->credential && f->real_path[0])
			f->credential = credential_path_match(f->real_path);
	}
	if (write) {
		f->persistence = persistence_path_match(f->resolved_path);
		if (!f->persistence && f->real_path[0])
			f->persistence = persistence_path_match(f->real_path);
	}
}

static void classify_open(const struct event *ev, struct facts *f)
{
	const struct mlw_open *o = ev->u.open;
	unsigned acc = o->flags & O_ACCMODE;

	f->resolved_ok = path_resolve((pid_t)ev->hdr.tgid, o->dirfd, ev->path, f->resolved_path,
				      sizeof(f->resolved_path)) == 0;
	if (ev->kpath && ev->kpath[0] == '/') {
		snprintf(f->real_path, sizeof(f->real_path), "%s", ev->kpath);
		if (!f->resolved_ok) {
			/* the process is gone: the kernel's path is the answer */
			snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", ev->kpath);
			f->resolved_ok = true;
		}
	}
	f->open_write = acc == O_WRONLY || acc == O_RDWR || (o->flags & (O_CREAT | O_TRUNC));
	classify_paths(f, acc != O_WRONLY, f->open_write);
}

/* rename/link onto a path writes it; linking a credential file (to read it
 * under another name) reads it. A symlink's target is resolved against the
 * link's directory, as the kernel will. */
static void classify_link(const struct event *ev, struct facts *f)
{
	const struct mlw_link *l = ev->u.link;
	char dir[PATH_MAX];

	f->resolved_ok = path_resolve((pid_t)ev->hdr.tgid, l->newdirfd, ev->kpath, f->resolved_path,
				      sizeof(f->resolved_path)) == 0;
	if (l->syscall == MLW_LINK_SYMLINK && ev->path[0] != '/') {
		char *slash;

		snprintf(dir, sizeof(dir), "%s", f->resolved_path);
		slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = 0;
		else if (slash)
			*slash = 0;
		if (dir[0] != '/' ||
		    path_normalize(dir, ev->path, f->real_path, sizeof(f->real_path)))
			f->real_path[0] = 0;
	} else {
		path_resolve((pid_t)ev->hdr.tgid, l->olddirfd, ev->path, f->real_path,
			     sizeof(f->real_path));
	}
	f->open_write = true;
	f->persistence = persistence_path_match(f->resolved_path);
	f->credential = credential_path_match(f->real_path);
}

void classify_event(const struct event *ev, const struct netclass *net, const struct exeid *exe,
		    struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->dest = DEST_OTHER;
	switch (ev->kind) {
	case MLW_EV_EXEC:
		classify_exec(ev, exe, f);
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
		classify_open(ev, f);
		break;
	case MLW_EV_LINK:
		classify_link(ev, f);
		break;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		f->dest = classify_sockaddr(&ev->u.connect->addr, net);
		sockaddr_format(&ev->u.connect->addr, f->address, sizeof(f->address));
		f->port = ev->u.connect->addr.port;
		f->runtime = runtime_api(&ev->u.connect->addr);
		break;
	case MLW_EV_DUP:
		f->dest = classify_sockaddr(&ev->u.dup->peer, net);
		sockaddr_format(&ev->u.dup->peer, f->address, sizeof(f->address));
		f->port = ev->u.dup->peer.port;
		break;
	case MLW_EV_SOCKET:
		f->socket_class = ev->u.socket->family == 17 /* AF_PACKET */ ? "packet" : "raw";
		break;
	case MLW_EV_PYTHON:
		classify_python(ev, net, f);
		break;
	default:
		break;
	}
}
