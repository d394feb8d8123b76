/* --outputs FILE: where records are forwarded (syslog, HTTP, Splunk HEC,
 * Elasticsearch, files), read and checked before anything starts. */
#ifndef MLWATCH_OUTPUTS_CONF_H
#define MLWATCH_OUTPUTS_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum out_type { OUT_SYSLOG, OUT_HTTP, OUT_SPLUNK_HEC, OUT_ELASTICSEARCH, OUT_FILE };
enum out_format { FMT_JSON, FMT_RFC5424, FMT_CEF, FMT_FALCO, FMT_ECS, FMT_OCSF };
/* The URL's scheme. */
enum out_proto { PROTO_UDP, PROTO_TCP, PROTO_TLS, PROTO_HTTP, PROTO_HTTPS, PROTO_FILE };

/* Record kinds, for "records" (default: all). */
#define REC_ALERT 1u     /* every "record":"alert" but sensor-health ones */
#define REC_INCIDENT 2u  /* "record":"incident" */
#define REC_INVENTORY 4u /* "record":"inventory" and "inventory-held-back" */
#define REC_HEALTH 8u    /* sensor-health alerts (rule ids sensor-*, collector-*, output-*) */
#define REC_ALL 15u

#define OUT_NAME_MAX 64

/*
 * One output, checked and with its defaults filled in. The token goes in
 * one header: splunk_hec "Authorization: Splunk <token>", elasticsearch
 * "Authorization: ApiKey <token>" (the base64 API key Elasticsearch hands
 * out), http "Authorization: Bearer <token>"; syslog and file take none.
 * Paths in the file are absolute: the monitor's working folder is no guide.
 */
struct output_conf {
	char name[OUT_NAME_MAX]; /* "name", else "<type>-<index from 1>"; spool folder name */
	enum out_type type;
	enum out_format format;
	enum out_proto proto;
	char *url;  /* as given */
	char *host; /* syslog: host; http: host (for messages only); IPv6 without [] */
	char *port; /* syslog: port; http: the port given or 80/443 (numeric string) */
	char *path; /* file: the file; http types: the URL to POST to (HEC/_bulk path added) */
	unsigned records; /* REC_* bits */
	char *token;      /* from token_file or token_env; never printed; NULL: none */
	char *token_from; /* "file PATH" or "environment variable NAME"; NULL: none */
	char *ca_file, *cert_file, *key_file; /* NULL: system CAs / no client certificate */
	bool insecure_skip_verify;
	int facility;        /* syslog facility number (0..23), "facility", default local0 (16) */
	unsigned batch;      /* records per request, 1..10000 */
	unsigned flush_ms;   /* a partial batch waits at most this long */
	unsigned timeout_ms; /* connect + send + answer, per try */
	char *spool_dir;     /* the spool folder of this output (name appended) */
	uint64_t spool_max_bytes;
};

struct outputs_conf {
	struct output_conf *v;
	size_t n;
};

/* Reads and checks FILE. On error returns -1 and writes into err a message
 * that names the file, the output (index and name) and the key. */
int outputs_conf_load(const char *path, struct outputs_conf *out, char *err, size_t errlen);
/* The same on text already read (tests, fuzzing); origin names it in errors. */
int outputs_conf_parse(const char *text, size_t len, const char *origin, struct outputs_conf *out,
		       char *err, size_t errlen);
void outputs_conf_free(struct outputs_conf *c);

const char *out_type_name(enum out_type t);
const char *out_format_name(enum out_format f);
/* "local0" for 16; "?" for a number no name in "facility" gives. */
const char *out_facility_name(int facility);

#endif
