/* Pods from the API's JSON, bounded and checked. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "podjson.h"

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A UUID as the API writes it (lower-case, dashed), the form cgpath gives. */
static bool uid_ok(const char *s)
{
	if (!s || strlen(s) != CG_UID_LEN)
		return false;
	for (int i = 0; i < CG_UID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' :
			   !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool rv_ok(const char *s)
{
	return s && *s && strlen(s) < POD_RV_MAX;
}

static void add_labels(const cJSON *labels, struct pod_meta *out)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, labels) {
		size_t kl, vl;

		if (!cJSON_IsString(l) || !l->string)
			continue;
		kl = strlen(l->string);
		vl = strlen(l->valuestring);
		if (out->labels_len + kl + vl + 2 > sizeof(out->labels)) {
			out->labels_cut = true;
			continue;
		}
		memcpy(out->labels + out->labels_len, l->string, kl + 1);
		out->labels_len += kl + 1;
		memcpy(out->labels + out->labels_len, l->valuestring, vl + 1);
		out->labels_len += vl + 1;
		out->n_labels++;
	}
}

int podjson_pod(const cJSON *pod, struct pod_meta *out, char *err, size_t errlen)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const char *uid = str_of(md, "uid"), *name = str_of(md, "name"),
		   *ns = str_of(md, "namespace");

	memset(out, 0, offsetof(struct pod_meta, labels));
	out->labels_len = 0;
	out->n_labels = 0;
	out->labels_cut = false;
	if (!cJSON_IsObject(md)) {
		snprintf(err, errlen, "pod without metadata");
		return -1;
	}
	if (!uid_ok(uid)) {
		snprintf(err, errlen, "pod metadata.uid is not a UUID");
		return -1;
	}
	memcpy(out->uid, uid, CG_UID_LEN + 1);
	/* longer than Kubernetes allows: cut, the UID still names the pod */
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	snprintf(out->ns, sizeof(out->ns), "%s", ns ? ns : "");
	add_labels(cJSON_GetObjectItemCaseSensitive(md, "labels"), out);
	return 0;
}

int podjson_watch_line(const char *line, size_t len, struct pod_watch_ev *out, char *err,
		       size_t errlen)
{
	static const char *const types[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" };
	cJSON *j = cJSON_ParseWithLength(line, len), *obj;
	const char *type, *rv;
	int t = -1, rc = -1;

	memset(out, 0, offsetof(struct pod_watch_ev, pod));
	out->rv[0] = 0;
	out->code = 0;
	out->reason[0] = 0;
	if (!j) {
		snprintf(err, errlen, "watch event is not JSON");
		return -1;
	}
	type = str_of(j, "type");
	obj = cJSON_GetObjectItemCaseSensitive(j, "object");
	for (int i = 0; type && i < 5; i++)
		if (strcmp(type, types[i]) == 0)
			t = i;
	if (t < 0 || !cJSON_IsObject(obj)) {
		snprintf(err, errlen, "watch event without a known type and an object");
		goto out;
	}
	out->type = (enum pod_event)t;
	if (out->type == POD_EV_ERROR) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		const char *reason = str_of(obj, "reason");

		out->code = cJSON_IsNumber(code) && code->valuedouble >= 0 &&
					    code->valuedouble < 1000 ?
				    (int)code->valuedouble :
				    0;
		snprintf(out->reason, sizeof(out->reason), "%s", reason ? reason : "");
		rc = 0;
		goto out;
	}
	rv = str_of(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
	if (!rv_ok(rv)) {
		snprintf(err, errlen, "watch event without a valid resourceVersion");
		goto out;
	}
	snprintf(out->rv, sizeof(out->rv), "%s", rv);
	if (out->type == POD_EV_BOOKMARK || podjson_pod(obj, &out->pod, err, errlen) == 0)
		rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

int podjson_list(const char *body, size_t len, void (*fn)(const struct pod_meta *p, void *ctx),
		 void *ctx, char rv[POD_RV_MAX], char *cont, size_t contlen, unsigned *bad,
		 char *err, size_t errlen)
{
	struct pod_meta pm;
	cJSON *j = cJSON_ParseWithLength(body, len), *items, *it;
	const cJSON *md;
	const char *r, *c;
	char why[128];

	*bad = 0;
	rv[0] = 0;
	if (contlen)
		cont[0] = 0;
	if (!j) {
		snprintf(err, errlen, "pod list is not JSON");
		return -1;
	}
	md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	r = str_of(md, "resourceVersion");
	c = str_of(md, "continue");
	if (!cJSON_IsArray(items) || !rv_ok(r)) {
		snprintf(err, errlen, "pod list without items or a valid resourceVersion");
		cJSON_Delete(j);
		return -1;
	}
	if (c && strlen(c) >= contlen) {
		snprintf(err, errlen, "pod list continue token longer than %zu bytes", contlen);
		cJSON_Delete(j);
		return -1;
	}
	snprintf(rv, POD_RV_MAX, "%s", r);
	if (c)
		snprintf(cont, contlen, "%s", c);
	cJSON_ArrayForEach(it, items) {
		if (podjson_pod(it, &pm, why, sizeof(why)) == 0)
			fn(&pm, ctx);
		else
			(*bad)++;
	}
	cJSON_Delete(j);
	return 0;
}
