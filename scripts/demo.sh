#!/bin/bash
# demo.sh BUILD_DIR: seed a demo data directory and run kessaid in the
# foreground (Ctrl-C stops it cleanly).  `make demo` calls it with
# build/release after building.
#
# Data directory: $KESSAI_DATA_DIR, else ./var.  On the first run it seeds,
# through the kessai CLI: one merchant "Kessai Mart" with three stores
# (Tokyo, Osaka, Sapporo) and two POS terminals each, and two staff members
# (an administrator and a fraud analyst).  A terminal's secret and a staff
# member's credentials are shown only once, so the script keeps them in
# DIR/demo-terminals.txt and DIR/demo-staff.txt (mode 0600).  Every step looks before it creates,
# so running it again, or after an interrupted run, adds only what is missing.
#
# Needs bash, sqlite3 (to read the CLI's --json output), oathtool (the staff's
# first TOTP code) and curl (optional, for the hint lines); `make demo`
# installs them with scripts/deps.sh.
set -euo pipefail

BUILD=${1:?usage: scripts/demo.sh BUILD_DIR}
KESSAI=$BUILD/kessai
KESSAID=$BUILD/kessaid
DIR=${KESSAI_DATA_DIR:-./var}
LISTEN=${KESSAI_LISTEN:-127.0.0.1:8080}
SECRETS=$DIR/demo-terminals.txt
MERCHANT="Kessai Mart"
TERMINALS_PER_STORE=2

for b in "$KESSAI" "$KESSAID"; do
    [ -x "$b" ] || { echo "demo: $b not found; run 'make demo' (it builds first)" >&2; exit 1; }
done
for t in sqlite3 oathtool; do
    command -v $t >/dev/null || { echo "demo: $t is needed (scripts/deps.sh installs it)" >&2; exit 1; }
done

# The data directory, its database and the secrets file are private.
umask 077
mkdir -p "$DIR"

kessai() { "$KESSAI" --data-dir "$DIR" "$@"; }
Q="'"
lit() { printf "'%s'" "${1//$Q/$Q$Q}"; }
# json_rows JSON ARRAY_PATH FIELD...: one tab-separated line per element.
json_rows() {
    local json=$1 path=$2 cols="" f
    shift 2
    for f in "$@"; do cols="$cols${cols:+, }json_extract(value, '\$.$f')"; done
    # on standard input, not the command line: the JSON holds secrets, and
    # any local user can read another process's arguments
    sqlite3 -separator $'\t' :memory: <<<"SELECT $cols FROM json_each($(lit "$json"), '$path');"
}
json_get() { sqlite3 :memory: <<<"SELECT json_extract($(lit "$1"), '$2');"; }

# ------------------------------------------------------------------ seed

# The CLI's stderr while creating terminals: its "shown only once" warning
# is for people reading along, not for a script that files the secret away.
errs=$(mktemp)
trap 'rm -f "$errs"' EXIT

seeded=0
merchant=$(json_rows "$(kessai admin merchant list --json)" '$.merchants' id name |
    awk -F'\t' -v n="$MERCHANT" '$2 == n && !found { print $1; found = 1 }')
if [ -z "$merchant" ]; then
    merchant=$(json_get "$(kessai admin merchant create --name "$MERCHANT" --json)" '$.id')
    seeded=1
fi

if [ ! -f "$SECRETS" ]; then
    {
        echo "# kessai demo: POS terminal signing secrets.  Each was shown once by"
        echo "# 'kessai admin terminal create'; kessai itself keeps only a sealed copy."
        echo "# Keep this file private (mode 0600).  Tab-separated:"
        echo "# store	terminal	key_id	secret	store_name"
    } >"$SECRETS"
fi
chmod 600 "$SECRETS"

# name | address | lat | lon | category
STORES=(
    "Kessai Mart Tokyo Station|1-9-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005|35.681236|139.767125|convenience"
    "Kessai Mart Umeda|3-1-1 Umeda, Kita-ku, Osaka 530-0001|34.702485|135.495951|supermarket"
    "Kessai Mart Sapporo Station|Kita 6-jo Nishi 4-chome, Kita-ku, Sapporo, Hokkaido 060-0806|43.068661|141.350755|drugstore"
)
terminals=0
revoked=""
existing=$(json_rows "$(kessai admin store list --merchant "$merchant" --json)" '$.stores' id name)
for row in "${STORES[@]}"; do
    IFS='|' read -r name address lat lon category <<<"$row"
    store=$(awk -F'\t' -v n="$name" '$2 == n && !found { print $1; found = 1 }' <<<"$existing")
    if [ -z "$store" ]; then
        store=$(json_get "$(kessai admin store create --merchant "$merchant" --name "$name" --address "$address" \
            --lat "$lat" --lon "$lon" --category "$category" --json)" '$.id')
        seeded=1
    fi
    # Terminals whose secret we hold and that are still active count; one
    # whose secret was lost (file deleted) is useless to the demo, so it is
    # replaced rather than trusted.
    terminals_json=$(kessai admin terminal list --store "$store" --json)
    active=$(json_rows "$terminals_json" '$.terminals' id revoked | awk -F'\t' '$2 == 0 { print $1 }')
    revoked="$revoked $(json_rows "$terminals_json" '$.terminals' id revoked | awk -F'\t' '$2 == 1 { print $1 }')"
    have=0
    for t in $active; do
        if awk -F'\t' -v t="$t" '$2 == t { found = 1 } END { exit !found }' "$SECRETS"; then
            have=$((have + 1))
        fi
    done
    while [ "$have" -lt "$TERMINALS_PER_STORE" ]; do
        # The secret goes straight from the CLI's output into the private
        # file; it is never echoed to the terminal or put on a command line.
        if ! out=$(kessai admin terminal create --store "$store" --json 2>"$errs"); then
            cat "$errs" >&2
            exit 1
        fi
        json_rows "[$out]" '$' store id key_id secret | awk -v n="$name" '{ print $0 "\t" n }' >>"$SECRETS"
        have=$((have + 1))
        seeded=1
    done
    terminals=$((terminals + have))
