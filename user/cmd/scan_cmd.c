/* The scan command: walk the paths, scan each model file once, print. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mlwatch/schema.h>

#include "scan_cmd.h"
#include "collect/hfcache.h"
#include "lib/textsan.h"
#include "scan/model_scan.h"
#include "scan/pickle/pickle_scan.h"
#include "scan/scan_render.h"

struct scan_file {
	char *path;
	dev_t dev;
	ino_t ino;
	bool blob; /* under an HF cache blobs/ dir: its snapshot name is nicer */
	bool dup;  /* another name of an inode listed already */
	size_t idx;
};

struct file_walk {
	struct scan_file *f;
	size_t n, cap;
	size_t dropped; /* past SCAN_MAX_FILES */
	size_t errors;  /* unreadable directories and arguments */
	FILE *err;
};

static void walk_error(struct file_walk *w, const char *path, const char *what)
{
	char e[PATH_MAX * 4];

	text_escape(path, strlen(path), e, sizeof(e));
	fprintf(w->err, "mlwatch scan: %s: %s\n", e, what);
	w->errors++;
}

static int add_file(struct file_walk *w, const char *path, const struct stat *st)
{
	if (w->n >= SCAN_MAX_FILES) {
		w->dropped++;
		return 0;
	}
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct scan_file *nf = realloc(w->f, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		w->f = nf;
		w->cap = nc;
	}
	if (!(w->f[w->n].path = strdup(path)))
		return -ENOMEM;
	w->f[w->n].dev = st->st_dev;
	w->f[w->n].ino = st->st_ino;
	w->f[w->n].blob = strstr(path, "/blobs/") != NULL;
	w->f[w->n].dup = false;
	w->n++;
	return 0;
}

/* Symlinks to files are followed (HF snapshots point into blobs/); links to
 * directories only when named on the command line, so a loop cannot trap
 * the walk. */
static int walk_path(struct file_walk *w, const char *path, unsigned depth, bool top)
{
	struct stat lst, st;
	struct dirent **ents;
	int n, rc = 0;

	if (lstat(path, &lst) < 0 || stat(path, &st) < 0) {
		walk_error(w, path, strerror(errno));
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return add_file(w, path, &st);
	/* devices, FIFOs and sockets are never read (a FIFO would block);
	 * one named on the command line is worth saying so */
	if (!S_ISDIR(st.st_mode)) {
		if (top)
			walk_error(w, path, "not a regular file or directory; not scanned");
		return 0;
	}
	if (S_ISLNK(lst.st_mode) && !top)
		return 0;
	if (depth >= SCAN_MAX_DEPTH) {
		walk_error(w, path, "directory nesting limit reached; not entered");
		return 0;
	}
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		walk_error(w, path, strerror(errno));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char child[PATH_MAX];

		if (!rc && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, ".git")) {
			if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, name) >=
			    sizeof(child))
				walk_error(w, path, "a name inside is too long; skipped");
			else
				rc = walk_path(w, child, depth + 1, false);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* Groups the names of one inode, snapshot names before blob names, then
 * in walk order: the first of each group is the one scanned. */
static int inode_cmp(const void *a, const void *b)
{
	const struct scan_file *x = *(struct scan_file *const *)a;
	const struct scan_file *y = *(struct scan_file *const *)b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->blob != y->blob)
		return (int)x->blob - (int)y->blob;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks every name but one of each inode as a duplicate. */
static int mark_duplicates(struct file_walk *w)
{
	struct scan_file **by = malloc((w->n ? w->n : 1) * sizeof(*by));

	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		w->f[i].idx = i;
		by[i] = &w->f[i];
	}
	qsort(by, w->n, sizeof(*by), inode_cmp);
	for (size_t i = 1; i < w->n; i++)
		by[i]->dup = by[i]->dev == by[i - 1]->dev && by[i]->ino == by[i - 1]->ino;
	free(by);
	return 0;
}

