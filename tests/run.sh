#!/usr/bin/env bash
# Runs every unit test binary (.output/tests/**/test_*) and the end-to-end suite,
# then prints the summed "N passed, N failed" as the last line.
# Exit status: 0 when nothing failed, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
passed=0
failed=0
summary_re='^([0-9]+) passed, ([0-9]+) failed$'

# count NAME RC OUTPUT: add a test program's final summary line to the totals;
# a crash, timeout or missing summary line counts as one failure.
count() {
	local name=$1 rc=$2 out=$3 last
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [[ $last =~ $summary_re ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
			echo "FAIL $name: exited $rc although it reported no failure"
			failed=$((failed + 1))
		fi
	else
		echo "FAIL $name: exited $rc without a final 'N passed, N failed' line"
		failed=$((failed + 1))
	fi
}

shopt -s nullglob globstar
units=(.output/tests/**/test_*)
if [ ${#units[@]} -eq 0 ]; then
	echo "note: no unit test binaries in .output/tests (run 'make unit')"
fi
for t in "${units[@]}"; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	echo "== $t"
	out=$(timeout "$UNIT_TIMEOUT" "$t" 2>&1 </dev/null)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ $rc -eq 124 ] && echo "FAIL $t: timed out after ${UNIT_TIMEOUT}s"
	# 77: what the test needs is missing here (it said which); not a pass
	if [ $rc -eq 77 ]; then
		echo "SKIP $t"
		continue
	fi
	count "$t" "$rc" "$out"
done

# The tree's architecture, on the objects just built.
echo "== tests/layout"
out=$(/usr/bin/python3 tests/layout/check.py 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out"
count "tests/layout/check.py" "$rc" "$out"

# Each fuzz target for a bounded time on its seed corpus.
echo "== tests/fuzz"
out=$(FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash tests/fuzz/run.sh 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out"
count "tests/fuzz/run.sh" "$rc" "$out"

echo "== tests/e2e"
e2e_log=$(mktemp /tmp/mlwatch-e2e-log.XXXXXX)
/usr/bin/python3 tests/e2e/run.py </dev/null 2>&1 | tee "$e2e_log"
rc=${PIPESTATUS[0]}
count "tests/e2e/run.py" "$rc" "$(cat "$e2e_log")"
rm -f "$e2e_log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
