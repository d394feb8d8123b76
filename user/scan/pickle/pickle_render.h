/* A pickle walk's result as JSON, and the names of its enums. */
#ifndef MLWATCH_PICKLE_RENDER_H
#define MLWATCH_PICKLE_RENDER_H
#include "pickle_scan.h"

const char *pickle_verdict_name(enum pickle_verdict v);   /* "clean", ... */
const char *pickle_severity_name(enum pickle_severity s); /* "allowed", ... */
const char *pickle_err_name(enum pickle_err_kind k);      /* "unknown-opcode", ... */
const char *pickle_limit_name(enum pickle_limit bit);     /* "input", "opcodes", ... */
const char *pickle_opcode_name(uint8_t op);               /* "GLOBAL", ...; "?" */
/* The result as a JSON object, strings made valid UTF-8; NULL on ENOMEM. */
struct cJSON *pickle_result_json(const struct pickle_result *r);
#endif
