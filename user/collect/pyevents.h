/* The Python audit events mlwatch reads, by name: what the kernel probe
 * is told (map `py_events`) and what a record's `event` id means. */
#ifndef MLWATCH_PYEVENTS_H
#define MLWATCH_PYEVENTS_H
#include <stddef.h>
#include <stdint.h>
#include <mlwatch/maps.h>

/* struct mlw_python.event; never renumbered (rules name events by name) */
enum mlw_py_event {
	PYEV_FIND_CLASS = 1,       /* pickle.find_class(module, name) */
	PYEV_EXEC = 2,             /* exec(code): the code object, not read */
	PYEV_COMPILE = 3,          /* compile(source, filename) */
	PYEV_MARSHAL_LOADS = 4,    /* marshal.loads(bytes) */
	PYEV_OS_SYSTEM = 5,        /* os.system(command) */
	PYEV_OS_EXEC = 6,          /* os.exec*(path, args, env) */
	PYEV_OS_POSIX_SPAWN = 7,   /* os.posix_spawn(path, argv, env) */
	PYEV_OS_SPAWN = 8,         /* os.spawn*(mode, path, args, env) */
	PYEV_SUBPROCESS_POPEN = 9, /* subprocess.Popen(executable, args, cwd, env) */
	PYEV_SOCKET_CONNECT = 10,  /* socket.connect(sock, address) */
	PYEV_SOCKET_SENDTO = 11,   /* socket.sendto(sock, address) */
	PYEV_CTYPES_DLOPEN = 12,   /* ctypes.dlopen(name) */
	PYEV_CTYPES_DLSYM = 13,    /* ctypes.dlsym(lib, name) */
	PYEV_CTYPES_CALL = 14,     /* ctypes.call_function(func_pointer, arguments) */
	PYEV_URLLIB_REQUEST = 15,  /* urllib.Request(url, data, headers, method) */
	PYEV_CODE_NEW = 16,        /* code.__new__(code, filename, name, ...) */
	PYEV_MAX,
};

struct pyevent_def {
	enum mlw_py_event id;
	const char *name;         /* the audit event's name, as CPython raises it */
	uint32_t flags;           /* MLW_PY_S_* */
	uint8_t arg[MLW_PY_ARGS]; /* enum mlw_py_argkind per tuple item */
	/* what the record's arguments are, in order (an ADDR item gives two:
	 * host and port), for output and docs; NULL-terminated */
	const char *const *arg_names;
};

/* Every event, in id order; n set to the count. */
const struct pyevent_def *pyevent_defs(size_t *n);
/* By id (NULL: not one of ours) and by name (NULL: not read). */
const struct pyevent_def *pyevent_by_id(uint32_t id);
const struct pyevent_def *pyevent_by_name(const char *name);
#endif