struct totals {
	size_t by_verdict[SCAN_MALICIOUS + 1];
};

static void print_text(FILE *out, const char *path, const struct model_origin *o,
		       const struct scan_report *r, bool verbose)
{
	static const char *const label[] = { "skipped", "clean",      "custom",
					     "ERROR",   "SUSPICIOUS", "MALICIOUS" };
	char e[PATH_MAX * 4], line[4096];

	if (r->verdict == SCAN_SKIPPED && !verbose)
		return;
	text_escape(path, strlen(path), e, sizeof(e));
	fprintf(out, "%-10s %s (%s", label[r->verdict], e, model_format_name(r->format));
	if (o->source == MSRC_HUGGINGFACE && *o->repo) {
		text_escape(o->repo, strlen(o->repo), line, sizeof(line));
		fprintf(out, "; huggingface %s", line);
		if (*o->file) {
			text_escape(o->file, strlen(o->file), line, sizeof(line));
			fprintf(out, " file %s", line);
		}
	}
	if (r->pickles)
		fprintf(out, "; %zu pickle%s, %zu imports allowed", r->pickles,
			r->pickles == 1 ? "" : "s", r->imports_allowed);
	fprintf(out, ")\n");
	if (r->errors) {
		text_escape(r->error, strlen(r->error), line, sizeof(line));
		fprintf(out, "    error: %s\n", line);
	}
	if (*r->note && verbose) {
		text_escape(r->note, strlen(r->note), line, sizeof(line));
		fprintf(out, "    note: %s\n", line);
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		scan_finding_text(&r->findings[i], line, sizeof(line));
		fprintf(out, "    %s\n", line);
	}
	if (r->findings_dropped)
		fprintf(out, "    ... %zu more findings (limit)\n", r->findings_dropped);
}

static cJSON *file_json(const char *path, const struct model_origin *o, const struct scan_report *r)
{
	cJSON *j = scan_report_json(r);
	char buf[PATH_MAX * 3 + 4];

	if (!j)
		return NULL;
	utf8_sanitize(path, strlen(path), buf, sizeof(buf));
	cJSON_AddStringToObject(j, "path", buf);
	if (o->source != MSRC_NONE) {
		cJSON *src = cJSON_AddObjectToObject(j, "origin");

		if (src) {
			cJSON_AddStringToObject(src, "source", model_source_name(o->source));
			utf8_sanitize(o->repo, strlen(o->repo), buf, sizeof(buf));
			cJSON_AddStringToObject(src, "repo", buf);
			cJSON_AddStringToObject(src, "revision", o->revision);
			utf8_sanitize(o->file, strlen(o->file), buf, sizeof(buf));
			cJSON_AddStringToObject(src, "file", buf);
		}
	}
	return j;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mlwatch scan [--json] [--profiles FILE] [--time-limit SEC] [-v] PATH...\n"
		"  Scans model files (and directories, recursively) without loading them.\n"
		"  --time-limit: seconds one file may take (default %u; 0: none)\n"
		"  exit 0: clean, 1: suspicious or malicious, 2: could not scan / usage\n",
		scan_default_limits.max_ms / 1000);
}

