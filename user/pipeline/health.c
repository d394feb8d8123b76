/* Sensor health: loss counters into alerts (see health.h). */
#include <stdbool.h>
#include <string.h>

#include "health.h"
#include "sense/sensors.h"

void health_init(struct health *h, uint64_t now_ns)
{
	memset(h, 0, sizeof(*h));
	h->last_ns[0] = h->last_ns[1] = now_ns;
}

/* What a marked lineage does, and what is done to mlwatch: lost, it may
 * be an attack's step. */
static bool vital_kind(int kind)
{
	return kind == MLW_EV_EXEC || kind == MLW_EV_EXEC_FAIL || kind == MLW_EV_CONNECT ||
	       kind == MLW_EV_DUP || kind == MLW_EV_SEND || kind == MLW_EV_LINK ||
	       kind == MLW_EV_SOCKET || kind == MLW_EV_SELF || kind == MLW_EV_PYTHON;
}

static void add(struct health_alert *a, int idx, uint64_t n)
{
	if (!n || a->n >= HEALTH_MAX_COUNTS)
		return;
	a->counts[a->n].reason = sensors_counter_name(idx);
	a->counts[a->n].count = n;
	a->n++;
}

size_t health_check(struct health *h, const uint64_t cnt[MLW_CNT_MAX], uint64_t now_ns, bool force,
		    struct health_alert out[2])
{
	static const int loss[] = { MLW_CNT_PENDING_FULL, MLW_CNT_OVER_BUDGET };
	uint64_t d[MLW_CNT_MAX];
	struct health_alert *a;
	size_t n = 0;
	bool lost = false;

	for (int i = 0; i < MLW_CNT_MAX; i++)
		d[i] = cnt[i] > h->reported[i] ? cnt[i] - h->reported[i] : 0;
	for (int k = 1; k < MLW_EV_KIND_MAX; k++)
		lost |= d[MLW_CNT_RB_FULL_EXEC + k - 1] || d[MLW_CNT_SHED_EXEC + k - 1];
	lost |= d[MLW_CNT_PENDING_FULL] != 0;
	if (lost && (force || now_ns - h->last_ns[0] >= HEALTH_MIN_GAP_NS)) {
		a = &out[n++];
		memset(a, 0, sizeof(*a));
		a->rule_id = "sensor-events-lost";
		a->title =
			"The kernel could not send every record: an attack's step may be missing";
		a->window_ns = now_ns - h->last_ns[0];
		for (int k = 1; k < MLW_EV_KIND_MAX; k++) {
			uint64_t full = d[MLW_CNT_RB_FULL_EXEC + k - 1];
			uint64_t shed = d[MLW_CNT_SHED_EXEC + k - 1];

			add(a, MLW_CNT_RB_FULL_EXEC + k - 1, full);
			add(a, MLW_CNT_SHED_EXEC + k - 1, shed);
			if (vital_kind(k))
				a->vital_lost += full + shed;
		}
		for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++)
			add(a, loss[i], d[loss[i]]);
		a->vital_lost += d[MLW_CNT_PENDING_FULL];
		a->severity = a->vital_lost ? "high" : "medium";
		for (int k = 1; k < MLW_EV_KIND_MAX; k++) {
			h->reported[MLW_CNT_RB_FULL_EXEC + k - 1] =
				cnt[MLW_CNT_RB_FULL_EXEC + k - 1];
			h->reported[MLW_CNT_SHED_EXEC + k - 1] = cnt[MLW_CNT_SHED_EXEC + k - 1];
		}
		h->reported[MLW_CNT_PENDING_FULL] = cnt[MLW_CNT_PENDING_FULL];
		h->reported[MLW_CNT_OVER_BUDGET] = cnt[MLW_CNT_OVER_BUDGET];
		h->last_ns[0] = now_ns;
	}
	if (d[MLW_CNT_MARKS_FULL] && (force || now_ns - h->last_ns[1] >= HEALTH_MIN_GAP_NS)) {
		a = &out[n++];
		memset(a, 0, sizeof(*a));
		a->rule_id = "sensor-map-full";
		a->title = "A process could not be marked: its lineage is not watched";
		a->severity = "high";
		a->window_ns = now_ns - h->last_ns[1];
		add(a, MLW_CNT_MARKS_FULL, d[MLW_CNT_MARKS_FULL]);
		a->vital_lost = d[MLW_CNT_MARKS_FULL];
		h->reported[MLW_CNT_MARKS_FULL] = cnt[MLW_CNT_MARKS_FULL];
		h->last_ns[1] = now_ns;
	}
	h->alerts += n;
	return n;
}
