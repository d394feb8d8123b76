#!/bin/bash
# Runs each libFuzzer target for FUZZ_SECONDS on its seed corpus (new
# inputs go to .output/fuzz/work-*, never into the repository). A crash,
# leak or sanitizer report fails the target. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	bin=.output/fuzz/fuzz_$t
	work=.output/fuzz/work-$t
	mkdir -p "$work"
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$t: $bin not built (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	log=.output/fuzz/fuzz_$t.log
	if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=.output/fuzz/crash-$t- "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		echo "ok fuzz_$t: $(grep -o 'Done [0-9]* runs' "$log" | tail -1) in ${FUZZ_SECONDS}s"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$t: see $log"
		tail -30 "$log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
