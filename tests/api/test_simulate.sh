#!/bin/bash
# test_simulate.sh: `kessai simulate` (docs/simulate.md) in a small, fast
# configuration: every attack scenario alone and all of them mixed into
# the everyday traffic.  Each run fails the suite if an attacker gained a
# yen, if more than 0.5% of legitimate operations were refused, if any
# wallet differs from what the simulation expects, or if ledger verify or
# audit verify fails.  Then the report's figures are checked against the
# books of the kept data directory (their times are the simulated clock's), and
# one seed must give one report, on a small and on a medium run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

SMALL=(--customers 25 --stores 5 --minutes 2)

# sim NAME ARGS...: run a simulation; its JSON report in $T/NAME.json.
sim() {
    local name=$1
    shift
    LAST_CMD="kessai simulate $*"
    "$KESSAI" simulate "$@" --json "$T/$name.json" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
    REP=$(cat "$T/$name.json" 2>/dev/null)
}

# targets NAME: the report's promises for a run.
targets() {
    local name=$1
    [ "$RC" = 0 ] && json_valid "$REP"
    verdict "$name: the run ends with exit status 0 and a JSON report"
    [ "$(sqlite3 :memory: "SELECT count(*) FROM json_each($(lit "$REP"), '\$.scenarios')
                           WHERE json_extract(value, '\$.attacker_gain_yen') != 0")" = 0 ]
    verdict "$name: attackers gained nothing, in every scenario"
    local ops refused
    ops=$(j "$REP" '$.scenarios[0].legit_operations')
    refused=$(j "$REP" '$.scenarios[0].legit_refused')
    [ "$ops" -ge 100 ] && [ $((refused * 1000)) -le $((ops * 5)) ]
    verdict "$name: legitimate operations ($ops) refused at most 0.5% ($refused)"
    [ "$(j "$REP" '$.ledger_verify')" = ok ] && [ "$(j "$REP" '$.audit_verify')" = ok ]
    verdict "$name: ledger verify and audit verify are clean"
    [ "$(j "$REP" '$.reconcile.mismatches')" = 0 ] && [ "$(j "$REP" '$.reconcile.wallets_checked')" -ge 20 ]
    verdict "$name: every wallet holds what the simulation expects"
    [ "$(j "$REP" '$.targets_met')" = 1 ] && has "$OUT" "targets met"
    verdict "$name: the report says the targets were met"
}

D=$T/data
for s in credential-stuffing session-theft paycode-theft reset-hijack card-testing insider-refunds; do
    sim "$s" --scenario "$s" "${SMALL[@]}" --seed 3
    targets "$s"
    [ "$(j "$REP" '$.scenarios[0].attack_attempts')" -gt 0 ] &&
        [ "$(sqlite3 :memory: "SELECT sum(value) FROM json_each($(lit "$REP"), '\$.scenarios[0].stopped_by')")" \
            = "$(j "$REP" '$.scenarios[0].attack_attempts')" ]
    verdict "$s: every attempt is counted against the check that stopped it"
done

