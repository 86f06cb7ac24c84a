#!/bin/bash
# test_cli.sh: the kessai command line, driven the way an operator or a
# script drives it.  TAP through tests/api/lib.sh; helpers and what they
# need in tests/api/cli_lib.sh.  Staff accounts: test_cli_staff.sh.
#
# Environment: KESSAI (default build/asan/kessai); KESSAID (lib.sh), if it
# starts, serves the same data directory to show the CLI works beside it.
# shellcheck source=tests/api/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/api/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
D=$T/data
if [ ! -x "$KESSAI" ]; then
    not_ok "kessai binary at $KESSAI"
    t_done
fi

# ---------------------------------------------------------------- help

COMMANDS=("ledger verify" "admin merchant create" "admin merchant list" "admin store create" "admin store list"
    "admin store activate" "admin store deactivate" "admin store qr" "admin terminal create" "admin terminal list"
    "admin terminal revoke" "admin staff create" "admin staff confirm" "admin staff list" "admin staff disable"
    "admin staff enable" "admin create-staff" "audit verify" "audit search")
k --help
[ "$RC" = 0 ] && has "$OUT" "usage: kessai [--data-dir DIR] COMMAND"
verdict "kessai --help exits 0 with the usage"
missing=
for c in "${COMMANDS[@]}"; do has "$OUT" "  $c " || missing="$missing [$c]"; done
[ -z "$missing" ]
verdict "kessai --help lists every command$missing"

bad=
for c in "${COMMANDS[@]}" "ledger" "admin" "admin merchant" "admin store" "admin terminal" "admin staff" "audit"; do
    # shellcheck disable=SC2086
    k $c --help
    { [ "$RC" = 0 ] && has "$OUT" "usage: kessai [--data-dir DIR] $c"; } || bad="$bad [$c]"
done
[ -z "$bad" ]
verdict "every command and group answers --help with exit 0 and its usage$bad"

k admin store create --help
missing=
for w in --merchant --name --address --lat --lon --category --json convenience supermarket drugstore restaurant \
    electronics tobacco giftcards other; do
    has "$OUT" "$w" || missing="$missing $w"
done
[ -z "$missing" ]
verdict "store create --help documents every option and every category$missing"

k admin staff --help
[ "$RC" = 0 ] && has "$OUT" "TOTP" && has "$OUT" "pending_2fa" && has "$OUT" "admin staff confirm "
verdict "admin staff --help explains staff accounts, their 2FA and lists their commands"

# ------------------------------------------------------- usage errors

# Each: exit 2, a message naming the problem on stderr, nothing on stdout,
# and no database conjured up in the (still missing) data directory.
usage_case() { # name, expected stderr text, args...
    local name=$1 want=$2
    shift 2
    k "$@"
    [ "$RC" = 2 ] && has "$ERR" "$want" && [ -z "$OUT" ] && [ ! -e "$D/kessai.db" ]
    verdict "usage error: $name"
}
usage_case "no command" "missing command"
usage_case "unknown command" "unknown command 'frobnicate'" frobnicate
usage_case "unknown subcommand" "unknown command 'admin store frob'" admin store frob
usage_case "group without a command" "Commands:" admin merchant
usage_case "unknown option" "unknown option '--bogus'" admin merchant list --bogus
usage_case "unknown global option" "unknown option '--verbose'" --verbose admin merchant list
usage_case "missing required option" "missing required option --name" admin merchant create
usage_case "option without its value" "option --name needs a value" admin merchant create --name
usage_case "option given twice" "option --name given twice" admin merchant create --name a --name b
usage_case "flag with a value" "option --json takes no value" admin merchant list --json=yes
usage_case "unexpected positional" "unexpected argument 'extra'" admin merchant list extra
usage_case "missing positional" "missing STORE_ID" admin store deactivate
usage_case "empty merchant name" "--name must be" admin merchant create --name ""
usage_case "control character in a name" "--name must be" admin merchant create --name $'a\nb'
usage_case "id of the wrong type" "not a valid id" admin store list --merchant str_0000000000001
usage_case "malformed id" "not a valid id" admin terminal revoke trm_1
usage_case "limit out of range" "--limit" admin merchant list --limit 0
usage_case "limit not a number" "--limit" admin store list --limit ten
S_ARGS=(--merchant mer_0000000000001 --name S --address A --category convenience)
usage_case "latitude with 7 decimals" "--lat" admin store create "${S_ARGS[@]}" --lat 35.6812365 --lon 139.767125
usage_case "latitude with an exponent" "--lat" admin store create "${S_ARGS[@]}" --lat 3.5e1 --lon 139.767125
usage_case "longitude with a comma" "--lon" admin store create "${S_ARGS[@]}" --lat 35.681236 --lon 139,767125
usage_case "latitude out of range" "--lat must be between -90 and 90" \
    admin store create "${S_ARGS[@]}" --lat 90.000001 --lon 0
