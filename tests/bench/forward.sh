#!/bin/bash
# make bench, forwarding part: records per second per output format to a
# counting receiver in the same process (tests/bench/fwdbench.c), what a
# record costs the collector's thread with the destination alive, hung or
# absent, and the alert latency of a real attack with no output, a live
# one, a hung one and a dead one (tests/bench/fwd_latency.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.output/bench
N=${FWD_N:-20000}
SHELLS=${FWD_SHELLS:-100}
ROUNDS=${FWD_ROUNDS:-2}
mkdir -p "$OUT"
cc -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -Iuser -Iinclude -I.output \
	-o "$OUT/fwdbench" tests/bench/fwdbench.c .output/libmlwatch.a .output/libmlwscan.a \
	-lbpf -lelf -lz -lcjson -lcurl -lssl -lcrypto -lpthread
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
{
	echo "| output | format | records/s | caller CPU ns/record |"
	echo "|---|---|---|---|"
	for tf in "syslog rfc5424" "syslog cef" "syslog json" "http json" "http ecs" "http ocsf" \
		"http falco" "splunk_hec json" "elasticsearch ecs"; do
		# shellcheck disable=SC2086
		line=$("$OUT/fwdbench" throughput $tf "$N")
		echo "| ${tf% *} | ${tf#* } | $(get "$line" records_per_s) | $(get "$line" submit_cpu_ns) |"
	done
	echo
	echo "| destination | caller CPU ns/record |"
	echo "|---|---|"
	for m in none alive hung; do
		line=$("$OUT/fwdbench" submit "$m" "$N")
		echo "| $m | $(get "$line" submit_cpu_ns) |"
	done
	echo
	/usr/bin/python3 tests/bench/fwd_latency.py ./mlwatch "$SHELLS" "$ROUNDS" | grep '^|'
} | tee "$OUT/forward-results.md"