# Mules: scam victims' transfers into chains of fresh accounts.  Every
# request of the ring ends in a check or a stage (none of them a cash-out),
# and the risk rules named are those staff read in the audit log.
sim mules --scenario mules "${SMALL[@]}" --seed 4
targets mules
counted=$(sqlite3 :memory: "SELECT coalesce(json_extract(r, '\$.reached.victim_sent'), 0)
                              + coalesce(json_extract(r, '\$.reached.forwarded'), 0)
                              + (SELECT coalesce(sum(value), 0) FROM json_each(r, '\$.stopped_by'))
                            FROM (SELECT json_extract($(lit "$REP"), '\$.scenarios[0]') AS r)")
[ "$(j "$REP" '$.scenarios[0].attack_attempts')" -gt 0 ] && [ "$counted" = "$(j "$REP" '$.scenarios[0].attack_attempts')" ]
verdict "mules: every request of the ring is counted against a check or a stage it reached"
[ "$(sqlite3 :memory: "SELECT count(*) FROM json_each($(lit "$REP"), '\$.scenarios[0].stopped_by')
                       WHERE key LIKE '%p2p_new_payee%'")" -gt 0 ] &&
    [ "$(sqlite3 :memory: "SELECT count(*) FROM json_each($(lit "$REP"), '\$.scenarios[0].stopped_by')
                           WHERE key LIKE '%mule_pass_through%' OR key = 'limit_exceeded:new_device'")" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].reached.bought_resale_goods_cpm')" = "" ] &&
    [ "$(j "$REP" '$.scenarios[0].reached.cashed_out_p2p')" = "" ]
verdict "mules: the large transfer is held, the mule passing money on is held or over its new device's limit; nothing is cashed out"

# What stopped whom: the defences the scenarios are about.
REP=$(cat "$T/credential-stuffing.json")
[ "$(j "$REP" '$.scenarios[0].stopped_by."invalid_credentials:second_factor"')" -gt 0 ]
verdict "credential-stuffing: real leaked passwords were stopped by the second factor"
[ "$(j "$REP" '$.scenarios[0].stopped_by.rate_limited')" -ge 5 ]
verdict "credential-stuffing: the careless bot's address is blocked"
[ "$(j "$REP" '$.scenarios[0].reached.signed_in')" = "" ]
verdict "credential-stuffing: no sign-in got through"
REP=$(cat "$T/session-theft.json")
[ "$(j "$REP" '$.scenarios[0].stopped_by."unauthenticated:revoked_session"')" = "$(j "$REP" '$.scenarios[0].reached.token_stolen')" ]
verdict "session-theft: the first wrong use revoked every stolen session, the victim's device id came too late"
REP=$(cat "$T/paycode-theft.json")
[ "$(j "$REP" '$.scenarios[0].stopped_by."rate_limited:guessed_code"')" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."invalid_code:photographed_code"')" -gt 0 ]
verdict "paycode-theft: a used code pays no more, and a guessing register is blocked"
REP=$(cat "$T/reset-hijack.json")
[ "$(j "$REP" '$.scenarios[0].stopped_by."unknown_param:redirect_field"')" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."invalid_code:second_factor"')" = "$(j "$REP" '$.scenarios[0].reached.reset_token_stolen_from_mailbox')" ] &&
    [ "$(j "$REP" '$.scenarios[0].notifications')" -gt 0 ]
verdict "reset-hijack: no reset to another address, none without the second factor, and the victims were told"
REP=$(cat "$T/card-testing.json")
[ "$(j "$REP" '$.scenarios[0].stopped_by.incorrect_cvc')" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by.rate_limited')" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].reached.stolen_card_linked')" = "" ]
verdict "card-testing: wrong CVCs are declined, then the account and the phone are blocked; no stolen card links"
[ "$(j "$REP" '$.scenarios[0].reached.cvc_guessed')" -gt 0 ] &&
    [ "$(j "$REP" '$.scenarios[0].reached."3ds_code_received"')" = "" ] &&
    [ "$(j "$REP" '$.scenarios[0].notifications')" -gt 0 ]
verdict "card-testing: with the right CVC the 3-D Secure code went to the cardholder, who was warned, not to the attacker"

REP=$(cat "$T/insider-refunds.json")
[ "$(sqlite3 :memory: "SELECT coalesce(sum(value), 0) FROM json_each($(lit "$REP"), '\$.scenarios[0].stopped_by')
                       WHERE key LIKE 'risk_held:cycle_%:refund_resale_fast'")" -ge 3 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."risk_denied:cycle_void:refund_resale_fast+refund_repeat_payer"')" -ge 1 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."unknown_param:redirect"')" = 3 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."payment_not_found:foreign_charge"')" = 1 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."reversal_exceeds_original:over_refund"')" = 1 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by."reversal_exceeds_original:second_key_at_once"')" = 1 ] &&
    [ "$(j "$REP" '$.scenarios[0].stopped_by.refund_to_payer_only')" = 1 ] &&
    [ "$(j "$REP" '$.scenarios[0].reached.resale_goods_bought')" -ge 3 ] &&
    [ "$(j "$REP" '$.scenarios[0].reached.refund_paid_out')" = "" ]
verdict "insider-refunds: gift cards given back at once are held (with the repeat payer: denied), refunds go to the payer only, within what remains (one of two sent at once), and only for the merchant's own charges"

# Everything at once, with the data directory kept to compare the report
# with the books.
KESSAI_KEEP_BENCH_DIR=1 sim mix --scenario mix "${SMALL[@]}" --seed 5 --html "$T/mix.html"
targets mix
DIR=$(sed -n 's/^kessai: bench: kept //p' "$T/err")
[ -n "$DIR" ] && [ -f "$DIR/kessai.db" ]
verdict "mix: the data directory is kept on request"
[ "$(jlen "$REP" '$.scenarios')" = 8 ] &&
    [ "$(jcol "$REP" '$.scenarios' name)" = "mix,credential-stuffing,session-theft,paycode-theft,reset-hijack,card-testing,mules,insider-refunds" ]
verdict "mix: one entry for the run and one per attack"
moved=$(sqlite3 "$DIR/kessai.db" "SELECT coalesce(sum(amount), 0) FROM transfers WHERE state = 1")
wallets=$(sqlite3 "$DIR/kessai.db" "SELECT sum(credits_posted - debits_posted) FROM accounts WHERE kind = 'wallet'")
[ "$moved" = $(($(j "$REP" '$.scenarios[0].legit_moved_yen') + $(j "$REP" '$.scenarios[0].attack_moved_yen'))) ] &&
    [ "$moved" -gt 0 ]
verdict "mix: the yen the report says customers and attackers (and the scams' victims) moved ($moved) is what the ledger's transfers add up to"
[ "$wallets" = "$(j "$REP" '$.reconcile.expected_total_yen')" ]
verdict "mix: the wallets in the books hold what the report expects ($wallets yen)"
# Offline payments: a quarter of the customers keep an offline key and
# sometimes pay without signal; their phones derive the codes themselves.
[ "$(j "$REP" '$.offline_payments.paid')" -ge 1 ] && [ "$(j "$REP" '$.offline_payments.refused')" = 0 ] &&
    [ "$(j "$REP" '$.offline_payments.challenged')" = 0 ] &&
    [ "$(j "$REP" '$.timing.latency_ms.offline_charge.count')" = "$(j "$REP" '$.offline_payments.attempts')" ]
verdict "mix: customers without signal paid with the offline codes their phones derived, none refused"
[ "$(sqlite3 "$DIR/kessai.db" "SELECT count(*) || ':' || coalesce(sum(amount), 0) FROM payments WHERE offline = 1")" \
    = "$(j "$REP" '$.offline_payments.paid'):$(j "$REP" '$.offline_payments.paid_yen')" ]
verdict "mix: the books hold exactly the offline payments the report counts"
grep -q "<svg" "$T/mix.html" && ! grep -qiE "<script|src=\"http|href=\"http" "$T/mix.html"
verdict "mix: the HTML report is one page with inline SVG charts and no external reference"
# kessaid kept the simulated clock (the clock file): every customer and
# transfer is stamped between 2026-01-05 10:00 Japan time (01:00 UTC, second
# 0) and the end of the 2 simulated minutes, whatever the machine's date.
T0=1767574800000
span=$(sqlite3 "$DIR/kessai.db" "SELECT min(m) || ',' || max(m) FROM (SELECT created_ms AS m FROM customers
                                  UNION ALL SELECT created_ms FROM transfers)")
[ "${span%,*}" = "$T0" ] && [ "${span#*,}" -gt "$T0" ] && [ "${span#*,}" -le $((T0 + 120000)) ] &&
    [ "$(stat -c %a "$DIR/sim-clock")" = 600 ]
verdict "mix: the server's times are the simulated clock's (first and last: $span)"
rm -rf "$DIR"

# One seed, one report (latencies and wall time apart).
sim mix2 --scenario mix "${SMALL[@]}" --seed 5
[ "$RC" = 0 ] && diff <(sed '/^  "timing"/,$d' "$T/mix.json") <(sed '/^  "timing"/,$d' "$T/mix2.json") >"$T/diff"
verdict "the same seed gives the same report"
# A medium run, whose real minutes and simulated minutes part far enough
# for the server's real clock to change the report (two runs of it on a
# real-clock kessaid sent 6,334 and 6,333 requests): with the simulated
# clock, one seed gives one report there too.
MEDIUM=(--customers 400 --stores 40 --minutes 5 --seed 3)
sim med1 --scenario mix "${MEDIUM[@]}"
RC1=$RC
sim med2 --scenario mix "${MEDIUM[@]}"
[ "$RC1" = 0 ] && [ "$RC" = 0 ] &&
    diff <(sed '/^  "timing"/,$d' "$T/med1.json") <(sed '/^  "timing"/,$d' "$T/med2.json") >"$T/diff"
verdict "a medium run (400 customers, 5 simulated minutes) gives the same report twice"
! diff -q <(sed '/^  "timing"/,$d' "$T/mix.json") <(sed '/^  "timing"/,$d' "$T/session-theft.json") >/dev/null
verdict "another seed gives another run"

# Store hours: from 03:00 only the stores open round the clock take
# payments (seed 5 with 5 stores has none: nobody pays at a store).
sim night --scenario legit --customers 25 --stores 5 --minutes 1 --seed 5 --start-hour 3
targets night
[ "$(j "$REP" '$.store_hours.clock_start')" = 03:00 ] && [ "$(j "$REP" '$.store_hours.stores_open_all_day')" = 0 ] &&
    [ "$(j "$REP" '$.store_hours.visits_to_closed_stores')" -gt 0 ] &&
    [ "$(j "$REP" '$.timing.latency_ms.pos_charge.count')$(j "$REP" '$.timing.latency_ms.mpm_pay.count')$(j "$REP" '$.timing.latency_ms.offline_charge.count')" = "" ]
verdict "night: customers find the stores closed at 03:00 and pay at none"
[ "$(j "$(cat "$T/mix.json")" '$.store_hours.clock_start')" = 10:00 ]
verdict "the simulated clock starts at 10:00 by default"

# Usage errors.
k simulate --scenario nonsense
[ "$RC" = 2 ] && has "$ERR" "unknown scenario"
verdict "an unknown scenario is a usage error"
k simulate --scenario mix --customers 0
[ "$RC" = 2 ]
verdict "--customers 0 is a usage error"
k simulate --scenario mix --start-hour 24
[ "$RC" = 2 ] && has "$ERR" "--start-hour"
verdict "--start-hour 24 is a usage error"
k simulate --scenario mix --offline-share 101
[ "$RC" = 2 ] && has "$ERR" "--offline-share"
verdict "--offline-share above 100 is a usage error"
k simulate --scenario mix --url ftp://x
[ "$RC" = 2 ] && has "$ERR" "--url"
ok_bad=1
for u in "http://127.0.0.1:+80" "http://127.0.0.1: 80" "http://127.0.0.1:-4294901761" "http://127.0.0.1:0" \
    "http://127.0.0.1:65536" "http://127.0.0.1:80/path" "http://:80" "http://127.0.0.1"; do
    k simulate --scenario mix --url "$u"
    { [ "$RC" = 2 ] && has "$ERR" "--url"; } || ok_bad=0
done
[ "$ok_bad" = 1 ]
verdict "a malformed --url is a usage error (other schemes, signs, spaces, ports out of range, paths)"

t_done
