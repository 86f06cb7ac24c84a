#!/bin/bash
# test_bench.sh: `kessai bench charges` (bench/README.md) end to end, small:
# with its own kessaid and against a running one (--url).  Not a speed
# test: no figure is asserted, only that charges were acknowledged, that the
# benchmark found every one of them in the ledger, that it reports where
# the CPU went and how the writer grouped the load into commits, and that
# it cleans up after itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

D=$T/data
export TMPDIR=$T/tmp # the own kessaid's data directory goes here
mkdir -p "$TMPDIR"

# all_in_ledger: the JSON report in $OUT shows a clean check.
all_in_ledger() {
    local acked
    acked=$(j "$OUT" '$.check.acknowledged')
    [ "$(j "$OUT" '$.charges')" -gt 0 ] && [ "$acked" -gt 0 ] &&
        [ "$(j "$OUT" '$.check.in_ledger')" = "$acked" ] && [ "$(j "$OUT" '$.check.violations')" = 0 ] &&
        [ "$(j "$OUT" '$.check.verify_ok')" = 1 ]
}

k bench charges --seconds 2 --connections 4 --customers 20 --json
[ "$RC" = 0 ] && json_valid "$OUT" && one_line "$OUT"
verdict "own kessaid: exit status 0 and one line of JSON"
all_in_ledger && [ "$(j "$OUT" '$.errors')" = 0 ]
verdict "own kessaid: every acknowledged charge is in the ledger, ledger verify clean, no errors"
[ "$(j "$OUT" '$.cpu_us_per_charge.kessaid')" -gt 0 ] &&
    [ "$(j "$OUT" '$.cpu_us_per_charge.kessaid_threads."ledger-writer"')" -gt 0 ] &&
    [ "$(j "$OUT" '$.cpu_us_per_charge.kessaid_threads."MHD-worker"')" -gt 0 ] &&
    [ "$(j "$OUT" '$.cpu_us_per_charge.generator')" -ge 0 ]
verdict "own kessaid: CPU per charge of kessaid, by thread, and of the generator"
# commits_cover_charges: the JSON report in $OUT counts commits holding at
# least every acknowledged charge (each a request and a transfer).
commits_cover_charges() {
    local charges
    charges=$(j "$OUT" '$.charges')
    [ "$(j "$OUT" '$.commits.commits')" -gt 0 ] && [ "$(j "$OUT" '$.commits.requests')" -ge "$charges" ] &&
        [ "$(j "$OUT" '$.commits.transfers')" -ge "$charges" ] && [ "$(j "$OUT" '$.commits.us_each')" -gt 0 ]
}
commits_cover_charges
verdict "own kessaid: the writer's commits over the load hold every acknowledged charge"
[ -z "$(ls -A "$TMPDIR")" ]
verdict "own kessaid: its data directory is removed afterwards"

k bench charges --seconds 1 --connections 2 --customers 5
[ "$RC" = 0 ] && has "$OUT" "charges/s" && has "$OUT" "ledger verify: ok" && has "$OUT" "CPU/charge     kessaid" &&
    has "$OUT" "ledger-writer" && has "$OUT" "transfers) a commit"
verdict "own kessaid, text: charges/s, the check, the CPU line and the commits line"

# --codes-ahead: every code first, then the window charges them alone.  40
# codes on 4 connections run out within the second: the report says so,
# and no charge was made without one of them.
k bench charges --codes-ahead 40 --seconds 1 --connections 4 --customers 20 --json
[ "$RC" = 0 ] && all_in_ledger && [ "$(j "$OUT" '$.errors')" = 0 ] && [ "$(j "$OUT" '$.codes_ahead.codes')" = 40 ]
verdict "--codes-ahead: 40 codes issued first, every acknowledged charge in the ledger"
[ "$(j "$OUT" '$.check.acknowledged')" = 40 ] && [ -n "$(j "$OUT" '$.codes_ahead.ran_out_at')" ]
verdict "--codes-ahead: each code charged once, and the report says when they ran out"
# One HTTP thread, 128 connections asking at once: every code and charge is
# answered at once.  With libmicrohttpd's epoll loop (src/http/server.c)
# 128 ready connections made the thread wait out the connection timeout
# before answering them, and those connections were then closed.
k bench charges --codes-ahead 20000 --seconds 1 --connections 128 --customers 200 \
    --set "KESSAI_THREADS=1 KESSAI_CONNECTION_TIMEOUT_S=10" --json
[ "$RC" = 0 ] && all_in_ledger && [ "$(j "$OUT" '$.errors')" = 0 ] && [ "$(j "$OUT" '$.codes_ahead.codes')" = 20000 ]
verdict "one HTTP thread, 128 connections at once: no request waits out the connection timeout"
k bench charges --codes-ahead 10 --seconds 21
[ "$RC" = 2 ] && has "$ERR" "--codes-ahead"
verdict "usage error: --codes-ahead with a window longer than a code lives"

# A running kessaid (--url): seeded while it serves, its store checked.  Its
# limits are the deployment's: lifted here as the own kessaid's are.
D=$T/live
mkdir -p "$D"
KESSAI_PAY_DAILY_MAX=1000000000 KESSAI_RISK_VELOCITY_CUSTOMER_COUNT=10000000 \
    KESSAI_RISK_VELOCITY_DEVICE_COUNT=10000000 KESSAI_RISK_VELOCITY_TERMINAL_COUNT=10000000 \
    KESSAI_RISK_VELOCITY_STORE_COUNT=10000000 KESSAI_RISK_VELOCITY_TERMINAL_AMOUNT=10000000000 \
    KESSAI_RISK_VELOCITY_STORE_AMOUNT=10000000000 kd_start "$D"
check "a kessaid to load is running" kill -0 "$KD_PID"
k bench charges --url "$KD_URL" --seconds 1 --connections 2 --customers 10 --json
[ "$RC" = 0 ] && all_in_ledger
verdict "--url: every acknowledged charge is in the running kessaid's ledger"
[ "$(j "$OUT" '$.cpu_us_per_charge.kessaid')" = "" ] && [ "$(j "$OUT" '$.cpu_us_per_charge.generator')" -ge 0 ]
verdict "--url: kessaid's CPU is not claimed (not our process), the generator's is"
commits_cover_charges
verdict "--url: the running kessaid's commits are read from its /metrics"
kd_stop
[ "$KD_STATUS" = 0 ]
verdict "--url: the loaded kessaid stops cleanly"

# Usage and set-up errors: a clear message, nothing run.
k bench charges --seconds 0
[ "$RC" = 2 ] && has "$ERR" "--seconds"
verdict "usage error: --seconds 0"
k bench charges --url "http://127.0.0.1:$KD_PORT" --set "KESSAI_THREADS=2"
[ "$RC" = 2 ] && has "$ERR" "not with --url"
verdict "usage error: --set is for the own kessaid only"
D=$T/nothing-here
k bench charges --url "http://127.0.0.1:$KD_PORT" --seconds 1
[ "$RC" = 1 ] && has "$ERR" "needs the data directory"
verdict "--url without that kessaid's data directory is refused"

t_done
