#!/bin/bash
# make bench, tables part: the collector's process and incident tables
# under a storm of processes, fed through collector_handle without BPF
# (tests/bench/tablebench.c). The "before" column runs the same program
# against the tree just before the O(1) tables (built from git into
# .output/bench, once); TABLES_BASE=<commit> picks another, TABLES_BASE=none
# skips it. Timings are the median of ROUNDS runs, old and new alternating.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.output/bench
ROUNDS=${ROUNDS:-3}
TRACKED=${TRACKED:-50000}
STORM=${STORM:-20000}
LINEAGES=${LINEAGES:-4500}
ALERTS=${ALERTS:-70}
mkdir -p "$OUT"

# build TREE BINARY: tablebench against TREE's headers and libraries
build() {
	cc -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -I"$1/user" -I"$1/include" -I"$1/.output" \
		-o "$2" tests/bench/tablebench.c "$1/.output/libmlwatch.a" "$1/.output/libmlwscan.a" \
		-lbpf -lelf -lz -lcjson -lcrypto -lpthread
}
build . "$OUT/tablebench"
variants=(after)
BASE=${TABLES_BASE:-}
if [ -z "$BASE" ]; then
	c=$(git log --format=%H -1 --grep='^Process table: O(1)' 2>/dev/null || true)
	[ -n "$c" ] && BASE=$(git rev-parse "$c^")
fi
if [ -n "$BASE" ] && [ "$BASE" != none ]; then
	OLD=$OUT/tables-before-$(git rev-parse --short "$BASE")
	if [ ! -f "$OLD/.output/libmlwatch.a" ]; then
		rm -rf "$OLD"
		mkdir -p "$OLD"
		git archive "$BASE" | tar -x -C "$OLD"
		echo "tables: building the libraries of $BASE (before) in $OLD"
		make -C "$OLD" -j"$(nproc)" .output/libmlwatch.a .output/libmlwscan.a >"$OLD.log" 2>&1 ||
			{ tail -20 "$OLD.log" >&2; exit 1; }
	fi
	build "$OLD" "$OUT/tablebench-before"
	variants=(before after)
fi
bin() { [ "$1" = after ] && echo "$OUT/tablebench" || echo "$OUT/tablebench-before"; }

declare -A res
# get LINE KEY
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for r in $(seq 1 "$ROUNDS"); do
	for v in "${variants[@]}"; do
		out=$("$(bin "$v")" procs "$TRACKED" "$STORM")
		echo "$v round $r: $(echo "$out" | tr '\n' ' ')"
		for k in fork_ns fork_full_ns exit_ns bytes_per_process rss_after_kb tracked; do
			res[$v,$k]+="$(get "$out" "$k") "
		done
	done
done
for v in "${variants[@]}"; do
	out=$("$(bin "$v")" incidents "$LINEAGES" "$ALERTS")
	echo "$v incidents: $(echo "$out" | tr '\n' ' ')"
	for k in rss_growth_kb ns_per_process incidents_open incidents_peak_bytes incidents_max_bytes; do
		res[$v,$k]=$(get "$out" "$k")
	done
done

cell() { # VARIANT KEY FORMAT [median]
	local v=${res[$1,$2]:-}
	[ -n "$v" ] || { echo "-"; return; }
	[ "${4:-}" = median ] && v=$(echo "$v" | median)
	printf "$3" "$v"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
	head="| $TRACKED tracked processes, then $STORM fork+exit, then $LINEAGES lineages x $ALERTS alerts |"
	rule="|---|"
	for v in "${variants[@]}"; do head+=" $v |"; rule+="---|"; done
	echo "$head"; echo "$rule"
	row() { # LABEL KEY FORMAT [median]
		local line="| $1 |"
		for v in "${variants[@]}"; do line+=" $(cell "$v" "$2" "$3" "${4:-}") |"; done
		echo "$line"
	}
	row "RSS with $TRACKED tracked processes (median)" rss_after_kb "%s kB" median
	row "bytes per tracked process (RSS growth, median)" bytes_per_process "%s" median
	row "fork record, ns (median of $ROUNDS)" fork_ns "%s" median
	row "... once the table is at its bound (each fork makes room)" fork_full_ns "%s" median
	row "exit record, ns (median of $ROUNDS)" exit_ns "%s" median
	for v in "${variants[@]}"; do
		res[$v,rss_mib]=$(mib "${res[$v,rss_growth_kb]}")
		[ -n "${res[$v,incidents_peak_bytes]:-}" ] &&
			res[$v,inc_mib]=$(awk -v b="${res[$v,incidents_peak_bytes]}" -v m="${res[$v,incidents_max_bytes]}" \
				'BEGIN { printf "%.1f of %.1f", b / 1048576, m / 1048576 }')
	done
	row "alert storm: open incidents at the end" incidents_open "%s"
	row "alert storm: incident table peak, MiB (its own count, of its bound)" inc_mib "%s"
	row "alert storm: RSS growth, MiB (both tables)" rss_mib "%s"
	row "alert storm: ns per short-lived process (fork+exec+exit)" ns_per_process "%s"
} | tee "$OUT/tables-results.md"
