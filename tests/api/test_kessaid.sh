#!/bin/bash
# test_kessaid.sh: the kessaid process as an operator and a client see it:
# start-up, configuration precedence, refusals, health, metrics, errors and
# graceful shutdown.
. "$(dirname "$0")/lib.sh"

json_error_code() { # the "code" of an error body
    sed -n 's/.*"error":{"code":"\([a-z_]*\)".*/\1/p' <<<"$1"
}

metric() { # NAME{LABELS} in the metrics text $1: its value, or 0 if absent
    local line
    line=$(grep -F "$2 " <<<"$1" | head -n 1)
    echo "${line##* }" | grep -E '^[0-9]+$' || echo 0
}

# ---- first start -----------------------------------------------------------
DIR="$T_TMP/data"
umask 022 # a usual operator's: kessaid must not rely on it
if kd_start "$DIR"; then
    ok "kessaid starts on a fresh data dir and answers /healthz"
else
    not_ok "kessaid starts on a fresh data dir and answers /healthz" "$(tail -n 5 "$DIR.log" 2>/dev/null)"
    t_done
fi
URL=$KD_URL
PORT=$KD_PORT

check "start line names the listen address" \
    grep -q "\"event\":\"kessaid_listening\".*\"listen\":\"127.0.0.1:$PORT\"" "$KD_LOG"

check "data dir is created private (0700)" test "$(stat -c %a "$DIR")" = 700
check "master key is created: 32 bytes, mode 0600" \
    test "$(stat -c %a "$DIR/master.key")" = 600 -a "$(stat -c %s "$DIR/master.key")" = 32
check "store file kessai.db is created" test -s "$DIR/kessai.db"
check "kessai.db and its WAL are the service's alone (0600)" \
    test "$(stat -c %a "$DIR/kessai.db")" = 600 -a "$(stat -c %a "$DIR/kessai.db-wal")" = 600

# ---- health and errors -----------------------------------------------------
req GET "$URL/healthz"
if [ "$R_STATUS" = 200 ] && [ "$R_BODY" = '{"status":"ok"}' ] && [ "$(header Content-Type)" = application/json ]; then
    ok "GET /healthz is 200 {\"status\":\"ok\"} as JSON"
else
    not_ok "GET /healthz is 200 {\"status\":\"ok\"} as JSON" "status $R_STATUS body $R_BODY"
fi
ID1=$(header Request-Id)
check "responses carry Cache-Control: no-store and nosniff" \
    test "$(header Cache-Control)" = no-store -a "$(header X-Content-Type-Options)" = nosniff

req GET "$URL/v1/no-such-thing"
ID2=$(header Request-Id)
if [ "$R_STATUS" = 404 ] && [ "$(json_error_code "$R_BODY")" = not_found ] &&
    [ "$(header Content-Type)" = application/json ] && [[ $ID2 == req_* ]]; then
    ok "unknown path is 404 not_found JSON with a Request-Id"
else
    not_ok "unknown path is 404 not_found JSON with a Request-Id" "status $R_STATUS id $ID2 body $R_BODY"
fi

req DELETE "$URL/healthz"
ID3=$(header Request-Id)
if [ "$R_STATUS" = 405 ] && [ "$(json_error_code "$R_BODY")" = method_not_allowed ] &&
    [ "$(header Allow)" = GET ] && [[ $ID3 == req_* ]]; then
    ok "wrong method is 405 method_not_allowed with Allow: GET and a Request-Id"
else
    not_ok "wrong method is 405 method_not_allowed with Allow: GET and a Request-Id" \
        "status $R_STATUS allow '$(header Allow)' body $R_BODY"
fi
check "every response has its own Request-Id" \
    test -n "$ID1" -a "$ID1" != "$ID2" -a "$ID2" != "$ID3" -a "$ID1" != "$ID3"

# ---- metrics -----------------------------------------------------------------
HEALTHZ='kessai_http_requests_total{method="GET",route="/healthz",code="2xx"}'
req GET "$URL/metrics"
BEFORE=$(metric "$R_BODY" "$HEALTHZ")
CT=$(header Content-Type)
for i in 1 2 3; do curl -s -o /dev/null "$URL/healthz"; done
req GET "$URL/metrics"
AFTER=$(metric "$R_BODY" "$HEALTHZ")
if [ "$R_STATUS" = 200 ] && [[ $CT == "text/plain; version=0.0.4"* ]] &&
    grep -q '^# TYPE kessai_http_requests_total counter$' <<<"$R_BODY"; then
    ok "GET /metrics is Prometheus text (0.0.4)"
