/* `mlwatch scan --json`: the report is one versioned document. */
#include <cjson/cJSON.h>
#include <stdlib.h>
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

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_json_schema_version);
	rmdir(dir);
	return CHECK_DONE();
}
