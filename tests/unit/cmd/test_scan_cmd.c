/* `mlwatch scan --json`: the report is one versioned document. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "schema_check.h"
#include "cmd/scan_cmd.h"

static char dir[] = "/tmp/mlwatch-scancmd-XXXXXX";

/* Runs scan_cmd on argv; returns its stdout parsed, or NULL. */
static cJSON *scan_json(int argc, char **argv, int *rc)
{
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *o = open_memstream(&out, &olen), *e = open_memstream(&err, &elen);
	cJSON *j = NULL;

	CHECK(o && e);
	if (o && e) {
		*rc = scan_cmd(argc, argv, o, e);
		fclose(o);
		fclose(e);
		j = cJSON_Parse(out);
	}
	free(out);
	free(err);
	return j;
}

/* The version opens the document; a file entry and the summary are parts
 * of it and carry none. */
static void test_json_schema_version(void)
{
	static const char good[] = "\x80\x04}\x94.";
	char path[256];
	char *argv[] = { "scan", "--json", path, NULL };
	FILE *f;
	cJSON *j;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/good.pkl", dir);
	f = fopen(path, "wb");
	CHECK(f && fwrite(good, 1, sizeof(good) - 1, f) == sizeof(good) - 1);
	if (f)
		fclose(f);
	j = scan_json(3, argv, &rc);
	CHECK(rc == SCAN_EXIT_CLEAN);
	CHECK(j != NULL);
	CHECK(schema_version_index(j) == 0);
	CHECK(schema_version_nested(j) == 0);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "files")) == 1);
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "summary")));
	cJSON_Delete(j);
	unlink(path);
}

/* --time-limit: a file that would take a minute stops at it, flagged
 * with a time limit finding; a bad value is a usage error. */
static void test_time_limit(void)
{
	static const char head[] = "\x80\x04"
				   "cpickle\nloads\n"
				   "q\x00"
				   "B\x00\x00\x08\x00"
				   "S'";
	char path[256], *found = NULL;
	char *argv[] = { "scan", "--json", "--time-limit", "1", path, NULL };
	char *bad[] = { "scan", "--time-limit", "-1", path, NULL };
	size_t inner = (512u << 10) - 5, n = sizeof(head) - 1;
	uint8_t *p = malloc(1u << 20);
	struct timespec t0, t1;
	cJSON *j, *f, *it;
	FILE *o;
	int rc = -1;

	CHECK(p != NULL);
	if (!p)
		return;
	memcpy(p, head, n);
	memset(p + n, 'a', inner);
	n += inner;
	memcpy(p + n, "'\n.\x85q\x01", 6);
	for (n += 6; n + 8 < 1u << 20; n += 6)
		memcpy(p + n, "h\x00h\x01R0", 6);
	memcpy(p + n, "N.", 2);
	snprintf(path, sizeof(path), "%s/loads.pkl", dir);
	o = fopen(path, "wb");
	CHECK(o && fwrite(p, 1, n + 2, o) == n + 2);
	if (o)
		fclose(o);
	free(p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j = scan_json(5, argv, &rc);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(rc == SCAN_EXIT_FOUND);
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "files"), 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "verdict")), "suspicious");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(f, "findings")) {
		const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(it, "detail"));

		if (d && strstr(d, "(time limit)"))
			found = (char *)d;
	}
	CHECK(found != NULL);
	cJSON_Delete(j);
	o = fopen("/dev/null", "w");
	CHECK(o && scan_cmd(4, bad, o, o) == SCAN_EXIT_ERROR);
	if (o)
		fclose(o);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_json_schema_version);
	RUN(test_time_limit);
	rmdir(dir);
	return CHECK_DONE();
}
