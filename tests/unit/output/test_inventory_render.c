/* Inventory rendering of hostile scan text: JSON stays valid UTF-8. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include "check.h"
#include "lib/textsan.h"
#include "output/inventory_render.h"

/* A finding line cut to INV_SCAN_LINE inside a character, and one with
 * a stray byte: neither reaches the JSON raw. */
static void test_scan_top_valid_utf8(void)
{
	struct inv_scan sc = { .done = true, .verdict = SCAN_SUSPICIOUS, .findings = 2 };
	cJSON *j;
	char *line;

	memset(sc.top[0], 'a', INV_SCAN_LINE - 2);
	sc.top[0][INV_SCAN_LINE - 2] = '\xc3';
	strcpy(sc.top[1], "b\xff\xe2\x80");
	j = inv_scan_to_json(&sc);
	line = j ? cJSON_PrintUnformatted(j) : NULL;
	CHECK(line != NULL);
	if (line) {
		CHECK(utf8_valid((const uint8_t *)line, strlen(line), NULL));
		CHECK(strstr(line, "\"b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"") != NULL);
	}
	free(line);
	cJSON_Delete(j);
}

int main(void)
{
	RUN(test_scan_top_valid_utf8);
	return CHECK_DONE();
}
