#!/bin/bash
# test_demo.sh: what `make demo` gives a newcomer (scripts/demo.sh on the
# binaries under test): a seeded data directory, a running kessaid, private
# files with the credentials that were shown once, and staff who can sign
# in to the admin API; run again, it adds nothing and serves the same data.
source "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$KESSAID")
DIR=$T_TMP/var
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# The helpers the script runs, wrapped to log their command lines: any
# local user can read a process's arguments, so no secret may be among them.
WRAP=$T_TMP/wrap
ARGV_LOG=$T_TMP/argv.log
mkdir -p "$WRAP"
for tool in sqlite3 oathtool; do
    printf '#!/bin/bash\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$ARGV_LOG" "$(command -v $tool)" >"$WRAP/$tool"
    chmod +x "$WRAP/$tool"
done

# demo_start LOG: scripts/demo.sh in the background (it execs kessaid, so
# the job is the server), waiting for /healthz.
demo_start() {
    PATH=$WRAP:$PATH KESSAI_DATA_DIR=$DIR KESSAI_LISTEN=127.0.0.1:$PORT "$T_ROOT/scripts/demo.sh" "$BUILD" >"$1" 2>&1 &
    KD_PID=$!
    T_PIDS+=("$KD_PID")
    local i
    for i in $(seq 1 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] && return 0
        kill -0 "$KD_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# data_lines FILE: its lines that are not comments
data_lines() { grep -vc '^#' "$1"; }

if demo_start "$T_TMP/first.out"; then ok "make demo's script seeds and serves on the given port"; else
    not_ok "make demo's script seeds and serves on the given port" "$(tail -5 "$T_TMP/first.out")"
fi
check "it says the data was seeded and where the staff credentials are" \
    bash -c "grep -q '(demo data seeded)' '$T_TMP/first.out' && grep -q 'staff sign-in: *$DIR/demo-staff.txt' '$T_TMP/first.out'"
check "the credentials files are private" \
    test "$(stat -c %a "$DIR/demo-terminals.txt") $(stat -c %a "$DIR/demo-staff.txt")" = "600 600"
check "six terminal secrets and two staff members filed" \
    test "$(data_lines "$DIR/demo-terminals.txt") $(data_lines "$DIR/demo-staff.txt")" = "6 2"
check "no password or TOTP secret on the terminal" \
    bash -c "! grep -q 'otpauth://\|demo [A-Za-z0-9_-]\{20\}' '$T_TMP/first.out'"
# every terminal secret and staff TOTP secret filed, none on a command line
secrets=$( (grep -v '^#' "$DIR/demo-terminals.txt" | cut -f4; grep -v '^#' "$DIR/demo-staff.txt" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p') | grep .)
check "no terminal or TOTP secret on a helper's command line ($(wc -l <<<"$secrets") secrets, $(wc -l <"$ARGV_LOG") commands)" \
    bash -c "[ \$(wc -l <<<'$secrets') = 8 ] && [ -s '$ARGV_LOG' ] && ! grep -qF -f <(printf '%s\n' '$secrets') '$ARGV_LOG'"

# The administrator signs in with the filed password and a code from the
# authenticator (the next step's: the first step's code confirmed the
# account and is spent; the server accepts one step either side).
IFS=$'\t' read -r email role password uri < <(grep '^admin@' "$DIR/demo-staff.txt")
secret=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' <<<"$uri")
code=$(oathtool --totp -b "$secret" --now "$(date -u -d '+30 seconds' '+%Y-%m-%d %H:%M:%S UTC')")
body=$(printf '{"email":"%s","password":"%s","totp_code":"%s"}' "$email" "$password" "$code")
req POST "$URL/admin/v1/sessions" -H 'Content-Type: application/json' -d "$body"
if [ "$R_STATUS" = 201 ] && [[ "$R_BODY" == *'"role":"administrator"'* ]]; then
    ok "the demo administrator signs in to the admin API with the filed credentials"
else
    not_ok "the demo administrator signs in to the admin API with the filed credentials" "$R_STATUS $R_BODY"
fi
check "the analyst is active too" \
    bash -c "'$BUILD/kessai' --data-dir '$DIR' admin staff list | grep -q 'fraud_analyst *active *.*analyst@kessai.example'"

kd_stop
check "Ctrl-C (SIGTERM) stops the demo server cleanly" test "$KD_STATUS" = 0

# Again: nothing new, the same server.
if demo_start "$T_TMP/second.out"; then ok "a second run serves the same directory"; else
    not_ok "a second run serves the same directory" "$(tail -5 "$T_TMP/second.out")"
fi
check "the second run says the data was already there" grep -q '(demo data already present)' "$T_TMP/second.out"
check "and filed nothing twice" \
    test "$(data_lines "$DIR/demo-terminals.txt") $(data_lines "$DIR/demo-staff.txt")" = "6 2"
kd_stop
check "the ledger and the audit log verify after the demo" \
    bash -c "'$BUILD/kessai' --data-dir '$DIR' ledger verify >/dev/null && '$BUILD/kessai' --data-dir '$DIR' audit verify >/dev/null"

t_done
