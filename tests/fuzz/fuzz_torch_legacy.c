/* libFuzzer target: the legacy torch stream (stacked pickles after the
 * magic number) and torch 0.1.x tars, through the model scanner. The
 * legacy magic pickle is put in front of every input so each run takes the
 * legacy path; the raw input is also scanned, for the tar path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/model_scan.h"

static const uint8_t magic[] = {
	0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.',
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_limits lim = scan_default_limits;
	struct scan_report r;
	uint8_t *buf = malloc(sizeof(magic) + size);

	if (!buf)
		return 0;
	/* the product's limits; only the deadline is brought under the
	 * runner's 10 s per input, so a slow input is a finding, not a hang */
	lim.max_ms = 5000;
	memcpy(buf, magic, sizeof(magic));
	memcpy(buf + sizeof(magic), data, size);
	if (model_scan_mem(buf, sizeof(magic) + size, "model.pt", &lim, &r) == 0 &&
	    (r.verdict > SCAN_MALICIOUS || r.bytes_read > sizeof(magic) + size + (4u << 20)))
		__builtin_trap();
	scan_report_free(&r);
	free(buf);
	if (model_scan_mem(data, size, "model.pt", &lim, &r) == 0 &&
	    (r.verdict > SCAN_MALICIOUS || (r.cut && r.verdict < SCAN_SUSPICIOUS)))
		__builtin_trap();
	scan_report_free(&r);
	return 0;
}