else
    not_ok "GET /metrics is Prometheus text (0.0.4)" "status $R_STATUS content-type '$CT'"
fi
if [ "$BEFORE" -ge 1 ] && [ "$AFTER" -eq $((BEFORE + 3)) ]; then
    ok "/metrics counts /healthz requests ($BEFORE -> $AFTER after 3 more)"
else
    not_ok "/metrics counts /healthz requests" "before $BEFORE after $AFTER"
fi
check "/metrics counts the 404 under route=\"unmatched\", not the raw path" \
    grep -q '^kessai_http_requests_total{method="any",route="unmatched",code="4xx"} 2$' <<<"$R_BODY"
check "/metrics has the ledger commit histograms" \
    grep -q '^# TYPE kessai_ledger_commit_duration_seconds histogram$' <<<"$R_BODY"

# ---- a second server on the same port ------------------------------------------
kd_fail --data-dir "$T_TMP/other" --listen "127.0.0.1:$PORT"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: cannot listen on 127.0.0.1:$PORT: Address already in use$" <<<"$KD_ERR"; then
    ok "a second kessaid on a busy port exits non-zero saying the address is in use"
else
    not_ok "a second kessaid on a busy port exits non-zero saying the address is in use" \
        "status $KD_STATUS" "$KD_ERR"
fi
req GET "$URL/healthz"
check "the first server is unaffected" test "$R_STATUS" = 200

# ---- graceful shutdown -----------------------------------------------------------
# A request whose body is still arriving when SIGTERM comes must be answered.
{
    printf '{"slow":'
    sleep 1
    printf 'true}'
} | curl -s -T - -X POST -H 'Content-Type: application/json' -H 'Expect:' \
    -o "$T_TMP/slow.body" -w '%{http_code}' "$URL/healthz" >"$T_TMP/slow.status" &
SLOW=$!
sleep 0.4
kd_stop
wait "$SLOW"
SLOW_STATUS=$(cat "$T_TMP/slow.status")
if [ "$SLOW_STATUS" = 405 ] && [ "$(json_error_code "$(cat "$T_TMP/slow.body")")" = method_not_allowed ]; then
    ok "a request in flight at SIGTERM still gets its full answer"
else
    not_ok "a request in flight at SIGTERM still gets its full answer" "status '$SLOW_STATUS'"
fi
check "SIGTERM ends kessaid with exit status 0" test "$KD_STATUS" = 0
if grep -q '"event":"kessaid_shutdown".*"signal":"SIGTERM".*"in_flight":1' "$KD_LOG" &&
    grep -q '"event":"kessaid_stopped".*"unfinished_requests":0' "$KD_LOG"; then
    ok "shutdown is logged with the request it waited for"
else
    not_ok "shutdown is logged with the request it waited for" "$(tail -n 3 "$KD_LOG")"
fi
check "port is free after shutdown" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null"

# ---- restart keeps the key ---------------------------------------------------------
KEY_SUM=$(sha256sum <"$DIR/master.key")
if kd_start "$DIR" && [ "$(sha256sum <"$DIR/master.key")" = "$KEY_SUM" ]; then
    ok "restart on the same data dir serves again with the same master key"
else
    not_ok "restart on the same data dir serves again with the same master key"
fi
kill -INT "$KD_PID"
wait "$KD_PID"
check "SIGINT also ends kessaid with exit status 0" test $? = 0

# ---- an audit log waiting for the operator's backfill -----------------------------------
# The backfill marker of a database from before the audit chain, put back
# by someone with write access: kessaid does not chain (sign) the log as it
# reads, it refuses to start and names the command; the operator's backfill
# (the log is chained already) removes the marker and signs nothing.
"${KESSAID%d}" --data-dir "$DIR" admin killswitch on topups --reason test >/dev/null 2>&1
"${KESSAID%d}" --data-dir "$DIR" admin killswitch off topups >/dev/null 2>&1
sqlite3 "$DIR/kessai.db" "INSERT INTO audit_backfill VALUES (1)"
kd_fail --data-dir "$DIR" --listen 127.0.0.1:0
if [ "$KD_STATUS" -ne 0 ] && grep -q "kessai audit backfill" <<<"$KD_ERR" && grep -q '"audit_backfill_pending"' <<<"$KD_ERR"; then
    ok "an audit log put back to before its chain: kessaid refuses to start, naming 'kessai audit backfill'"
else
    not_ok "an audit log put back to before its chain: kessaid refuses to start" "status $KD_STATUS" "$KD_ERR"
