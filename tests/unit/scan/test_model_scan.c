/* model_scan's dispatch where the sniffer sees no pickle: a name a loader
 * may unpickle (pickle-bearing, no extension, none) is still walked when
 * the bytes import something; a name no pickle loader is given is not. */
#include <string.h>

#include "check.h"
#include "scan/model_scan.h"

/* protocol 1 with printable arguments only: text to the sniffer, and
 * pickle.loads runs os.system("id") */
static const char p1[] = "cos\nsystem\n(U id                              tR.";

static enum scan_verdict verdict_of(const void *b, size_t n, const char *name)
{
	struct scan_report r;
	enum scan_verdict v = SCAN_ERROR;

	if (model_scan_mem(b, n, name, NULL, &r) == 0)
		v = r.verdict;
	scan_report_free(&r);
	return v;
}

static void test_unpickled_whatever_the_sniffer_says(void)
{
	static const char *const unpickled[] = {
		"model.pkl",
		"pytorch_model.bin",
		NULL,
		"hub/models--o--m/blobs/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"models/blobs/sha256-0123456789abcdef",
	};
	uint8_t st[512];
	size_t n;

	CHECK(model_format_detect((const uint8_t *)p1, sizeof(p1) - 1, NULL) == MF_UNKNOWN);
	for (size_t i = 0; i < sizeof(unpickled) / sizeof(unpickled[0]); i++)
		CHECK(verdict_of(p1, sizeof(p1) - 1, unpickled[i]) == SCAN_MALICIOUS);
	/* its loader parses safetensors and never unpickles */
	CHECK(verdict_of(p1, sizeof(p1) - 1, "model.safetensors") == SCAN_SKIPPED);
	CHECK(verdict_of(p1, sizeof(p1) - 1, "notes.txt") == SCAN_SKIPPED);

	/* a valid safetensors file under a pickle name: still clean */
	memset(st, 0, sizeof(st));
	n = (size_t)snprintf((char *)st + 8, sizeof(st) - 8,
			     "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
	st[0] = (uint8_t)n;
	CHECK(verdict_of(st, 8 + n + 8, "pytorch_model.bin") == SCAN_CLEAN);
	CHECK(verdict_of(st, 8 + n + 8, NULL) == SCAN_CLEAN);
}

int main(void)
{
	RUN(test_unpickled_whatever_the_sniffer_says);
	return CHECK_DONE();
}
