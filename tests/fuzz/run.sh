#!/bin/bash
# Run each libFuzzer target in BUILD_FUZZ (default build/fuzz/fuzz) for a
# bounded number of runs from its seed corpus; one TAP line per target.
# Longer campaigns by hand: build/fuzz/fuzz/fuzz_json -max_total_time=600 tests/fuzz/corpus/json
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BUILD_FUZZ:-$ROOT/build/fuzz/fuzz}
RUNS=${FUZZ_RUNS:-200000}
n=0
for f in "$DIR"/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus="$ROOT/tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp "$corpus"/* "$work"/ 2>/dev/null
    n=$((n + 1))
    if "$f" -runs="$RUNS" -max_total_time=60 -max_len=4096 -artifact_prefix="$work/" "$work" >"$work/log" 2>&1; then
        echo "ok $n - $name ($RUNS runs)"
    else
        echo "not ok $n - $name"
        tail -n 40 "$work/log"
    fi
    rm -rf "$work"
done
[ "$n" -gt 0 ]
