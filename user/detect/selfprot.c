/* Self-protection records into rules, names and folded repeats.
 * Threat model: docs/threat-model.md §3.4.
 */
#include <linux/bpf.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>

#include "selfprot.h"

static const struct rule *signal_rule(uint32_t sig)
{
	/* what mlwatch does with each (cmd/monitor_cmd.c); the kernel sends
	 * no signal mlwatch ignores, so the rest end or freeze it */
	switch (sig) {
	case SIGHUP:
		return &selfprot_rules[SELFPROT_RELOAD];
	case SIGINT:
	case SIGTERM:
		return &selfprot_rules[SELFPROT_STOP];
	default:
		return &selfprot_rules[SELFPROT_SIGNALED];
	}
}

static bool by_id(uint32_t cmd)
{
	return cmd == BPF_PROG_GET_FD_BY_ID || cmd == BPF_MAP_GET_FD_BY_ID ||
	       cmd == BPF_LINK_GET_FD_BY_ID;
}

const struct rule *selfprot_rule(const struct event *ev)
{
	const struct mlw_self *s = ev->u.self;

	if (ev->kind != MLW_EV_SELF || !s)
		return NULL;
	switch (s->op) {
	case MLW_SELF_BPF:
		return &selfprot_rules[by_id(s->arg) ? SELFPROT_INSPECTED : SELFPROT_TAMPERED];
	case MLW_SELF_MAP_MMAP:
		return &selfprot_rules[s->arg ? SELFPROT_TAMPERED : SELFPROT_INSPECTED];
	case MLW_SELF_SIGNAL:
		return signal_rule(s->arg);
	case MLW_SELF_PTRACE:
	case MLW_SELF_VM_READ:
	case MLW_SELF_VM_WRITE:
	case MLW_SELF_GETFD:
	case MLW_SELF_MEM_OPEN:
		return &selfprot_rules[SELFPROT_TRACED];
	default:
		return NULL;
	}
}

bool selfprot_first(struct selfprot *sp, const struct event *ev, const struct rule *r)
{
	const struct mlw_self *s = ev->u.self;
	enum selfprot_rule rule = (enum selfprot_rule)(r - selfprot_rules);
	/* bpftool opens every program by id: one act, whatever it opened */
	bool any = rule == SELFPROT_INSPECTED;
	struct selfprot_seen want = {
		.ts = ev->hdr.ts_ns,
		.tgid = ev->hdr.tgid,
		.op = any ? 0 : s->op,
		.arg = any ? 0 : s->arg,
		.obj = any ? 0 : s->obj,
		.obj_id = any ? 0 : s->obj_id,
		.rule = rule,
		.used = true,
	};
	struct selfprot_seen *old = &sp->seen[0];

	for (size_t i = 0; i < SELFPROT_SEEN; i++) {
		struct selfprot_seen *e = &sp->seen[i];

		if (e->used && e->tgid == want.tgid && e->rule == want.rule && e->op == want.op &&
		    e->arg == want.arg && e->obj == want.obj && e->obj_id == want.obj_id &&
		    want.ts - e->ts < SELFPROT_REPEAT_NS) {
			sp->folded++;
			return false;
		}
		/* a free slot, else the oldest: a forgotten act alerts again */
		if (old->used && (!e->used || e->ts < old->ts))
			old = e;
	}
	*old = want;
	sp->alerts++;
	return true;
}

const char *selfprot_op_name(uint32_t op)
{
	static const char *const names[] = {
		[MLW_SELF_BPF] = "bpf",
		[MLW_SELF_SIGNAL] = "signal",
		[MLW_SELF_PTRACE] = "ptrace",
		[MLW_SELF_VM_READ] = "process_vm_readv",
		[MLW_SELF_VM_WRITE] = "process_vm_writev",
		[MLW_SELF_GETFD] = "pidfd_getfd",
		[MLW_SELF_MEM_OPEN] = "proc_mem_open",
		[MLW_SELF_MAP_MMAP] = "map_mmap",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "unknown";
}

const char *selfprot_bpf_cmd_name(uint32_t cmd)
{
#define CMD(c) [c] = #c
	static const char *const names[] = {
		CMD(BPF_MAP_UPDATE_ELEM),
		CMD(BPF_MAP_DELETE_ELEM),
		CMD(BPF_OBJ_PIN),
		CMD(BPF_PROG_ATTACH),
		CMD(BPF_PROG_DETACH),
		CMD(BPF_PROG_GET_FD_BY_ID),
		CMD(BPF_MAP_GET_FD_BY_ID),
		CMD(BPF_RAW_TRACEPOINT_OPEN),
		CMD(BPF_MAP_LOOKUP_AND_DELETE_ELEM),
		CMD(BPF_MAP_FREEZE),
		CMD(BPF_MAP_LOOKUP_AND_DELETE_BATCH),
		CMD(BPF_MAP_UPDATE_BATCH),
		CMD(BPF_MAP_DELETE_BATCH),
		CMD(BPF_LINK_CREATE),
		CMD(BPF_LINK_UPDATE),
		CMD(BPF_LINK_GET_FD_BY_ID),
		CMD(BPF_LINK_DETACH),
	};
#undef CMD

	return cmd < sizeof(names) / sizeof(names[0]) && names[cmd] ? names[cmd] : "unknown";
}

const char *selfprot_signal_name(uint32_t sig)
{
#define SIG(s) [s] = #s
	static const char *const names[] = {
		SIG(SIGHUP),  SIG(SIGINT),   SIG(SIGQUIT), SIG(SIGILL),  SIG(SIGTRAP),
		SIG(SIGABRT), SIG(SIGBUS),   SIG(SIGFPE),  SIG(SIGKILL), SIG(SIGUSR1),
		SIG(SIGSEGV), SIG(SIGUSR2),  SIG(SIGPIPE), SIG(SIGALRM), SIG(SIGTERM),
		SIG(SIGCHLD), SIG(SIGCONT),  SIG(SIGSTOP), SIG(SIGTSTP), SIG(SIGTTIN),
		SIG(SIGTTOU), SIG(SIGURG),   SIG(SIGXCPU), SIG(SIGXFSZ), SIG(SIGVTALRM),
		SIG(SIGPROF), SIG(SIGWINCH), SIG(SIGIO),   SIG(SIGPWR),  SIG(SIGSYS),
	};
#undef SIG

	if (sig < sizeof(names) / sizeof(names[0]) && names[sig])
		return names[sig];
	return sig >= 32 && sig <= 64 ? "SIGRT" : "unknown";
}

const char *selfprot_ptrace_name(uint32_t req)
{
	switch (req) {
	case PTRACE_ATTACH:
		return "PTRACE_ATTACH";
	case PTRACE_SEIZE:
		return "PTRACE_SEIZE";
	default:
		return "unknown";
	}
}

const char *selfprot_obj_name(uint32_t obj)
{
	switch (obj) {
	case MLW_SELF_OBJ_PROG:
		return "prog";
	case MLW_SELF_OBJ_MAP:
		return "map";
	case MLW_SELF_OBJ_LINK:
		return "link";
	default:
		return "unknown";
	}
}

const char *selfprot_origin_name(int32_t code)
{
	switch (code) {
	case 0: /* SI_USER */
		return "kill";
	case -6: /* SI_TKILL */
		return "tkill";
	case -1: /* SI_QUEUE */
		return "sigqueue";
	case -2: /* SI_TIMER */
		return "timer";
	case -5: /* SI_SIGIO */
		return "sigio";
	default:
		/* SI_KERNEL, and the per-signal codes only the kernel sets */
		return code > 0 ? "kernel" : "other";
	}
}
