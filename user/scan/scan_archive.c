/* Model scanner, archives: zip (PyTorch, npz, .keras, any zip), torch
 * 0.1.x tar and the legacy torch stream, opened as their loaders open
 * them. Only directories and code-bearing members are read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan_archive.h"
#include "scan_findings.h"
#include "scan_leaf.h"
#include "scan/formats/npy.h"
#include "scan/formats/tarread.h"
#include "scan/formats/zipread.h"

/* Oddities no writer of ML archives produces but loaders accept: evasion
 * signs. zip64 is normal for big checkpoints; the rest are reported. */
#define ZIP_REPORTED                                                                     \
	(ZA_NAME_MISMATCH | ZA_BAD_CRC | ZA_ODD_FLAGS | ZA_SIZE_MISMATCH | ZA_DUP_NAME | \
	 ZA_BAD_LOCAL | ZA_PREPENDED | ZA_NAME_NUL | ZA_OUT_OF_RANGE | ZA_TRAILING)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* torch's tensor storages: "<archive>/data/<key>", raw bytes it never
 * unpickles; skipping them keeps the scan independent of tensor bytes. */
static bool torch_storage_member(const char *name)
{
	const char *slash = strchr(name, '/');

	return slash && !strncmp(slash, "/data/", 6) && !strchr(slash + 6, '/');
}

static void report_zip_anomalies(struct scan_ctx *c, const char *member, const char *name,
				 unsigned bits)
{
	char where[SCAN_MEMBER_MAX];

	scan_member_join(where, sizeof(where), member, name);
	for (unsigned b = 0; b < ZA_BITS; b++)
		if (bits & ZIP_REPORTED & (1u << b))
			scan_add(c, SF_CONTAINER, PSEV_SUSPICIOUS, where, 0,
				 "zip %s (accepted by the loaders, not written by them)",
				 zip_anomaly_name(1u << b));
}

void scan_zip(struct scan_ctx *c, const struct byte_src *v, const char *member,
	      enum model_format fmt, unsigned nesting)
{
	const struct pickle_profile *prof = scan_profile(fmt == MF_TORCH_ZIP ? "torch" :
							 fmt == MF_NUMPY_ZIP ? "numpy" :
									       "ml");
	struct zip_dir d;
	char err[SCAN_DETAIL_MAX];
	int rc = zip_open_lazy(v, &d, err, sizeof(err));

