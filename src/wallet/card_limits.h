/* card_limits.h: the link limits and card-testing defence of card.h (steps
 * 3 to 6), for wallet/card_link.c only.
 *
 * A card tester holds stolen numbers and needs to learn which work and what
 * their CVVs are; the issuer's answer to a link attempt tells them.  So the
 * answers are rationed per customer (5 attempts a day, 3 CVV mismatches
 * then a day's block) and per source across all accounts (5 declines from
 * one phone or one address in an hour, then a day's block).
 *
 * Sources, as stored in card_attempts and source_blocks:
 *   customer  AUTH_SOURCE_CARD_CUSTOMER "usr_…"
 *   device    AUTH_SOURCE_CARD_DEVICE   the device's public key: the same
 *             phone under every account it signs in to (attempts are
 *             counted by device row, and the store joins rows by key)
 *   address   AUTH_SOURCE_CARD_ADDR     throttle_addr_key() of the client
 *             address (IPv6 counted per /64); none when it is unknown
 *
 *   source: CLEAR --threshold crossed (card_limits_declined)--> BLOCKED --CARD_BLOCK_S--> CLEAR
 *
 * Every function here runs inside the caller's transaction.
 */
#ifndef KESSAI_WALLET_CARD_LIMITS_H
#define KESSAI_WALLET_CARD_LIMITS_H

#include <stdint.h>

#include "auth/customer_types.h"
#include "auth/session.h"
#include "util/ids.h"
#include "wallet/wallet_ctx.h"

struct card_sources {
    int64_t customer_id;
    int64_t device_id;
    char customer[IDS_BUF];                  /* "usr_…" */
    char device_key[DEVICE_KEY_B64_LEN + 1]; /* "" if the device row is gone */
    char addr[CLIENT_ADDR_MAX + 1];          /* "" if the address is unknown */
};

/* Fill src for the session's customer and device at w->a.client_addr. */
enum err card_sources_load(const struct wallet_ctx *w, const struct auth_session *cur, struct card_sources *src);

/* Steps 3 and 4: ERR_OK, or ERR_RATE_LIMITED with *retry_after_s (a block;
 * or the attempts still waiting for the issuer would, were they declines,
 * reach a threshold: the same *why "blocked", a few seconds; or the day's
 * attempts spent: *why "attempts"), or ERR_LIMIT_EXCEEDED (*why "cards").
 * Changes nothing. */
enum err card_limits_check(const struct wallet_ctx *w, const struct card_sources *src, const char **why,
                           int64_t *retry_after_s);

/* Step 5, before the fingerprint is checked and the gateway asked: count
 * one attempt (outcome PENDING); *attempt_id names it for
 * card_attempt_set_outcome. */
enum err card_limits_count(const struct wallet_ctx *w, const struct card_sources *src, int64_t *attempt_id);

/* Step 6, the gateway declined with `decline`: set the attempt's outcome
 * (CARD_ATTEMPT_CVC for ERR_INCORRECT_CVC, else CARD_ATTEMPT_DECLINED) and
 * block every source that now crosses its threshold, recording
 * card_testing_blocked {source, blocked_until_ms} once per block. */
enum err card_limits_declined(const struct wallet_ctx *w, const struct card_sources *src, int64_t attempt_id,
                              enum err decline);

#endif
