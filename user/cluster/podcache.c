/* Pods by UID, deleted ones kept a while. One lock: lookups are rare (an
 * alert or a record), writes are the API's pace. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "podcache.h"

struct pod_ent {
	struct pod_meta m;
	bool deleted;
	uint64_t deleted_ns;
	uint64_t gen; /* the list (or later event) that last named it */
	struct pod_ent *next;
};

struct podcache {
	pthread_mutex_t mu;
	struct pod_ent **buckets;
	size_t nbuckets, max, count;
	uint64_t gen;
	struct podcache_stats st;
};

static size_t bucket(const struct podcache *pc, const char *uid)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *uid; uid++)
		h = (h ^ (unsigned char)*uid) * 1099511628211ull;
	return (size_t)h & (pc->nbuckets - 1);
}

static struct pod_ent **slot(struct podcache *pc, const char *uid)
{
	struct pod_ent **pp = &pc->buckets[bucket(pc, uid)];

	while (*pp && strcmp((*pp)->m.uid, uid))
		pp = &(*pp)->next;
	return pp;
}

struct podcache *podcache_new(size_t max)
{
	struct podcache *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	pc->max = max ? max : PODCACHE_DEF_MAX;
	for (pc->nbuckets = 16; pc->nbuckets < pc->max; pc->nbuckets <<= 1)
		;
	pc->buckets = calloc(pc->nbuckets, sizeof(*pc->buckets));
	if (!pc->buckets) {
		free(pc);
		return NULL;
	}
	pthread_mutex_init(&pc->mu, NULL);
	return pc;
}

static void unlink_ent(struct podcache *pc, struct pod_ent **pp)
{
	struct pod_ent *e = *pp;

	*pp = e->next;
	if (e->deleted)
		pc->st.deleted--;
	else
		pc->st.live--;
	pc->count--;
	free(e);
}

void podcache_free(struct podcache *pc)
{
	if (!pc)
		return;
	for (size_t b = 0; b < pc->nbuckets; b++)
		while (pc->buckets[b])
			unlink_ent(pc, &pc->buckets[b]);
	pthread_mutex_destroy(&pc->mu);
	free(pc->buckets);
	free(pc);
}

static void expire_locked(struct podcache *pc, uint64_t now_ns)
{
	for (size_t b = 0; b < pc->nbuckets; b++)
		for (struct pod_ent **pp = &pc->buckets[b]; *pp;) {
			if ((*pp)->deleted && now_ns - (*pp)->deleted_ns > PODCACHE_LINGER_NS) {
				unlink_ent(pc, pp);
				pc->st.expired++;
			} else {
				pp = &(*pp)->next;
			}
		}
}

/* Room for one more: expired pods first, then the one deleted first. */
static bool make_room(struct podcache *pc, uint64_t now_ns)
{
	struct pod_ent **oldest = NULL;

	if (pc->count < pc->max)
		return true;
	expire_locked(pc, now_ns);
	if (pc->count < pc->max)
		return true;
	for (size_t b = 0; b < pc->nbuckets; b++)
		for (struct pod_ent **pp = &pc->buckets[b]; *pp; pp = &(*pp)->next)
			if ((*pp)->deleted &&
			    (!oldest || (*pp)->deleted_ns < (*oldest)->deleted_ns))
				oldest = pp;
	if (!oldest)
		return false;
	unlink_ent(pc, oldest);
	pc->st.evicted++;
	return true;
}

void podcache_put(struct podcache *pc, const struct pod_meta *p, uint64_t now_ns)
{
	struct pod_ent **pp, *e;

	pthread_mutex_lock(&pc->mu);
	pc->st.puts++;
	if (p->labels_cut)
		pc->st.labels_cut++;
	pp = slot(pc, p->uid);
	if (!*pp) {
		if (!make_room(pc, now_ns) || !(e = calloc(1, sizeof(*e)))) {
			pc->st.full++;
			goto out;
		}
		/* make_room may have unlinked entries of this chain */
		pp = slot(pc, p->uid);
		*pp = e;
		pc->count++;
		pc->st.live++;
		if (pc->count > pc->st.peak)
			pc->st.peak = pc->count;
	}
	e = *pp;
	if (e->deleted) {
		/* a late event for a pod already deleted (a relist raced it) */
		pc->st.deleted--;
		pc->st.live++;
		e->deleted = false;
	}
	e->m = *p;
	e->gen = pc->gen;
out:
	pthread_mutex_unlock(&pc->mu);
}

static void mark_deleted(struct podcache *pc, struct pod_ent *e, uint64_t now_ns)
{
	if (e->deleted)
		return;
	e->deleted = true;
	e->deleted_ns = now_ns;
	pc->st.live--;
	pc->st.deleted++;
}

void podcache_delete(struct podcache *pc, const char *uid, uint64_t now_ns)
{
	struct pod_ent **pp;

	pthread_mutex_lock(&pc->mu);
	pc->st.deletes++;
	pp = slot(pc, uid);
	if (*pp)
		mark_deleted(pc, *pp, now_ns);
	pthread_mutex_unlock(&pc->mu);
}

void podcache_list_begin(struct podcache *pc)
{
	pthread_mutex_lock(&pc->mu);
	pc->gen++;
	pthread_mutex_unlock(&pc->mu);
}

void podcache_list_end(struct podcache *pc, uint64_t now_ns)
{
	pthread_mutex_lock(&pc->mu);
	for (size_t b = 0; b < pc->nbuckets; b++)
		for (struct pod_ent *e = pc->buckets[b]; e; e = e->next)
			if (e->gen != pc->gen)
				mark_deleted(pc, e, now_ns);
	expire_locked(pc, now_ns);
	pthread_mutex_unlock(&pc->mu);
}

void podcache_expire(struct podcache *pc, uint64_t now_ns)
{
	pthread_mutex_lock(&pc->mu);
	expire_locked(pc, now_ns);
	pthread_mutex_unlock(&pc->mu);
}

bool podcache_get(struct podcache *pc, const char *uid, struct pod_meta *out)
{
	struct pod_ent **pp;
	bool hit;

	pthread_mutex_lock(&pc->mu);
	pc->st.lookups++;
	pp = slot(pc, uid);
	hit = *pp != NULL;
	if (hit) {
		pc->st.hits++;
		*out = (*pp)->m;
	}
	pthread_mutex_unlock(&pc->mu);
	return hit;
}

void podcache_stats(struct podcache *pc, struct podcache_stats *out)
{
	pthread_mutex_lock(&pc->mu);
	*out = pc->st;
	pthread_mutex_unlock(&pc->mu);
}
