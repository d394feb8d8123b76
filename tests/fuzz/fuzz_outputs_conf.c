/* libFuzzer target: --outputs files. Whoever writes one chooses where
 * records go, not whether the monitor crashes: a bad file must come back
 * as one message, and a file that loads must hold only checked values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/outputs_conf.h"

static void check_output(const struct output_conf *o)
{
	size_t n = strlen(o->name), sn;

	if (!n || n >= OUT_NAME_MAX ||
	    strspn(o->name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		__builtin_trap(); /* the name is a folder name */
	if (!o->url || !o->spool_dir || o->spool_dir[0] != '/' ||
	    !o->path != (o->type == OUT_SYSLOG))
		__builtin_trap();
	sn = strlen(o->spool_dir);
	if (sn <= n || strcmp(o->spool_dir + sn - n, o->name) || o->spool_dir[sn - n - 1] != '/')
		__builtin_trap(); /* the spool folder ends in the name */
	if (o->type != OUT_FILE && (!o->host || !*o->host || !o->port || !*o->port))
		__builtin_trap();
	if (o->type == OUT_FILE && o->path[0] != '/')
		__builtin_trap();
	if (o->type == OUT_SPLUNK_HEC && !o->token)
		__builtin_trap();
	if ((o->type == OUT_SYSLOG || o->type == OUT_FILE) && o->token)
		__builtin_trap();
	if (!!o->token != !!o->token_from)
		__builtin_trap();
	for (const char *t = o->token; t && *t; t++)
		if (*t <= ' ' || *t == 0x7f)
			__builtin_trap(); /* it goes into a header as is */
	if (o->batch < 1 || o->batch > 10000 || o->flush_ms < 10 || o->timeout_ms < 100 ||
	    !o->spool_max_bytes || !o->records || (o->records & ~REC_ALL))
		__builtin_trap();
	if (!!o->cert_file != !!o->key_file)
		__builtin_trap();
	if (!strcmp(out_format_name(o->format), "?") || !strcmp(out_type_name(o->type), "?"))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size heap copies: ASan sees any read or write past them */
	char *text = malloc(size ? size : 1), *small = malloc(8);
	struct outputs_conf c;
	char err[2048];

	if (!text || !small) {
		free(text);
		free(small);
		return 0;
	}
	memcpy(text, data, size);
	if (outputs_conf_parse(text, size, "fuzz.json", &c, err, sizeof(err)) == 0) {
		if (c.n < 1 || c.n > 32 || !c.v)
			__builtin_trap();
		for (size_t i = 0; i < c.n; i++)
			check_output(&c.v[i]);
		for (size_t i = 0; i < c.n; i++)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c.v[i].name, c.v[j].name))
					__builtin_trap(); /* two outputs, one spool */
		outputs_conf_free(&c);
	} else {
		if (c.v || c.n)
			__builtin_trap(); /* nothing half-checked comes back */
		if (strncmp(err, "fuzz.json: ", 11) != 0 || strchr(err, '\n'))
			__builtin_trap(); /* one line, naming the file */
		/* a short buffer is cut, never overrun */
		if (outputs_conf_parse(text, size, "fuzz.json", &c, small, 8) == 0)
			__builtin_trap();
	}
	free(small);
	free(text);
	return 0;
}
