/* The API's pod JSON: a list page, each kind of watch event, and what a
 * broken or hostile server may send. */
#include <stdlib.h>

#include "check.h"
#include "cluster/podjson.h"

#define UID "8a1b2c3d-4e5f-4789-abcd-ef0123456789"
#define UID2 "99999999-9999-4999-8999-999999999999"
#define POD(uid, name, labels)                             \
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"ml\",\"uid\":\"" uid           \
	"\",\"resourceVersion\":\"4711\",\"labels\":{" labels "}},\"spec\":{\"nodeName\":\"n1\"}}"

static const char *label(const struct pod_meta *p, const char *key)
{
	for (size_t i = 0; i < p->labels_len;) {
		const char *k = p->labels + i, *v = k + strlen(k) + 1;

		if (!strcmp(k, key))
			return v;
		i = (size_t)(v - p->labels) + strlen(v) + 1;
	}
	return NULL;
}

static void test_watch_events(void)
{
	struct pod_watch_ev ev;
	char err[128];
	const char *added =
		"{\"type\":\"ADDED\",\"object\":" POD(UID, "trainer-0",
						      "\"app\":\"trainer\",\"team\":\"ml\"") "}";
	const char *modified = "{\"type\":\"MODIFIED\",\"object\":" POD(UID, "trainer-0", "") "}";
	const char *deleted = "{\"type\":\"DELETED\",\"object\":" POD(UID2, "old", "") "}";
	const char *bookmark = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
			       "{\"resourceVersion\":\"5000\"}}}";
	const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":"
			   "\"Failure\",\"message\":\"too old resource version\",\"reason\":"
			   "\"Expired\",\"code\":410}}";

	CHECK(podjson_watch_line(added, strlen(added), &ev, err, sizeof(err)) == 0);
	CHECK(ev.type == POD_EV_ADDED);
	CHECK_STR(ev.pod.uid, UID);
	CHECK_STR(ev.pod.name, "trainer-0");
	CHECK_STR(ev.pod.ns, "ml");
	CHECK_STR(ev.rv, "4711");
	CHECK(ev.pod.n_labels == 2 && !ev.pod.labels_cut);
	CHECK_STR(label(&ev.pod, "app"), "trainer");
	CHECK_STR(label(&ev.pod, "team"), "ml");
	CHECK(podjson_watch_line(modified, strlen(modified), &ev, err, sizeof(err)) == 0);
	CHECK(ev.type == POD_EV_MODIFIED && ev.pod.n_labels == 0);
	CHECK(podjson_watch_line(deleted, strlen(deleted), &ev, err, sizeof(err)) == 0);
	CHECK(ev.type == POD_EV_DELETED);
	CHECK_STR(ev.pod.uid, UID2);
	CHECK(podjson_watch_line(bookmark, strlen(bookmark), &ev, err, sizeof(err)) == 0);
	CHECK(ev.type == POD_EV_BOOKMARK);
	CHECK_STR(ev.rv, "5000");
	CHECK(podjson_watch_line(gone, strlen(gone), &ev, err, sizeof(err)) == 0);
	CHECK(ev.type == POD_EV_ERROR && ev.code == 410);
	CHECK_STR(ev.reason, "Expired");
}

static void test_bad_events(void)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"type\":\"ADDED\"}",
		"{\"type\":\"RENAMED\",\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":" POD("not-a-uid", "x", "") "}",
		"{\"type\":\"ADDED\",\"object\":" POD("8A1B2C3D-4E5F-4789-ABCD-EF0123456789", "x",
						      "") "}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"" UID "\"}}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"" UID
		"\",\"resourceVersion\":7}}}",
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"" UID
		"\",\"resourceVersion\":"
		"\"0123456789012345678901234567890123456789012345678901234567890123456789\"}}}",
	};
	struct pod_watch_ev ev;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(podjson_watch_line(bad[i], strlen(bad[i]), &ev, err, sizeof(err)) == -1);
		CHECK(err[0] != 0);
	}
}

/* Text over Kubernetes' limits is cut, labels beyond the budget said. */
static void test_limits(void)
{
	size_t n = 2 * POD_LABELS_BYTES + 1024, o;
	char *line = malloc(n + 8192);
	struct pod_watch_ev ev;
	char err[128];

	o = (size_t)sprintf(line, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":\"" UID
				  "\",\"resourceVersion\":\"1\",\"name\":\"");
	memset(line + o, 'n', 400);
	o += 400;
	o += (size_t)sprintf(line + o, "\",\"namespace\":\"ns\",\"labels\":{");
	for (int i = 0; i < 200; i++)
		o += (size_t)sprintf(line + o, "%s\"key%03d\":\"%040d\"", i ? "," : "", i, i);
	o += (size_t)sprintf(line + o, ",\"n\":7}}}}");
	CHECK(podjson_watch_line(line, o, &ev, err, sizeof(err)) == 0);
	CHECK(strlen(ev.pod.name) == POD_NAME_MAX);
	CHECK(ev.pod.labels_cut && ev.pod.n_labels > 10 && ev.pod.n_labels < 200);
	CHECK(ev.pod.labels_len <= POD_LABELS_BYTES);
	CHECK_STR(label(&ev.pod, "key000"), "0000000000000000000000000000000000000000");
	CHECK(label(&ev.pod, "n") == NULL); /* not a string */
	free(line);
}

static unsigned seen;
static char seen_names[4][POD_NAME_MAX + 1];

static void on_pod(const struct pod_meta *p, void *ctx)
{
	(void)ctx;
	if (seen < 4)
		snprintf(seen_names[seen], sizeof(seen_names[0]), "%s", p->name);
	seen++;
}

static void test_list(void)
{
	const char *page =
		"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
		"\"resourceVersion\":\"900\",\"continue\":\"tok\"},\"items\":[" POD(
			UID, "a", "") "," POD("bad", "b", "") "," POD(UID2, "c", "") "]}";
	const char *last = "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"901\"},"
			   "\"items\":[]}";
	const char *items_obj = "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":{}}";
	char rv[POD_RV_MAX], cont[64], err[128];
	unsigned bad;

	seen = 0;
	CHECK(podjson_list(page, strlen(page), on_pod, NULL, rv, cont, sizeof(cont), &bad, err,
			   sizeof(err)) == 0);
	CHECK(seen == 2 && bad == 1);
	CHECK_STR(seen_names[0], "a");
	CHECK_STR(seen_names[1], "c");
	CHECK_STR(rv, "900");
	CHECK_STR(cont, "tok");
	CHECK(podjson_list(last, strlen(last), on_pod, NULL, rv, cont, sizeof(cont), &bad, err,
			   sizeof(err)) == 0);
	CHECK_STR(rv, "901");
	CHECK_STR(cont, "");
	CHECK(podjson_list("{}", 2, on_pod, NULL, rv, cont, sizeof(cont), &bad, err, sizeof(err)) ==
	      -1);
	CHECK(podjson_list(items_obj, strlen(items_obj), on_pod, NULL, rv, cont, sizeof(cont), &bad,
			   err, sizeof(err)) == -1);
	CHECK(podjson_list(page, strlen(page), on_pod, NULL, rv, cont, 3, &bad, err, sizeof(err)) ==
	      -1); /* continue token over its bound */
	CHECK(podjson_list("[", 1, on_pod, NULL, rv, cont, sizeof(cont), &bad, err, sizeof(err)) ==
	      -1);
}

int main(void)
{
	RUN(test_watch_events);
	RUN(test_bad_events);
	RUN(test_limits);
	RUN(test_list);
	return CHECK_DONE();
}
