#include <string.h>

#include "pyevents.h"

#define S MLW_PY_ARG_STR
#define Q MLW_PY_ARG_SEQ
#define A MLW_PY_ARG_ADDR
#define I MLW_PY_ARG_INT
#define K MLW_PY_ARG_SKIP
#define MARKED MLW_PY_S_MARKED

static const char *const n_find_class[] = { "module", "name", NULL };
static const char *const n_compile[] = { "source", "filename", NULL };
static const char *const n_data[] = { "data", NULL };
static const char *const n_command[] = { "command", NULL };
static const char *const n_path_argv[] = { "path", "argv", NULL };
static const char *const n_popen[] = { "executable", "argv", "cwd", NULL };
static const char *const n_addr[] = { "host", "port", NULL };
static const char *const n_name[] = { "name", NULL };
static const char *const n_pointer[] = { "function", NULL };
static const char *const n_url[] = { "url", "method", NULL };
static const char *const n_code[] = { "filename", "name", NULL };
static const char *const n_none[] = { NULL };

/* Only these return anything from the probe; every other audit event (an
 * import raises several) costs one name lookup. find_class is judged and
 * sent for every process; the rest only for marked ones. */
static const struct pyevent_def defs[] = {
	{ PYEV_FIND_CLASS,
	  "pickle.find_class",
	  MLW_PY_S_FIND_CLASS | MARKED,
	  { S, S },
	  n_find_class },
	{ PYEV_EXEC, "exec", MARKED, { K }, n_none },
	{ PYEV_COMPILE, "compile", MARKED, { S, S }, n_compile },
	{ PYEV_MARSHAL_LOADS, "marshal.loads", MARKED, { S }, n_data },
	{ PYEV_OS_SYSTEM, "os.system", MARKED, { S }, n_command },
	{ PYEV_OS_EXEC, "os.exec", MARKED, { S, Q }, n_path_argv },
	{ PYEV_OS_POSIX_SPAWN, "os.posix_spawn", MARKED, { S, Q }, n_path_argv },
	{ PYEV_OS_SPAWN, "os.spawn", MARKED, { K, S, Q }, n_path_argv },
	{ PYEV_SUBPROCESS_POPEN, "subprocess.Popen", MARKED, { S, Q, S }, n_popen },
	{ PYEV_SOCKET_CONNECT, "socket.connect", MARKED, { K, A }, n_addr },
	{ PYEV_SOCKET_SENDTO, "socket.sendto", MARKED, { K, A }, n_addr },
	{ PYEV_CTYPES_DLOPEN, "ctypes.dlopen", MARKED, { S }, n_name },
	{ PYEV_CTYPES_DLSYM, "ctypes.dlsym", MARKED, { K, S }, n_name },
	{ PYEV_CTYPES_CALL, "ctypes.call_function", MARKED, { I }, n_pointer },
	{ PYEV_URLLIB_REQUEST, "urllib.Request", MARKED, { S, K, K, S }, n_url },
	{ PYEV_CODE_NEW, "code.__new__", MARKED, { K, S, S }, n_code },
};
_Static_assert(sizeof(defs) / sizeof(defs[0]) == PYEV_MAX - 1, "one entry per event, in id order");

const struct pyevent_def *pyevent_defs(size_t *n)
{
	*n = sizeof(defs) / sizeof(defs[0]);
	return defs;
}

const struct pyevent_def *pyevent_by_id(uint32_t id)
{
	return id >= 1 && id < PYEV_MAX ? &defs[id - 1] : NULL;
}

const struct pyevent_def *pyevent_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(defs) / sizeof(defs[0]); i++)
		if (!strcmp(defs[i].name, name))
			return &defs[i];
	return NULL;
}
