#!/bin/bash
# What the DaemonSet's requests and limits are set from: mlwatch's memory
# and CPU at idle and under load, run as the pod runs it (uid 0 with only
# the DaemonSet's capabilities, the base config's outputs, rules and scan
# profiles, --metrics-addr scraped every 5 s). Memory is the process's peak
# RSS (VmHWM) and the peak of a memory cgroup of its own, which is what a
# container limit counts: it also holds the BPF maps the kernel charges to
# it. CPU is utime+stime, sampled every second; the kernel-side cost of the
# sensors lands on the watched processes, not here (make bench measures
# that).
#
#   deploy/measure.sh [IDLE_S [LOAD_S]]      as root, after make mlwatch
#   PID_MAX=4194304 deploy/measure.sh ...    size the kernel's mark maps as
#       on a large GPU node (pid_max and threads-max read as PID_MAX, bound
#       over /proc/sys in a mount namespace of mlwatch's own)
#
# Two loads of LOAD_S seconds each, outside mlwatch's cgroup. A busy node:
# an exec storm of /bin/true and a malicious pickle loaded every 0.5 s (an
# alert, an incident, a static scan, a hash and a forwarded record each).
# A flood: the same plus two `nobody` processes flooding model opens with
# short-lived children (the e2e flood test's), more than the ring buffer
# takes: its losses are counted, and the CPU is what mlwatch uses at most.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE_S=${1:-60}
LOAD_S=${2:-60}
PY=/usr/bin/python3
# The DaemonSet's capabilities (tests/e2e/test_deploy.py checks they match).
CAPS=bpf,perfmon,net_admin,sys_ptrace,dac_read_search,lease,checkpoint_restore

[ "$(id -u)" = 0 ] || { echo "measure: run as root" >&2; exit 1; }
[ -x ./mlwatch ] || { echo "measure: build ./mlwatch first (make mlwatch)" >&2; exit 1; }
work=$(mktemp -d /tmp/mlwatch-measure.XXXXXX)
mon=
gens=()
cg=
cleanup() {
	for p in "${gens[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$mon" ] && kill -TERM "$mon" 2>/dev/null && wait "$mon" 2>/dev/null || true
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A memory cgroup for mlwatch alone: v1's memory controller, else v2's.
if [ -d /sys/fs/cgroup/memory ] && [ -f /sys/fs/cgroup/memory/cgroup.procs ]; then
	cg=/sys/fs/cgroup/memory/mlwatch-measure-$$
	peak_file=memory.max_usage_in_bytes
	cur_file=memory.usage_in_bytes
else
	v2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2" && $4 == "/") { print $5; exit } break } }' /proc/self/mountinfo)
	grep -qw memory "$v2/cgroup.subtree_control" ||
		{ echo "measure: no memory controller in $v2/cgroup.subtree_control" >&2; exit 1; }
	cg=$v2/mlwatch-measure-$$
	peak_file=memory.peak
	cur_file=memory.current
fi
mkdir "$cg"

# The base config, its paths moved into the work dir.
chmod 0755 "$work" # the flood runs as nobody
mkdir -m 0700 "$work/etc" "$work/spool" "$work/log" "$work/load"
$PY - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
o = json.load(open("deploy/base/outputs.json"))
for out in o["outputs"]:
    out["spool_dir"] = w + "/spool"
    if out["type"] == "file":
        out["url"] = w + "/log/" + out["url"].rsplit("/", 1)[1]
json.dump(o, open(w + "/etc/outputs.json", "w"))
EOF
install -m 0600 deploy/base/rules.json deploy/base/scan-profiles.json "$work/etc/"
chmod 0600 "$work/etc/outputs.json"

metrics=127.0.0.1:${METRICS_PORT:-19464}
run=(setpriv --bounding-set "-all,+${CAPS//,/,+}" -- ./mlwatch --json
	--outputs "$work/etc/outputs.json" --rules "$work/etc/rules.json"
	--scan-profiles "$work/etc/scan-profiles.json" --metrics-addr "$metrics")
# Into the cgroup first, so that the BPF maps are charged to it.
cat >"$work/start.sh" <<'EOF2'
echo $$ >"$CG/cgroup.procs"
[ -z "$PIDMAX_FILE" ] && exec "$@"
exec unshare -m bash -c 'mount --bind "$0" /proc/sys/kernel/pid_max &&
	mount --bind "$0" /proc/sys/kernel/threads-max && exec "$@"' "$PIDMAX_FILE" "$@"
EOF2
pidmax_file=
if [ -n "${PID_MAX:-}" ]; then
	echo "$PID_MAX" >"$work/pid_max"
	pidmax_file=$work/pid_max
