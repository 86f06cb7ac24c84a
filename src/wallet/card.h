/* card.h: linking, listing and removing a customer's payment cards.
 *
 * Card life (wallet_types.h):
 *
 *   card_link_start --> PENDING --card_link_confirm(code ok)--> ACTIVE --card_remove--> REMOVED
 *                         |  ^                                            
 *                         |  +--wrong code, tries left (ERR_INVALID_CODE)
 *                         +--no tries left / challenge expired--> FAILED
 *
 * card_link_start, in order (every refusal changes nothing but the counters
 * named, and is recorded as a security event):
 *   1. session FULL and FRESH (ERR_MFA_REQUIRED / ERR_FRESH_MFA_REQUIRED);
 *   2. input: number 12..19 digits and Luhn-valid (ERR_INVALID_PARAM
 *      "number"), exp_month 1..12 and exp_year/exp_month not in the past
 *      (ERR_INVALID_PARAM "exp_month"/"exp_year"), cvc 3..4 digits
 *      (ERR_INVALID_PARAM "cvc"); these cost no attempt;
 *   3. blocks (ERR_RATE_LIMITED, *retry_after_s): the customer's card
 *      linking is blocked (after CARD_CVC_MISMATCH_MAX CVV mismatches in
 *      24 h: blocked CARD_BLOCK_S), or the device or client address is
 *      blocked (after CARD_SOURCE_DECLINES_MAX declines from it in 1 h:
 *      blocked CARD_BLOCK_S); attempts still waiting for the issuer count
 *      here as if declined (as CVV mismatches for the customer), so
 *      concurrent requests cannot get more answers than that (a few
 *      seconds' *retry_after_s);
 *   4. limits: CARD_MAX_ACTIVE cards PENDING or ACTIVE (ERR_LIMIT_EXCEEDED
 *      "cards"); CARD_ATTEMPTS_PER_DAY attempts in 24 h (ERR_RATE_LIMITED);
 *   5. the attempt is counted; the keyed fingerprint of the PAN is on
 *      cards of CARD_MAX_ACCOUNTS or more other customers:
 *      ERR_CARD_UNAVAILABLE, before the issuer is asked (so the answer
 *      tells nothing about the CVV);
 *   6. the gateway tokenizes (CVV checked by the issuer): a decline is
 *      returned as the gateway's error (ERR_CARD_DECLINED,
 *      ERR_CARD_EXPIRED, ERR_INCORRECT_CVC, …) and counted for the
 *      customer, device and address; reaching a block threshold blocks
 *      that source and records card_testing_blocked;
 *   7. the gateway opens a 3-D Secure challenge; the card count and the
 *      fingerprint are checked again (a race with another link), the card
 *      is stored PENDING and the issuer's code (test processor) is mailed
 *      to the verified address; *out is the card (status PENDING).
 * card_link_confirm needs FULL; ERR_CARD_NOT_FOUND unless the card is the
 * customer's and PENDING; on success the card is ACTIVE and the customer
 * mailed "card linked".  card_remove needs FULL; mails "card removed".
 *
 * The PAN and CVV are used in steps 2, 5 and 6 and nowhere else: never
 * stored, logged or put in an event or a mail (the last four digits may be).
 */
#ifndef KESSAI_WALLET_CARD_H
#define KESSAI_WALLET_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "auth/session.h"
#include "wallet/wallet_ctx.h"

#define CARD_MAX_ACTIVE 3
#define CARD_ATTEMPTS_PER_DAY 5
#define CARD_MAX_ACCOUNTS 2          /* the same card on a third account is refused */
#define CARD_CVC_MISMATCH_MAX 3      /* per customer in 24 h, then the customer is blocked */
#define CARD_SOURCE_DECLINES_MAX 5   /* per device or address in 1 h, then the source is blocked */
#define CARD_BLOCK_S (24 * 3600)
#define CARD_LIST_MAX 16

struct card_link_input {
    const char *number; /* digits only */
    int exp_month;
    int exp_year;
    const char *cvc;
};

/* SLOW (gateway).  See above.  *bad names the field on ERR_INVALID_PARAM /
 * ERR_LIMIT_EXCEEDED; *retry_after_s is set on ERR_RATE_LIMITED. */
enum err card_link_start(const struct wallet_ctx *w, const struct auth_session *cur, const struct card_link_input *in,
                         struct card *out, const char **bad, int64_t *retry_after_s);
/* SLOW (gateway).  ERR_OK (card ACTIVE in *out), ERR_INVALID_CODE (tries
 * left), ERR_AUTHENTICATION_FAILED (card FAILED), ERR_CARD_NOT_FOUND. */
enum err card_link_confirm(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id,
                           const char *code, struct card *out);
/* The customer's PENDING and ACTIVE cards, oldest first. */
enum err card_list(const struct wallet_ctx *w, const struct auth_session *cur, struct card *out, size_t max,
                   size_t *n);
/* The API's name of a status (enum card_status): "pending", "active",
 * "failed", "removed". */
const char *card_status_name(int status);
/* The customer's card (any status), ERR_CARD_NOT_FOUND if not theirs. */
enum err card_get(const struct wallet_ctx *w, int64_t customer_id, int64_t card_id, struct card *out);
/* ERR_CARD_NOT_FOUND unless theirs and PENDING or ACTIVE. */
enum err card_remove(const struct wallet_ctx *w, const struct auth_session *cur, int64_t card_id);

#endif