usage_case "longitude out of range" "--lon must be between -180 and 180" \
    admin store create "${S_ARGS[@]}" --lat 0 --lon -180.000001
usage_case "unknown category" "--category must be one of: convenience" \
    admin store create --merchant mer_0000000000001 --name S --address A --lat 0 --lon 0 --category casino
usage_case "empty address" "--address must be" \
    admin store create --merchant mer_0000000000001 --name S --address "" --lat 0 --lon 0 --category other

k ledger verify
[ "$RC" = 1 ] && has "$ERR" "no database at" && [ ! -e "$D/kessai.db" ]
verdict "ledger verify without a database fails (exit 1) and creates nothing"
k audit verify
[ "$RC" = 1 ] && has "$ERR" "no database at" && [ ! -e "$D/kessai.db" ] && [ ! -e "$D/master.key" ]
verdict "audit verify without a database fails (exit 1) and creates nothing"
usage_case "audit search: a time that is no time" "--since: expected a UTC time" audit search --since tomorrow
usage_case "audit search: a day February lacks" "--until: expected a UTC time" audit search --until 2027-02-30
usage_case "audit search: since after until" "--since must be before --until" \
    audit search --since 2027-02-01 --until 2027-01-01
usage_case "audit search: a bad customer id" "--customer: 'usr_1' is not a valid id" audit search --customer usr_1
usage_case "audit search: an empty action" "--action must be 1 to" audit search --action ""
usage_case "audit search: a bad cursor" "--before: expected an entry id" audit search --before 0
usage_case "audit verify: a bad anchor" "--anchor: expected ID:HASH" audit verify --anchor 12

# --------------------------------------------------------- merchants

k admin merchant create --name "Kessai Mart" --json
MER=$(j "$OUT" '$.id')
[ "$RC" = 0 ] && [[ "$MER" =~ ^mer_[0-9a-z]{13}$ ]]
verdict "merchant create --json gives a mer_ id"
json_valid "$OUT" && one_line "$OUT"
verdict "--json output is valid JSON on one line"
[ "$(j "$OUT" '$.name')" = "Kessai Mart" ]
verdict "the merchant's name round-trips"
[ "$(stat -c %a "$D")" = 700 ] && [ "$(stat -c %a "$D/kessai.db")" = 600 ]
verdict "the data directory (0700) and database (0600) are private"

k admin merchant create --name "ケッサイ商事"
[ "$RC" = 0 ] && grep -qE "^merchant mer_[0-9a-z]{13} created: ケッサイ商事$" "$T/out"
verdict "merchant create (text) names the new id"
k admin merchant create --name "Third" --json
MER3=$(j "$OUT" '$.id')

k admin merchant list --json
[ "$RC" = 0 ] && [ "$(jlen "$OUT" '$.merchants')" = 3 ] && [ -z "$(j "$OUT" '$.next_after')" ]
verdict "merchant list --json lists all three, with no next page"
[ "$(j "$OUT" '$.merchants[1].name')" = "ケッサイ商事" ]
verdict "merchant list keeps UTF-8 names"
k admin merchant list --json --limit 2
NEXT=$(j "$OUT" '$.next_after')
[ "$(jlen "$OUT" '$.merchants')" = 2 ] && [ "$NEXT" = "$(j "$OUT" '$.merchants[1].id')" ]
verdict "merchant list --limit 2 gives two rows and the cursor of the next page"
k admin merchant list --json --limit 2 --after "$NEXT"
[ "$(jcol "$OUT" '$.merchants' id)" = "$MER3" ] && [ -z "$(j "$OUT" '$.next_after')" ]
verdict "the next page has the rest and no cursor"
k admin merchant list
[ "$RC" = 0 ] && [ "$(wc -l <"$T/out")" = 4 ] && head -1 "$T/out" | grep -q "^ID .*NAME"
verdict "merchant list (text) has a header and a row per merchant"