fi
CG=$cg PIDMAX_FILE=$pidmax_file bash "$work/start.sh" "${run[@]}" >"$work/stdout.json" 2>"$work/stderr" &
mon=$!
for _ in $(seq 1 300); do
	grep -q '^mlwatch: ready' "$work/stderr" && break
	kill -0 "$mon" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
	sleep 0.1
done
grep -q '^mlwatch: ready' "$work/stderr" || { echo "measure: mlwatch not ready" >&2; exit 1; }

# Scraped every 5 s, as a Prometheus would (more often than most do).
bash -c "while curl -sf -o /dev/null http://$metrics/metrics; do sleep 5; done" &
gens+=($!)
scraper=$!

hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$mon/stat"; }
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$mon/status"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# sample SECONDS FILE: per-second CPU (cores) into FILE
sample() {
	local prev now
	prev=$(ticks)
	for _ in $(seq 1 "$1"); do
		sleep 1
		now=$(ticks)
		awk -v d=$((now - prev)) -v hz="$hz" 'BEGIN { printf "%.3f\n", d / hz }' >>"$2"
		prev=$now
	done
}
stats() { # FILE: mean and the highest 5-second mean
	awk '{ v[NR] = $1; s += $1 } END {
		m = 0; for (i = 5; i <= NR; i++) { w = (v[i] + v[i-1] + v[i-2] + v[i-3] + v[i-4]) / 5; if (w > m) m = w }
		printf "mean %.3f cores, highest 5 s mean %.3f cores", s / NR, m }' "$1"
}

sample "$IDLE_S" "$work/cpu-idle"
idle_rss=$(kib VmRSS)
idle_cg=$(cat "$cg/$cur_file")
idle_peak_cg=$(cat "$cg/$peak_file")

# The load.
cat >"$work/load/bait.pt" <<<"bait"
chmod 0755 "$work/load"
chmod 0666 "$work/load/bait.pt"
$PY -c "import pickle, os
class E:
    def __reduce__(self): return (os.system, ('true',))
pickle.dump(E(), open('$work/load/evil.pkl', 'wb'))"
flooder=$($PY -c "import sys; sys.path.insert(0, 'tests/e2e'); from test_flood import FLOODER; print(FLOODER)")
# load FLOOD OUT: LOAD_S seconds of the busy node's load (and the flood
# when FLOOD is 1), sampled into OUT, then 10 s to settle
load() {
	if [ "$1" = 1 ]; then
		for _ in 1 2; do
			setpriv --reuid=65534 --regid=65534 --clear-groups $PY -c "$flooder" \
				"$work/load/bait.pt" "$LOAD_S" >/dev/null 2>&1 &
			gens+=($!)
		done
	fi
	bash -c "end=\$((SECONDS + $LOAD_S)); while [ \$SECONDS -lt \$end ]; do /bin/true; done" &
	gens+=($!)
	bash -c "end=\$((SECONDS + $LOAD_S)); while [ \$SECONDS -lt \$end ]; do
		$PY -c \"import pickle; pickle.load(open('$work/load/evil.pkl', 'rb'))\"; sleep 0.5; done" \
		>/dev/null 2>&1 &
	gens+=($!)
	sample "$LOAD_S" "$2"
	for p in "${gens[@]}"; do [ "$p" = "$scraper" ] || wait "$p" 2>/dev/null || true; done
	gens=("$scraper")
	sleep 10
}
load 0 "$work/cpu-busy"
busy_hwm=$(kib VmHWM)
busy_cg=$(cat "$cg/$peak_file")
load 1 "$work/cpu-flood"

hwm=$(kib VmHWM)
peak_cg=$(cat "$cg/$peak_file")
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://$metrics/readyz")
t0=$(date +%s.%N)
kill -TERM "$mon"
wait "$mon" || true
stop_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
mon=

echo "mlwatch $(./mlwatch --version 2>&1 | head -1), kernel $(uname -r), $(nproc) CPUs, pid_max read as ${PID_MAX:-$(cat /proc/sys/kernel/pid_max)}"
grep -E '^mlwatch: (room for|bounds:|events received|inventory loads|tables:)' "$work/stderr" | cut -c1-200
echo "idle ${IDLE_S} s: CPU $(stats "$work/cpu-idle"); RSS $(mib $((idle_rss * 1024))) MiB; cgroup $(mib "$idle_cg") MiB (peak so far $(mib "$idle_peak_cg") MiB)"
echo "busy node ${LOAD_S} s: CPU $(stats "$work/cpu-busy"); peak VmHWM $(mib $((busy_hwm * 1024))) MiB, cgroup $(mib "$busy_cg") MiB"
echo "flood ${LOAD_S} s: CPU $(stats "$work/cpu-flood")"
echo "peak: VmHWM $(mib $((hwm * 1024))) MiB; cgroup $(mib "$peak_cg") MiB"
echo "SIGTERM to exit: ${stop_s} s; /readyz before it: $ready"
