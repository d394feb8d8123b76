/* Names and JSON for pickle scan results: verdict, severity, error, limit
 * and opcode names, and pickle_result_json. */
#include <cjson/cJSON.h>
#include <string.h>

#include "pickle_render.h"
#include "lib/textsan.h"

const char *pickle_verdict_name(enum pickle_verdict v)
{
	static const char *const n[] = { "clean", "suspicious", "malicious", "error" };
	return (unsigned)v < 4 ? n[v] : "?";
}

const char *pickle_severity_name(enum pickle_severity s)
{
	static const char *const n[] = { "allowed", "suspicious", "malicious" };
	return (unsigned)s < 3 ? n[s] : "?";
}

const char *pickle_err_name(enum pickle_err_kind k)
{
	static const char *const n[] = { "?",
					 "unknown-opcode",
					 "truncated",
					 "stack-underflow",
					 "mark-underflow",
					 "memo-miss",
					 "bad-argument",
					 "bad-stack-global",
					 "no-stop",
					 "joblib-array",
					 "bad-string" };
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

const char *pickle_limit_name(enum pickle_limit bit)
{
	static const char *const n[] = { "input",    "opcodes", "stack", "memo",
					 "findings", "string",  "depth", "time" };
	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if ((unsigned)bit == 1u << i)
			return n[i];
	return "?";
}

const char *pickle_opcode_name(uint8_t op)
{
	static const struct {
		uint8_t op;
		const char *name;
	} t[] = {
		{ '(', "MARK" },
		{ '.', "STOP" },
		{ '0', "POP" },
		{ '1', "POP_MARK" },
		{ '2', "DUP" },
		{ 'F', "FLOAT" },
		{ 'I', "INT" },
		{ 'J', "BININT" },
		{ 'K', "BININT1" },
		{ 'L', "LONG" },
		{ 'M', "BININT2" },
		{ 'N', "NONE" },
		{ 'P', "PERSID" },
		{ 'Q', "BINPERSID" },
		{ 'R', "REDUCE" },
		{ 'S', "STRING" },
		{ 'T', "BINSTRING" },
		{ 'U', "SHORT_BINSTRING" },
		{ 'V', "UNICODE" },
		{ 'X', "BINUNICODE" },
		{ 'a', "APPEND" },
		{ 'b', "BUILD" },
		{ 'c', "GLOBAL" },
		{ 'd', "DICT" },
		{ '}', "EMPTY_DICT" },
		{ 'e', "APPENDS" },
		{ 'g', "GET" },
		{ 'h', "BINGET" },
		{ 'i', "INST" },
		{ 'j', "LONG_BINGET" },
		{ 'l', "LIST" },
		{ ']', "EMPTY_LIST" },
		{ 'o', "OBJ" },
		{ 'p', "PUT" },
		{ 'q', "BINPUT" },
		{ 'r', "LONG_BINPUT" },
		{ 's', "SETITEM" },
		{ 't', "TUPLE" },
		{ ')', "EMPTY_TUPLE" },
		{ 'u', "SETITEMS" },
		{ 'G', "BINFLOAT" },
		{ 0x80, "PROTO" },
		{ 0x81, "NEWOBJ" },
		{ 0x82, "EXT1" },
		{ 0x83, "EXT2" },
		{ 0x84, "EXT4" },
		{ 0x85, "TUPLE1" },
		{ 0x86, "TUPLE2" },
		{ 0x87, "TUPLE3" },
		{ 0x88, "NEWTRUE" },
		{ 0x89, "NEWFALSE" },
		{ 0x8a, "LONG1" },
		{ 0x8b, "LONG4" },
		{ 'B', "BINBYTES" },
		{ 'C', "SHORT_BINBYTES" },
		{ 0x8c, "SHORT_BINUNICODE" },
		{ 0x8d, "BINUNICODE8" },
		{ 0x8e, "BINBYTES8" },
		{ 0x8f, "EMPTY_SET" },
		{ 0x90, "ADDITEMS" },
		{ 0x91, "FROZENSET" },
		{ 0x92, "NEWOBJ_EX" },
		{ 0x93, "STACK_GLOBAL" },
		{ 0x94, "MEMOIZE" },
		{ 0x95, "FRAME" },
		{ 0x96, "BYTEARRAY8" },
		{ 0x97, "NEXT_BUFFER" },
		{ 0x98, "READONLY_BUFFER" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].op == op)
			return t[i].name;
	return "?";
}

static cJSON *add_utf8(cJSON *o, const char *key, const char *s)
{
	char buf[PICKLE_NAME_MAX * 3 + 4]; /* each bad byte may become U+FFFD */

	utf8_sanitize(s, strlen(s), buf, sizeof(buf));
	return cJSON_AddStringToObject(o, key, buf);
}

static const char *const import_kinds[] = { "global", "stack-global", "inst", "ext" };

cJSON *pickle_result_json(const struct pickle_result *r)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "verdict", pickle_verdict_name(r->verdict));
	ok = ok && cJSON_AddStringToObject(o, "profile", r->profile ? r->profile : "none");
	ok = ok && cJSON_AddNumberToObject(o, "pickles", (double)r->pickles);
	ok = ok && cJSON_AddNumberToObject(o, "nested", (double)r->nested);
	ok = ok && cJSON_AddNumberToObject(o, "opcodes", (double)r->opcodes);
	ok = ok && cJSON_AddNumberToObject(o, "persistent_ids", (double)r->persids);
	ok = ok && cJSON_AddBoolToObject(o, "trailing_data", r->trailing);
	if (ok && r->trailing)
		ok = cJSON_AddNumberToObject(o, "trailing_offset", (double)r->trailing_offset);
	ok = ok && cJSON_AddBoolToObject(o, "trailing_unparsed", r->trailing_unparsed);
	ok = ok && cJSON_AddNumberToObject(o, "consumed", (double)r->consumed);
	ok = ok && cJSON_AddNumberToObject(o, "joblib_arrays", (double)r->arrays);
	ok = ok && (a = cJSON_AddArrayToObject(o, "limits_hit"));
	for (unsigned i = 0; ok && i < 8; i++)
		if (r->limits_hit & (1u << i)) {
			e = cJSON_CreateString(pickle_limit_name(1u << i));
			ok = e && cJSON_AddItemToArray(a, e);
		}
	ok = ok && (a = cJSON_AddArrayToObject(o, "errors"));
	for (size_t i = 0; ok && i < r->nerrors && i < PICKLE_MAX_ERRORS; i++) {
		const struct pickle_error *er = &r->errors[i];
		ok = (e = cJSON_CreateObject()) && cJSON_AddItemToArray(a, e) &&
		     cJSON_AddStringToObject(e, "kind", pickle_err_name(er->kind)) &&
		     cJSON_AddNumberToObject(e, "offset", (double)er->offset) &&
		     cJSON_AddStringToObject(e, "opcode", pickle_opcode_name(er->opcode)) &&
		     cJSON_AddNumberToObject(e, "depth", er->depth);
	}
	ok = ok && cJSON_AddNumberToObject(o, "errors_total", (double)r->nerrors);
	ok = ok && (a = cJSON_AddArrayToObject(o, "findings"));
	for (size_t i = 0; ok && i < r->nfindings; i++) {
		const struct pickle_finding *fd = &r->findings[i];
		ok = (e = cJSON_CreateObject()) && cJSON_AddItemToArray(a, e) &&
		     add_utf8(e, "module", fd->module) && add_utf8(e, "name", fd->name) &&
		     cJSON_AddStringToObject(e, "kind", import_kinds[fd->kind]) &&
		     cJSON_AddNumberToObject(e, "offset", (double)fd->offset) &&
		     cJSON_AddStringToObject(e, "opcode", pickle_opcode_name(fd->opcode)) &&
		     cJSON_AddBoolToObject(e, "called", fd->called) &&
		     cJSON_AddBoolToObject(e, "loader", fd->loader) &&
		     cJSON_AddNumberToObject(e, "depth", fd->depth) &&
		     cJSON_AddStringToObject(e, "severity", pickle_severity_name(fd->severity));
		if (ok && fd->kind == PIMP_EXT)
			ok = cJSON_AddNumberToObject(e, "ext_code", fd->ext_code) != NULL;
	}
	ok = ok && cJSON_AddNumberToObject(o, "findings_dropped", (double)r->findings_dropped);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
