# lib.sh: helpers for the API suites (tests/api/test_*.sh); source it.
#
# TAP without a plan: each check prints "ok N - name" or "not ok N - name"
# followed by "# …" diagnostics; scripts/check.sh counts them.  End a suite
# with `t_done`, which exits non-zero if anything failed.
#
# Servers: kd_start DIR [flags…] runs $KESSAID (the binary under test) on
# 127.0.0.1 at a free port with data dir DIR, and waits for /healthz;
# kd_stop sends SIGTERM and collects the exit status in KD_STATUS.  Every
# process started here and the scratch directory $T_TMP are removed on exit,
# whatever happens.
#
# Only bash, curl and coreutils are needed.

set -u
# Settings from the caller's environment would leak into every server here.
unset "${!KESSAI_@}"

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KESSAID=${KESSAID:-$T_ROOT/build/asan/kessaid}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kessai-api.XXXXXX")
T_NUM=0
T_FAILED=0
T_PIDS=()

t_cleanup() {
    local pid
    for pid in "${T_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    chmod -R u+rwx "$T_TMP" 2>/dev/null
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

ok() { # NAME
    T_NUM=$((T_NUM + 1))
    echo "ok $T_NUM - $1"
}

not_ok() { # NAME [DIAGNOSTIC…]
    T_NUM=$((T_NUM + 1))
    T_FAILED=$((T_FAILED + 1))
    echo "not ok $T_NUM - $1"
    shift
    local line
    for line in "$@"; do
        printf '# %s\n' "$line"
    done
}

check() { # NAME COMMAND…: ok when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

t_done() {
    [ "$T_FAILED" -eq 0 ]
    exit $?
}

# A port nothing listens on, below Linux's ephemeral range (32768-60999) so
# an outgoing connection cannot be holding it.
free_port() {
    local i port
    for i in $(seq 1 100); do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

listening() { # PORT: true if something accepts connections there
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kd_spawn URL LOG ARGS…: start kessaid with ARGS, stderr to LOG, and wait
# until URL/healthz answers 200.  Sets KD_PID, KD_URL, KD_LOG.
kd_spawn() {
    KD_URL=$1
    KD_LOG=$2
    shift 2
    "$KESSAID" "$@" 2>"$KD_LOG" &
    KD_PID=$!
    T_PIDS+=("$KD_PID")
    local i
    for i in $(seq 1 200); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$KD_URL/healthz")" = 200 ]; then
            return 0
        fi
        kill -0 "$KD_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# kd_start DIR [FLAGS…]: kessaid on 127.0.0.1:<free port> with --data-dir DIR.
# Sets KD_PORT too.  The log is DIR.log.
kd_start() {
    local dir=$1
    shift
    KD_PORT=$(free_port) || return 1
    kd_spawn "http://127.0.0.1:$KD_PORT" "$dir.log" --data-dir "$dir" --listen "127.0.0.1:$KD_PORT" "$@"
}

# kd_stop: SIGTERM the server started last and wait; KD_STATUS = exit status.
kd_stop() {
    kill -TERM "$KD_PID" 2>/dev/null
    wait "$KD_PID"
    KD_STATUS=$?
}

# kd_fail ARGS…: run kessaid expecting it to refuse to start.  KD_STATUS is
# its exit status, KD_ERR its stderr.  A server that does start is killed
# after 10 s, so a wrong expectation fails instead of hanging.
kd_fail() {
    KD_ERR=$(timeout 10 "$KESSAID" "$@" 2>&1 >/dev/null)
    KD_STATUS=$?
}

# req METHOD URL [CURL ARGS…]: sets R_STATUS, R_BODY and R_HEADERS (a file).
req() {
    local method=$1 url=$2
    shift 2
    R_HEADERS="$T_TMP/headers.$T_NUM"
    R_STATUS=$(curl -s -X "$method" -D "$R_HEADERS" -o "$T_TMP/body" -w '%{http_code}' "$url" "$@")
    R_BODY=$(cat "$T_TMP/body" 2>/dev/null)
}

header() { # NAME: its value in the last req's response ("" if absent)
    grep -i "^$1:" "$R_HEADERS" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}
