/* libFuzzer target: the text pod identity is read from. The input is a
 * cgroup path (any process can name a delegated cgroup) and the Kubernetes
 * API's JSON (a watch line and a list page). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/podjson.h"
#include "collect/cgpath.h"

static void check_ident(const struct cg_ident *ci, bool any)
{
	size_t n = strlen(ci->container_id);

	if (n != 0 && n != CG_ID_LEN)
		__builtin_trap();
	if ((n == 0) != (ci->runtime == CG_RT_NONE))
		__builtin_trap();
	n = strlen(ci->pod_uid);
	if (n != 0 && n != CG_UID_LEN)
		__builtin_trap();
	if (any != (ci->container_id[0] || ci->pod_uid[0]))
		__builtin_trap();
}

static void check_pod(const struct pod_meta *p)
{
	if (strlen(p->uid) != CG_UID_LEN || p->labels_len > sizeof(p->labels) ||
	    !memchr(p->name, 0, sizeof(p->name)) || !memchr(p->ns, 0, sizeof(p->ns)))
		__builtin_trap();
}

static void on_pod(const struct pod_meta *p, void *ctx)
{
	(void)ctx;
	check_pod(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pod_watch_ev ev;
	struct cg_ident ci;
	char err[256], rv[POD_RV_MAX], cont[1024];
	unsigned bad;
	bool any;

	any = cgpath_parse((const char *)data, size, &ci);
	check_ident(&ci, any);
	err[0] = 0;
	if (podjson_watch_line((const char *)data, size, &ev, err, sizeof(err)) == 0) {
		if (ev.type <= POD_EV_DELETED)
			check_pod(&ev.pod);
		if (ev.type != POD_EV_ERROR && !ev.rv[0])
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap(); /* a failure always says why */
	}
	err[0] = 0;
	if (podjson_list((const char *)data, size, on_pod, NULL, rv, cont, sizeof(cont), &bad, err,
			 sizeof(err)) == 0) {
		if (!rv[0])
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap();
	}
	return 0;
}
