/*
 * The pods of this node from the Kubernetes API: a thread lists them
 * (GET /api/v1/pods?fieldSelector=spec.nodeName=NODE, paged), then
 * watches from the list's resourceVersion, into a podcache. A watch that
 * ends is resumed from the last version seen; an expired version (410
 * Gone) lists again; errors retry with capped backoff. HTTPS through
 * libcurl, the server checked against the CA, the service account's
 * token read again before each request (kubelet rotates it) and never
 * printed.
 */
#ifndef MLWATCH_PODWATCH_H
#define MLWATCH_PODWATCH_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "podcache.h"

#define PODWATCH_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define PODWATCH_WATCH_S 300          /* the server ends each watch after this */
#define PODWATCH_LIST_MAX (64u << 20) /* bytes of one list page */
#define PODWATCH_LINE_MAX (4u << 20)  /* bytes of one watch event (a pod is < 1.5 MiB) */

struct podwatch_conf {
	char api[512]; /* https://HOST:PORT */
	char token_file[PATH_MAX];
	char ca_file[PATH_MAX];
	char node[254];
	unsigned watch_s; /* 0: PODWATCH_WATCH_S */
};

/* Every counter only grows. */
struct podwatch_stats {
	uint64_t lists;        /* full lists done */
	uint64_t list_errors;  /* list requests that failed */
	uint64_t watches;      /* watch requests made */
	uint64_t watch_errors; /* watches ended by an error (not the server's timeout) */
	uint64_t expired;      /* 410 Gone: listed again */
	uint64_t events;       /* ADDED, MODIFIED and DELETED taken */
	uint64_t bookmarks;
	uint64_t auth_errors; /* 401 or 403, or the token unreadable */
	uint64_t bad;         /* pods or events that did not parse (skipped) */
	uint64_t too_large;   /* a list page or an event over its bound */
	bool synced;          /* a list succeeded at least once */
	char last_error[160];
	struct podcache_stats cache;
};

/*
 * From the environment: NODE_NAME (the downward API's spec.nodeName), the
 * in-cluster KUBERNETES_SERVICE_HOST/_PORT and the service account's
 * token and ca.crt, or instead MLWATCH_K8S_API (an https:// URL),
 * MLWATCH_K8S_TOKEN_FILE and MLWATCH_K8S_CA_FILE. Returns 1 (conf
 * filled), 0 when there is no cluster to ask (why says so), or -1 when
 * the settings are wrong (why names the problem).
 */
int podwatch_conf_env(struct podwatch_conf *c, char *why, size_t len);

struct podwatch;

/* Starts the thread. NULL (err says why) on failure. */
struct podwatch *podwatch_start(const struct podwatch_conf *c, char *err, size_t errlen);
/* Stops the thread (an open request is cut) and frees. NULL is a no-op. */
void podwatch_stop(struct podwatch *w);
bool podwatch_get(struct podwatch *w, const char *uid, struct pod_meta *out);
void podwatch_stats(struct podwatch *w, struct podwatch_stats *out);
#endif
