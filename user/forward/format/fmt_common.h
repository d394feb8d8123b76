/* What every format needs from a record: look-ups that never trust its
 * shape (a member of the wrong type is absent), its time, severity, kind
 * and host, and escaping into a buffer that keeps the output valid UTF-8. */
#ifndef MLWATCH_FMT_COMMON_H
#define MLWATCH_FMT_COMMON_H
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fbuf.h"
#include "fmt_record.h"

/* The member at a dotted path ("loader.model.path"), NULL when a step is
 * missing or not an object. */
const cJSON *fmt_get(const cJSON *rec, const char *path);
/* The string there; NULL when absent or not a string. */
const char *fmt_str(const cJSON *rec, const char *path);
/* The number there when it is an integer within +-2^53; else false. */
bool fmt_int(const cJSON *rec, const char *path, long long *v);

/* A point in time, UTC, from 1970 to 2262-04-11T23:47:15Z (epoch
 * nanoseconds fit in an int64). */
struct fmt_time {
	int64_t sec;
	uint32_t nsec;
};
/* RFC 3339 ("2026-11-22T02:05:51.412Z", any offset); 0, or -1. */
int fmt_time_parse(const char *s, struct fmt_time *t);
/* The record's "time"; 0, or -1 when absent or not RFC 3339. */
int fmt_time_of(const cJSON *rec, struct fmt_time *t);
/* YYYY-MM-DDTHH:MM:SS, then digits (3, 6 or 9) of the fraction, then zone
 * ("Z", "+0000"). */
void fmt_time_text(const struct fmt_time *t, unsigned digits, const char *zone, char *out,
		   size_t len);
uint64_t fmt_time_ms(const struct fmt_time *t);
uint64_t fmt_time_ns(const struct fmt_time *t);

/* Record severity; a value outside the four is taken as medium (a hostile
 * record must not pass as harmless), no "severity" at all is none. */
enum fmt_sev { FSEV_NONE, FSEV_LOW, FSEV_MEDIUM, FSEV_HIGH, FSEV_CRITICAL };
enum fmt_sev fmt_sev_of(const cJSON *rec);
const char *fmt_sev_name(enum fmt_sev s); /* "low".."critical", "none" */

/* REC_* of a record (0: none of them), and its name: "alert", "health",
 * "incident", "inventory", "other". */
unsigned fmt_kind_of(const cJSON *rec);
const char *fmt_kind_name(unsigned kind);
/* The record's "host", else ctx->host, else "". */
const char *fmt_host(const cJSON *rec, const struct fmt_ctx *ctx);
/* The signature of a record: its rule id for an alert, else its "record"
 * ("incident", "inventory", ...), else "record". */
const char *fmt_signature(const cJSON *rec);
/* Its title: rule title, incident title, else the signature. */
const char *fmt_title(const cJSON *rec);
/* The process a record is about: "process" for alerts and inventory
 * records, "loader" for incidents; NULL when none. */
const cJSON *fmt_actor(const cJSON *rec);
/* The model path: loader.model.path (alerts), loader.model (incidents),
 * model.path (inventory); NULL when none. */
const char *fmt_model_path(const cJSON *rec);
/* The destination of a connect or send (or the peer of a dup onto a
 * socket): 4 or 6 when it is an IPv4 or IPv6 address (port -1 when none),
 * else 0. */
int fmt_dest(const cJSON *rec, const char **addr, long long *port);

/* The parent's executable, from "ancestry" when its second entry is the
 * process's ppid; NULL otherwise. */
const char *fmt_parent_exe(const cJSON *rec);
/* Appends the strings of the array args from index from on, joined by
 * spaces. */
void fmt_join_args(struct fbuf *b, const cJSON *args, int from);

/* Longest prefix of s[0..n) no longer than max that does not split a
 * UTF-8 sequence. */
size_t fmt_utf8_cut(const char *s, size_t n, size_t max);
/* Appends s[0..n), every byte of an invalid UTF-8 sequence as U+FFFD. */
void fmt_put_utf8(struct fbuf *b, const char *s, size_t n);
/* Appends s as a JSON string with quotes (NULL: ""). */
void fmt_put_json_str(struct fbuf *b, const char *s);
/* Appends a JSON text on one line: a raw CR, LF or other control
 * character becomes an escape inside a string and a space outside. */
void fmt_put_json_line(struct fbuf *b, const char *line);
/* Appends j as compact JSON; -1 when it cannot be printed. */
int fmt_put_cjson(struct fbuf *b, const cJSON *j);
/* A number member printed exactly (cJSON would print 2^60 as 1.15e+18). */
cJSON *fmt_add_u64(cJSON *obj, const char *key, uint64_t v);

/* why, if any room, gets the message. */
void fmt_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
