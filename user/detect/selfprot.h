/*
 * Self-protection: a record of what another process did to mlwatch
 * (MLW_EV_SELF) judged into one of the fixed rules (rules.h,
 * selfprot_rules), the names its alert shows, and the repeats folded so
 * that `bpftool prog show` (one open by id per program) is one alert.
 */
#ifndef MLWATCH_SELFPROT_H
#define MLWATCH_SELFPROT_H
#include <stdbool.h>
#include <stdint.h>
#include "rules.h"
#include "collect/decode.h"

/* The same act by the same process (for opens by id: any of them) within
 * this long is counted, not alerted again; acts remembered at once. */
#define SELFPROT_REPEAT_NS (60ull * 1000 * 1000 * 1000)
#define SELFPROT_SEEN 128

struct selfprot_seen {
	uint64_t ts;
	uint32_t tgid, op, arg, obj, obj_id;
	enum selfprot_rule rule;
	bool used;
};

struct selfprot {
	struct selfprot_seen seen[SELFPROT_SEEN];
	uint64_t alerts;
	uint64_t folded; /* repeats counted, not alerted */
};

/* The rule an MLW_EV_SELF event falls under, or NULL (an op this build
 * does not know). */
const struct rule *selfprot_rule(const struct event *ev);
/* true the first time (tgid, act) is seen within SELFPROT_REPEAT_NS;
 * false for a repeat, which is counted in sp->folded. */
bool selfprot_first(struct selfprot *sp, const struct event *ev, const struct rule *r);

/* Names for the alert: "bpf", "signal", "ptrace", ...; BPF_MAP_UPDATE_ELEM
 * ...; SIGKILL ...; PTRACE_SEIZE ...; "prog", "map", "link"; who made the
 * signal by its si_code ("user", "tkill", "queue", "kernel", ...).
 * Unknown values give "unknown". */
const char *selfprot_op_name(uint32_t op);
const char *selfprot_bpf_cmd_name(uint32_t cmd);
const char *selfprot_signal_name(uint32_t sig);
const char *selfprot_ptrace_name(uint32_t req);
const char *selfprot_obj_name(uint32_t obj);
const char *selfprot_origin_name(int32_t code);
#endif