done
# A revoked terminal's secret signs nothing any more: drop it from the file.
kept=$(awk -F'\t' -v r="$revoked" 'BEGIN { split(r, a, " "); for (i in a) gone[a[i]] = 1 } !($2 in gone)' "$SECRETS")
printf '%s\n' "$kept" >"$SECRETS"

# Two staff members, so that the admin API (docs/admin-api.md) can be
# tried, four eyes included: an administrator and a fraud analyst, each
# with a random password and an active TOTP second factor.  Like the
# terminal secrets, their credentials are shown once by the CLI, so they
# are kept in a private file (and never echoed here).
STAFF_FILE=$DIR/demo-staff.txt
staff_emails=$(json_rows "$(kessai admin staff list --json)" '$.staff' email)
for who in admin:administrator analyst:fraud_analyst; do
    email="${who%%:*}@kessai.example"
    role=${who#*:}
    grep -qx "$email" <<<"$staff_emails" && continue
    [ -e "$STAFF_FILE" ] || {
        echo "# kessai demo: staff sign-in.  Tab-separated: email role password otpauth_uri"
        echo "# The TOTP code for POST /admin/v1/sessions: oathtool --totp -b - <<<SECRET (the URI's secret)."
    } >"$STAFF_FILE"
    password="demo $(head -c 15 /dev/urandom | base64 | tr '+/' '-_')"
    out=$(kessai admin staff create --email "$email" --role "$role" --json <<<"$password" 2>"$errs") ||
        { cat "$errs" >&2; exit 1; }
    uri=$(json_get "$out" '$.otpauth_uri')
    secret=$(sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' <<<"$uri")
    kessai admin staff confirm --email "$email" --code "$(oathtool --totp -b - <<<"$secret")" >/dev/null 2>"$errs" ||
        { cat "$errs" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\n' "$email" "$role" "$password" "$uri" >>"$STAFF_FILE"
    seeded=1
done

rm -f "$errs"
trap - EXIT

# ------------------------------------------------------------------ run

host=${LISTEN%:*}
port=${LISTEN##*:}
url="http://$host:$port"
state="demo data already present"
[ "$seeded" = 1 ] && state="demo data seeded"
hint() { printf '  %-50s %s\n' "$1" "$2"; }
echo
echo "kessai demo"
hint "data directory:   $DIR" "($state)"
hint "merchant:         $merchant" "$MERCHANT, ${#STORES[@]} stores"
hint "terminal secrets: $SECRETS" "($terminals terminals; mode 0600, for signing POS requests)"
hint "staff sign-in:    $STAFF_FILE" "(an administrator and a fraud analyst; mode 0600)"
echo
echo "Open or call, while it runs:"
hint "$url/healthz" "liveness"
hint "$url/metrics" "Prometheus metrics"
hint "$KESSAI --data-dir $DIR ledger verify" "recompute and check the ledger"
hint "$KESSAI --data-dir $DIR audit verify" "check the audit log's MAC chain"
hint "$KESSAI --data-dir $DIR admin store list" "the demo stores"
hint "$KESSAI --help" "every command"
hint "curl -H 'Content-Type: application/json' -d '{\"email\":\"you@example.jp\",\"password\":\"a long passphrase\"}' $url/v1/registrations" "register a customer"
hint "cat $DIR/mail/new/*.mbox" "the demo mailbox, one mbox per delivery round (or mutt -f FILE)"
hint "docs/customer-auth.md" "the customer API: verify, TOTP, device login"
hint "docs/test-cards.md" "test cards to link (3-D Secure code arrives in the mailbox)"
hint "$KESSAI --data-dir $DIR admin store qr STORE_ID" "a store's EMVCo QR payload (pay with POST /v1/payments)"
hint "docs/payments.md, docs/pos-signing.md" "paying at a register: signed POS requests"
hint "docs/admin-api.md" "staff: sign in at $url/admin/v1/sessions, kill switches, freezes, audit"
echo
echo "Starting kessaid on $url; Ctrl-C stops it cleanly."
echo
exec "$KESSAID" --data-dir "$DIR" --listen "$LISTEN"
