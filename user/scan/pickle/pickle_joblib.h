/* joblib's objects as the walker sees them: dicts, dtypes and array
 * wrappers, and the arrays BUILD reads inline. Internal to the walker. */
#ifndef MLWATCH_PICKLE_JOBLIB_H
#define MLWATCH_PICKLE_JOBLIB_H
#include "pickle_walk.h"

struct val pw_new_obj(struct frame *f, uint8_t kind);
struct val pw_new_wrap(struct frame *f, uint8_t st);
struct val pw_make_dtype(struct frame *f, const struct val *args);
void pw_dict_set_items(struct frame *f, const struct val *d, const struct val *it, size_t cnt);
bool pw_build(struct frame *f, struct val *inst, const struct val *st);
#endif
