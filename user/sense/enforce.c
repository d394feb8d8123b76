/* Turns kill rules into the kernel's kill tables.
 * Threat model: docs/threat-model.md §4.5, §6.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h>
#include <mlwatch/maps.h>
#include "enforce.h"
#include "mlwatch.skel.h"
#include "collect/exeid.h"
#include "detect/pathclass.h"

/* What --enforce turns on: the built-ins whose match the kernel can decide
 * and whose false positives ML frameworks do not produce (no python -c). */
static const char *const enforced_builtins[] = {
	"model-loader-shell",
	"model-loader-downloader",
	"model-loader-network-tool",
	"model-loader-miner",
	"model-loader-exec-from-temp",
	"model-loader-external-connect",
	"model-loader-metadata-connect",
	"model-loader-exec-fileless",
	"root-miner",
	"root-metadata-connect",
	"root-exec-fileless",
	NULL,
};

#define NAME_CLASSES (EXEC_SHELL | EXEC_DOWNLOADER | EXEC_NETTOOL | EXEC_MINER)

static uint32_t reason_mask(unsigned scope)
{
	uint32_t m = 0;

	if (!scope || (scope & (RULE_SCOPE_MODEL | RULE_SCOPE_NOTEBOOK)))
		m |= MLW_MARK_MODEL;
	if (scope & RULE_SCOPE_ROOT)
		m |= MLW_MARK_ROOT;
	return m;
}

static bool listed(const char *id)
{
	for (size_t i = 0; enforced_builtins[i]; i++)
		if (!strcmp(enforced_builtins[i], id))
			return true;
	return false;
}

static void add_name(struct enforce_plan *p, const char *name, uint32_t mask)
{
	for (size_t i = 0; i < p->n_names; i++)
		if (!strcmp(p->names[i], name)) {
			p->name_masks[i] |= mask;
			return;
		}
	if (p->n_names < ENFORCE_MAX_NAMES) {
		p->names[p->n_names] = name;
		p->name_masks[p->n_names++] = mask;
	}
}

/* Why the kernel cannot decide r alone, or NULL when it can. */
static const char *not_enforceable(const struct rule *r)
{
	const struct rule_filter *m = &r->match;
	unsigned exec = 1u << MLW_EV_EXEC, conn = 1u << MLW_EV_CONNECT;

	if (r->n_except)
		return "it has exceptions";
	if (m->argv.n || m->argv_contains.n || m->path.n || m->dropped || m->exec_none ||
	    m->n_cidrs || m->n_ports || m->path_class || m->open != RULE_OPEN_ANY)
		return "it has conditions the kernel does not see (argv, paths, CIDRs, ports, files)";
	if (m->kinds == exec) {
		if (m->exec_any & ~(NAME_CLASSES | EXEC_FROM_TEMP | EXEC_FILELESS))
			return "its exec classes are decided from argv in user space";
		for (size_t i = 0; i < m->exe.n; i++)
			if (m->exe.v[i].kind != PAT_EXACT)
				return "its exe patterns are globs";
		if (!m->exec_any && !m->exe.n)
			return "it would kill every exec";
		return NULL;
	}
	if (m->kinds && !(m->kinds & ~(conn | (1u << MLW_EV_SEND)))) {
		if (!m->dest_any ||
		    (m->dest_any & ~((1u << DEST_EXTERNAL) | (1u << DEST_METADATA))))
			return "only external and metadata destinations are enforced";
		if (m->runtime || m->load == RULE_LOAD_AFTER)
			return "it has conditions the kernel does not see (runtime APIs, after a load)";
		return NULL;
	}
	return "only exec and connect rules can be enforced";
}

