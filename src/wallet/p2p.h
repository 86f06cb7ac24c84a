/* p2p.h: sending money to another customer.
 *
 * POST /v1/transfers {to, amount, message?} + Idempotency-Key, FULL session
 * (FRESH when the day's transfers with this one pass p2p_mfa_threshold,
 * and always from a device in its new-device cool-down).  `to` is the recipient's e-mail address or id
 * ("usr_…"); the recipient must be another verified customer with a second
 * factor enrolled, not frozen (else ERR_RECIPIENT_NOT_FOUND "to" — all
 * alike).  One ledger transfer wallet -> wallet (kind "p2p"), limits
 * p2p_max and p2p_daily_max (pay_new_device_daily_max while the device or
 * the account cools down), the "p2p" kill switch; both customers are
 * mailed at once.  message: 0..100 characters of text, shown to both.
 * A transfer the risk engine holds is kept for staff review (review.h):
 * ERR_RISK_HELD with out->held_id set ("rvw_…"); nothing moved.
 */
#ifndef KESSAI_WALLET_P2P_H
#define KESSAI_WALLET_P2P_H

#include "auth/session.h"
#include "wallet/payment.h"

#define P2P_MESSAGE_MAX 100

/* SLOW (waits for the ledger): run on the wallet workers. */
enum err p2p_send(const struct wallet_ctx *w, const struct auth_session *cur, const char *to, int64_t amount,
                  const char *message, const char *idem_key, struct payment_receipt *out, const char **bad,
                  struct killswitch *sw);

#endif
