/* Loads and attaches floor.bpf.o, prints "floor: ready", waits for SIGINT
 * or SIGTERM, detaches. Like mlwatch, it skips tracepoints this kernel does
 * not have (open/creat on arm64, io_uring's before 6.0) and attaches the
 * cgroup hooks to the cgroup v2 root (argv[2]); any other failure is fatal,
 * so a floor that measures nothing cannot pass for a cheap one. Needs
 * tracefs mounted (tests/bench/run.sh does that). argv[3], if given: a
 * Python interpreter whose python:audit probe gets the empty USDT
 * program (else it is not loaded). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[64];
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_object *obj;
	struct bpf_program *prog;
	int n = 0, cg;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: floor FLOOR.bpf.o CGROUP2_ROOT [PYTHON]\n");
		return 2;
	}
	cg = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (cg < 0) {
		fprintf(stderr, "floor: opening %s failed\n", argv[2]);
		return 1;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "floor: opening %s failed\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		char p[512];
		struct stat st;

		if (!strcmp(sec, "usdt")) {
			bpf_program__set_autoload(prog, argc == 4);
			continue;
		}
		if (!strncmp(sec, "tp_btf/", 7)) {
			snprintf(p, sizeof(p), "btf_trace_%s", sec + 7);
			if (!vmlinux || btf__find_by_name_kind(vmlinux, p, BTF_KIND_TYPEDEF) < 0) {
				fprintf(stderr, "floor: skipping %s: no such tracepoint\n",
					sec + 7);
				bpf_program__set_autoload(prog, false);
			}
			continue;
		}
		if (strncmp(sec, "tp/", 3))
			continue;
		snprintf(p, sizeof(p), "/sys/kernel/tracing/events/%s", sec + 3);
		if (stat(p, &st)) {
			fprintf(stderr, "floor: skipping %s: no such tracepoint\n", sec + 3);
			bpf_program__set_autoload(prog, false);
		}
	}
	btf__free(vmlinux);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: loading %s failed\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *l;

		if (!bpf_program__autoload(prog))
			continue;
		if (!strncmp(bpf_program__section_name(prog), "cgroup/", 7))
			l = bpf_program__attach_cgroup(prog, cg);
		else if (!strcmp(bpf_program__section_name(prog), "usdt"))
			l = bpf_program__attach_usdt(prog, -1, argv[3], "python", "audit", NULL);
		else
			l = bpf_program__attach(prog);
		if (!l || n == 64) {
			fprintf(stderr, "floor: attaching %s failed\n", bpf_program__name(prog));
			while (n > 0)
				bpf_link__destroy(links[--n]);
			return 1;
		}
		links[n++] = l;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "floor: ready\n");
	while (!stop)
		pause();
	while (n > 0)
		bpf_link__destroy(links[--n]);
	bpf_object__close(obj);
	close(cg);
	return 0;
}
