/* Two rules: output-records-lost (records that will never arrive: refused
 * for good, dropped from a full queue or spool, unrenderable, damaged) and
 * output-unreachable (every try failing for a while; nothing lost yet, the
 * spool holds them). */
#include <stdlib.h>
#include <string.h>

#include "output_health.h"
#include "health.h"

/* spool write errors are not here: those records wait in memory, and are
 * counted in queue_dropped only if they never reach the spool */
static const char *const lost_names[OUTPUT_LOST_KINDS] = {
	"rejected", "queue_dropped", "spool_dropped", "render_errors", "spool_damaged",
};

int output_health_init(struct output_health *h, size_t n, uint64_t now_ns)
{
	memset(h, 0, sizeof(*h));
	h->start_ns = now_ns;
	if (!n)
		return 0;
	h->v = calloc(n, sizeof(*h->v));
	if (!h->v)
		return -1;
	h->n = n;
	for (size_t i = 0; i < n; i++)
		h->v[i].lost_ns = now_ns;
	return 0;
}

static void lost_counts(const struct fwd_stats *st, uint64_t v[OUTPUT_LOST_KINDS])
{
	v[0] = st->rejected;
	v[1] = st->queue_dropped;
	v[2] = st->spool_dropped;
	v[3] = st->render_errors;
	v[4] = st->spool_damaged;
}

size_t output_health_check(struct output_health *h, size_t i, const struct fwd_stats *st,
			   uint64_t now_ns, bool force, struct health_alert out[2])
{
	struct output_told *t;
	uint64_t v[OUTPUT_LOST_KINDS];
	size_t n = 0;
	bool any = false;

	if (i >= h->n)
		return 0;
	t = &h->v[i];
	lost_counts(st, v);
	for (int k = 0; k < OUTPUT_LOST_KINDS; k++)
		any |= v[k] > t->lost[k];
	if (any && (force || now_ns - t->lost_ns >= HEALTH_MIN_GAP_NS)) {
		struct health_alert *a = &out[n++];

		memset(a, 0, sizeof(*a));
		a->rule_id = "output-records-lost";
		a->title = "Records will never reach an output";
		a->severity = "high";
		a->window_ns = now_ns - t->lost_ns;
		a->output = st->name;
		a->error = st->last_error;
		a->spool_records = st->spool_records;
		for (int k = 0; k < OUTPUT_LOST_KINDS; k++) {
			if (v[k] > t->lost[k]) {
				a->counts[a->n].reason = lost_names[k];
				a->counts[a->n].count = v[k] - t->lost[k];
				a->n++;
			}
			t->lost[k] = v[k];
		}
		t->lost_ns = now_ns;
	}
	if (!st->failing_ms) {
		t->unreachable_ns = 0; /* delivering again: a new episode may be said */
	} else if (st->failing_ms >= OUTPUT_UNREACHABLE_MS &&
		   (!t->unreachable_ns ||
		    now_ns - t->unreachable_ns >= OUTPUT_UNREACHABLE_REPEAT_NS)) {
		struct health_alert *a = &out[n++];

		memset(a, 0, sizeof(*a));
		a->rule_id = "output-unreachable";
		a->title = "An output cannot deliver: records wait in its spool";
		a->severity = "medium";
		a->window_ns = st->failing_ms * 1000000ull;
		a->output = st->name;
		a->error = st->last_error;
		a->spool_records = st->spool_records;
		a->counts[0].reason = "retries";
		a->counts[0].count = st->retries;
		a->n = 1;
		t->unreachable_ns = now_ns;
	}
	return n;
}

void output_health_free(struct output_health *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}
