#!/bin/bash
# test_cli_killswitch.sh: `kessai admin killswitch on|off|list` as an
# operator uses it: switching, the record of who and when, and usage errors
# that change nothing.  (That a switch stops top-ups at once on a running
# kessaid is test_api_pos's job.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

D=$T/data

# A wrong data directory (a typo, another machine's path): switching there
# would stop nothing any kessaid reads, so it fails and creates nothing.
k admin killswitch on topups --reason "fraud wave"
[ "$RC" = 1 ] && has "$ERR" "no database at $D/kessai.db" && [ ! -e "$D" ]
verdict "a switch in a directory without a database: exit 1, nothing created"
k admin killswitch list
[ "$RC" = 1 ] && [ ! -e "$D" ]
verdict "and no list of switches that are all off"

k admin merchant create --name "Kessai Mart" --json
MER=$(j "$OUT" '$.id')
k admin store create --merchant "$MER" --name "Kessai Mart Ginza" --address "1-1 Ginza" --lat 35.671 --lon 139.765 \
    --category convenience --json
STR=$(j "$OUT" '$.id')
k admin killswitch list --json
[ "$RC" = 0 ] && [ "$(jcol "$OUT" '$.killswitches' name)" = "topups,card_topups,payments,p2p,card_links,registrations" ] &&
    [ "$(jcol "$OUT" '$.killswitches' on)" = "0,0,0,0,0,0" ]
verdict "a new database: every switch listed, all off"
[ "$(j "$OUT" '$.killswitches[0].set_by')" = "" ]
verdict "a switch never set has no set_by"

# Usage errors: exit 2, a clear message, nothing written.
usage() { # NAME ARGS...: expect exit 2 and that nothing was switched
    local name=$1
    shift
    k admin killswitch "$@"
    [ "$RC" = 2 ] && has "$ERR" "Try 'kessai admin killswitch"
    verdict "usage error: $name"
}
usage "unknown switch" on withdrawals --reason "x"
usage "switch names are exact" on TOPUPS --reason "x"
usage "no reason" on topups
usage "empty reason" on topups --reason ""
usage "reason with a newline" on topups --reason "$(printf 'line one\nline two')"
usage "reason with an escape sequence" on topups --reason "$(printf 'red \033[31malert')"
usage "reason of 201 bytes" on topups --reason "$(printf 'x%.0s' $(seq 1 201))"
usage "reason not UTF-8" on topups --reason "$(printf 'caf\351')"
usage "no name" on --reason "x"
usage "off takes no reason" off topups --reason "x"
usage "unknown switch off" off withdrawals
usage "a scope only by option" on "payments@str_0000000000001" --reason "x"
usage "only payments and top-ups have scopes" on p2p --store str_0000000000001 --reason "x"
usage "merchant or store, not both" on payments --merchant mer_0000000000001 --store str_0000000000001 --reason "x"
usage "a malformed store id" on payments --store mer_0000000000001 --reason "x"
k admin killswitch list --json
[ "$(jcol "$OUT" '$.killswitches' on)" = "0,0,0,0,0,0" ] && [ "$(j "$OUT" '$.killswitches[0].set_by')" = "" ]
verdict "after the usage errors nothing was switched"

export USER=ana
k admin killswitch on topups --reason "card fraud wave, back at 18:00"
[ "$RC" = 0 ] && has "$OUT" "topups on" && has "$OUT" "card fraud wave, back at 18:00"
verdict "on: says what it did"
k admin killswitch list
[ "$RC" = 0 ] && grep -qE '^topups +on +[0-9T:.-]+Z +cli:ana +card fraud wave, back at 18:00$' "$T/out" &&
    grep -qE '^card_topups +off +- +- +-$' "$T/out"
verdict "list: on, when, by whom, why; the other still off"

k admin killswitch on card_topups --reason "$(printf 'x%.0s' $(seq 1 200))" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.on')" = 1 ] && [ "$(j "$OUT" '$.name')" = card_topups ]
verdict "a reason of 200 bytes is fine"
k admin killswitch on card_topups --reason "不正利用のため停止中 (18:00 再開)" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.reason')" = "不正利用のため停止中 (18:00 再開)" ]
verdict "so is Japanese, and setting it again replaces the reason"

USER='x; rm -rf /'
k admin killswitch off topups --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.on')" = 0 ] && [ "$(j "$OUT" '$.set_by')" = "cli:uid$(id -u)" ]
verdict "off; a \$USER that is not a plain name is recorded as the uid"
k admin killswitch off card_topups
k admin killswitch off card_topups
[ "$RC" = 0 ]
verdict "off twice is fine"
k admin killswitch list --json
one_line "$OUT" && [ "$(jcol "$OUT" '$.killswitches' on)" = "0,0,0,0,0,0" ]
verdict "both off again, listed as one line of JSON"

k admin killswitch on payments --store str_0000000000001 --reason "till broken"
[ "$RC" = 1 ] && has "$ERR" "str_0000000000001: no such store (nothing was switched)"
verdict "payments for a store that does not exist (a mistyped id): exit 1, nothing switched"
k admin killswitch on payments --merchant mer_00000000000zz --reason "audit"
[ "$RC" = 1 ] && has "$ERR" "mer_00000000000zz: no such merchant"
verdict "nor for a merchant that does not exist"
k admin killswitch on payments --store "$STR" --reason "till broken" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.name')" = "payments@$STR" ] && [ "$(j "$OUT" '$.on')" = 1 ]
verdict "payments for one store: its own switch"
k admin killswitch on payments --merchant "$MER" --reason "audit"
[ "$RC" = 0 ] && has "$OUT" "payments@$MER on"
verdict "payments for one merchant"
k admin killswitch list --json
[ "$(jcol "$OUT" '$.killswitches' name)" = "topups,card_topups,payments,p2p,card_links,registrations,payments@$MER,payments@$STR" ] &&
    [ "$(jcol "$OUT" '$.killswitches' on)" = "0,0,0,0,0,0,1,1" ]
verdict "list: the scoped switches after the global ones; the global one still off"
k admin killswitch off payments --store "$STR" --json
[ "$RC" = 0 ] && [ "$(j "$OUT" '$.on')" = 0 ]
k admin killswitch list --json
[ "$(jcol "$OUT" '$.killswitches' on)" = "0,0,0,0,0,0,1,0" ]
verdict "off for the store with the same option; the merchant's stays on"

t_done
