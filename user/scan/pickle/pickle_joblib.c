/* joblib objects: NumpyArrayWrapper, dtype and state dict tracking, and
 * skipping the array data joblib writes after each wrapper's BUILD. */
#include <stdlib.h>
#include <string.h>

#include "pickle_joblib.h"
#include "pickle_strings.h"

struct val pw_new_obj(struct frame *f, uint8_t kind)
{
	struct obj *o;

	if (!f->joblib)
		return OPAQUE;
	if (f->nobjs >= f->w->lim->max_memo || f->nobjs >= PICKLE_MEMO_VALUES_MAX) {
		f->w->out->limits_hit |= PLIM_MEMO;
		return OPAQUE;
	}
	if (f->nobjs == f->ocap) {
		size_t nc = f->ocap ? f->ocap * 2 : 32;
		struct obj *no = realloc(f->objs, nc * sizeof(*no));
		if (!no) {
			f->w->oom = true;
			return OPAQUE;
		}
		f->objs = no;
		f->ocap = nc;
	}
	o = &f->objs[f->nobjs++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	return (struct val){ .kind = V_OBJ, .fi = -1, .num = f->nobjs };
}

static struct obj *obj_of(struct frame *f, const struct val *v, uint8_t kind)
{
	struct obj *o;

	if (!v || v->kind != V_OBJ || !v->num || v->num > f->nobjs)
		return NULL;
	o = &f->objs[v->num - 1];
	return o->kind == kind ? o : NULL;
}

/* A joblib NumpyArrayWrapper: attributes absent (made by __new__) or
 * unknown (made by __init__ with arguments this walker does not keep). */
struct val pw_new_wrap(struct frame *f, uint8_t st)
{
	struct val v = pw_new_obj(f, O_WRAP);
	struct obj *o = obj_of(f, &v, O_WRAP);

	if (o)
		o->shape = o->dtype = o->align = st;
	return v;
}

/* numpy.dtype('<kind><size>'), the form numpy's own __reduce__ writes. */
static void parse_dtype(struct obj *o, const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint64_t d = 0;
	uint8_t k;

	if (i < n && (s[i] == '<' || s[i] == '>' || s[i] == '|' || s[i] == '='))
		i++;
	if (i >= n)
		return;
	k = s[i++];
	if (i >= n || s[i] < '0' || s[i] > '9')
		return;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		if ((d = d * 10 + (uint64_t)(s[i] - '0')) > (1u << 30))
			return;
	if (i < n && (k == 'M' || k == 'm') && s[i] == '[' && s[n - 1] == ']')
		i = n; /* datetime unit: size unchanged */
	if (i != n)
		return;
	switch (k) {
	case 'b':
	case 'i':
	case 'u':
	case 'f':
	case 'c':
	case 'M':
	case 'm':
		if (!d)
			return;
		o->size = d;
		break;
	case 'S':
	case 'a':
	case 'V':
		o->size = d;
		o->flexible = true;
		break;
	case 'U':
		o->size = d * 4;
		o->flexible = true;
		break;
	case 'O':
		o->size = 8;
		o->hasobj = true;
		break;
	default:
		return;
	}
	o->parsed = true;
}

struct val pw_make_dtype(struct frame *f, const struct val *args)
{
	struct val v = pw_new_obj(f, O_DTYPE), it = pw_first_item(args);
	struct obj *o = obj_of(f, &v, O_DTYPE);
	uint8_t buf[32];
	const uint8_t *p;
	size_t n;

