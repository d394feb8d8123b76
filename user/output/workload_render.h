/* A record's "container" and "k8s" objects, and their text. */
#ifndef MLWATCH_WORKLOAD_RENDER_H
#define MLWATCH_WORKLOAD_RENDER_H
#include <stddef.h>
#include "collect/workload.h"

struct cJSON;

/* Adds "container" (when wl names one) and "k8s" (when it names a pod)
 * to root; nothing when wl is NULL or names neither: absent, not empty. */
void workload_to_json(struct cJSON *root, const struct workload *wl);
/* " container=ID (RUNTIME) pod=NS/NAME pod_uid=UID", escaped, appended at
 * off (text_putf semantics); nothing for neither. */
size_t workload_to_text(const struct workload *wl, char *out, size_t len, size_t off);
#endif
