/* The outputs command: check an --outputs file before the monitor uses it. */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs_cmd.h"
#include "config/outputs_conf.h"
#include "lib/textsan.h"

/* One output's line: a URL and three paths, each escaped (4 bytes a byte). */
#define LINE_BYTES 32768

static void usage(FILE *f)
{
	fprintf(f, "Usage: mlwatch outputs check FILE\n"
		   "\n"
		   "check  read FILE as mlwatch --outputs FILE would and print each output\n"
		   "       with its defaults filled in, or the first problem (exit 1)\n"
		   "Tokens are never printed. See docs/forwarding.md for the format.\n");
}

/* what: the problem; arg: the word that caused it, or NULL. */
static int usage_error(FILE *err, const char *what, const char *arg)
{
	char safe[256] = "";

	if (arg)
		text_escape(arg, strlen(arg), safe, sizeof(safe));
	fprintf(err, "mlwatch outputs: %s%s%s%s (see mlwatch outputs --help)\n", what,
		arg ? " '" : "", safe, arg ? "'" : "");
	return OUTPUTS_CMD_USAGE;
}

static size_t put_records(char *line, size_t len, size_t o, unsigned records)
{
	static const char *const names[] = { "alert", "incident", "inventory", "health" };
	bool first = true;

	for (unsigned i = 0; i < 4; i++)
		if (records & (1u << i)) {
			o = text_putf(line, len, o, "%s%s", first ? "" : ",", names[i]);
			first = false;
		}
	return o;
}

/* Everything the monitor will use, the token's origin but never the token. */
static void print_output(const struct output_conf *c, char *line, FILE *out)
{
	size_t o = 0, n = LINE_BYTES;

	o = text_put(line, n, o, c->name);
	o = text_putf(line, n, o, ": type %s, format %s, url ", out_type_name(c->type),
		      out_format_name(c->format));
	o = text_put(line, n, o, c->url);
	if (c->type == OUT_FILE) {
		o = text_putf(line, n, o, ", writes ");
		o = text_put(line, n, o, c->path);
	} else if (c->type != OUT_SYSLOG && strcmp(c->path, c->url) != 0) {
		o = text_putf(line, n, o, ", posts to ");
		o = text_put(line, n, o, c->path);
	}
	if (c->type == OUT_SYSLOG)
		o = text_putf(line, n, o, ", facility %s", out_facility_name(c->facility));
	o = text_putf(line, n, o, ", records ");
	o = put_records(line, n, o, c->records);
	o = text_putf(line, n, o, ", batch %u, flush %u ms, timeout %u ms, spool ", c->batch,
		      c->flush_ms, c->timeout_ms);
	o = text_put(line, n, o, c->spool_dir);
	o = text_putf(line, n, o, " (at most %llu MiB)",
		      (unsigned long long)(c->spool_max_bytes >> 20));
	if (c->ca_file) {
		o = text_putf(line, n, o, ", ca ");
		o = text_put(line, n, o, c->ca_file);
	}
	if (c->cert_file) {
		o = text_putf(line, n, o, ", client certificate ");
		o = text_put(line, n, o, c->cert_file);
		o = text_putf(line, n, o, " key ");
		o = text_put(line, n, o, c->key_file);
	}
	if (c->insecure_skip_verify)
		o = text_putf(line, n, o, ", insecure_skip_verify: the server is NOT verified");
	if (c->token_from) {
		o = text_putf(line, n, o, ", token: from ");
		o = text_put(line, n, o, c->token_from);
	}
	fprintf(out, "%s\n", line);
}

static int check(const char *path, FILE *out, FILE *err)
{
	static char line[LINE_BYTES];
	struct outputs_conf conf;
	char msg[4096], name[1024];
	struct stat st;

	if (outputs_conf_load(path, &conf, msg, sizeof(msg))) {
		fprintf(err, "mlwatch outputs: %s\n", msg);
		return OUTPUTS_CMD_INVALID;
	}
	for (size_t i = 0; i < conf.n; i++)
		print_output(&conf.v[i], line, out);
	text_escape(path, strlen(path), name, sizeof(name));
	fprintf(out, "%s: %zu output%s ok\n", name, conf.n, conf.n == 1 ? "" : "s");
	/* a user may check their own file; the monitor (root) would refuse it */
	if (geteuid() != 0 && stat(path, &st) == 0 && st.st_uid != 0)
		fprintf(out,
			"%s: note: owned by uid %u; the monitor, run as root, loads only a "
			"file root owns\n",
			name, (unsigned)st.st_uid);
	outputs_conf_free(&conf);
	return OUTPUTS_CMD_OK;
}

int outputs_cmd(int argc, char **argv, FILE *out, FILE *err)
{
	int i = 2;

	if (argc < 2) {
		usage(err);
		return OUTPUTS_CMD_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(out);
		return OUTPUTS_CMD_OK;
	}
	if (strcmp(argv[1], "check") != 0)
		return usage_error(err, "unknown subcommand (expected check):", argv[1]);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	else if (i < argc && argv[i][0] == '-' && argv[i][1])
		return usage_error(err, "check: unknown option", argv[i]);
	if (i >= argc)
		return usage_error(err, "check: missing FILE", NULL);
	if (i + 1 < argc)
		return usage_error(err, "check: one FILE at a time, not also", argv[i + 1]);
	return check(argv[i], out, err);
}
