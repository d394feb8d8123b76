/* Model scanner: what both the dispatcher and archives meet: pickles
 * (whole or as members), Keras configs and HDF5 files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_findings.h"
#include "scan_leaf.h"
#include "scan/formats/keras_scan.h"
#include "scan/pickle/pickle_render.h"

const struct pickle_profile *scan_profile(const char *name)
{
	const struct pickle_profile *p = pickle_profile_find(name);

	return p ? p : &pickle_profile_ml;
}

/* An import outside the profile that is only rebuilt as a class (never
 * called with arguments, not a loader, a real name): what a whole-model
 * checkpoint of the user's own class looks like. A gadget is a call. */
static bool rebuilt_class(const struct pickle_finding *pf)
{
	return pf->severity == PSEV_SUSPICIOUS && !(pf->use & PUSE_CALL) && !pf->loader &&
	       pf->kind != PIMP_EXT && pf->module[0] && pf->name[0];
}

void scan_pickle_buf(struct scan_ctx *c, const uint8_t *buf, size_t len, uint64_t base,
		     const char *member, const struct pickle_profile *profile, int mode,
		     bool input_cut)
{
	struct pickle_result pr;
	int rc;

	if (mode == 2)
		rc = pickle_scan_joblib(buf, len, profile, &c->plim, &pr);
	else if (mode == 1)
		rc = pickle_scan_stream(buf, len, profile, &c->plim, &pr);
	else
		rc = pickle_scan_opts(buf, len, profile, &c->plim, &pr);
	if (rc == -ENOMEM)
		c->oom = true;
	if (!*c->r->profile)
		c->r->profile = profile->name;
	c->r->pickles += pr.pickles + pr.nested;
	for (size_t i = 0; i < pr.nfindings; i++) {
		const struct pickle_finding *pf = &pr.findings[i];
		struct scan_finding *f;

		if (pf->severity == PSEV_ALLOWED) {
			c->r->imports_allowed++;
			continue;
		}
		if (rebuilt_class(pf))
			scan_note_verdict(c, SCAN_CUSTOM);
		else
			scan_note_severity(c, pf->severity);
		if (!(f = scan_new_finding(c)))
			continue;
		f->kind = SF_IMPORT;
		f->custom = rebuilt_class(pf);
		f->severity = pf->severity;
		snprintf(f->member, sizeof(f->member), "%s", member);
		f->offset = base + pf->offset;
		memcpy(f->module, pf->module, sizeof(f->module));
		memcpy(f->name, pf->name, sizeof(f->name));
		f->called = pf->called;
		f->depth = pf->depth;
		f->profile = profile->name;
		if (pf->kind == PIMP_EXT)
			snprintf(f->detail, sizeof(f->detail), "extension registry code %d",
				 pf->ext_code);
		else if (pf->loader)
			snprintf(f->detail, sizeof(f->detail), "unpickles its argument");
	}
	if (pr.findings_dropped) {
		scan_note_severity(c, pr.worst);
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
			 "%zu more imports not listed (findings limit)", pr.findings_dropped);
	}
	/* broken before it imported anything: nothing of it can run, it is
	 * only unreadable (a corrupt file, text, a name the unpickler refuses) */
	if (pr.nerrors && !pr.nfindings && !pr.findings_dropped && !pr.limits_hit && !input_cut) {
		scan_fail(c, member, "pickle %s at offset %zu, before any import",
			  pickle_err_name(pr.errors[0].kind), (size_t)pr.errors[0].offset);
		pickle_result_free(&pr);
		return;
	}
	for (size_t i = 0; i < pr.nerrors && i < PICKLE_MAX_ERRORS; i++) {
		const struct pickle_error *e = &pr.errors[i];

		/* A stream cut by our own read limit ends early by design. */
		if (input_cut && (e->kind == PERR_TRUNCATED || e->kind == PERR_NO_STOP))
			continue;
		char op[16];

		if (strcmp(pickle_opcode_name(e->opcode), "?"))
			snprintf(op, sizeof(op), "%s", pickle_opcode_name(e->opcode));
		else
			snprintf(op, sizeof(op), "0x%02x", e->opcode);
		scan_add(c, SF_PARSE_ERROR, PSEV_SUSPICIOUS, member, base + e->offset,
			 "pickle %s at opcode %s (depth %u)", pickle_err_name(e->kind), op,
			 e->depth);
	}
	if (pr.nerrors > PICKLE_MAX_ERRORS)
		scan_add(c, SF_PARSE_ERROR, PSEV_SUSPICIOUS, member, base, "%zu more pickle errors",
			 pr.nerrors - PICKLE_MAX_ERRORS);
	/* the deadline is the whole file's: reported once, at the end */
	if (pr.limits_hit & PLIM_TIME)
		scan_budget_out(c, member);
	for (unsigned b = 0; b < 16; b++)
		if (pr.limits_hit & ~PLIM_TIME & (1u << b))
			scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
				 "pickle walk cut by the %s limit", pickle_limit_name(1u << b));
	/* a cut the budget made is the budget's finding */
	if (input_cut && !scan_budget_out(c, member))
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
			 "only the first %llu bytes read (member size limit)",
			 (unsigned long long)len);
	pickle_result_free(&pr);
}

static void add_keras_hits(struct scan_ctx *c, const struct keras_result *k, const char *member)
{
	for (size_t i = 0; i < k->nhits; i++) {
		const struct keras_hit *h = &k->hits[i];

		scan_add(c, SF_LAMBDA, h->malicious ? PSEV_MALICIOUS : PSEV_SUSPICIOUS, member, 0,
			 "%s: layer '%s' class %s%s%s", h->what, h->layer, h->class_name,
			 *h->module ? " module " : "", h->module);
	}
	if (k->hits_dropped)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0, "%zu more layer hits",
			 k->hits_dropped);
}

void scan_hdf5(struct scan_ctx *c, const struct byte_src *v, const char *member)
{
	struct keras_result k;
	char err[SCAN_DETAIL_MAX] = "";
	int rc = keras_scan_hdf5(v, &k, err, sizeof(err));

	if (rc == -ENOMEM) {
		c->oom = true;
		return;
	}
	add_keras_hits(c, &k, member);
	if (rc)
		scan_fail(c, member, "%s", err);
	else if (!k.config_found && !*c->r->note)
		snprintf(c->r->note, sizeof(c->r->note),
			 "HDF5 without a readable Keras model config");
}

void scan_keras_config(struct scan_ctx *c, const uint8_t *json, size_t len, const char *member)
{
	struct keras_result k;
	char err[SCAN_DETAIL_MAX] = "";
	int rc = keras_check_config((const char *)json, len, &k, err, sizeof(err));

	if (rc == -ENOMEM) {
		c->oom = true;
		return;
	}
	add_keras_hits(c, &k, member);
	if (rc)
		scan_fail(c, member, "%s", err);
}
