/* Recent writes of watched lineages, for "exec of a file it just wrote". */
#include <stdlib.h>
#include <string.h>

#include "dropped.h"

static uint64_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

void dropped_init(struct dropped *d)
{
	memset(d, 0, sizeof(*d));
}

void dropped_free(struct dropped *d)
{
	for (size_t i = 0; i < DROPPED_MAX; i++)
		free(d->w[i].path);
	memset(d, 0, sizeof(*d));
}

void dropped_note(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
		  uint64_t ts_ns)
{
	struct dropped_write *w = &d->w[d->next];
	char *copy = strdup(path);

	if (!copy)
		return;
	if (w->hash && ts_ns - w->ts_ns < DROPPED_WINDOW_NS)
		d->forgotten++;
	free(w->path);
	w->hash = path_hash(path);
	w->loader = loader;
	w->mark_ns = mark_ns;
	w->ts_ns = ts_ns;
	w->path = copy;
	d->next = (d->next + 1) % DROPPED_MAX;
}

bool dropped_by_lineage(const struct dropped *d, uint32_t loader, uint64_t mark_ns,
			const char *path, uint64_t ts_ns)
{
	uint64_t h = path_hash(path);

	/* exec is rare next to everything else: a scan is fine */
	for (size_t i = 0; i < DROPPED_MAX; i++) {
		const struct dropped_write *w = &d->w[i];

		if (w->hash == h && w->loader == loader && w->mark_ns == mark_ns &&
		    ts_ns >= w->ts_ns && ts_ns - w->ts_ns <= DROPPED_WINDOW_NS &&
		    strcmp(w->path, path) == 0)
			return true;
	}
	return false;
}
