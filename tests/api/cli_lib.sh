# cli_lib.sh: helpers for the suites that drive the kessai CLI
# (test_cli.sh, test_cli_staff.sh); source it after lib.sh.
#
# Needs bash, coreutils, grep and the sqlite3 shell (which also reads the
# --json output, through its JSON functions, and searches the database files
# for secrets, through readfile() and instr() on blobs).
#
# Environment: KESSAI (default build/asan/kessai).  Each suite sets D, its
# data directory, before calling k.
#
# shellcheck shell=bash disable=SC2034  # T, OUT, ERR are for the suites
KESSAI=${KESSAI:-$T_ROOT/build/asan/kessai}
T=$T_TMP
unset KESSAI_DATA_DIR
LAST_CMD=
RC=

# COND; verdict NAME: report the status of the condition just evaluated,
# with the last kessai run as the diagnostic when it failed.
verdict() {
    local rc=$? lines=()
    if [ "$rc" = 0 ]; then
        ok "$1"
        return
    fi
    lines+=("last command: $LAST_CMD" "exit status: $RC")
    mapfile -t -O ${#lines[@]} lines < <(sed 's/^/stdout: /' "$T/out" 2>/dev/null | head -n 20)
    mapfile -t -O ${#lines[@]} lines < <(sed 's/^/stderr: /' "$T/err" 2>/dev/null | head -n 20)
    not_ok "$1" "${lines[@]}"
}

# k ARGS...: run kessai on the test's data dir; stdout in $T/out and $OUT,
# stderr in $T/err, exit status in $RC.
k() {
    LAST_CMD="kessai --data-dir $D $*"
    "$KESSAI" --data-dir "$D" "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# SQL string literal of $1.
Q="'"
lit() { printf "'%s'" "${1//$Q/$Q$Q}"; }
# j JSON PATH: one value out of a JSON text, e.g. j "$OUT" '$.id'
j() { sqlite3 :memory: "SELECT json_extract($(lit "$1"), '$2')"; }
# jlen JSON PATH: length of the array at PATH
jlen() { sqlite3 :memory: "SELECT json_array_length($(lit "$1"), '$2')"; }
# jcol JSON ARRAY_PATH FIELD: FIELD of every element, comma-separated
jcol() { sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.$3'), ',') FROM json_each($(lit "$1"), '$2')"; }
json_valid() { [ "$(sqlite3 :memory: "SELECT json_valid($(lit "$1"))")" = 1 ]; }
has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }
# in_db_files NEEDLE_SQL: 1 if any database file holds the SQL blob/text value
in_db_files() {
    local f found=0
    for f in "$D"/kessai.db*; do
        [ -f "$f" ] || continue
        if [ "$(sqlite3 :memory: "SELECT instr(readfile('$f'), $1) > 0")" = 1 ]; then found=1; fi
    done
    [ "$found" = 1 ]
}
