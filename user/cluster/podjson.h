/*
 * The Kubernetes API's pod JSON: a PodList page and one line of a watch
 * stream, read into bounded pod_meta records. The API's bytes are checked
 * like any other input: a pod without a valid UID is an error, and text
 * over Kubernetes' own limits is cut.
 */
#ifndef MLWATCH_PODJSON_H
#define MLWATCH_PODJSON_H
#include <stddef.h>
#include "collect/workload.h"

struct cJSON;

#define POD_RV_MAX 64 /* resourceVersion: an etcd revision, as a string */

enum pod_event {
	POD_EV_ADDED,
	POD_EV_MODIFIED,
	POD_EV_DELETED,
	POD_EV_BOOKMARK, /* only a new resourceVersion */
	POD_EV_ERROR,    /* a Status: code 410 means the version expired */
};

struct pod_watch_ev {
	enum pod_event type;
	struct pod_meta pod; /* ADDED, MODIFIED, DELETED */
	char rv[POD_RV_MAX]; /* the object's resourceVersion ("" for ERROR) */
	int code;            /* ERROR: the Status code (0 if none) */
	char reason[64];     /* ERROR: the Status reason */
};

/* A Pod object. Returns 0, or -1 (err says why). */
int podjson_pod(const struct cJSON *pod, struct pod_meta *out, char *err, size_t errlen);
/* One watch line. Returns 0, or -1 (err says why). */
int podjson_watch_line(const char *line, size_t len, struct pod_watch_ev *out, char *err,
		       size_t errlen);
/* A PodList page: fn for each valid pod (a bad item is counted in *bad and
 * skipped), its resourceVersion into rv, its continue token (or "") into
 * cont. Returns 0, or -1 when the page itself is no PodList. */
int podjson_list(const char *body, size_t len, void (*fn)(const struct pod_meta *p, void *ctx),
		 void *ctx, char rv[POD_RV_MAX], char *cont, size_t contlen, unsigned *bad,
		 char *err, size_t errlen);
#endif
