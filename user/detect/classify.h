/* Classify stage: what an event means, before any rule looks at it. */
#ifndef MLWATCH_CLASSIFY_H
#define MLWATCH_CLASSIFY_H
#include <limits.h>
#include <stdbool.h>
#include "netclass.h"
#include "collect/decode.h"

struct exeid;

/* A pickle global as user space judges it (find_class records). */
enum py_verdict {
	PYV_NONE = 0, /* not a find_class record */
	PYV_ALLOWED,  /* inside the allowlist profiles */
	PYV_UNSAFE,   /* outside them: a standard-library global, or a name cut or unreadable */
	PYV_CUSTOM,   /* outside them, from a module not in the standard library (a
	               * user's own class, torch.save(model)): watched, not alerted */
	PYV_DENIED,   /* on the deny list */
};

struct facts {
	unsigned exec_classes;    /* enum exec_class bits (exec events) */
	enum dest_class dest;     /* connect/send: of the address; dup: of the peer */
	const char *credential;   /* open/link: credential name matched, or NULL */
	const char *persistence;  /* open for writing, link destination: persistence target */
	const char *runtime;      /* connect/send: a container runtime or kubelet API, or NULL */
	const char *socket_class; /* socket: "raw" or "packet", or NULL */
	bool open_write;          /* O_WRONLY, O_RDWR, O_CREAT or O_TRUNC; a link's destination */
	bool exec_dropped;        /* exec: the program, or the script an interpreter was
	                             * given, was written by the same lineage moments
	                             * earlier (collector, dropped.h) */
	bool resolved_ok;         /* resolved_path came from the kernel or /proc, not a guess */
	char resolved_path[PATH_MAX]; /* open: absolute path as asked; exec: absolute program
	                             * as named; link: the destination */
	char real_path[PATH_MAX];     /* exec/open: the file's real path from the kernel; link:
	                             * the source, resolved; "" when not known */
	char script[PATH_MAX]; /* exec of an interpreter: the script it was given, absolute */
	char via[64];          /* exec through the dynamic loader: the loader's name */
	char address[128];     /* connect/send/dup: printable address (unix: the path) */
	unsigned port;
	const char *self_object;    /* self: the name of mlwatch's program, map or link aimed
	                          * at (set by the collector), or NULL */
	enum py_verdict py_verdict; /* python find_class: pickle_judge under "runtime" */
	bool py_custom_lineage;     /* its lineage's python mark came from custom
	                             * classes only: the python rules do not apply */
	bool py_addr;               /* python socket.*: address, port and dest are set */
	bool py_user_allowed;       /* find_class: the kernel flagged it, user space allowed it */
	const char *py_interp;      /* python: the interpreter, named by the probe (set by the
	                        * collector), or NULL */
};

/* ev: decoded event; fills f. Reads /proc for relative paths. exe (may be
 * NULL): known programs by identity, so a hard link under another name is
 * classified as what it is. */
void classify_event(const struct event *ev, const struct netclass *net, const struct exeid *exe,
		    struct facts *f);
/* Printable family/address of a sockaddr ("inet", "10.0.0.1"). */
const char *sockaddr_family_name(unsigned family);
void sockaddr_format(const struct mlw_sockaddr *sa, char *out, size_t len);
#endif
