/* The name every record gives as "host". */
#ifndef MLWATCH_HOSTNAME_H
#define MLWATCH_HOSTNAME_H
#include <stddef.h>

/*
 * The node's name: NODE_NAME when set to a valid DNS name (a DaemonSet pod
 * gets it from the downward API; gethostname() there is the pod's name),
 * else gethostname(), else "unknown". Returns 1 when NODE_NAME was used.
 */
int node_host_name(char *out, size_t len);

/* 1 when s is a DNS name of at most 253 bytes (RFC 1123 labels). */
int host_name_valid(const char *s);
#endif
