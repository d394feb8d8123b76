/* Container and pod identity on a record. Pod names and labels are the
 * cluster users' text: made valid UTF-8 (JSON) or escaped (text). */
#include <cjson/cJSON.h>
#include <string.h>

#include "workload_render.h"
#include "lib/textsan.h"

static void add_str(cJSON *o, const char *key, const char *s)
{
	char buf[3 * POD_LABELS_BYTES + 4]; /* a label value is the longest */

	utf8_sanitize(s, strlen(s), buf, sizeof(buf));
	cJSON_AddStringToObject(o, key, buf);
}

static cJSON *labels_json(const struct pod_meta *p)
{
	cJSON *o = cJSON_CreateObject();
	char k[3 * POD_LABELS_BYTES + 4];
	size_t i = 0;

	for (unsigned n = 0; o && n < p->n_labels && i < p->labels_len; n++) {
		const char *key = p->labels + i, *val = key + strlen(key) + 1;

		utf8_sanitize(key, strlen(key), k, sizeof(k));
		add_str(o, k, val);
		i = (size_t)(val - p->labels) + strlen(val) + 1;
	}
	return o;
}

void workload_to_json(cJSON *root, const struct workload *wl)
{
	const char *rt;
	cJSON *o;

	if (!wl)
		return;
	if (wl->cg.container_id[0] && (o = cJSON_AddObjectToObject(root, "container"))) {
		cJSON_AddStringToObject(o, "id", wl->cg.container_id);
		if ((rt = cg_runtime_name(wl->cg.runtime)))
			cJSON_AddStringToObject(o, "runtime", rt);
	}
	if (!wl->cg.pod_uid[0] || !(o = cJSON_AddObjectToObject(root, "k8s")))
		return;
	cJSON_AddStringToObject(o, "pod_uid", wl->cg.pod_uid);
	if (!wl->have_pod)
		return;
	if (wl->pod.name[0])
		add_str(o, "pod", wl->pod.name);
	if (wl->pod.ns[0])
		add_str(o, "namespace", wl->pod.ns);
	if (wl->pod.n_labels)
		cJSON_AddItemToObject(o, "labels", labels_json(&wl->pod));
	if (wl->pod.labels_cut)
		cJSON_AddTrueToObject(o, "labels_truncated");
}

size_t workload_to_text(const struct workload *wl, char *out, size_t len, size_t off)
{
	const char *rt;

	if (!wl)
		return off;
	if (wl->cg.container_id[0]) {
		rt = cg_runtime_name(wl->cg.runtime);
		off = text_putf(out, len, off, " container=%s%s%s%s", wl->cg.container_id,
				rt ? " (" : "", rt ? rt : "", rt ? ")" : "");
	}
	if (wl->have_pod && wl->pod.name[0]) {
		off = text_putf(out, len, off, " pod=");
		off = text_put(out, len, off, wl->pod.ns);
		off = text_putf(out, len, off, "/");
		off = text_put(out, len, off, wl->pod.name);
	}
	if (wl->cg.pod_uid[0])
		off = text_putf(out, len, off, " pod_uid=%s", wl->cg.pod_uid);
	return off;
}
