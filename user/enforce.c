/* Turns the kill-capable built-in rules into the kernel's kill tables. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h>
#include "mlwatch.skel.h"
#include "enforce.h"
#include "pathclass.h"

/* The exec rules that name their programs, as the model-scope built-ins do
 * (model-loader-shell, -downloader, -network-tool, -miner). */
static const unsigned kill_exec_classes[] = { EXEC_SHELL, EXEC_DOWNLOADER, EXEC_NETTOOL, EXEC_MINER };

void enforce_configure(struct mlwatch_bpf *skel, const struct options *o)
{
	if (!o->enforce)
		return;
	skel->rodata->mlw_enforce = true;
	skel->rodata->mlw_kill_temp_exec = MLW_MARK_MODEL;
	skel->rodata->mlw_kill_connect_external = MLW_MARK_MODEL;
	skel->rodata->mlw_kill_connect_metadata = MLW_MARK_MODEL | MLW_MARK_ROOT;
}

int enforce_push(struct mlwatch_bpf *skel, const struct options *o)
{
	int fd = bpf_map__fd(skel->maps.kill_comms);
	uint32_t mask = MLW_MARK_MODEL, one = 1;

	if (!o->enforce)
		return 0;
	for (size_t c = 0; c < sizeof(kill_exec_classes) / sizeof(kill_exec_classes[0]); c++) {
		const char *const *names = exec_class_programs(kill_exec_classes[c]);

		for (size_t i = 0; names && names[i]; i++) {
			char key[MLW_COMM_LEN] = { 0 };

			strncpy(key, names[i], MLW_COMM_LEN - 1);
			if (bpf_map_update_elem(fd, key, &mask, BPF_ANY))
				return -errno;
		}
	}
	fd = bpf_map__fd(skel->maps.internal_nets);
	for (size_t i = 0; i < o->net.n; i++) {
		const struct cidr *c = &o->net.internal[i];
		struct {
			uint32_t prefixlen;
			uint8_t data[17];
		} k = { 0 };

		k.prefixlen = 8 + (uint32_t)c->prefix;
		k.data[0] = c->family == AF_INET ? 4 : 6;
		memcpy(&k.data[1], c->addr, 16);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}
