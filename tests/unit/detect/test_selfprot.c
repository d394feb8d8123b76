/* Self-protection records: the rule each act falls under, folded repeats,
 * and the names an alert shows. */
#include <linux/bpf.h>
#include <signal.h>
#include "check.h"
#include "detect/selfprot.h"

static struct event ev;
static struct mlw_self rec;

static const struct event *act(u32 tgid, u32 op, u32 arg, u32 obj, u32 id, u64 ts)
{
	memset(&ev, 0, sizeof(ev));
	memset(&rec, 0, sizeof(rec));
	rec.hdr.kind = MLW_EV_SELF;
	rec.hdr.tgid = tgid;
	rec.hdr.ts_ns = ts;
	rec.op = op;
	rec.arg = arg;
	rec.obj = obj;
	rec.obj_id = id;
	ev.kind = MLW_EV_SELF;
	ev.hdr = rec.hdr;
	ev.u.self = &rec;
	return &ev;
}

static const char *rule_of(u32 op, u32 arg)
{
	const struct rule *r = selfprot_rule(act(5, op, arg, MLW_SELF_OBJ_MAP, 7, 1));

	return r ? r->id : "(none)";
}

static void test_rules_by_act(void)
{
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_MAP_UPDATE_ELEM), "mlwatch-tampered");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_MAP_DELETE_ELEM), "mlwatch-tampered");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_LINK_DETACH), "mlwatch-tampered");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_OBJ_PIN), "mlwatch-tampered");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_PROG_GET_FD_BY_ID), "mlwatch-inspected");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_MAP_GET_FD_BY_ID), "mlwatch-inspected");
	CHECK_STR(rule_of(MLW_SELF_BPF, BPF_LINK_GET_FD_BY_ID), "mlwatch-inspected");
	CHECK_STR(rule_of(MLW_SELF_MAP_MMAP, 1), "mlwatch-tampered");
	CHECK_STR(rule_of(MLW_SELF_MAP_MMAP, 0), "mlwatch-inspected");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGKILL), "mlwatch-signaled");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGSTOP), "mlwatch-signaled");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGQUIT), "mlwatch-signaled");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGUSR1), "mlwatch-signaled");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGTERM), "mlwatch-stop-requested");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGINT), "mlwatch-stop-requested");
	CHECK_STR(rule_of(MLW_SELF_SIGNAL, SIGHUP), "mlwatch-reload-requested");
	CHECK_STR(rule_of(MLW_SELF_PTRACE, 0x4206), "mlwatch-traced");
	CHECK_STR(rule_of(MLW_SELF_VM_WRITE, 0), "mlwatch-traced");
	CHECK_STR(rule_of(MLW_SELF_VM_READ, 0), "mlwatch-traced");
	CHECK_STR(rule_of(MLW_SELF_GETFD, 3), "mlwatch-traced");
	CHECK_STR(rule_of(MLW_SELF_MEM_OPEN, 1), "mlwatch-traced");
	CHECK_STR(rule_of(99, 0), "(none)");
	CHECK(selfprot_rules[SELFPROT_TAMPERED].severity == SEV_CRITICAL);
	CHECK(selfprot_rules[SELFPROT_INSPECTED].severity == SEV_LOW);
	CHECK(selfprot_rules[SELFPROT_RELOAD].severity == SEV_LOW);
	CHECK(selfprot_rules[SELFPROT_SIGNALED].severity == SEV_HIGH);
}

static bool first(struct selfprot *sp, u32 tgid, u32 op, u32 arg, u32 obj, u32 id, u64 ts)
{
	const struct event *e = act(tgid, op, arg, obj, id, ts);

	return selfprot_first(sp, e, selfprot_rule(e));
}

#define S 1000000000ull