# ------------------------------------------------------------ stores

k admin store create --merchant "$MER" --name "Kessai Mart Tokyo Station" \
    --address "1-9-1 Marunouchi, Chiyoda-ku, Tokyo" --lat 35.681236 --lon 139.767125 --category convenience --json
STR=$(j "$OUT" '$.id')
[ "$RC" = 0 ] && [[ "$STR" =~ ^str_[0-9a-z]{13}$ ]]
verdict "store create --json gives a str_ id"
[ "$(j "$OUT" '$.lat_e6')" = 35681236 ] && [ "$(j "$OUT" '$.lon_e6')" = 139767125 ] &&
    [ "$(j "$OUT" '$.lat')" = 35.681236 ] && [ "$(j "$OUT" '$.lon')" = 139.767125 ]
verdict "coordinates are kept exactly (35.681236, 139.767125)"
[ "$(j "$OUT" '$.active')" = 1 ] && [ "$(j "$OUT" '$.merchant')" = "$MER" ] &&
    [ "$(j "$OUT" '$.category')" = convenience ]
verdict "a new store is active and belongs to its merchant"

k admin store create --merchant "$MER" --name "Sydney" --address "George St" --lat -33.8688 --lon 151.2093000 \
    --category other --json
STR_SYD=$(j "$OUT" '$.id')
[ "$(j "$OUT" '$.lat_e6')" = -33868800 ] && [ "$(j "$OUT" '$.lon_e6')" = 151209300 ] &&
    [ "$(j "$OUT" '$.lat')" = -33.868800 ]
verdict "negative, short and zero-padded decimals are exact (-33.8688, 151.2093000)"

k admin store create --merchant "$MER3" --name "札幌駅前店" --address "北海道札幌市北区北6条西4丁目" \
    --lat 43.068661 --lon 141.350755 --category drugstore
[ "$RC" = 0 ] && grep -qE "^store str_[0-9a-z]{13} created: 札幌駅前店 \(drugstore, 43.068661 141.350755, " "$T/out"
verdict "store create (text) names the store and its exact coordinates"

k admin store create --merchant mer_000000000zzzz --name S --address A --lat 0 --lon 0 --category other
[ "$RC" = 1 ] && has "$ERR" "mer_000000000zzzz: not found" && [ -z "$OUT" ]
verdict "store create for an unknown merchant fails with exit 1: not found"

k admin store list --merchant "$MER" --json
[ "$(jlen "$OUT" '$.stores')" = 2 ]
verdict "store list --merchant lists that merchant's two stores"
k admin store list --json
[ "$(jlen "$OUT" '$.stores')" = 3 ]
verdict "store list lists all three"
k admin store list --merchant mer_000000000zzzz
[ "$RC" = 1 ] && has "$ERR" "not found"
verdict "store list of an unknown merchant fails with exit 1"
k admin store list
grep -F "$STR" "$T/out" | grep -qF "35.681236   139.767125"
verdict "store list (text) shows coordinates exactly"

k admin store deactivate "$STR"
[ "$RC" = 0 ] && has "$OUT" "is now inactive"
verdict "store deactivate"
k admin store list --merchant "$MER" --json
[ "$(jcol "$OUT" '$.stores' active)" = "$( [ "$STR" \< "$STR_SYD" ] && echo 0,1 || echo 1,0)" ]
verdict "a deactivated store lists as inactive, the other stays active"
k admin store activate "$STR" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.active')" = 1 ]
verdict "store activate --json shows it active again"
k admin store deactivate str_000000000zzzz
[ "$RC" = 1 ] && has "$ERR" "not found"
verdict "deactivating an unknown store fails with exit 1"

