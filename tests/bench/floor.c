/* Loads and attaches floor.bpf.o, prints "floor: ready", waits for SIGINT
 * or SIGTERM, detaches. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
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
	struct bpf_object *obj;
	struct bpf_program *prog;
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: floor FLOOR.bpf.o\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "floor: loading %s failed\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *l = bpf_program__attach(prog);

		if (!l)
			fprintf(stderr, "floor: attaching %s failed\n", bpf_program__name(prog));
		else if (n < 64)
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
	return 0;
}
