/* rule_identity.c: a new device, a recently reset password.
 *
 * The wallet this project replaces was emptied by people who reset
 * passwords to addresses they chose and signed in from their own phones.
 * Either signal alone is everyday life (a new phone, a forgotten
 * password); the two scores are set so that together they reach a
 * challenge.  The caller knows both (auth/device.h cool-down, the reset
 * cool-down) and sets the flags; the engine keeps no state for them.
 * Refunds are the register's doing, so they are not scored here.
 */
#include "risk/risk_internal.h"

#define KINDS (RISK_BIT(RISK_LOGIN) | RISK_BIT(RISK_CARD_LINK) | RISK_BIT(RISK_TOPUP) | RISK_BIT(RISK_PAYMENT) | \
               RISK_BIT(RISK_P2P))

static void eval(struct risk_call *c)
{
    const struct risk_config *cfg = &c->r->cfg;
    if (!risk_kind_in(c->ev, KINDS))
        return;
    if ((c->ev->flags & RISK_F_DEVICE_NEW) && cfg->new_device_score > 0)
        risk_fire(c, "new_device", 1, 0, cfg->new_device_score, false);
    if ((c->ev->flags & RISK_F_PASSWORD_RESET) && cfg->password_reset_score > 0)
        risk_fire(c, "password_reset", 1, 0, cfg->password_reset_score, false);
}

const struct risk_rule risk_rule_identity = {eval, NULL, NULL};
