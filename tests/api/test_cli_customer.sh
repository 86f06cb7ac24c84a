#!/bin/bash
# test_cli_customer.sh: `kessai admin customer freeze|unfreeze EMAIL --reason
# TEXT` as support uses it: the freeze is a row every kessaid node reads
# before each payment, top-up and transfer (its effect on a running server
# is test_api_pay's job); each change is a security event and a mail queued
# for the customer; usage errors and unknown customers change nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

D=$T/data

# A data directory with one customer (as registration leaves it; the CLI
# needs no password or second factor of theirs).
k admin merchant create --name "Kessai Mart" --json
sqlite3 "$D/kessai.db" "INSERT INTO customers (email, password_hash, email_verified, created_ms)
                        VALUES ('aiko@example.com', 'x', 1, 1800000000000)"
row() { sqlite3 "$D/kessai.db" "$1"; }
frozen() { row "SELECT count(*) FROM freezes"; }
events() { row "SELECT count(*) FROM security_events WHERE kind = '$1'"; }
mails() { row "SELECT count(*) FROM outbox"; }

usage() { # NAME ARGS...: exit 2, the help hint, nothing written
    local name=$1
    shift
    k admin customer "$@"
    [ "$RC" = 2 ] && has "$ERR" "Try 'kessai admin customer" && [ "$(frozen)" = 0 ]
    verdict "usage error: $name"
}
usage "no reason" freeze aiko@example.com
usage "empty reason" freeze aiko@example.com --reason ""
usage "reason of 201 bytes" freeze aiko@example.com --reason "$(printf 'x%.0s' $(seq 1 201))"
usage "reason with a newline" freeze aiko@example.com --reason "$(printf 'a\nb')"
usage "not an address" freeze "not an address" --reason "x"
usage "no address" freeze --reason "x"

k admin customer freeze nobody@example.com --reason "fraud case 17"
[ "$RC" = 1 ] && has "$ERR" "no such customer" && [ "$(frozen)" = 0 ]
verdict "an unknown customer: a failure, nothing written"

export USER=ana
k admin customer freeze AIKO@example.com --reason "fraud case 17: cards reported stolen" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.frozen')" = 1 ] && [ "$(j "$OUT" '$.email')" = aiko@example.com ] &&
    [ "$(frozen)" = 1 ] && [ "$(row "SELECT set_by FROM freezes")" = "cli:ana" ] &&
    [ "$(row "SELECT by_customer FROM freezes")" = 0 ]
verdict "freeze: the row, who froze it"
[ "$(events account_frozen)" = 1 ] && [ "$(mails)" = 1 ] &&
    has "$(row "SELECT detail FROM security_events WHERE kind = 'account_frozen'")" "fraud case 17"
verdict "freeze: a security event with the reason, a mail queued for the customer"

k admin customer freeze aiko@example.com --reason "again"
[ "$RC" = 0 ] && [ "$(row "SELECT reason FROM freezes")" = "fraud case 17: cards reported stolen" ] &&
    [ "$(events account_frozen)" = 1 ]
verdict "freezing again keeps the first freeze and records nothing new"

k admin customer unfreeze aiko@example.com --reason "owner verified at the counter"
[ "$RC" = 0 ] && has "$OUT" "not frozen" && [ "$(frozen)" = 0 ] && [ "$(events account_unfrozen)" = 1 ] &&
    [ "$(mails)" = 2 ]
verdict "unfreeze: the row gone, an event, a mail"
k admin customer unfreeze aiko@example.com --reason "twice" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.frozen')" = 0 ] && [ "$(events account_unfrozen)" = 1 ] && [ "$(mails)" = 2 ]
verdict "unfreezing an account that is not frozen changes nothing"

# The mail is sealed at rest: the reason and the address are not in the clear.
! in_db_files "'Your kessai account'"
verdict "the queued mail is sealed"

# Both changes are audit entries naming the CLI as the actor (and the
# operator in the detail), and the chain verifies.
[ "$(row "SELECT group_concat(kind) FROM security_events WHERE actor = 'admin-cli'")" = \
    "merchant_created,account_frozen,account_unfrozen" ] &&
    has "$(row "SELECT detail FROM security_events WHERE kind = 'account_frozen'")" '"set_by":"cli:ana"'
verdict "freeze and unfreeze are audit entries of admin-cli, with the operator"
k audit verify
[ "$RC" = 0 ] && has "$OUT" "audit verify: ok (3 entries)"
verdict "audit verify is ok"

t_done