# The store's QR payload (docs/store-qr.md): one line, kessai's GUID and the
# store's id, its category code, name and city, and a CRC; --svg draws it.
k admin store qr "$STR"
[ "$RC" = 0 ] && one_line "$OUT" && [[ "$OUT" =~ ^000201010211.*6304[0-9A-F]{4}$ ]] &&
    has "$OUT" "26340009jp.kessai0117${STR}52045499" && has "$OUT" "5925Kessai Mart Tokyo Station6005Tokyo6304"
verdict "store qr prints the store's EMVCo payload on one line"
PAYLOAD=$OUT
k admin store qr "$STR" --svg "$T/qr.svg" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.payload')" = "$PAYLOAD" ] && [ "$(j "$OUT" '$.svg')" = "$T/qr.svg" ] &&
    [ "$(j "$OUT" '$.active')" = 1 ] && grep -q "<svg" "$T/qr.svg"
verdict "store qr --svg writes the QR code as an SVG file; --json names it"
k admin store deactivate "$STR"
k admin store qr "$STR"
[ "$RC" = 0 ] && [ "$OUT" = "$PAYLOAD" ] && has "$ERR" "inactive"
verdict "store qr of an inactive store prints it, with a note that it takes no payments"
k admin store activate "$STR"
k admin store qr str_000000000zzzz
[ "$RC" = 1 ] && has "$ERR" "not found" && [ -z "$OUT" ]
verdict "store qr of an unknown store fails with exit 1"
k admin store qr "$MER"
[ "$RC" = 2 ]
verdict "store qr of a merchant id is a usage error"

# --------------------------------------------------------- terminals

k admin terminal create --store "$STR" --json
TRM=$(j "$OUT" '$.id')
KID=$(j "$OUT" '$.key_id')
SECRET=$(j "$OUT" '$.secret')
[ "$RC" = 0 ] && [[ "$TRM" =~ ^trm_[0-9a-z]{13}$ ]] && [[ "$KID" =~ ^tk_[0-9a-z]{26}$ ]] &&
    [[ "$SECRET" =~ ^[0-9a-f]{64}$ ]]
verdict "terminal create --json gives a trm_ id, a tk_ key id and a 64-hex secret"
has "$ERR" "only time the secret" && lacks "$ERR" "$SECRET"
verdict "terminal create warns on stderr that the secret is shown once"
[ "$(stat -c %a "$D/master.key")" = 600 ] && [ "$(stat -c %s "$D/master.key")" = 32 ]
verdict "the master key was created private (0600, 32 bytes)"

k admin terminal create --store "$STR"
SECRET2=$(sed -n 's/^secret: //p' "$T/out")
KID2=$(sed -n 's/^key id: //p' "$T/out")
[ "$RC" = 0 ] && [[ "$SECRET2" =~ ^[0-9a-f]{64}$ ]] && [ "$(grep -c "$SECRET2" "$T/out")" = 1 ] &&
    [[ "$KID2" =~ ^tk_ ]] && grep -qE "^terminal trm_[0-9a-z]{13} created for store $STR$" "$T/out"
verdict "terminal create (text) prints the id, key id and secret, each once"
[ "$SECRET" != "$SECRET2" ]
verdict "two terminals get different secrets"

k admin terminal list --store "$STR" --json
LISTS=$OUT
k admin terminal list
LISTS="$LISTS $OUT"
has "$LISTS" "$KID" && has "$LISTS" "$KID2"
verdict "terminal list shows both key ids"
! grep -qiF "$SECRET" <<<"$LISTS" && ! grep -qiF "$SECRET2" <<<"$LISTS" && lacks "$LISTS" "secret"
verdict "terminal list never shows a secret (text or JSON)"
in_db_files "CAST($(lit "$KID") AS BLOB)"
verdict "the database files can be searched (the key id is found)"
! in_db_files "X'$SECRET'" && ! in_db_files "X'$SECRET2'" &&
    ! in_db_files "CAST($(lit "$SECRET") AS BLOB)" && ! in_db_files "CAST(upper($(lit "$SECRET")) AS BLOB)"