fi
"${KESSAID%d}" --data-dir "$DIR" audit backfill >/dev/null 2>&1
check "the operator's backfill of a chained log exits 1 and removes the marker" \
    test $? = 1 -a "$(sqlite3 "$DIR/kessai.db" "SELECT count(*) FROM audit_backfill")" = 0

# ---- logs ----------------------------------------------------------------------------
KEY_HEX=$(od -An -tx1 -v "$DIR/master.key" | tr -d ' \n')
KEY_B64=$(base64 -w0 <"$DIR/master.key")
KEY_B64URL=$(tr '+/' '-_' <<<"$KEY_B64" | tr -d '=')
if [ ${#KEY_HEX} = 64 ] && ! grep -qiF -e "$KEY_HEX" -e "${KEY_B64%%=*}" -e "$KEY_B64URL" "$DIR.log"; then
    ok "the server log never contains the master key (hex or base64)"
else
    not_ok "the server log never contains the master key (hex or base64)"
fi
check "every server log line is one JSON object" bash -c "! grep -qv '^{.*}\$' '$DIR.log'"

# ---- command line ----------------------------------------------------------------------
kd_fail --bogus
if [ "$KD_STATUS" -ne 0 ] && [ "$KD_ERR" = "kessaid: unknown option '--bogus' (try --help)" ]; then
    ok "unknown flag: non-zero exit and one clear line"
else
    not_ok "unknown flag: non-zero exit and one clear line" "status $KD_STATUS" "$KD_ERR"
fi
kd_fail --data-dir "$T_TMP/x" --listen
if [ "$KD_STATUS" -ne 0 ] && [ "$KD_ERR" = "kessaid: option '--listen' needs a value (try --help)" ]; then
    ok "flag without its value: non-zero exit and one clear line"
else
    not_ok "flag without its value: non-zero exit and one clear line" "status $KD_STATUS" "$KD_ERR"
fi
kd_fail --data-dir "$T_TMP/x" --listen nonsense
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: listen: expected HOST:PORT" <<<"$KD_ERR"; then
    ok "malformed --listen: non-zero exit naming the setting"
else
    not_ok "malformed --listen: non-zero exit naming the setting" "status $KD_STATUS" "$KD_ERR"
fi
HELP=$(timeout 10 "$KESSAID" --help 2>/dev/null)
check "--help prints usage and exits 0" grep -q "^usage: kessaid .*--data-dir DIR" <<<"$HELP"

# ---- data dir refusals -----------------------------------------------------------------
touch "$T_TMP/a-file"
kd_fail --data-dir "$T_TMP/a-file" --listen "127.0.0.1:$(free_port)"
if [ "$KD_STATUS" -ne 0 ] && [ "$KD_ERR" = "kessaid: data dir $T_TMP/a-file is not a directory" ]; then
    ok "data dir that is a file: non-zero exit and a clear message"
else
    not_ok "data dir that is a file: non-zero exit and a clear message" "status $KD_STATUS" "$KD_ERR"
fi
mkdir "$T_TMP/locked"
chmod 000 "$T_TMP/locked"
kd_fail --data-dir "$T_TMP/locked" --listen "127.0.0.1:$(free_port)"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: data dir $T_TMP/locked must be readable, writable" <<<"$KD_ERR" &&
    [ ! -e "$T_TMP/locked/master.key" ] 2>/dev/null; then
    ok "unreadable data dir (chmod 000): non-zero exit and a clear message"
else
    not_ok "unreadable data dir (chmod 000): non-zero exit and a clear message" "status $KD_STATUS" "$KD_ERR"
fi
chmod 700 "$T_TMP/locked"
kd_fail --data-dir "$T_TMP/no/such/parent" --listen "127.0.0.1:$(free_port)"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: cannot create data dir $T_TMP/no/such/parent: " <<<"$KD_ERR"; then
    ok "data dir that cannot be created: non-zero exit and a clear message"
else
    not_ok "data dir that cannot be created: non-zero exit and a clear message" "status $KD_STATUS" "$KD_ERR"
fi

# ---- configuration precedence: defaults < file < environment < flags ---------------------
ENV_PORT=$(free_port)
FLAG_PORT=$(free_port)
while [ "$FLAG_PORT" = "$ENV_PORT" ]; do FLAG_PORT=$(free_port); done
export KESSAI_LISTEN="127.0.0.1:$ENV_PORT"
if kd_spawn "http://127.0.0.1:$FLAG_PORT" "$T_TMP/env.log" --data-dir "$T_TMP/env" --listen "127.0.0.1:$FLAG_PORT" &&
    ! listening "$ENV_PORT"; then
    ok "--listen overrides KESSAI_LISTEN"
else
    not_ok "--listen overrides KESSAI_LISTEN" "$(tail -n 3 "$T_TMP/env.log")"
fi
kd_stop
if kd_spawn "http://127.0.0.1:$ENV_PORT" "$T_TMP/env2.log" --data-dir "$T_TMP/env"; then
    ok "KESSAI_LISTEN applies when there is no flag"
else
    not_ok "KESSAI_LISTEN applies when there is no flag" "$(tail -n 3 "$T_TMP/env2.log")"
fi
kd_stop
unset KESSAI_LISTEN

CONF_PORT=$(free_port)
cat >"$T_TMP/kessai.ini" <<INI
[server]
listen = 127.0.0.1:$CONF_PORT
max_body_bytes = 2048
threads = 2
INI
BIG=$(head -c 3000 /dev/zero | tr '\0' 'x')
if kd_spawn "http://127.0.0.1:$CONF_PORT" "$T_TMP/conf.log" --config "$T_TMP/kessai.ini" --data-dir "$T_TMP/conf"; then
    ok "listen address from the config file is used"
    req POST "$KD_URL/healthz" -H 'Content-Type: application/json' -H 'Expect:' --data-binary "$BIG"
    if [ "$R_STATUS" = 413 ] && [ "$(json_error_code "$R_BODY")" = payload_too_large ]; then
        ok "max_body_bytes from the config file is enforced (3000 > 2048 -> 413)"
    else
        not_ok "max_body_bytes from the config file is enforced (3000 > 2048 -> 413)" "status $R_STATUS $R_BODY"
    fi
    kd_stop
else
    not_ok "listen address from the config file is used" "$(tail -n 3 "$T_TMP/conf.log")"
fi
if KESSAI_MAX_BODY_BYTES=4096 kd_spawn "http://127.0.0.1:$CONF_PORT" "$T_TMP/conf2.log" \
    --config "$T_TMP/kessai.ini" --data-dir "$T_TMP/conf"; then
    req POST "$KD_URL/healthz" -H 'Content-Type: application/json' -H 'Expect:' --data-binary "$BIG"
    if [ "$R_STATUS" = 405 ]; then
        ok "KESSAI_MAX_BODY_BYTES overrides the config file (3000 <= 4096 -> routed, 405)"
    else
        not_ok "KESSAI_MAX_BODY_BYTES overrides the config file" "status $R_STATUS $R_BODY"
    fi
    kd_stop
else
    not_ok "KESSAI_MAX_BODY_BYTES overrides the config file" "$(tail -n 3 "$T_TMP/conf2.log")"
fi

printf '[server]\nthreads = lots\n' >"$T_TMP/bad.ini"
kd_fail --config "$T_TMP/bad.ini" --data-dir "$T_TMP/bad"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: .*bad.ini: threads: expected an integer" <<<"$KD_ERR"; then
    ok "bad value in the config file: non-zero exit naming file and setting"
else
    not_ok "bad value in the config file: non-zero exit naming file and setting" "status $KD_STATUS" "$KD_ERR"
fi
printf '[server]\ncolour = blue\n' >"$T_TMP/unknown.ini"
kd_fail --config "$T_TMP/unknown.ini" --data-dir "$T_TMP/bad"
if [ "$KD_STATUS" -ne 0 ] && grep -q "unknown setting server.colour" <<<"$KD_ERR"; then
    ok "unknown key in the config file: non-zero exit naming it"
else
    not_ok "unknown key in the config file: non-zero exit naming it" "status $KD_STATUS" "$KD_ERR"
fi
KD_ERR=$(KESSAI_MAX_BODY_BYTES=12 timeout 10 "$KESSAID" --data-dir "$T_TMP/bad" 2>&1 >/dev/null)
KD_STATUS=$?
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: KESSAI_MAX_BODY_BYTES: max_body_bytes: expected an integer" <<<"$KD_ERR"; then
    ok "bad value in the environment: non-zero exit naming the variable"
else
    not_ok "bad value in the environment: non-zero exit naming the variable" "status $KD_STATUS" "$KD_ERR"
fi
printf '[risk]\nrisk_challenge_score = 100\n' >"$T_TMP/risk.ini"
kd_fail --config "$T_TMP/risk.ini" --data-dir "$T_TMP/bad"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: risk_challenge_score: must not exceed risk_hold_score" <<<"$KD_ERR"; then
    ok "risk settings that contradict each other: non-zero exit naming one"
else
    not_ok "risk settings that contradict each other: non-zero exit naming one" "status $KD_STATUS" "$KD_ERR"
fi
kd_fail --config "$T_TMP/missing.ini" --data-dir "$T_TMP/bad"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: cannot open config file $T_TMP/missing.ini" <<<"$KD_ERR"; then
    ok "missing config file: non-zero exit naming it"
else
    not_ok "missing config file: non-zero exit naming it" "status $KD_STATUS" "$KD_ERR"
fi
check "refused starts created nothing" test ! -e "$T_TMP/bad"

# ---- clock file (simulator and tests only) -----------------------------------------------
# KESSAI_CLOCK_FILE: the wall clock read from an 8-byte little-endian int64
# of Unix ms.  One that someone else could move (to replay a one-time code)
# is refused before anything starts.
clock_write() { # FILE MS: the clock's 8 bytes, in place (kessaid maps the file)
    perl -e 'print pack("q<", $ARGV[0])' "$2" | dd of="$1" conv=notrunc status=none
}
CLK="$T_TMP/clock"
KESSAI_CLOCK_FILE="$T_TMP/no-clock" kd_fail --data-dir "$T_TMP/clk-bad" --listen "127.0.0.1:$(free_port)"
if [ "$KD_STATUS" -ne 0 ] && grep -q "^kessaid: cannot open clock file $T_TMP/no-clock: No such file" <<<"$KD_ERR"; then
    ok "missing clock file: kessaid refuses to start, naming it"
else
    not_ok "missing clock file: kessaid refuses to start, naming it" "status $KD_STATUS" "$KD_ERR"
fi
clock_write "$CLK" 1893553445000
chmod 620 "$CLK"
KESSAI_CLOCK_FILE="$CLK" kd_fail --data-dir "$T_TMP/clk-bad" --listen "127.0.0.1:$(free_port)"
if [ "$KD_STATUS" -ne 0 ] && [ "$KD_ERR" = "kessaid: clock file $CLK is writable by group or others" ]; then
    ok "group-writable clock file (someone else could move it): refused at start-up"
else
    not_ok "group-writable clock file (someone else could move it): refused at start-up" "status $KD_STATUS" "$KD_ERR"
fi
chmod 602 "$CLK"
KESSAI_CLOCK_FILE="$CLK" kd_fail --data-dir "$T_TMP/clk-bad" --listen "127.0.0.1:$(free_port)"
check "world-writable clock file: refused at start-up" \
    grep -q "^kessaid: clock file $CLK is writable by group or others$" <<<"$KD_ERR"
printf 'abcd' >"$T_TMP/clock4"
chmod 600 "$T_TMP/clock4"
KESSAI_CLOCK_FILE="$T_TMP/clock4" kd_fail --data-dir "$T_TMP/clk-bad" --listen "127.0.0.1:$(free_port)"
check "clock file of the wrong size: refused at start-up" \
    grep -q "^kessaid: clock file $T_TMP/clock4 is not 8 bytes" <<<"$KD_ERR"
check "refused clock files created nothing" test ! -e "$T_TMP/clk-bad"

chmod 600 "$CLK"
T1=1893553445000 # 2030-01-02T03:04:05.000Z
T2=1893553505250 # a minute and 250 ms later
if KESSAI_CLOCK_FILE="$CLK" kd_start "$T_TMP/clk"; then
    check "with a clock file, kessaid's log times are the file's" \
        grep -q '"ts":"2030-01-02T03:04:05.000Z","level":"info","event":"kessaid_listening"' "$KD_LOG"
    req POST "$KD_URL/v1/registrations" -H 'Content-Type: application/json' \
        --data '{"email":"clock1@example.jp","password":"violet-harbour-teapot-42"}'
    R1=$R_STATUS
    clock_write "$CLK" "$T2"
    req POST "$KD_URL/v1/registrations" -H 'Content-Type: application/json' \
        --data '{"email":"clock2@example.jp","password":"violet-harbour-teapot-42"}'
    STORED=$(sqlite3 "$T_TMP/clk/kessai.db" "SELECT group_concat(created_ms, ',') FROM (SELECT created_ms FROM customers ORDER BY id)")
    if [ "$R1" = 202 ] && [ "$R_STATUS" = 202 ] && [ "$STORED" = "$T1,$T2" ]; then
        ok "with a clock file, stored times follow it as it moves (customers.created_ms)"
    else
        not_ok "with a clock file, stored times follow it as it moves (customers.created_ms)" \
            "status $R1 $R_STATUS stored $STORED"
    fi
    kd_stop
else
    not_ok "kessaid starts with a private clock file" "$(tail -n 3 "$T_TMP/clk.log")"
fi

t_done
