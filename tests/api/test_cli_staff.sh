#!/bin/bash
# test_cli_staff.sh: staff accounts through the kessai CLI, the way an
# administrator enrols a colleague: create (password on stdin, TOTP URI shown
# once), confirm with the first code of the authenticator app, list, disable,
# enable.  TAP through tests/api/lib.sh; helpers in tests/api/cli_lib.sh.
#
# The authenticator app is played by oathtool (Debian package oathtool,
# installed by scripts/deps.sh); the base32 TOTP secret is decoded with
# coreutils' base32 to look for its raw bytes in the database files.  The
# terminal case needs script(1) from util-linux and is skipped without it.
# shellcheck source=tests/api/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/api/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
D=$T/data
ALL=$T/all-output # every byte the CLI printed, searched for passwords at the end

# ks ARGS... [<<<INPUT]: k, keeping a copy of the output in $ALL.
ks() {
    k "$@"
    cat "$T/out" "$T/err" >>"$ALL"
}
# secret_of URI: the base32 TOTP secret inside an otpauth:// URI
secret_of() { sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' <<<"$1"; }
# hex_of BASE32: the secret's bytes as lowercase hex
hex_of() { printf '%s' "$1" | base32 -d | od -An -tx1 | tr -d ' \n'; }
# totp BASE32 [UNIX_TIME]: the code the app shows (now, or at that time)
totp() { oathtool --totp -b "$1" ${2:+-N "@$2"}; }
# status_of EMAIL: the account's status as `staff list --json` shows it
status_of() {
    k admin staff list --json
    sqlite3 :memory: "SELECT json_extract(value, '\$.status') FROM json_each($(lit "$OUT"), '\$.staff')
                      WHERE json_extract(value, '\$.email') = $(lit "$1")"
}
staff_count() {
    k admin staff list --json
    jlen "$OUT" '$.staff'
}

PW='Kessai staff passphrase 7 blue herons'
PW2='Second staff member: 42 quiet lanterns'
WEAK='password1234'

if [ ! -x "$KESSAI" ]; then
    not_ok "kessai binary at $KESSAI"
    t_done
fi
if ! command -v oathtool >/dev/null; then
    not_ok "oathtool is installed (scripts/deps.sh installs it)"
    t_done
fi

# ---------------------------------------------------------------- help

k admin staff --help
missing=
for w in "admin staff create " "admin staff confirm " "admin staff list " "admin staff disable " \
    "admin staff enable " pending_2fa active disabled support fraud_analyst finance administrator; do
    has "$OUT" "$w" || missing="$missing [$w]"
done
[ "$RC" = 0 ] && [ -z "$missing" ]
verdict "admin staff --help lists the commands, the roles and the life cycle$missing"

k admin staff create --help
missing=
for w in "usage: kessai [--data-dir DIR] admin staff create --email EMAIL --role ROLE [--json]" "standard input" \
    "without echo" "otpauth://" "shown this once" "kessai admin staff confirm --email EMAIL --code CODE" \
    support fraud_analyst finance administrator; do
    has "$OUT" "$w" || missing="$missing [$w]"
done
[ "$RC" = 0 ] && [ -z "$missing" ]
verdict "staff create --help explains stdin, the one-time URI, confirm and the roles$missing"
k admin create-staff --help
[ "$RC" = 0 ] && has "$OUT" "usage: kessai [--data-dir DIR] admin create-staff --email EMAIL --role ROLE" &&
    has "$OUT" "otpauth://"
verdict "admin create-staff --help is the same command's help"
bad=
for c in confirm list disable enable; do
    k admin staff $c --help
    { [ "$RC" = 0 ] && has "$OUT" "usage: kessai [--data-dir DIR] admin staff $c"; } || bad="$bad [$c]"
done
[ -z "$bad" ]
verdict "staff confirm/list/disable/enable answer --help$bad"

# ------------------------------------------------------- usage errors

# Each: exit 2, the problem named on stderr, nothing on stdout, and nothing
# created: no database, no master key, not even the data directory.
usage_case() { # name, expected stderr text, stdin, args...
    local name=$1 want=$2 input=$3
    shift 3
    ks "$@" <<<"$input"
    [ "$RC" = 2 ] && has "$ERR" "$want" && [ -z "$OUT" ] && [ ! -e "$D" ]
    verdict "usage error: $name"
}
usage_case "unknown role" "--role must be one of: support, fraud_analyst, finance, administrator" "$PW" \
    admin staff create --email a@example.com --role root
usage_case "malformed e-mail" "--email: 'not-an-address' is not a valid e-mail address" "$PW" \
    admin staff create --email not-an-address --role support
usage_case "missing role" "missing required option --role" "$PW" admin staff create --email a@example.com
usage_case "weak password" "password refused: " "$WEAK" admin staff create --email a@example.com --role support
lacks "$ERR" "$WEAK"
verdict "the weak password's refusal does not repeat the password"
usage_case "short password" "password refused: the password must be 12 to 128 characters" "short pw 1" \
    admin staff create --email a@example.com --role support
usage_case "password like the e-mail address" "password refused: " "adalovelace@example.com" \
    admin staff create --email adalovelace@example.com --role support
usage_case "empty password line" "no password" "" admin staff create --email a@example.com --role support
ks admin staff create --email a@example.com --role support </dev/null
[ "$RC" = 2 ] && has "$ERR" "no password" && [ ! -e "$D" ]
verdict "usage error: no standard input at all"
usage_case "password too long for any policy" "12 to 128 characters" "$(head -c 600 /dev/zero | tr '\0' x)" \
    admin staff create --email a@example.com --role support
usage_case "code that is not 6 digits" "--code: expected the 6 digits" "" \
    admin staff confirm --email a@example.com --code 12345x
usage_case "disable with a malformed address" "EMAIL: 'nobody' is not a valid e-mail address" "" \
    admin staff disable nobody
usage_case "list with a cursor of another type" "not a valid id" "" admin staff list --after mer_0000000000001

# ------------------------------------------------------------- create

mkdir -p "$D" # and no more: the first staff create makes the database and the master key
ks admin staff create --email Alice@Example.COM --role finance <<<"$PW"
URI=$(sed -n 's/^otpauth URI: //p' "$T/out")
SECRET=$(secret_of "$URI")
[ "$RC" = 0 ] && grep -qx "staff alice@example.com created: role finance, status pending_2fa" "$T/out"
verdict "staff create prints the (lower-cased) address, the role and status pending_2fa"
[[ "$URI" == otpauth://totp/kessai-admin:alice%40example.com\?* ]] && [[ "$SECRET" =~ ^[A-Z2-7]{32}$ ]]
verdict "staff create prints an otpauth:// URI with a 160-bit base32 secret"
[ "$(cat "$T/out" "$T/err" | grep -c "otpauth://")" = 1 ] && [ "$(cat "$T/out" "$T/err" | grep -c "$SECRET")" = 1 ]
verdict "the URI and its secret are printed exactly once"
has "$ERR" "holds the TOTP secret" && has "$ERR" "only time it is shown" &&
    has "$ERR" "kessai admin staff confirm --email alice@example.com --code CODE" && has "$ERR" "inactive"
verdict "a note says the URI holds the secret, is not shown again, and how to confirm"
[ "$(stat -c %a "$D/master.key")" = 600 ] && [ "$(stat -c %a "$D/kessai.db")" = 600 ]
verdict "the master key and the database are created private"

ks admin create-staff --email bob@example.com --role fraud_analyst --json <<<"$PW2"
URI_BOB=$(j "$OUT" '$.otpauth_uri')
SECRET_BOB=$(secret_of "$URI_BOB")
[ "$RC" = 0 ] && json_valid "$OUT" && one_line "$OUT" && [ "$(j "$OUT" '$.status')" = pending_2fa ] &&
    [ "$(j "$OUT" '$.role')" = fraud_analyst ] && [[ "$(j "$OUT" '$.id')" =~ ^stf_[0-9a-z]{13}$ ]] &&
    [[ "$SECRET_BOB" =~ ^[A-Z2-7]{32}$ ]]
verdict "admin create-staff --json: one line with id, role, status and otpauth_uri"
lacks "$OUT" "argon2" && lacks "$OUT" "password"
verdict "staff create --json shows no password and no hash"
[ "$SECRET" != "$SECRET_BOB" ]
verdict "two accounts get different TOTP secrets"

ks admin staff create --email ALICE@example.com --role support <<<"$PW2"
[ "$RC" = 1 ] && has "$ERR" "alice@example.com: a staff account with this e-mail address already exists" &&
    lacks "$OUT$ERR" "otpauth" && [ "$(staff_count)" = 2 ]
verdict "a second account for the same address (any case) fails with exit 1 and creates nothing"
ks admin staff create --email carol@example.com --role support <<<"$WEAK"
[ "$RC" = 2 ] && has "$ERR" "password refused" && [ "$(staff_count)" = 2 ] &&
    [ -z "$(status_of carol@example.com)" ]
verdict "a weak password stores nothing"

# --------------------------------------------------------------- list

k admin staff list --json
LIST_JSON=$OUT
[ "$RC" = 0 ] && [ "$(jcol "$OUT" '$.staff' email)" = "alice@example.com,bob@example.com" ] &&
    [ "$(jcol "$OUT" '$.staff' status)" = "pending_2fa,pending_2fa" ] &&
    [ "$(jcol "$OUT" '$.staff' role)" = "finance,fraud_analyst" ] && [ -z "$(j "$OUT" '$.next_after')" ]
verdict "staff list --json: both accounts, their roles, status pending_2fa"
[ "$(sqlite3 :memory: "SELECT group_concat(key) FROM json_each(json_extract($(lit "$OUT"), '\$.staff[0]'))")" = \
    "id,email,role,status,created" ]
verdict "a staff row has id, email, role, status and created, nothing else"
k admin staff list
LIST_TEXT=$OUT
[ "$RC" = 0 ] && head -1 "$T/out" | grep -q "^ID .*ROLE .*STATUS .*CREATED .*EMAIL" &&
    grep -q "^stf_[0-9a-z]\{13\}  finance  .*pending_2fa  .*alice@example.com$" "$T/out"
verdict "staff list (text) has a header and a row per account"
LISTS="$LIST_JSON $LIST_TEXT"
lacks "$LISTS" "$SECRET" && lacks "$LISTS" "$SECRET_BOB" && lacks "$LISTS" "argon2" && lacks "$LISTS" "$PW"
verdict "staff list never shows a password, its hash or a TOTP secret"
k admin staff list --json --limit 1
NEXT=$(j "$OUT" '$.next_after')
[ "$(jlen "$OUT" '$.staff')" = 1 ] && [ "$NEXT" = "$(j "$OUT" '$.staff[0].id')" ]
verdict "staff list --limit 1 gives one row and the cursor of the next page"
k admin staff list --json --after "$NEXT"
[ "$(jcol "$OUT" '$.staff' email)" = "bob@example.com" ] && [ -z "$(j "$OUT" '$.next_after')" ]
verdict "staff list --after the cursor gives the rest"

# ------------------------------------------------------------ confirm

# A code that the server must refuse: not the code of the step before, the
# current step or the step after (the window allowed for clock drift).
NOW=$(date +%s)
WINDOW=" $(totp "$SECRET" $((NOW - 30))) $(totp "$SECRET" "$NOW") $(totp "$SECRET" $((NOW + 30))) "
for WRONG in 000000 111111 222222 333333; do [[ "$WINDOW" != *" $WRONG "* ]] && break; done
ks admin staff confirm --email alice@example.com --code "$WRONG"
[ "$RC" = 1 ] && has "$ERR" "wrong code" && [ -z "$OUT" ] && [ "$(status_of alice@example.com)" = pending_2fa ]
verdict "confirm with a wrong code fails with exit 1 and leaves the account pending_2fa"
ks admin staff confirm --email nobody@example.com --code 123456
[ "$RC" = 1 ] && has "$ERR" "nobody@example.com: not found"
verdict "confirm for an unknown address fails with exit 1: not found"
# Bob's code is not Alice's (unless they collide by chance: 1 in a million).
CODE_BOB=$(totp "$SECRET_BOB")
if [[ "$WINDOW" != *" $CODE_BOB "* ]]; then
    ks admin staff confirm --email alice@example.com --code "$CODE_BOB"
    [ "$RC" = 1 ] && [ "$(status_of alice@example.com)" = pending_2fa ]
    verdict "another account's code does not confirm this one"
fi

CODE=$(totp "$SECRET")
ks admin staff confirm --email Alice@example.com --code "$CODE"
[ "$RC" = 0 ] && grep -qx "staff alice@example.com: two-factor enrolment confirmed; status active" "$T/out"
verdict "confirm with the app's current code succeeds"
[ "$(status_of alice@example.com)" = active ] && [ "$(status_of bob@example.com)" = pending_2fa ]
verdict "the account is now active, the other still pending_2fa"
ks admin staff confirm --email alice@example.com --code "$CODE"
[ "$RC" = 1 ] && has "$ERR" "already used"
verdict "the same code a second time fails with exit 1 (no code works twice)"
ks admin staff confirm --email bob@example.com --code "$(totp "$SECRET_BOB")" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.status')" = active ] && [ "$(j "$OUT" '$.email')" = bob@example.com ]
verdict "confirm --json shows the account active"

# ---------------------------------------------------- disable, enable

ks admin staff disable alice@example.com
[ "$RC" = 0 ] && has "$OUT" "status disabled" && [ "$(status_of alice@example.com)" = disabled ]
verdict "disable: the account lists as disabled"
ks admin staff disable alice@example.com --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.status')" = disabled ]
verdict "disabling again is harmless"
ks admin staff enable ALICE@example.com
[ "$RC" = 0 ] && has "$OUT" "status active" && [ "$(status_of alice@example.com)" = active ]
verdict "enable: the account is active again"
ks admin create-staff --email dave@example.com --role support <<<"$PW"
ks admin staff disable dave@example.com
ks admin staff enable dave@example.com --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.status')" = pending_2fa ]
verdict "enabling a never-confirmed account returns it to pending_2fa, not active"
ks admin staff disable nobody@example.com
[ "$RC" = 1 ] && has "$ERR" "nobody@example.com: not found"
verdict "disabling an unknown address fails with exit 1: not found"
ks admin staff enable nobody@example.com
[ "$RC" = 1 ] && has "$ERR" "not found"
verdict "enabling an unknown address fails with exit 1: not found"

# ---------------------------------------------------------- on a tty

if command -v script >/dev/null; then
    # The password is typed only once the prompt is up: typing ahead is
    # discarded on purpose (whatever was typed before the prompt is not the
    # password).  script(1) gives kessai a terminal and records it, echo and all.
    tty_create() { # EMAIL FIRST SECOND: answer both prompts on a terminal
        local fifo=$T/tty.in
        rm -f "$fifo" "$T/tty.out"
        mkfifo "$fifo"
        timeout 60 script -qec "'$KESSAI' --data-dir '$D' admin staff create --email $1 --role support" /dev/null \
            <"$fifo" >"$T/tty.out" 2>&1 &
        local pid=$!
        exec 3>"$fifo"
        for _ in $(seq 1 200); do
            grep -q "Password for" "$T/tty.out" 2>/dev/null && break
            sleep 0.1
        done
        printf '%s\n%s\n' "$2" "$3" >&3
        wait "$pid"
        TTY_RC=$?
        exec 3>&-
        cat "$T/tty.out" >>"$ALL"
    }
    tty_create tty@example.com "$PW" "$PW"
    [ "$TTY_RC" = 0 ] && grep -q "^Password for tty@example.com: " "$T/tty.out" &&
        grep -q "Repeat the password: " "$T/tty.out" && grep -q "status pending_2fa" "$T/tty.out"
    verdict "on a terminal the password is asked twice"
    ! grep -qF "$PW" "$T/tty.out"
    verdict "on a terminal the password is not echoed"
    tty_create tty2@example.com "$PW" "$PW2"
    [ "$TTY_RC" = 2 ] && grep -q "the two passwords do not match" "$T/tty.out" &&
        [ -z "$(status_of tty2@example.com)" ]
    verdict "on a terminal two different answers are refused and nothing is stored"
else
    ok "on a terminal # SKIP script(1) missing"
fi

# ---------------------------------------------------- nothing leaks

in_db_files "CAST('alice@example.com' AS BLOB)"
verdict "the database files can be searched (an address is found)"
leaks=
for s in "$SECRET" "$SECRET_BOB"; do
    [[ "$(hex_of "$s")" =~ ^[0-9a-f]{40}$ ]] && ! in_db_files "X'$(hex_of "$s")'" || leaks="$leaks [raw seed]"
    ! in_db_files "CAST($(lit "$s") AS BLOB)" || leaks="$leaks [base32 seed]"
    ! in_db_files "CAST(lower($(lit "$s")) AS BLOB)" || leaks="$leaks [lower-case base32 seed]"
done
for p in "$PW" "$PW2"; do
    ! in_db_files "CAST($(lit "$p") AS BLOB)" || leaks="$leaks [password]"
done
[ -z "$leaks" ]
verdict "no password and no TOTP secret is in the database or its WAL$leaks"
found=
for p in "$PW" "$PW2" "$WEAK"; do
    ! grep -qF -- "$p" "$ALL" || found="$found [$p]"
done
[ -s "$ALL" ] && [ -z "$found" ]
verdict "no password was ever printed, on stdout or stderr$found"

k ledger verify
[ "$RC" = 0 ]
verdict "ledger verify is still ok"

# Every change above is an audit entry of admin-cli, and the chain verifies.
k audit search --actor admin-cli --action staff_created --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.entries[0].actor')" = admin-cli ] && [ "$(j "$OUT" '$.entries[0].outcome')" = success ]
verdict "staff accounts created are audit entries of admin-cli"
k audit verify
[ "$RC" = 0 ] && has "$OUT" "audit verify: ok"
verdict "audit verify is ok"

t_done