	if (rc) {
		if (rc == -ENOMEM)
			c->oom = true;
		else
			scan_fail(c, member, "%s", err);
		return;
	}
	/* torch.jit.save archives keep compiled code under <archive>/code/:
	 * torch.load hands them to TorchScript's own unpickler */
	for (size_t i = 0; fmt == MF_TORCH_ZIP && i < d.n; i++) {
		const char *slash = strchr(d.e[i].name, '/');

		if (slash && !strncmp(slash, "/code/", 6)) {
			prof = scan_profile("torchscript");
			break;
		}
	}
	if (d.entries_dropped)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0,
			 "%zu zip entries past the entry limit not scanned", d.entries_dropped);
	if (d.anomalies & ZA_PREPENDED)
		report_zip_anomalies(c, member, "", ZA_PREPENDED);
	/* once for the archive, whatever the archive holds: its repeats
	 * are what cost, and the budget stops them */
	if (d.overlaps)
		scan_add(c, SF_CONTAINER, PSEV_SUSPICIOUS, member, 0,
			 "zip %s: %zu entries share or overlap another's bytes (an overlapped-zip "
			 "bomb; accepted by the loaders, not written by them)",
			 zip_anomaly_name(ZA_OVERLAP), d.overlaps);
	for (size_t i = 0; i < d.n && !c->oom; i++) {
		struct zip_entry *e = &d.e[i];
		char where[SCAN_MEMBER_MAX];
		bool pkl = ends_with(e->name, ".pkl") || ends_with(e->name, ".pickle");
		bool keras_cfg = fmt == MF_KERAS_ZIP && !strcmp(e->name, "config.json");
		uint8_t *buf = NULL;
		size_t len = 0, max;
		bool cut = false;

		if (ends_with(e->name, "/") ||
		    (fmt == MF_TORCH_ZIP && torch_storage_member(e->name)))
			continue;
		if (c->r->members >= c->lim->max_members) {
			scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0,
				 "%zu zip members past the member limit not scanned", d.n - i);
			break;
		}
		scan_member_join(where, sizeof(where), member, e->name);
		if (scan_budget_out(c, where))
			break;
		c->r->members++;
		/* Code-bearing members are read whole; the rest only far enough
		 * to tell their format by magic. */
		max = pkl || keras_cfg ? (size_t)c->lim->max_member : MODELFMT_PROBE_LEN;
		rc = zip_read(v, &d, e, max, &buf, &len, &cut);
		if (rc == -EACCES) {
			/* no loader reads it without a password: nothing in it runs */
			scan_fail(c, where, "encrypted member: its loaders cannot read it");
			continue;
		}
		if (rc == -ENOTSUP) {
			scan_add(c, SF_UNSCANNABLE, PSEV_SUSPICIOUS, where, 0,
				 "unsupported compression (method %u)", (unsigned)e->method);
			continue;
		}
		if (rc) {
			if (rc == -ENOMEM)
				c->oom = true;
			else
				scan_fail(c, where, "member unreadable: %s", strerror(-rc));
			continue;
		}
		if (keras_cfg) {
			scan_keras_config(c, buf, len, where);
		} else if (!pkl && cut) {
			/* Peeked: a member that is itself code-bearing is read whole. */
			enum model_format mf = model_format_detect(buf, len, e->name);
			struct byte_src pv;
			struct npy_header h;

			bsrc_from_mem(&pv, buf, len);
			pv.budget = v->budget;
			if (mf == MF_UNKNOWN || mf == MF_SEVENZIP) {
				/* data, or a wrapper that is reported from its magic */
				c->view(c, &pv, e->name, where, prof, false, nesting + 1);
				goto next;
			}
			if (mf == MF_SAFETENSORS || mf == MF_ONNX)
				goto next;
			/* an npz's plain arrays: the header alone says no pickle */
			if (mf == MF_NUMPY && !npy_parse(&pv, &h, err, sizeof(err)) &&
			    !h.has_object)
				goto next;
			free(buf);
			buf = NULL;
			rc = zip_read(v, &d, e, (size_t)c->lim->max_member, &buf, &len, &cut);
			if (rc) {
				c->oom |= rc == -ENOMEM;
				if (rc != -ENOMEM)
					scan_fail(c, where, "member unreadable: %s", strerror(-rc));
				goto next;
			}
		}
		if (!keras_cfg) {
			struct byte_src mv;

			bsrc_from_mem(&mv, buf, len);
			mv.budget = v->budget;
			/* a cut the budget made is the budget's finding */
			if (cut && !scan_budget_out(c, where))
				scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, where, 0,
					 "only the first %zu bytes read (member size limit)", len);
			c->view(c, &mv, e->name, where, prof, pkl, nesting + 1);
		}
next:
		free(buf);
		/* oddities a model writer would not make matter where a model is:
		 * a plain zip of documents is no one's checkpoint */
		if (fmt != MF_ZIP || pkl)
			report_zip_anomalies(c, member, e->name, e->anomalies);
	}
	zip_close(&d);
}

/* ---- legacy torch -------------------------------------------------------- */

/* torch.load's legacy stream: magic number, protocol version, sys_info, the
 * object, the storage keys; then raw storages it never unpickles. */
#define TORCH_LEGACY_PICKLES 5

static bool pickle_ended(const struct pickle_result *pr)
{
	for (size_t i = 0; i < pr->nerrors && i < PICKLE_MAX_ERRORS; i++)
		if (pr->errors[i].kind == PERR_UNKNOWN_OPCODE ||
		    pr->errors[i].kind == PERR_TRUNCATED || pr->errors[i].kind == PERR_NO_STOP)
			return false;
	return pr->nerrors <= PICKLE_MAX_ERRORS && pr->consumed > 0;
}