	if (o && it.kind == V_STR && pw_name_text(&it, buf, sizeof(buf), &p, &n) && n < sizeof(buf))
		parse_dtype(o, p, n);
	return v;
}

/* dtype.__setstate__: numpy takes hasobject from the state's flags and,
 * for S/U/V, the itemsize from its elsize. */
static void dtype_setstate(struct obj *o, const struct val *st)
{
	if (st->kind != V_TUPLE || !(st->bits & VB_DSTATE)) {
		o->parsed = false;
		return;
	}
	o->hasobj = st->num2 & 1;
	if (o->flexible) {
		if ((int64_t)st->num <= 0 || st->num > (1u << 30))
			o->parsed = false;
		o->size = st->num;
	}
}

static void dict_set(struct frame *f, struct obj *d, const struct val *k, const struct val *v)
{
	uint8_t buf[40];
	const uint8_t *p;
	size_t n;

	if (k->kind != V_STR || !pw_name_text(k, buf, sizeof(buf), &p, &n))
		return;
	if (pw_text_is(p, n, "shape")) {
		d->shape = v->kind == V_TUPLE && (v->bits & VB_ALLINT) ? A_KNOWN : A_UNKNOWN;
		d->size = v->num;
	} else if (pw_text_is(p, n, "dtype")) {
		d->dtype = obj_of(f, v, O_DTYPE) ? A_KNOWN : A_UNKNOWN;
		d->dref = v->num;
	} else if (pw_text_is(p, n, "numpy_array_alignment_bytes")) {
		d->align = v->kind == V_NONE ? A_NONE : v->kind == V_ANY ? A_UNKNOWN : A_KNOWN;
	}
}

void pw_dict_set_items(struct frame *f, const struct val *d, const struct val *it, size_t cnt)
{
	struct obj *o = obj_of(f, d, O_DICT);

	for (size_t i = 0; o && i + 1 < cnt; i += 2)
		dict_set(f, o, &it[i], &it[i + 1]);
}

/* After a wrapper's BUILD joblib reads its array from the file: padding,
 * then raw data, or a whole pickle for object arrays. */
static bool read_array(struct frame *f, const struct obj *wr)
{
	struct walker *w = f->w;
	const struct obj *dt = NULL;
	const uint8_t *p;
	bool stopped;
	size_t found;

	if (wr->dtype == A_KNOWN && wr->dref && wr->dref <= f->nobjs)
		dt = &f->objs[wr->dref - 1];
	/* the data is read from the file, after a FRAME's end: not followed */
	if (!dt || dt->kind != O_DTYPE || !dt->parsed || f->fend > f->pos) {
		pw_add_error(f, PERR_JOBLIB_ARRAY);
		return false;
	}
	w->out->arrays++;
	if (dt->hasobj) {
		if (f->depth + 1 > w->lim->max_depth) {
			w->out->limits_hit |= PLIM_DEPTH;
			return false;
		}
		w->out->nested++;
		f->pos += w->walk_one(w, f->b + f->pos, f->len - f->pos, f->depth + 1, false,
				      f->src, &stopped, &found);
		return stopped && !w->oom;
	}
	if (!dt->size || wr->shape != A_KNOWN || wr->align == A_UNKNOWN ||
	    wr->size > UINT64_MAX / dt->size) {
		pw_add_error(f, PERR_JOBLIB_ARRAY);
		return false;
	}
	if (wr->align == A_KNOWN && (!pw_take(f, 1, &p) || !pw_take(f, *p, &p)))
		return false;
	if (wr->size * dt->size > f->len - f->pos) {
		pw_add_error(f, PERR_TRUNCATED);
		return false;
	}
	f->pos += wr->size * dt->size;
	return true;
}

bool pw_build(struct frame *f, struct val *inst, const struct val *st)
{
	struct obj *o, *d;

	if ((o = obj_of(f, inst, O_DTYPE))) {
		dtype_setstate(o, st);
		return true;
	}
	if (!(o = obj_of(f, inst, O_WRAP)))
		return true;
	if ((d = obj_of(f, st, O_DICT))) { /* inst.__dict__.update(state) */
		if (d->shape) {
			o->shape = d->shape;
			o->size = d->size;
		}
		if (d->dtype) {
			o->dtype = d->dtype;
			o->dref = d->dref;
		}
		if (d->align)
			o->align = d->align;
	} else if (st->kind != V_NONE) {
		o->shape = o->dtype = o->align = A_UNKNOWN;
	}
	*inst = OPAQUE; /* the wrapper becomes its array */
	return read_array(f, o);
}
