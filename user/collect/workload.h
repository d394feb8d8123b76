/*
 * Who a process runs for: its container and pod (cgpath.h, from the
 * cgroup), and the pod's name, namespace and labels when the Kubernetes
 * API told them (cluster/). What a record's "container" and "k8s" say.
 */
#ifndef MLWATCH_WORKLOAD_H
#define MLWATCH_WORKLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include "cgpath.h"

/* Kubernetes' own limits: a name is a DNS subdomain, a namespace a label. */
#define POD_NAME_MAX 253
#define POD_NS_MAX 63
/* Labels kept per pod, as key NUL value NUL pairs; more are cut (and said). */
#define POD_LABELS_BYTES 4096

struct pod_meta {
	char uid[CG_UID_LEN + 1];
	char name[POD_NAME_MAX + 1];
	char ns[POD_NS_MAX + 1];
	char labels[POD_LABELS_BYTES];
	size_t labels_len;
	unsigned n_labels;
	bool labels_cut; /* the pod had more labels than fit */
};

struct workload {
	struct cg_ident cg;
	bool have_pod; /* pod: the API's record of cg.pod_uid */
	struct pod_meta pod;
};
#endif
