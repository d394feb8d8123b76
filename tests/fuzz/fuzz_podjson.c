/* libFuzzer target: the Kubernetes API's pod JSON (user/cluster/podjson.c),
 * a watch line and a list page, the bytes a compromised or impersonated
 * API server chooses. Each pod read is checked whole (a UUID, names and
 * labels bounded and NUL-ended, the labels' pairs filling exactly their
 * length), a list's pods and bad items add up to its items, and every pod
 * renders into a record's "k8s" object that parses back (workload_render.c). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/podjson.h"
#include "output/workload_render.h"

static void check_pod(const struct pod_meta *p)
{
	size_t off = 0;

	if (strnlen(p->uid, sizeof(p->uid)) != CG_UID_LEN)
		__builtin_trap();
	for (int i = 0; i < CG_UID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = p->uid[i];

		if (dash != (ch == '-') ||
		    (!dash && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))))
			__builtin_trap();
	}
	if (!memchr(p->name, 0, sizeof(p->name)) || !memchr(p->ns, 0, sizeof(p->ns)) ||
	    p->labels_len > sizeof(p->labels))
		__builtin_trap();
	/* n_labels key, value pairs, each NUL-ended, exactly labels_len bytes */
	for (unsigned n = 0; n < 2 * p->n_labels; n++) {
		const char *end = memchr(p->labels + off, 0, p->labels_len - off);

		if (off >= p->labels_len || !end)
			__builtin_trap();
		off = (size_t)(end - p->labels) + 1;
	}
	if (off != p->labels_len)
		__builtin_trap();
}

/* The pod as a record names it: valid JSON again, its UID and its labels. */
static void check_render(const struct pod_meta *p)
{
	static struct workload wl;
	cJSON *root = cJSON_CreateObject(), *back, *k8s, *labels;
	char *text, line[16384];
	size_t n;

	memset(&wl.cg, 0, sizeof(wl.cg));
	memcpy(wl.cg.pod_uid, p->uid, sizeof(wl.cg.pod_uid));
	wl.have_pod = true;
	wl.pod = *p;
	if (!root)
		return;
	workload_to_json(root, &wl);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return;
	back = cJSON_Parse(text);
	free(text);
	if (!back)
		__builtin_trap();
	k8s = cJSON_GetObjectItemCaseSensitive(back, "k8s");
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(k8s, "pod_uid")) ||
	    strcmp(cJSON_GetObjectItemCaseSensitive(k8s, "pod_uid")->valuestring, p->uid))
		__builtin_trap();
	labels = cJSON_GetObjectItemCaseSensitive(k8s, "labels");
	if ((unsigned)cJSON_GetArraySize(labels) != p->n_labels ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k8s, "labels_truncated")) !=
		    p->labels_cut)
		__builtin_trap();
	cJSON_Delete(back);
	/* one line of text: every control character escaped */
	n = workload_to_text(&wl, line, sizeof(line), 0);
	if (n >= sizeof(line) || strlen(line) != n)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			__builtin_trap();
}

static void on_pod(const struct pod_meta *p, void *ctx)
{
	check_pod(p);
	check_render(p);
	(*(unsigned *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pod_watch_ev ev;
	const char *s = (const char *)data;
	char err[256], rv[POD_RV_MAX], cont[1024];
	unsigned bad = 0, good = 0;
	cJSON *j;

	err[0] = 0;
	if (podjson_watch_line(s, size, &ev, err, sizeof(err)) == 0) {
		if (ev.type > POD_EV_ERROR || !memchr(ev.rv, 0, sizeof(ev.rv)) ||
		    !memchr(ev.reason, 0, sizeof(ev.reason)))
			__builtin_trap();
		if (ev.type == POD_EV_ERROR && (ev.code < 0 || ev.code >= 1000 || ev.rv[0]))
			__builtin_trap();
		if (ev.type != POD_EV_ERROR && !ev.rv[0])
			__builtin_trap();
		if (ev.type <= POD_EV_DELETED) {
			check_pod(&ev.pod);
			check_render(&ev.pod);
		}
	} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
		__builtin_trap(); /* a failure always says why */
	}
	err[0] = 0;
	if (podjson_list(s, size, on_pod, &good, rv, cont, sizeof(cont), &bad, err, sizeof(err)) ==
	    0) {
		if (!rv[0] || !memchr(rv, 0, POD_RV_MAX) || strlen(cont) >= sizeof(cont))
			__builtin_trap();
		/* every item is a pod or counted bad */
		j = cJSON_ParseWithLength(s, size);
		if (!j || (unsigned)cJSON_GetArraySize(
				  cJSON_GetObjectItemCaseSensitive(j, "items")) != good + bad)
			__builtin_trap();
		cJSON_Delete(j);
	} else if (!err[0]) {
		__builtin_trap();
	}
	return 0;
}