static void test_repeats_folded(void)
{
	static struct selfprot sp;

	memset(&sp, 0, sizeof(sp));
	CHECK(first(&sp, 10, MLW_SELF_BPF, BPF_MAP_DELETE_ELEM, MLW_SELF_OBJ_MAP, 7, 1 * S));
	CHECK(!first(&sp, 10, MLW_SELF_BPF, BPF_MAP_DELETE_ELEM, MLW_SELF_OBJ_MAP, 7, 2 * S));
	/* another map, another command, another process: each its own alert */
	CHECK(first(&sp, 10, MLW_SELF_BPF, BPF_MAP_DELETE_ELEM, MLW_SELF_OBJ_MAP, 8, 3 * S));
	CHECK(first(&sp, 10, MLW_SELF_BPF, BPF_MAP_UPDATE_ELEM, MLW_SELF_OBJ_MAP, 7, 3 * S));
	CHECK(first(&sp, 11, MLW_SELF_BPF, BPF_MAP_DELETE_ELEM, MLW_SELF_OBJ_MAP, 7, 3 * S));
	/* bpftool opening every program by id: one alert */
	CHECK(first(&sp, 12, MLW_SELF_BPF, BPF_PROG_GET_FD_BY_ID, MLW_SELF_OBJ_PROG, 1, 4 * S));
	CHECK(!first(&sp, 12, MLW_SELF_BPF, BPF_PROG_GET_FD_BY_ID, MLW_SELF_OBJ_PROG, 2, 4 * S));
	CHECK(!first(&sp, 12, MLW_SELF_BPF, BPF_MAP_GET_FD_BY_ID, MLW_SELF_OBJ_MAP, 3, 4 * S));
	/* ... but its write is not folded into its look */
	CHECK(first(&sp, 12, MLW_SELF_BPF, BPF_LINK_DETACH, MLW_SELF_OBJ_LINK, 4, 4 * S));
	/* a minute later the same act is said again */
	CHECK(first(&sp, 10, MLW_SELF_BPF, BPF_MAP_DELETE_ELEM, MLW_SELF_OBJ_MAP, 7, 62 * S));
	CHECK(sp.alerts == 7 && sp.folded == 3);
}

static void test_full_table_forgets_oldest(void)
{
	static struct selfprot sp;

	memset(&sp, 0, sizeof(sp));
	for (u32 i = 0; i < SELFPROT_SEEN + 1; i++)
		CHECK(first(&sp, 100 + i, MLW_SELF_SIGNAL, SIGHUP, 0, 0, S + i));
	/* the first one was pushed out: alerted again, never silenced */
	CHECK(first(&sp, 100, MLW_SELF_SIGNAL, SIGHUP, 0, 0, 2 * S));
	/* the newest is still remembered */
	CHECK(!first(&sp, 100 + SELFPROT_SEEN, MLW_SELF_SIGNAL, SIGHUP, 0, 0, 2 * S));
}

static void test_names(void)
{
	CHECK_STR(selfprot_op_name(MLW_SELF_BPF), "bpf");
	CHECK_STR(selfprot_op_name(MLW_SELF_VM_WRITE), "process_vm_writev");
	CHECK_STR(selfprot_op_name(0), "unknown");
	CHECK_STR(selfprot_bpf_cmd_name(BPF_MAP_UPDATE_BATCH), "BPF_MAP_UPDATE_BATCH");
	CHECK_STR(selfprot_bpf_cmd_name(BPF_MAP_LOOKUP_ELEM), "unknown");
	CHECK_STR(selfprot_bpf_cmd_name(100000), "unknown");
	CHECK_STR(selfprot_signal_name(SIGKILL), "SIGKILL");
	CHECK_STR(selfprot_signal_name(40), "SIGRT");
	CHECK_STR(selfprot_signal_name(1000), "unknown");
	CHECK_STR(selfprot_ptrace_name(16), "PTRACE_ATTACH");
	CHECK_STR(selfprot_obj_name(MLW_SELF_OBJ_LINK), "link");
	CHECK_STR(selfprot_origin_name(0), "kill");
	CHECK_STR(selfprot_origin_name(-6), "tkill");
	CHECK_STR(selfprot_origin_name(0x80), "kernel");
}

int main(void)
{
	RUN(test_rules_by_act);
	RUN(test_repeats_folded);
	RUN(test_full_table_forgets_oldest);
	RUN(test_names);
	return CHECK_DONE();
}
