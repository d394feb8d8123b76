/* The pickle walker's frame primitives: where an opcode is, errors,
 * argument bytes, a tuple's first item. Shared by the walker
 * (pickle_scan.c) and joblib's objects (pickle_joblib.c). */
#include "pickle_walk.h"

size_t pw_frame_off(const struct frame *f)
{
	return f->src != IN_ROOT ? f->src : (size_t)(f->b - f->w->root) + f->op_off;
}

void pw_add_error(struct frame *f, enum pickle_err_kind k)
{
	struct pickle_result *r = f->w->out;

	if (r->nerrors < PICKLE_MAX_ERRORS)
		r->errors[r->nerrors] = (struct pickle_error){
			.kind = k, .offset = pw_frame_off(f), .opcode = f->op, .depth = f->depth
		};
	r->nerrors++;
}

bool pw_take(struct frame *f, size_t n, const uint8_t **p)
{
	if (n > f->len - f->pos) {
		pw_add_error(f, PERR_TRUNCATED);
		return false;
	}
	*p = f->b + f->pos;
	f->pos += n;
	return true;
}

struct val pw_first_item(const struct val *t)
{
	if (t->kind != V_TUPLE)
		return OPAQUE;
	return (struct val){ .kind = t->sub,
			     .fi = t->sub == V_GLOBAL ? t->fi0 : -1,
			     .fi0 = -1,
			     .enc = t->enc,
			     .roles = t->roles,
			     .bits = t->bits & VB_OWNED,
			     .p = t->p,
			     .n = t->n,
			     .src = t->src };
}
