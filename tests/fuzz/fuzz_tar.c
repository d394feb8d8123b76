/* libFuzzer target: the tar member lister on untrusted bytes. Every member
 * listed must lie inside the input unless the list says it is truncated. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/formats/tarread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_list l;
	struct byte_src s;
	char err[128];
	int rc;
	bool probe = tar_probe(data, size);

	bsrc_from_mem(&s, data, size);
	rc = tar_read_list(&s, &l, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		__builtin_trap();
	if (strnlen(err, sizeof(err)) >= sizeof(err))
		__builtin_trap();
	if (rc) {
		if (l.e || l.n)
			__builtin_trap();
		return 0;
	}
	/* a listed member means the first header passed the probe's test */
	if (l.n && !probe)
		__builtin_trap();
	if (l.n > TAR_MAX_ENTRIES || (l.n && !l.e))
		__builtin_trap();
	for (size_t i = 0; i < l.n; i++) {
		const struct tar_entry *e = &l.e[i];
		bool last = i + 1 == l.n;

		if (strnlen(e->name, TAR_NAME_MAX) >= TAR_NAME_MAX || !e->type)
			__builtin_trap();
		if (e->data_off < 512 || e->data_off > size || e->data_off % 512)
			__builtin_trap();
		if (e->size > size - e->data_off && !(last && l.truncated))
			__builtin_trap();
		if (i && e->data_off <= l.e[i - 1].data_off)
			__builtin_trap();
	}
	tar_list_free(&l);
	return 0;
}