int scan_cmd(int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "profiles", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "time-limit", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct scan_limits lim = scan_default_limits;
	struct file_walk w = { .err = err };
	struct totals t = { { 0 } };
	bool json = false, verbose = false;
	cJSON *doc = NULL, *files = NULL;
	int c, status;
	size_t kept = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jp:t:vh", longopts, NULL)) != -1) {
		char perr[512], *end;
		unsigned long sec;

		switch (c) {
		case 't':
			errno = 0;
			sec = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || sec > 86400) {
				fprintf(err, "mlwatch scan: --time-limit wants whole seconds, 0 to "
					     "86400\n");
				return SCAN_EXIT_ERROR;
			}
			lim.max_ms = (unsigned)sec * 1000;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'p':
			if (pickle_profiles_load_file(optarg, perr, sizeof(perr))) {
				fprintf(err, "mlwatch scan: %s\n", perr);
				return SCAN_EXIT_ERROR;
			}
			break;
		case 'h':
			usage(out);
			return SCAN_EXIT_CLEAN;
		default:
			fprintf(err, "mlwatch scan: unknown option '%s'\n", argv[optind - 1]);
			usage(err);
			return SCAN_EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		usage(err);
		return SCAN_EXIT_ERROR;
	}
	for (int i = optind; i < argc; i++)
		if (walk_path(&w, argv[i], 0, true) == -ENOMEM) {
			fprintf(err, "mlwatch scan: out of memory listing files\n");
			return SCAN_EXIT_ERROR;
		}
	if (w.dropped)
		fprintf(err, "mlwatch scan: %zu files past the %d-file limit not scanned\n",
			w.dropped, SCAN_MAX_FILES);
	/* one scan per inode: a snapshot link and its blob are the same file */
	if (mark_duplicates(&w)) {
		fprintf(err, "mlwatch scan: out of memory listing files\n");
		return SCAN_EXIT_ERROR;
	}
	if (json) {
		doc = cJSON_CreateObject();
		if (doc)
			cJSON_AddNumberToObject(doc, MLW_SCHEMA_KEY, MLW_SCHEMA_VERSION);
		files = doc ? cJSON_AddArrayToObject(doc, "files") : NULL;
	}
	for (size_t i = 0; i < w.n; i++) {
		struct scan_report r;
		struct model_origin o;

		if (w.f[i].dup)
			continue;
		kept++;
		if (model_scan_path(w.f[i].path, &lim, &r) == -ENOMEM)
			fprintf(err, "mlwatch scan: out of memory scanning; report incomplete\n");
		if (hfcache_parse(w.f[i].path, &o))
			hfcache_enrich(w.f[i].path, &o);
		t.by_verdict[r.verdict]++;
		if (json) {
			cJSON *fj = file_json(w.f[i].path, &o, &r);

			if (fj && files)
				cJSON_AddItemToArray(files, fj);
			else
				cJSON_Delete(fj);
		} else {
			print_text(out, w.f[i].path, &o, &r, verbose);
		}
		scan_report_free(&r);
	}
	if (json && doc) {
		cJSON *s = cJSON_AddObjectToObject(doc, "summary");
		char *txt;

		if (s) {
			cJSON_AddNumberToObject(s, "files", (double)kept);
			for (int v = SCAN_SKIPPED; v <= SCAN_MALICIOUS; v++)
				cJSON_AddNumberToObject(s, scan_verdict_name(v),
							(double)t.by_verdict[v]);
			cJSON_AddNumberToObject(s, "unreadable_paths", (double)w.errors);
			cJSON_AddNumberToObject(s, "files_not_listed", (double)w.dropped);
		}
		txt = cJSON_Print(doc);
		if (txt)
			fprintf(out, "%s\n", txt);
		else
			fprintf(err, "mlwatch scan: out of memory writing JSON\n");
		free(txt);
		cJSON_Delete(doc);
	} else {
		fprintf(out,
			"scanned %zu files: %zu clean, %zu with custom classes, %zu suspicious, "
			"%zu malicious, %zu errors, %zu not models\n",
			kept, t.by_verdict[SCAN_CLEAN], t.by_verdict[SCAN_CUSTOM],
			t.by_verdict[SCAN_SUSPICIOUS], t.by_verdict[SCAN_MALICIOUS],
			t.by_verdict[SCAN_ERROR], t.by_verdict[SCAN_SKIPPED]);
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.f[i].path);
	free(w.f);
	if (t.by_verdict[SCAN_MALICIOUS] || t.by_verdict[SCAN_SUSPICIOUS])
		status = SCAN_EXIT_FOUND;
	else if (t.by_verdict[SCAN_ERROR] || w.errors || w.dropped)
		status = SCAN_EXIT_ERROR;
	else
		status = SCAN_EXIT_CLEAN;
	return status;
}
