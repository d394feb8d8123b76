/*
 * Container and pod from a cgroup v2 path. The layouts (outermost first):
 *
 *   kubelet, systemd driver   kubepods[-<qos>]-pod<uid, '_' for '-'>.slice
 *   kubelet, cgroupfs driver  kubepods/[<qos>/]pod<uid>
 *   containerd (CRI)          cri-containerd-<id>.scope
 *   CRI-O                     crio-<id>.scope, crio-<id>; crio-conmon-<id>.scope
 *                             is its monitor, not the container
 *   docker                    docker-<id>.scope, docker/<id>
 *   podman                    libpod-<id>.scope, libpod-<id>; libpod-conmon-<id>
 *                             is its monitor
 *   cgroupfs, any runtime     <id> (the runtime is not named)
 *
 * where <id> is 64 lower-case hex digits and <uid> a UUID.
 */
#include <string.h>

#include "cgpath.h"

static bool hexc(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool take_id(const char *s, size_t n, char *out)
{
	if (n != CG_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!hexc(s[i]))
			return false;
	memcpy(out, s, n);
	out[n] = 0;
	return true;
}

/* A UUID with sep where the dashes go; given back lower-case, with dashes
 * (the kubelet's systemd driver writes '_' since '-' nests slices). */
static bool take_uid(const char *s, size_t n, char sep, char *out)
{
	char u[CG_UID_LEN + 1];

	if (n != CG_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != sep)
				return false;
			u[i] = '-';
			continue;
		}
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!hexc(c))
			return false;
		u[i] = c;
	}
	u[n] = 0;
	memcpy(out, u, sizeof(u));
	return true;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && memcmp(s, pre, k) == 0;
}

static bool contains(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, word, k) == 0)
			return true;
	return false;
}

/* kubepods-besteffort-pod<uid_>.slice, kubepods-pod<uid_>.slice (guaranteed),
 * kubelet-kubepods-...-pod<uid_>.slice (a kubelet with another cgroup root),
 * or, below a kubepods component, pod<uid>. */
static bool pod_of(const char *c, size_t n, bool below_kubepods, char *uid)
{
	const size_t tail = 4 + CG_UID_LEN; /* "-pod" + uid */

	if (has_suffix(c, n, ".slice")) {
		n -= 6;
		return n > tail && memcmp(c + n - tail, "-pod", 4) == 0 &&
		       contains(c, n - tail, "kubepods") &&
		       take_uid(c + n - CG_UID_LEN, CG_UID_LEN, '_', uid);
	}
	return below_kubepods && has_prefix(c, n, "pod") && take_uid(c + 3, n - 3, '-', uid);
}

static const struct {
	const char *prefix;
	enum cg_runtime rt; /* CG_RT_NONE: a runtime's monitor, not a container */
} prefixes[] = {
	{ "cri-containerd-", CG_RT_CONTAINERD },
	{ "crio-conmon-", CG_RT_NONE },
	{ "crio-", CG_RT_CRIO },
	{ "docker-", CG_RT_DOCKER },
	{ "libpod-conmon-", CG_RT_NONE },
	{ "libpod-", CG_RT_PODMAN },
};

/* 1: a container (out filled), -1: a runtime's monitor, 0: neither. */
static int container_of(const char *c, size_t n, const char *parent, size_t pn,
			struct cg_ident *out)
{
	bool scope = has_suffix(c, n, ".scope");
	size_t m = scope ? n - 6 : n;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t k = strlen(prefixes[i].prefix);

		if (!has_prefix(c, m, prefixes[i].prefix))
			continue;
		if (prefixes[i].rt == CG_RT_NONE)
			return -1;
		if (!take_id(c + k, m - k, out->container_id))
			return 0;
		out->runtime = (uint8_t)prefixes[i].rt;
		return 1;
	}
	if (scope || !take_id(c, n, out->container_id))
		return 0;
	/* docker's cgroupfs driver: /docker/<id> */
	out->runtime = pn == 6 && memcmp(parent, "docker", 6) == 0 ? CG_RT_DOCKER : CG_RT_UNKNOWN;
	return 1;
}

bool cgpath_parse(const char *path, size_t len, struct cg_ident *out)
{
	const char *parent = "", *end = path + len;
	size_t pn = 0;
	bool kube = false;

	memset(out, 0, sizeof(*out));
	for (const char *c = path; c < end;) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		size_t n = (size_t)((slash ? slash : end) - c);
		int r;

		if (n) {
			if (!out->pod_uid[0] && pod_of(c, n, kube, out->pod_uid)) {
				/* a pod's own slice is no container */
			} else if ((r = container_of(c, n, parent, pn, out)) != 0) {
				if (r < 0)
					memset(out->container_id, 0, sizeof(out->container_id));
				break;
			}
			kube |= has_prefix(c, n, "kubepods");
			parent = c;
			pn = n;
		}
		c += n + 1;
	}
	return out->container_id[0] || out->pod_uid[0];
}

const char *cg_runtime_name(enum cg_runtime rt)
{
	switch (rt) {
	case CG_RT_CONTAINERD:
		return "containerd";
	case CG_RT_CRIO:
		return "cri-o";
	case CG_RT_DOCKER:
		return "docker";
	case CG_RT_PODMAN:
		return "podman";
	default:
		return NULL;
	}
}
