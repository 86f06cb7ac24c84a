/* card_internal.h: what card.c, card_link.c and topup.c share.  Not for
 * use outside src/wallet/.  Functions marked
 * "inside" run in the caller's transaction. */
#ifndef KESSAI_WALLET_CARD_INTERNAL_H
#define KESSAI_WALLET_CARD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "auth/events.h"
#include "wallet/card.h"

/* s is min..max ASCII digits (false for NULL). */
bool card_digits(const char *s, size_t min, size_t max);
/* Inside: one security event of the session's customer and device. */
enum err card_record(const struct wallet_ctx *w, const struct auth_session *cur, enum sec_event kind,
                     enum sec_outcome outcome, json_t *detail);
/* {card, brand, last4} of c, for events. */
json_t *card_detail_json(const struct card *c);
/* Inside: card_link_failed {reason: err symbol, last4?, param?}; param
 * names a field or a limit, never its value. */
enum err card_record_failed(const struct wallet_ctx *w, const struct auth_session *cur, enum err reason,
                            const char *last4, const char *param);
/* card_record_failed in its own transaction; returns reason (or the
 * store's error). */
enum err card_refuse(const struct wallet_ctx *w, const struct auth_session *cur, enum err reason, const char *last4,
                     const char *param);
/* Inside: c becomes FAILED (final), recorded as card_link_failed {card…,
 * reason: authentication_failed, cause: "challenge_expired" (our clock) or
 * "issuer" (no tries left, expired or refused at the issuer)}. */
enum err card_fail(const struct wallet_ctx *w, const struct auth_session *cur, struct card *c, const char *cause);
/* Inside: every PENDING card of the customer whose challenge outlived
 * GATEWAY_CHALLENGE_TTL_MS becomes FAILED. */
enum err card_expire_stale(const struct wallet_ctx *w, const struct auth_session *cur);

#endif
