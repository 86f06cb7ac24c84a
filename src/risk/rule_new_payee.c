/* rule_new_payee.c: a large first transfer to a new account.
 *
 * An authorised-push-payment scam ("your account is compromised, move the
 * money to this safe account"; a fake seller; a fake investment): the
 * victim sends from their own phone, with their own session and second
 * factor, so nothing at login can see it.  What the victim cannot change
 * is where the money goes: an account opened days ago that they never
 * paid before.  A transfer of at least new_payee_amount whose recipient is
 * new (RISK_F_PAYEE_NEW) and that the sender never sent as much before in
 * one transfer (RISK_F_PAYEE_FIRST; the caller asks the store) fires: a
 * small transfer first ("send 100 yen to check the account") clears
 * nothing.  Friends settling a bill send a few thousand yen, and a second
 * large transfer to someone paid as much before (a first one staff let
 * through) stays quiet.  Like topup_then_resale the threshold is "at least"
 * (the amount a scammer names is round).  Reason value: the amount. The
 * engine keeps no state for it.
 */
#include "risk/risk_internal.h"

static void eval(struct risk_call *c)
{
    const struct risk_event *ev = c->ev;
    const struct risk_config *cfg = &c->r->cfg;
    const unsigned both = RISK_F_PAYEE_NEW | RISK_F_PAYEE_FIRST;
    if (ev->kind != RISK_P2P || cfg->new_payee_score == 0 || (ev->flags & both) != both ||
        ev->amount < cfg->new_payee_amount)
        return;
    risk_fire(c, "p2p_new_payee", ev->amount, cfg->new_payee_amount, cfg->new_payee_score, false);
}

const struct risk_rule risk_rule_new_payee = {eval, NULL, NULL};