verdict "no secret is in any database file, as bytes or as hex"

k admin terminal create --store str_000000000zzzz
[ "$RC" = 1 ] && lacks "$OUT" "secret" && has "$ERR" "not found"
verdict "terminal create for an unknown store fails with exit 1 and prints no secret"

k admin terminal revoke "$TRM"
[ "$RC" = 0 ] && has "$OUT" "revoked"
verdict "terminal revoke"
k admin terminal list --store "$STR" --json
[ "$(jcol "$OUT" '$.terminals' revoked)" = "1,0" ]
verdict "the revoked terminal lists as revoked, the other does not"
k admin terminal revoke "$TRM"
[ "$RC" = 0 ]
verdict "revoking again is harmless"
k admin terminal revoke trm_000000000zzzz
[ "$RC" = 1 ] && has "$ERR" "not found"
verdict "revoking an unknown terminal fails with exit 1"
k admin terminal list --store "$STR_SYD"
[ "$RC" = 0 ] && [ "$(wc -l <"$T/out")" = 1 ]
verdict "terminal list of a store without terminals is just the header"

# ------------------------------------------------------------ ledger

k ledger verify
[ "$RC" = 0 ] && grep -qx "ledger verify: ok (3 accounts, 0 transfers)" "$T/out"
verdict "ledger verify is ok on a fresh store (one payable account per store)"

# A customer's wallet without its no-overdraft flag (as someone with write
# access to the file could leave it): the rule comes from the account's kind
# (docs/ledger.md), so verify names it, says FAILED and exits 1.
sqlite3 "$D/kessai.db" "INSERT INTO accounts (owner, kind, flags, created_ms) VALUES ('usr_tampered', 'wallet', 0, 0)"
k ledger verify
[ "$RC" = 1 ] && grep -q "^violation: account [0-9]* (usr_tampered/wallet): flags 0 lack the no-overdraft flag" "$T/out" &&
    grep -qx "ledger verify: FAILED: 1 violation (4 accounts, 0 transfers)" "$T/out"
verdict "ledger verify fails (exit 1) on a wallet stored without its no-overdraft flag"
sqlite3 "$D/kessai.db" "DELETE FROM accounts WHERE owner = 'usr_tampered'"
k ledger verify
[ "$RC" = 0 ] && grep -qx "ledger verify: ok (3 accounts, 0 transfers)" "$T/out"
verdict "and is ok again once it is gone"

# ------------------------------------------------- data dir selection

E=$T/env-data
KESSAI_DATA_DIR=$E "$KESSAI" admin merchant create --name "From env" >"$T/out" 2>"$T/err"
[ $? = 0 ] && [ -f "$E/kessai.db" ]
verdict "KESSAI_DATA_DIR selects the data directory"
(cd "$T" && "$KESSAI" admin merchant list >"$T/out" 2>"$T/err") && [ -f "$T/var/kessai.db" ]
verdict "the default data directory is ./var"
"$KESSAI" admin merchant list --data-dir "$E" --json >"$T/out" 2>"$T/err"
[ "$(j "$(cat "$T/out")" '$.merchants[0].name')" = "From env" ]
verdict "--data-dir may also follow the command"

# ----------------------------------------------- beside a running kessaid

if [ -x "$KESSAID" ] && kd_start "$D"; then
    k admin store create --merchant "$MER" --name "Osaka" --address "Umeda" --lat 34.702485 --lon 135.495951 \
        --category supermarket --json
    OSA=$(j "$OUT" '$.id')
    k admin terminal create --store "$OSA" --json
    RC1=$RC
    k ledger verify
    [ -n "$OSA" ] && [ "$RC1" = 0 ] && [ "$RC" = 0 ] && grep -q "^ledger verify: ok" "$T/out"
    verdict "the CLI writes and verifies while kessaid serves the same directory"
    kd_stop
    [ "$KD_STATUS" = 0 ]
    verdict "kessaid still stops cleanly afterwards"
else
    ok "the CLI beside kessaid # SKIP kessaid missing or did not start"
fi

t_done
