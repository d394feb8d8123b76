/* Classify stage for Python audit records: a find_class global judged
 * against the allowlist profiles, a socket address's destination class. */
#ifndef MLWATCH_PYCLASS_H
#define MLWATCH_PYCLASS_H
#include <stdbool.h>
#include "classify.h"

/* module:name under the runtime profile (and what --scan-profiles added):
 * denied, allowed, unsafe (a standard-library global), or custom (from
 * any other module); a name that was cut or could not be read is unsafe. */
enum py_verdict pyclass_judge(const char *module, const char *name, bool incomplete);
/* Fills f's python facts for ev (kind MLW_EV_PYTHON). */
void classify_python(const struct event *ev, const struct netclass *net, struct facts *f);
#endif
