#!/bin/bash
# make bench: ns per operation with no monitor, with empty programs on the
# same hooks (the floor), and with mlwatch (unmarked and marked process),
# all in one run; then a drop check: a marked process's opens while an
# unmarked process runs an open storm; then a flood by an unprivileged
# user while root loads a malicious model (tests/bench/flood.py; set
# BASELINE=path/to/an/older/mlwatch to run it on both).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.output/bench
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
OPEN_N=${OPEN_N:-200000}
CONNECT_N=${CONNECT_N:-20000}
EXEC_N=${EXEC_N:-2000}
PYTORCH_N=${PYTORCH_N:-15}
PYPOOL_N=${PYPOOL_N:-20000}
MANY_N=${MANY_N:-50000}
STORM_N=${STORM_N:-20000}
mkdir -p "$OUT"

cc -O2 -Wall -Werror -o "$OUT/opbench" tests/bench/opbench.c -lpthread
clang -g -O2 -target bpf -D__TARGET_ARCH_"$ARCH" -Ivmlinux/"$ARCH" -Ibpf -c tests/bench/floor.bpf.c -o "$OUT/floor.bpf.o"
cc -O2 -Wall -Werror -o "$OUT/floor" tests/bench/floor.c -lbpf
/usr/bin/python3 -c "import pickle; pickle.dump({'w': list(range(10))}, open('$OUT/bench-model.pkl', 'wb'))"

# The floor's cgroup hooks go where mlwatch's do: the cgroup v2 root.
CGROUP2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2" && $4 == "/") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$CGROUP2" ] || { echo "bench: no cgroup v2 hierarchy mounted" >&2; exit 1; }

# The floor attaches through tracefs; mlwatch mounts it itself when it is
# missing, and so must the bench, or the floor attaches nothing.
mounted=0
if [ ! -d /sys/kernel/tracing/events/syscalls ]; then
	mount -t tracefs tracefs /sys/kernel/tracing && mounted=1
fi
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "${manydir:-}" "${many:-}"
	[ "$mounted" = 1 ] && umount /sys/kernel/tracing 2>/dev/null || true
}
trap cleanup EXIT

# start_bg NAME LOG CMD...: runs CMD, waits (bounded) for "NAME: ready" on its stderr
start_bg() {
	local name=$1 log=$2; shift 2
	"$@" 2>"$log" >/dev/null &
	BG=$!
	pids+=("$BG")
	for _ in $(seq 1 200); do
		grep -q "^$name: ready" "$log" && return 0
		kill -0 "$BG" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.1
	done
	echo "bench: $name did not get ready in 20 s" >&2; cat "$log" >&2; return 1
}
# stop_bg PID: SIGINT, then wait for it (SIGKILL after 10 s), so the next
# configuration never overlaps this one
stop_bg() {
	kill -INT "$1"
	(sleep 10; kill -KILL "$1" 2>/dev/null) & local w=$!
	wait "$1" 2>/dev/null || true
	kill "$w" 2>/dev/null || true
	wait "$w" 2>/dev/null || true
}

# This VM drifts by +-15% over seconds, so configurations are measured in
# rounds, each monitored run between two bare runs: a round's ratio is
# monitored / mean(bare before, bare after), and the table shows the
# median over ROUNDS rounds.
ROUNDS=${ROUNDS:-7}
read -r -a OPS <<< "${OPS:-open openmany connect forkexec pytorch pypool}"
declare -A N=([open]=$OPEN_N [openmany]=$MANY_N [connect]=$CONNECT_N [forkexec]=$EXEC_N
	      [pytorch]=$PYTORCH_N [pypool]=$PYPOOL_N)
declare -A LABEL=([open]="openat+close, same file" [openmany]="openat+close, a new file each time"
		  [connect]="connect (loopback)" [forkexec]="fork+exec"
		  [pytorch]="python3 -c 'import torch'" [pypool]="multiprocessing Pool task (pickled)")
declare -A ratios ns
manydir=$(mktemp -d /tmp/mlwatch-bench-files.XXXXXX)
# The Python ones run under the audit probes (the floor's is an empty
# program on python:audit of the same interpreter).
PYBIN=$(readlink -f /usr/bin/python3)
run_op() {
	case $1 in
	py*) /usr/bin/python3 tests/bench/pybench.py "$1" "$((N[$1] / 5 > 0 ? N[$1] / 5 : 1))" "${@:2}" ;;
	*) "$OUT/opbench" "$1" "$((N[$1] / 5))" --dir "$manydir" "${@:2}" ;;
	esac
}

