/* Python audit records classified: the pickle verdict user space gives a
 * global (the kernel's own may only be stricter), and where a socket
 * event points. Threat model: docs/threat-model.md §3.5. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pyclass.h"
#include "pystdlib.h"
#include "collect/pyevents.h"
#include "scan/pickle/pickle_profiles.h"

enum py_verdict pyclass_judge(const char *module, const char *name, bool incomplete)
{
	switch (pickle_judge(module, name, &pickle_profile_runtime)) {
	case PSEV_MALICIOUS:
		return PYV_DENIED;
	case PSEV_ALLOWED:
		return incomplete ? PYV_UNSAFE : PYV_ALLOWED;
	case PSEV_SUSPICIOUS:
		break;
	}
	/* what a payload calls lives in the standard library; a class of the
	 * user's own (or a library's) is rebuilt, not run: watched only */
	return incomplete || py_stdlib_module(module) ? PYV_UNSAFE : PYV_CUSTOM;
}

/* The address as Python was given it: an IP, a host name (resolved after
 * the event: unknown, so external), or a unix socket's path. */
static void classify_addr(const struct event *ev, const struct netclass *net, struct facts *f)
{
	const struct py_args *a = &ev->py;
	const char *host = a->n > 0 ? a->arg[0] : "";
	uint8_t addr[16] = { 0 };

	snprintf(f->address, sizeof(f->address), "%s", host);
	f->port = a->n > 1 && a->enc[1] == MLW_PY_ENC_INT ? (unsigned)strtoul(a->arg[1], NULL, 10) :
							    0;
	f->py_addr = true;
	if (inet_pton(AF_INET, host, addr) == 1)
		f->dest = netclass_classify(net, AF_INET, addr);
	else if (inet_pton(AF_INET6, host, addr) == 1)
		f->dest = netclass_classify(net, AF_INET6, addr);
	else if (a->n < 2 || a->enc[1] != MLW_PY_ENC_INT)
		f->dest = DEST_UNIX; /* AF_UNIX: a path, or bytes for the abstract namespace */
	else if (!strcmp(host, "localhost") || !strcmp(host, "ip6-localhost"))
		f->dest = DEST_LOOPBACK;
	else
		f->dest = DEST_EXTERNAL;
	/* GCP's metadata server is also its DNS resolver, as for connect */
	if (f->dest == DEST_METADATA && f->port == 53)
		f->dest = DEST_INTERNAL;
}

void classify_python(const struct event *ev, const struct netclass *net, struct facts *f)
{
	const struct py_args *a = &ev->py;

	switch (a->event) {
	case PYEV_FIND_CLASS:
		if (a->n < 2) {
			f->py_verdict = PYV_UNSAFE;
			break;
		}
		f->py_verdict = pyclass_judge(a->arg[0], a->arg[1],
					      a->cut[0] || a->cut[1] || a->bad[0] || a->bad[1] ||
						      a->enc[0] != MLW_PY_ENC_UTF8 ||
						      a->enc[1] != MLW_PY_ENC_UTF8);
		break;
	case PYEV_SOCKET_CONNECT:
	case PYEV_SOCKET_SENDTO:
		classify_addr(ev, net, f);
		break;
	default:
		break;
	}
}