size_t enforce_plan_build(struct enforce_plan *p, const struct ruleset *rs, bool enforce_builtins,
			  FILE *warn)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; rs && i < rs->n_rules; i++) {
		const struct rule *r = &rs->rules[i];
		uint32_t mask = reason_mask(r->scope);
		const char *why;

		if (r->action != RULE_ACTION_KILL &&
		    !(enforce_builtins && r->origin == RULE_BUILTIN && listed(r->id)))
			continue;
		if ((why = not_enforceable(r))) {
			if (warn)
				fprintf(warn,
					"mlwatch: rule \"%s\": action kill is not enforced (%s); it alerts only\n",
					r->id, why);
			continue;
		}
		p->n_rules++;
		if (!(r->match.kinds & (1u << MLW_EV_EXEC))) {
			/* a rule for connects during a load kills only then */
			bool during = r->match.load == RULE_LOAD_DURING;

			if (r->match.dest_any & (1u << DEST_EXTERNAL))
				*(during ? &p->external_load_mask : &p->external_mask) |= mask;
			if (r->match.dest_any & (1u << DEST_METADATA))
				*(during ? &p->metadata_load_mask : &p->metadata_mask) |= mask;
			continue;
		}
		if (r->match.exec_any & EXEC_FROM_TEMP)
			p->temp_mask |= mask;
		if (r->match.exec_any & EXEC_FILELESS)
			p->fileless_mask |= mask;
		for (unsigned c = EXEC_SHELL; c <= EXEC_MINER; c <<= 1) {
			const char *const *names =
				(r->match.exec_any & c) ? exec_class_programs(c) : NULL;

			for (size_t k = 0; names && names[k]; k++)
				add_name(p, names[k], mask);
		}
		/* ld.so PROGRAM runs PROGRAM without an exec of it: where shells
		 * are killed, the loader run as a program is too */
		for (size_t k = 0; (r->match.exec_any & EXEC_SHELL) && exec_loader_names[k]; k++)
			add_name(p, exec_loader_names[k], mask);
		for (size_t k = 0; k < r->match.exe.n; k++)
			add_name(p, r->match.exe.v[k].text, mask);
	}
	return p->n_rules;
}

void enforce_configure(struct mlwatch_bpf *skel, const struct enforce_plan *p)
{
	if (!p->n_rules)
		return;
	skel->rodata->mlw_enforce = true;
	skel->rodata->mlw_kill_temp_exec = p->temp_mask;
	skel->rodata->mlw_kill_fileless_exec = p->fileless_mask;
	skel->rodata->mlw_kill_connect_external = p->external_mask;
	skel->rodata->mlw_kill_connect_metadata = p->metadata_mask;
	skel->rodata->mlw_kill_connect_external_load = p->external_load_mask;
	skel->rodata->mlw_kill_connect_metadata_load = p->metadata_load_mask;
}

/* The kernel keys names as a comm: the first 15 bytes, NUL-padded. */
static int push_name(int fd, const char *name, uint32_t mask)
{
	struct mlw_comm_key key = { { 0 } };
	uint32_t have = 0;

	strncpy(key.comm, name, MLW_COMM_LEN - 1);
	if (bpf_map_lookup_elem(fd, &key, &have) == 0)
		mask |= have; /* two names cut to the same 15 bytes */
	return bpf_map_update_elem(fd, &key, &mask, BPF_ANY) ? -errno : 0;
}

/* Each named program's installed file by identity, so a hard link of it
 * under another name is killed too. */
static int push_exes(int fd, const struct enforce_plan *p)
{
	struct exeid t = { 0 };
	int rc = 0;

	for (size_t i = 0; i < p->n_names && rc >= 0; i++) {
		const char *one[2] = { p->names[i], NULL };
		size_t before = t.n;

		rc = exeid_add_names(&t, "", one);
		for (size_t k = before; k < t.n && rc >= 0; k++) {
			struct mlw_exe_key key = { .ino = t.v[k].ino, .dev = t.v[k].dev };

			if (bpf_map_update_elem(fd, &key, &p->name_masks[i], BPF_ANY))
				rc = -errno;
		}
	}
	exeid_free(&t);
	return rc < 0 ? rc : 0;
}

int enforce_push(struct mlwatch_bpf *skel, const struct enforce_plan *p, const struct options *o)
{
	int fd = bpf_map__fd(skel->maps.kill_names), rc;
	uint32_t one = 1;

	if (!p->n_rules)
		return 0;
	for (size_t i = 0; i < p->n_names; i++)
		if ((rc = push_name(fd, p->names[i], p->name_masks[i])))
			return rc;
	if ((rc = push_exes(bpf_map__fd(skel->maps.kill_exes), p)))
		return rc;
	fd = bpf_map__fd(skel->maps.internal_nets);
	for (size_t i = 0; i < o->net.n; i++) {
		const struct cidr *c = &o->net.internal[i];
		struct mlw_net_key k = { 0 };

		k.prefixlen = 8 + (uint32_t)c->prefix;
		k.data[0] = c->family == AF_INET ? 4 : 6;
		memcpy(&k.data[1], c->addr, 16);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}
