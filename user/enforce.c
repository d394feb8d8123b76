/* Turns kill rules into the kernel's kill tables. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h>
#include "mlwatch.skel.h"
#include "enforce.h"
#include "pathclass.h"

/* What --enforce turns on: the built-ins whose match the kernel can decide
 * and whose false positives ML frameworks do not produce (no python -c). */
static const char *const enforced_builtins[] = {
	"model-loader-shell", "model-loader-downloader", "model-loader-network-tool",
	"model-loader-miner", "model-loader-exec-from-temp", "model-loader-external-connect",
	"model-loader-metadata-connect", "root-miner", "root-metadata-connect", NULL,
};

#define NAME_CLASSES (EXEC_SHELL | EXEC_DOWNLOADER | EXEC_NETTOOL | EXEC_MINER)

static uint32_t reason_mask(unsigned scope)
{
	uint32_t m = 0;

	if (!scope || (scope & RULE_SCOPE_MODEL))
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
	if (p->n_names < ENFORCE_MAX_NAMES && strlen(name) < MLW_COMM_LEN) {
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
		if (m->exec_any & ~(NAME_CLASSES | EXEC_FROM_TEMP))
			return "its exec classes are decided from argv in user space";
		for (size_t i = 0; i < m->exe.n; i++)
			if (m->exe.v[i].kind != PAT_EXACT)
				return "its exe patterns are globs";
		if (!m->exec_any && !m->exe.n)
			return "it would kill every exec";
		return NULL;
	}
	if (m->kinds == conn) {
		if (!m->dest_any || (m->dest_any & ~((1u << DEST_EXTERNAL) | (1u << DEST_METADATA))))
			return "only external and metadata destinations are enforced";
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
				fprintf(warn, "mlwatch: rule \"%s\": action kill is not enforced (%s); it alerts only\n",
					r->id, why);
			continue;
		}
		p->n_rules++;
		if (r->match.kinds == 1u << MLW_EV_CONNECT) {
			if (r->match.dest_any & (1u << DEST_EXTERNAL))
				p->external_mask |= mask;
			if (r->match.dest_any & (1u << DEST_METADATA))
				p->metadata_mask |= mask;
			continue;
		}
		if (r->match.exec_any & EXEC_FROM_TEMP)
			p->temp_mask |= mask;
		for (unsigned c = EXEC_SHELL; c <= EXEC_MINER; c <<= 1) {
			const char *const *names = (r->match.exec_any & c) ? exec_class_programs(c) : NULL;

			for (size_t k = 0; names && names[k]; k++)
				add_name(p, names[k], mask);
		}
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
	skel->rodata->mlw_kill_connect_external = p->external_mask;
	skel->rodata->mlw_kill_connect_metadata = p->metadata_mask;
}

int enforce_push(struct mlwatch_bpf *skel, const struct enforce_plan *p, const struct options *o)
{
	int fd = bpf_map__fd(skel->maps.kill_comms);
	uint32_t one = 1;

	if (!p->n_rules)
		return 0;
	for (size_t i = 0; i < p->n_names; i++) {
		char key[MLW_COMM_LEN] = { 0 };

		strncpy(key, p->names[i], MLW_COMM_LEN - 1);
		if (bpf_map_update_elem(fd, key, &p->name_masks[i], BPF_ANY))
			return -errno;
	}
	fd = bpf_map__fd(skel->maps.internal_nets);
	for (size_t i = 0; i < o->net.n; i++) {
		const struct cidr *c = &o->net.internal[i];
		struct {
			uint32_t prefixlen;
			uint8_t data[17];
		} k = { 0 };

		k.prefixlen = 8 + (uint32_t)c->prefix;
		k.data[0] = c->family == AF_INET ? 4 : 6;
		memcpy(&k.data[1], c->addr, 16);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}
