/* Classify stage: what an event means, before any rule looks at it. */
#ifndef MLWATCH_CLASSIFY_H
#define MLWATCH_CLASSIFY_H
#include <limits.h>
#include <stdbool.h>
#include "decode.h"
#include "netclass.h"

struct facts {
	unsigned exec_classes;      /* enum exec_class bits (exec events) */
	enum dest_class dest;       /* connect: of the address; dup: of the peer */
	const char *credential;     /* open: credential name matched, or NULL */
	const char *persistence;    /* open for writing: persistence target, or NULL */
	bool open_write;            /* O_WRONLY, O_RDWR, O_CREAT or O_TRUNC */
	bool exec_dropped;          /* exec: the program was written by the same
	                             * lineage moments earlier (collector, dropped.h) */
	bool resolved_ok;           /* resolved_path came from /proc, not a guess */
	char resolved_path[PATH_MAX]; /* open: absolute path; exec: absolute program */
	char address[64];           /* connect/dup: printable address */
	unsigned port;
};

/* ev: decoded event; fills f. Reads /proc for relative paths. */
void classify_event(const struct event *ev, const struct netclass *net, struct facts *f);
/* Printable family/address of a sockaddr ("inet", "10.0.0.1"). */
const char *sockaddr_family_name(unsigned family);
void sockaddr_format(const struct mlw_sockaddr *sa, char *out, size_t len);
#endif
