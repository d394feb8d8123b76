/* Process table: chained hash on pid, bounded, exited entries linger. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proctable.h"

#define PROCTABLE_BUCKETS 16384 /* power of two */

int proctable_init(struct proctable *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->nbuckets = PROCTABLE_BUCKETS;
	pt->buckets = calloc(pt->nbuckets, sizeof(*pt->buckets));
	return pt->buckets ? 0 : -ENOMEM;
}

static void free_model(struct model_rec *m)
{
	free(m->path);
	free(m->resolved_path);
	memset(m, 0, sizeof(*m));
}

static void free_proc(struct proc *p)
{
	free(p->exe);
	free(p->args);
	free_model(&p->model);
	free(p);
}

void proctable_free(struct proctable *pt)
{
	for (size_t i = 0; i < pt->nbuckets && pt->buckets; i++) {
		struct proc *p = pt->buckets[i], *n;

		for (; p; p = n) {
			n = p->next;
			free_proc(p);
		}
	}
	free(pt->buckets);
	memset(pt, 0, sizeof(*pt));
}

static size_t bucket(const struct proctable *pt, uint32_t pid)
{
	return (pid * 2654435761u) & (pt->nbuckets - 1);
}

struct proc *proctable_get(struct proctable *pt, uint32_t pid)
{
	struct proc *p = pt->buckets[bucket(pt, pid)];

	while (p && p->pid != pid)
		p = p->next;
	return p;
}

void proctable_reset(struct proc *p)
{
	struct proc *next = p->next;
	uint32_t pid = p->pid;

	free(p->exe);
	free(p->args);
	free_model(&p->model);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->next = next;
}

static void unlink_proc(struct proctable *pt, struct proc *victim)
{
	struct proc **pp = &pt->buckets[bucket(pt, victim->pid)];

	while (*pp && *pp != victim)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = victim->next;
		free_proc(victim);
		pt->count--;
	}
}

/* Makes room by dropping the exited entry that exited first. */
static bool evict_one(struct proctable *pt)
{
	struct proc *oldest = NULL;

	for (size_t i = 0; i < pt->nbuckets; i++)
		for (struct proc *p = pt->buckets[i]; p; p = p->next)
			if (p->exited && (!oldest || p->exit_ns < oldest->exit_ns))
				oldest = p;
	if (!oldest)
		return false;
	unlink_proc(pt, oldest);
	pt->evicted++;
	return true;
}

struct proc *proctable_add(struct proctable *pt, uint32_t pid, bool *created)
{
	struct proc *p = proctable_get(pt, pid);

	*created = false;
	if (p)
		return p;
	if (pt->count >= PROCTABLE_MAX && !evict_one(pt)) {
		pt->full++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pt->full++;
		return NULL;
	}
	p->pid = pid;
	p->next = pt->buckets[bucket(pt, pid)];
	pt->buckets[bucket(pt, pid)] = p;
	pt->count++;
	*created = true;
	return p;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void proctable_set_exe(struct proc *p, const char *exe)
{
	free(p->exe);
	p->exe = dup_or_null(exe);
}

void proctable_set_args(struct proc *p, const char *args, size_t len, bool truncated)
{
	free(p->args);
	p->args = malloc(len + 1);
	p->args_len = p->args ? len : 0;
	if (p->args) {
		memcpy(p->args, args, len);
		p->args[len] = 0;
	}
	p->args_truncated = truncated;
}

void proctable_set_model(struct proc *p, const char *path, const char *resolved,
			 enum model_format f, uint64_t ts)
{
	p->n_models++;
	if (p->model.path)
		return; /* the first model stays the one the lineage is named by */
	p->model.path = dup_or_null(path);
	p->model.resolved_path = dup_or_null(resolved);
	p->model.format = f;
	p->model.ts_ns = ts;
}

void proctable_expire(struct proctable *pt, uint64_t now_ns)
{
	for (size_t i = 0; i < pt->nbuckets; i++) {
		struct proc **pp = &pt->buckets[i];

		while (*pp) {
			struct proc *p = *pp;

			if (p->exited && now_ns - p->exit_ns > PROCTABLE_LINGER_NS) {
				*pp = p->next;
				free_proc(p);
				pt->count--;
			} else {
				pp = &p->next;
			}
		}
	}
}

size_t proctable_ancestry(struct proctable *pt, uint32_t pid, uint32_t stop_at, uint32_t *out,
			  size_t max)
{
	size_t n = 0;

	while (pid && n < max && n < PROCTABLE_MAX_DEPTH) {
		struct proc *p;

		out[n++] = pid;
		if (pid == stop_at)
			break;
		p = proctable_get(pt, pid);
		if (!p || p->parent == pid)
			break;
		pid = p->parent;
	}
	return n;
}

void proctable_for_lineage(struct proctable *pt, uint32_t loader, uint64_t mark_ns,
			   void (*fn)(struct proc *p, void *ctx), void *ctx)
{
	for (size_t i = 0; i < pt->nbuckets; i++)
		for (struct proc *p = pt->buckets[i]; p; p = p->next)
			if (p->loader == loader && p->mark_ns == mark_ns)
				fn(p, ctx);
}