for r in $(seq 1 "$ROUNDS"); do
	for op in "${OPS[@]}"; do
		b0=$(run_op "$op")
		start_bg floor "$OUT/floor.log" "$OUT/floor" "$OUT/floor.bpf.o" "$CGROUP2" "$PYBIN"; F=$BG
		f=$(run_op "$op")
		stop_bg "$F"
		start_bg mlwatch "$OUT/mlwatch.log" ./mlwatch --json --output /dev/null; M=$BG
		u=$(run_op "$op")
		m=$(run_op "$op" --mark "$OUT/bench-model.pkl")
		stop_bg "$M"
		b1=$(run_op "$op")
		for c in bare floor unmarked marked; do
			case $c in bare) v=$b0;; floor) v=$f;; unmarked) v=$u;; marked) v=$m;; esac
			ratios[$op,$c]+="$(awk -v v="$v" -v a="$b0" -v b="$b1" 'BEGIN { printf "%.4f", v / ((a + b) / 2) }') "
			ns[$op,$c]+="$v "
		done
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
cell() { printf "%.0f ns (%.2fx)" "$(echo "${ns[$1,$2]}" | median)" "$(echo "${ratios[$1,$2]}" | median)"; }
{
	head="| median of $ROUNDS rounds |"; rule="|---|"
	for op in "${OPS[@]}"; do head+=" ${LABEL[$op]} |"; rule+="---|"; done
	echo "$head"; echo "$rule"
	for c in bare floor unmarked marked; do
		label=$c
		[ "$c" = floor ] && label="empty programs (floor)"
		[ "$c" = unmarked ] && label="mlwatch, unmarked process"
		[ "$c" = marked ] && label="mlwatch, marked process"
		row="| $label |"
		for op in "${OPS[@]}"; do row+=" $(cell "$op" "$c") |"; done
		echo "$row"
	done
} | tee "$OUT/results.md"

# Drop check: a marked process opens STORM_N different files in each of
# three rounds (none opened before, so each is sent) while an unmarked
# process hammers openat; every one must arrive, none be lost.
many=$(mktemp -d /tmp/mlwatch-bench-many.XXXXXX)
start_bg mlwatch "$OUT/mlwatch-storm.log" ./mlwatch --json --output /dev/null -v; M=$BG
"$OUT/opbench" open 2000000 >/dev/null & S=$!; pids+=("$S")
t0=$(date +%s.%N)
"$OUT/opbench" openmany "$STORM_N" --dir "$many" --mark "$OUT/bench-model.pkl" >/dev/null & B=$!
wait "$B"
t1=$(date +%s.%N)
kill "$S" 2>/dev/null || true; wait "$S" 2>/dev/null || true
stop_bg "$M"
rm -rf "$many"
got=$(grep -c "^event open pid=$B .*path=$many/f" "$OUT/mlwatch-storm.log" || true)
lost=$(grep -o "lost in kernel [0-9]*" "$OUT/mlwatch-storm.log" | awk '{print $4}')
echo "drop check: marked process opens seen $got of $((STORM_N * 3)) different files; mlwatch lost in kernel: $lost" | tee -a "$OUT/results.md"
awk -v n="$got" -v a="$t0" -v b="$t1" 'BEGIN { printf "sustained: %d marked opens in %.2f s, %.0f events/s with none lost\n", n, b - a, n / (b - a) }' | tee -a "$OUT/results.md"
grep "kernel counters" "$OUT/mlwatch-storm.log" | tee -a "$OUT/results.md"
[ "$got" -eq $((STORM_N * 3)) ] && [ "$lost" = 0 ]

# Flood: an unprivileged flood must not hide root's attack.
FLOOD_ROUNDS=${FLOOD_ROUNDS:-3}
if [ -n "${BASELINE:-}" ]; then
	/usr/bin/python3 tests/bench/flood.py "$BASELINE" "$FLOOD_ROUNDS" baseline | tee -a "$OUT/results.md" || true
fi
/usr/bin/python3 tests/bench/flood.py ./mlwatch "$FLOOD_ROUNDS" mlwatch | tee -a "$OUT/results.md"
