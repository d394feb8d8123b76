/* Recent writes of watched lineages, for "exec of a file it just wrote". */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dropped.h"

static uint64_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

static int32_t *head_of(struct dropped *d, uint64_t h)
{
	uint64_t x = h ^ d->seed;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return &d->head[x & (DROPPED_BUCKETS - 1)];
}

void dropped_init(struct dropped *d)
{
	memset(d, 0, sizeof(*d));
	memset(d->head, 0xff, sizeof(d->head));
	for (size_t i = 0; i < DROPPED_MAX; i++)
		d->w[i].hprev = d->w[i].hnext = -1;
	if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK) != sizeof(d->seed))
		d->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)d;
}

void dropped_free(struct dropped *d)
{
	for (size_t i = 0; i < DROPPED_MAX; i++)
		free(d->w[i].path);
	memset(d, 0, sizeof(*d));
}

size_t dropped_max_bytes(void)
{
	return sizeof(struct dropped) + (size_t)DROPPED_MAX * 4096; /* PATH_MAX each */
}

/* Empties slot w: out of its chain, its path freed. */
static void clear_slot(struct dropped *d, struct dropped_write *w)
{
	if (!w->hash)
		return;
	if (w->hprev >= 0)
		d->w[w->hprev].hnext = w->hnext;
	else
		*head_of(d, w->hash) = w->hnext;
	if (w->hnext >= 0)
		d->w[w->hnext].hprev = w->hprev;
	d->bytes -= strlen(w->path) + 1;
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->hprev = w->hnext = -1;
}

static struct dropped_write *find(struct dropped *d, uint64_t h, uint32_t loader, uint64_t mark_ns,
				  const char *path)
{
	for (int32_t i = *head_of(d, h); i >= 0; i = d->w[i].hnext) {
		struct dropped_write *w = &d->w[i];

		d->steps++;
		if (w->hash == h && w->loader == loader && w->mark_ns == mark_ns &&
		    strcmp(w->path, path) == 0)
			return w;
	}
	return NULL;
}

void dropped_note(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
		  uint64_t ts_ns)
{
	uint64_t h = path_hash(path);
	struct dropped_write *w = find(d, h, loader, mark_ns, path);
	int32_t *head;
	char *copy;

	/* written again: the same entry, in its slot (a rewrite loop must not
	 * push other writes out) */
	if (w) {
		if (ts_ns < w->first_ns)
			w->first_ns = ts_ns;
		if (ts_ns > w->ts_ns)
			w->ts_ns = ts_ns;
		return;
	}
	copy = strdup(path);
	if (!copy)
		return;
	w = &d->w[d->next];
	if (w->hash && ts_ns - w->ts_ns < DROPPED_WINDOW_NS)
		d->forgotten++;
	clear_slot(d, w);
	w->hash = h;
	w->loader = loader;
	w->mark_ns = mark_ns;
	w->first_ns = ts_ns;
	w->ts_ns = ts_ns;
	w->path = copy;
	d->bytes += strlen(copy) + 1;
	head = head_of(d, h);
	w->hnext = *head;
	if (*head >= 0)
		d->w[*head].hprev = (int32_t)d->next;
	*head = (int32_t)d->next;
	d->next = (d->next + 1) % DROPPED_MAX;
}

bool dropped_by_lineage(struct dropped *d, uint32_t loader, uint64_t mark_ns, const char *path,
			uint64_t ts_ns)
{
	const struct dropped_write *w = find(d, path_hash(path), loader, mark_ns, path);

	/* a write at or before ts_ns, the latest one within the window (a
	 * rewrite after ts_ns still counts: records come nearly in order) */
	return w && ts_ns >= w->first_ns &&
	       (ts_ns <= w->ts_ns || ts_ns - w->ts_ns <= DROPPED_WINDOW_NS);
}
