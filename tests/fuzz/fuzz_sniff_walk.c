/*
 * Differential libFuzzer target: the format sniffer (model_format_detect,
 * which reads the first 4 KiB and decides what the scanner opens) against
 * the scanner's pickle walker (which reads bytes as the unpickler would).
 *
 * Property: when the sniffer says the bytes hold no pickle (unknown, or a
 * format that carries none: safetensors, ONNX, GGUF) and the walker, reading
 * them from byte 0 as a stream of pickles, finds an import, the scan of the
 * file must still walk them as a pickle or flag the file (suspicious or
 * worse), and an import on the deny list that the unpickler reaches must
 * make it malicious. A sniffer that misses a pickle must never make the
 * scanner skip one.
 *
 * Exceptions, as docs/scan.md says:
 *  - names no pickle loader is given (.safetensors, .onnx, .gguf, .json):
 *    their loaders parse the format and never unpickle. The monitor's inert
 *    check still keeps such a file's loader marked (fuzz_failclosed);
 *  - containers (zip, tar, npy, HDF5, legacy torch, compressed joblib) are
 *    read by their container, not as a pickle from byte 0; the scanner
 *    walks the pickles inside them, so they are outside the property.
 *
 * The first byte picks the name the file is scanned under (torch.load and
 * pickle.load take any name: a Hugging Face blob has no extension, the
 * monitor may have no name at all); the rest is the file. The limits are
 * the product's defaults.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/model_scan.h"

static const char *const names[] = {
	"model.pkl",
	"pytorch_model.bin",
	"ckpt/last.ckpt",
	NULL,
	"hub/models--org--m/blobs/"
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"model.safetensors",
	"model.onnx",
	"model.gguf",
};
/* names[i] for i >= this: no pickle loader is given them */
#define FIRST_NOT_UNPICKLED 5

static bool holds_no_pickle(enum model_format f)
{
	return f == MF_UNKNOWN || f == MF_SAFETENSORS || f == MF_ONNX || f == MF_GGUF;
}

/* A deny-listed import the unpickler reaches: at the top level, before
 * the first error the walker met there (the walker reads on past errors,
 * the unpickler stops at them). */
static bool reaches_denied(const struct pickle_result *w)
{
	size_t stop = SIZE_MAX;

	for (size_t i = 0; i < w->nerrors && i < PICKLE_MAX_ERRORS; i++)
		if (w->errors[i].depth == 0) {
			stop = w->errors[i].offset;
			break;
		}
	for (size_t i = 0; i < w->nfindings; i++)
		if (!w->findings[i].depth && w->findings[i].severity == PSEV_MALICIOUS &&
		    w->findings[i].offset < stop)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pick, probe;
	enum model_format f;
	struct pickle_result w;
	struct scan_report r;
	const char *name;

	if (size < 1)
		return 0;
	pick = data[0] % (sizeof(names) / sizeof(names[0]));
	name = names[pick];
	data++;
	size--;
	probe = size < MODELFMT_PROBE_LEN ? size : MODELFMT_PROBE_LEN;
	f = model_format_detect(data, probe, name);
	if (!holds_no_pickle(f))
		return 0;
	if (pickle_scan_stream(data, size, NULL, NULL, &w) == -ENOMEM || !w.nfindings) {
		pickle_result_free(&w);
		return 0;
	}
	if (model_scan_mem(data, size, name, NULL, &r) == 0 && pick < FIRST_NOT_UNPICKLED) {
		if (!r.pickles && r.verdict < SCAN_SUSPICIOUS)
			abort(); /* the walker's imports were never looked at */
		if (reaches_denied(&w) && r.verdict != SCAN_MALICIOUS)
			abort(); /* a deny-listed import lost on the way */
	}
	scan_report_free(&r);
	pickle_result_free(&w);
	return 0;
}
