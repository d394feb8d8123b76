/* Whether this process sees the PIDs the kernel reports (see pidns.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidns.h"

int pidns_nspid_count(const char *status)
{
	const char *l = status;
	int n = 0;

	while (l && strncmp(l, "NSpid:", 6) != 0) {
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	if (!l)
		return 0;
	for (l += 6; *l && *l != '\n';) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l < '0' || *l > '9')
			break;
		n++;
		while (*l >= '0' && *l <= '9')
			l++;
	}
	return n;
}

/* "NSpid: 1 4242" from /proc/self/status, for the message. */
static void nspid_line(char *out, size_t len)
{
	char buf[4096], *l, *nl;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	snprintf(out, len, "no NSpid line");
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	l = strstr(buf, "NSpid:");
	if (!l)
		return;
	if ((nl = strchr(l, '\n')))
		*nl = 0;
	for (char *t = l; *t; t++)
		if (*t == '\t')
			*t = ' ';
	snprintf(out, len, "%s", l);
}

int pidns_check(char *why, size_t len)
{
	char self[32], nspid[128];
	struct stat st;
	ssize_t n;

	nspid_line(nspid, sizeof(nspid));
	/* /proc/self dangles when /proc is another namespace's */
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PIDNS_INIT_INO) {
		snprintf(why, len,
			 "running in a PID namespace of its own (%s), but the kernel reports "
			 "the host's PIDs, which name other processes or none here; run it in the "
			 "host's PID namespace (Kubernetes: hostPID: true; docker or podman: --pid=host)",
			 nspid);
		return -1;
	}
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = 0;
	if (n <= 0 || strtol(self, NULL, 10) != (long)getpid()) {
		snprintf(why, len,
			 "/proc is not the host's (/proc/self is %s, this process is %d): the "
			 "kernel reports the host's PIDs; mount the host PID namespace's proc at "
			 "/proc (Kubernetes: hostPID: true)",
			 n > 0 ? self : "missing", (int)getpid());
		return -1;
	}
	return 0;
}