void scan_torch_legacy(struct scan_ctx *c, const struct byte_src *v, const char *member)
{
	const struct pickle_profile *prof = scan_profile("torch");
	uint64_t window = 1u << 20;
	size_t at[TORCH_LEGACY_PICKLES];
	unsigned k;
	uint8_t *buf;
	uint64_t n;
	int rc;

	/* The pickles lead the file: find where each starts in a growing
	 * prefix (a 1 GiB checkpoint costs a few small reads), then walk them
	 * once for their findings. */
	for (;;) {
		size_t pos = 0;
		bool grow = false;

		n = window < v->size ? window : v->size;
		if (n > c->lim->max_member)
			n = c->lim->max_member;
		if ((rc = bsrc_load(v, 0, (size_t)n, &buf))) {
			c->oom |= rc == -ENOMEM;
			if (rc != -ENOMEM)
				scan_fail(c, member, "unreadable: %s", strerror(-rc));
			return;
		}
		for (k = 0; k < TORCH_LEGACY_PICKLES && pos < n; k++) {
			struct pickle_result pr;
			bool ended;

			at[k] = pos;
			if (pickle_scan_opts(buf + pos, (size_t)(n - pos), prof, &c->plim, &pr) ==
			    -ENOMEM)
				c->oom = true;
			ended = pickle_ended(&pr);
			pos += pr.consumed;
			pickle_result_free(&pr);
			if (!ended) {
				/* cut by the window, not broken: read more */
				grow = n < v->size && n < c->lim->max_member;
				k++;
				break;
			}
		}
		if (!grow || c->oom || scan_budget_out(c, member))
			break;
		free(buf);
		window *= 4;
	}
	for (unsigned i = 0; i < k; i++)
		scan_pickle_buf(c, buf + at[i], (size_t)(n - at[i]), at[i], member, prof, 0,
				n < v->size && n >= c->lim->max_member);
	free(buf);
}

/* ---- torch 0.1.x tar ------------------------------------------------------ */

static void scan_tar_member(struct scan_ctx *c, const struct byte_src *v, const struct tar_entry *e,
			    const char *member, int mode)
{
	struct byte_src mv = bsrc_sub(v, e->data_off, e->size);
	uint64_t n = mv.size < c->lim->max_member ? mv.size : c->lim->max_member;
	char where[SCAN_MEMBER_MAX];
	uint8_t *buf;
	int rc;

	scan_member_join(where, sizeof(where), member, e->name);
	c->r->members++;
	if ((rc = bsrc_load(&mv, 0, (size_t)n, &buf))) {
		c->oom |= rc == -ENOMEM;
		if (rc != -ENOMEM)
			scan_fail(c, where, "unreadable: %s", strerror(-rc));
		return;
	}
	scan_pickle_buf(c, buf, (size_t)n, 0, where, scan_profile("torch"), mode, n < mv.size);
	free(buf);
}

void scan_torch_tar(struct scan_ctx *c, const struct byte_src *v, const char *member)
{
	struct tar_list l;
	char err[SCAN_DETAIL_MAX];
	int rc = tar_read_list(v, &l, err, sizeof(err));

	if (rc) {
		c->oom |= rc == -ENOMEM;
		if (rc != -ENOMEM)
			scan_fail(c, member, "%s", err);
		return;
	}
	if (l.bad_checksum)
		scan_add(c, SF_CONTAINER, PSEV_SUSPICIOUS, member, 0, "tar header checksum wrong");
	if (l.truncated)
		scan_fail(c, member, "tar archive truncated");
	for (size_t i = 0; i < l.n && !c->oom && !scan_budget_out(c, member); i++) {
		const struct tar_entry *e = &l.e[i];

		/* regular, or contiguous/sparse (read like regular by tarfile) */
		if (e->type != '0' && e->type != 0 && e->type != '7' && e->type != 'S')
			continue;
		/* "pickle" and "sys_info" are single pickles; "storages" and
		 * "tensors" interleave pickles with raw data: the stream walk
		 * reads the leading pickles and stops at the first raw bytes. */
		if (!strcmp(e->name, "pickle") || !strcmp(e->name, "sys_info"))
			scan_tar_member(c, v, e, member, 0);
		else if (!strcmp(e->name, "storages") || !strcmp(e->name, "tensors"))
			scan_tar_member(c, v, e, member, 1);
		else {
			char where[SCAN_MEMBER_MAX];
			struct byte_src mv = bsrc_sub(v, e->data_off, e->size);

			scan_member_join(where, sizeof(where), member, e->name);
			c->r->members++;
			c->view(c, &mv, e->name, where, scan_profile("torch"), false, 1);
		}
	}
	tar_list_free(&l);
}
