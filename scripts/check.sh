#!/bin/bash
# Run every test against the binaries in BUILD (default build/asan) and end with
# exactly one line "N passed, N failed".  Each test program speaks TAP:
# cmocka binaries via CMOCKA_MESSAGE_OUTPUT=TAP, shell suites via tests/api/lib.sh.
# A program that crashes or exits non-zero without reporting a failure counts as
# one failure, so a sanitizer report can never pass silently.
set -u
BUILD=${1:-build/asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export KESSAID="$ROOT/$BUILD/kessaid" KESSAI="$ROOT/$BUILD/kessai" KESSAI_ROOT="$ROOT"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOGDIR=$(mktemp -d /tmp/kessai-check.XXXXXX)
passed=0
failed=0

run_one() { # name, command...
    local name=$1
    shift
    local log="$LOGDIR/$(basename "$name").log"
    "$@" >"$log" 2>&1
    local rc=$?
    local ok nok
    ok=$(grep -cE '^ok [0-9]+' "$log")
    nok=$(grep -cE '^not ok [0-9]+' "$log")
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        nok=1
        echo "FAIL $name exited with status $rc and reported no failing test"
    fi
    passed=$((passed + ok))
    failed=$((failed + nok))
    if [ "$nok" -gt 0 ]; then
        echo "FAIL $name ($ok passed, $nok failed); log follows"
        # What failed first (a sanitizer's leak report after a failed test
        # is only its consequence and would push this out of the tail).
        grep -E -A12 '^not ok [0-9]+' "$log" | sed 's/^/    /' | head -n 40
        sed 's/^/    /' "$log" | tail -n 40
    else
        echo "ok   $name ($ok passed)"
    fi
}

for t in "$ROOT/$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
run_one fuzz bash "$ROOT/tests/fuzz/run.sh"
for t in "$ROOT"/tests/api/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" bash "$t"
done

rm -rf "$LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
