/* The control-plane roots: built-in names and argv patterns, and the argv
 * check for interpreter execs. */
#include <fnmatch.h>
#include <string.h>

#include "roots.h"

/* Names as the kernel keeps them: the executable's basename, cut at 15. */
static const char *const default_comms[] = {
	"raylet", "gcs_server", "tritonserver", "text-generation", /* -launcher, cut */
	"ollama", "vllm",       "torchserve",   "ray",
	NULL,
};
/* Interactive ones: a person types the shells and downloads there. */
static const char *const default_notebook_comms[] = {
	"jupyter-lab",
	"jupyter-noteboo",
	"jupyter-server",
	NULL,
};
static const char *const default_interpreters[] = {
	"python",     "python3",    "python3.8",  "python3.9", "python3.10",
	"python3.11", "python3.12", "python3.13", "java",      NULL,
};
/* Each names a long-running server that takes work from the network. */
static const char *const default_argv[] = {
	"*vllm.entrypoints*",
	"*-m vllm*",
	"*text_generation_server*",
	"*ray/_private/workers/default_worker.py*",
	"*ray.util.client.server*",
	"*ray/dashboard/dashboard.py*",
	"*org.pytorch.serve.ModelServer*",
	"*tritonserver*",
	NULL,
};
static const char *const default_notebook_argv[] = {
	"*ipykernel_launcher*",
	"*-m ipykernel*",
	"*jupyter*",
	NULL,
};

static int add(const char **list, size_t *n, const char *s)
{
	if (*n >= ROOTS_MAX || !s || !*s)
		return -1;
	list[(*n)++] = s;
	return 0;
}

static void add_notebook(const char **list, bool *nb, size_t *n, const char *s)
{
	if (add(list, n, s) == 0)
		nb[*n - 1] = true;
}

int roots_add_comm(struct roots *r, const char *comm)
{
	if (strlen(comm) > 15)
		return -1;
	return add(r->comms, &r->n_comms, comm);
}

int roots_add_argv(struct roots *r, const char *pattern)
{
	return add(r->argv_patterns, &r->n_argv_patterns, pattern);
}

void roots_defaults(struct roots *r)
{
	memset(r, 0, sizeof(*r));
	r->ray_workers = true;
	for (size_t i = 0; default_comms[i]; i++)
		add(r->comms, &r->n_comms, default_comms[i]);
	for (size_t i = 0; default_notebook_comms[i]; i++)
		add_notebook(r->comms, r->comm_notebook, &r->n_comms, default_notebook_comms[i]);
	for (size_t i = 0; default_interpreters[i]; i++)
		add(r->interpreters, &r->n_interpreters, default_interpreters[i]);
	for (size_t i = 0; default_argv[i]; i++)
		add(r->argv_patterns, &r->n_argv_patterns, default_argv[i]);
	for (size_t i = 0; default_notebook_argv[i]; i++)
		add_notebook(r->argv_patterns, r->argv_notebook, &r->n_argv_patterns,
			     default_notebook_argv[i]);
}

const char *roots_argv_match(const struct roots *r, const char *const *argv, size_t argc,
			     bool *notebook)
{
	char joined[4096];
	size_t n = 0;

	/* argv[0] alone says little ("python3"): match the whole command
	 * line, as a user reads it in ps */
	for (size_t i = 0; i < argc && n < sizeof(joined) - 1; i++) {
		size_t l = strlen(argv[i]);

		if (i > 0)
			joined[n++] = ' ';
		if (l > sizeof(joined) - 1 - n)
			l = sizeof(joined) - 1 - n;
		memcpy(joined + n, argv[i], l);
		n += l;
	}
	joined[n] = 0;
	for (size_t i = 0; i < r->n_argv_patterns; i++)
		if (fnmatch(r->argv_patterns[i], joined, 0) == 0) {
			if (notebook)
				*notebook = r->argv_notebook[i];
			return r->argv_patterns[i];
		}
	return NULL;
}
