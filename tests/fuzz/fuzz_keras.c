/* libFuzzer target: the Keras config checker on untrusted bytes, both as a
 * config.json text and as an HDF5 file searched for its model_config.
 * Checks that results stay within their bounds and agree with the code. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/keras_scan.h"

static void check_result(const struct keras_result *r, int rc)
{
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		__builtin_trap();
	if (r->nhits > KERAS_MAX_HITS || (r->hits_dropped && r->nhits != KERAS_MAX_HITS))
		__builtin_trap();
	if (r->nhits && !r->config_found)
		__builtin_trap();
	for (size_t i = 0; i < r->nhits; i++) {
		const struct keras_hit *h = &r->hits[i];

		if (strnlen(h->layer, sizeof(h->layer)) >= sizeof(h->layer) ||
		    strnlen(h->class_name, sizeof(h->class_name)) >= sizeof(h->class_name) ||
		    strnlen(h->module, sizeof(h->module)) >= sizeof(h->module) ||
		    strnlen(h->what, sizeof(h->what)) >= sizeof(h->what) || !*h->what)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keras_result r;
	struct byte_src s;
	char err[160];
	int rc;

	rc = keras_check_config((const char *)data, size, &r, err, sizeof(err));
	check_result(&r, rc);
	if (strnlen(err, sizeof(err)) >= sizeof(err) || (rc == -EINVAL && !*err) || (!rc && *err))
		__builtin_trap();
	if (!rc && !r.config_found)
		__builtin_trap();

	bsrc_from_mem(&s, data, size);
	rc = keras_scan_hdf5(&s, &r, err, sizeof(err));
	check_result(&r, rc);
	if (strnlen(err, sizeof(err)) >= sizeof(err) || (rc == -EINVAL && !*err) || (!rc && *err))
		__builtin_trap();
	return 0;
}
