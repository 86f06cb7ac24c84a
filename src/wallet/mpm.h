/* mpm.h: paying by scanning the store's QR (merchant-presented mode).
 *
 * Every store has a static EMVCo payload (emvco.h) naming kessai and the
 * store.  POST /v1/payments {qr_payload, amount} + Idempotency-Key (FULL
 * session; FRESH above pay_mfa_threshold): the payload is decoded and
 * checked (CRC, format, kessai's GUID, a known and active store: else
 * ERR_INVALID_QR "qr_payload"), then paid like a charge (payment.h: same
 * limits, freeze and kill-switch checks, same one-transaction commit), and
 * the store's terminals see it in their feed (GET /pos/v1/payments).
 * A payment the risk engine holds is kept for staff review (review.h):
 * ERR_RISK_HELD with out->held_id set ("rvw_…"); nothing moved.
 */
#ifndef KESSAI_WALLET_MPM_H
#define KESSAI_WALLET_MPM_H

#include "auth/session.h"
#include "wallet/payment.h"

/* SLOW (waits for the ledger): run on the wallet workers. */
enum err mpm_pay(const struct wallet_ctx *w, const struct auth_session *cur, const char *qr_payload, int64_t amount,
                 const char *idem_key, struct payment_receipt *out, const char **bad, struct killswitch *sw);

/* The store's payload (for `kessai admin store qr`): *out malloc'd. */
enum err mpm_store_payload(struct store *st, int64_t store_id, char **out);

#endif
