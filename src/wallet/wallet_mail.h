/* wallet_mail.h: the texts of every mail cards and top-ups send, each queued
 * in the caller's transaction (notify/outbox.h), like auth/auth_mail.h.
 *
 * `to` is always the customer's verified address on file.  A text names a
 * card only by brand and last four digits, never by number, expiry or CVV;
 * the two challenge mails carry the one secret they exist to deliver (the
 * test processor's 3-D Secure code, gateway.h), nothing else.  Amounts are
 * integer yen.  Each returns notify_enqueue's result (ERR_OK, ERR_STORE,
 * ERR_NOMEM). */
#ifndef KESSAI_WALLET_WALLET_MAIL_H
#define KESSAI_WALLET_WALLET_MAIL_H

#include <stdint.h>

#include "auth/auth_ctx.h"
#include "util/err.h"

/* The issuer's 3-D Secure code for linking the card ending in last4. */
enum err wallet_mail_card_challenge(const struct auth_ctx *ctx, const char *to, const char *last4, const char *otp);
/* The same code when the card's issuer knows another holder (gateway.h
 * otp_to): it goes to them, with a warning instead of the account's details. */
enum err wallet_mail_card_challenge_holder(const struct auth_ctx *ctx, const char *to, const char *last4,
                                          const char *otp);
enum err wallet_mail_card_linked(const struct auth_ctx *ctx, const char *to, const char *brand, const char *last4);
enum err wallet_mail_card_removed(const struct auth_ctx *ctx, const char *to, const char *brand, const char *last4);
/* source: what paid, as the customer should read it, e.g. "your visa card
 * ending in 4242" or "cash at Kessai Mart Tokyo Station". */
enum err wallet_mail_topup_succeeded(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *source,
                                     int64_t balance);
/* The issuer's 3-D Secure code for a top-up of amount from the card ending
 * in last4. */
enum err wallet_mail_topup_challenge(const struct auth_ctx *ctx, const char *to, const char *last4, int64_t amount,
                                     const char *otp);

#endif
