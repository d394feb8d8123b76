/*
 * A cgroup v2 path's container and pod, read from the names container
 * runtimes and the kubelet give their cgroups. Pure string work, no I/O.
 */
#ifndef MLWATCH_CGPATH_H
#define MLWATCH_CGPATH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_ID_LEN 64  /* a container id: 64 lower-case hex digits */
#define CG_UID_LEN 36 /* a pod UID: 8-4-4-4-12 hex digits and dashes */

enum cg_runtime {
	CG_RT_NONE = 0, /* no container */
	CG_RT_UNKNOWN,  /* a bare id: the path does not name the runtime */
	CG_RT_CONTAINERD,
	CG_RT_CRIO,
	CG_RT_DOCKER,
	CG_RT_PODMAN,
};

struct cg_ident {
	uint8_t runtime;                  /* enum cg_runtime */
	char container_id[CG_ID_LEN + 1]; /* "" when none */
	char pod_uid[CG_UID_LEN + 1];     /* "" when none; with dashes */
};

/*
 * Fills *out from a path under the v2 hierarchy ("/kubepods.slice/...").
 * Returns true when it names a container or a pod. Components are read
 * outermost first and the first container ends the search: a process
 * inside a container can name nested cgroups as it likes, never the ones
 * above it, so only the outermost match is trusted.
 */
bool cgpath_parse(const char *path, size_t len, struct cg_ident *out);
/* "containerd", "cri-o", "docker", "podman"; NULL for none or unknown. */
const char *cg_runtime_name(enum cg_runtime rt);
#endif
