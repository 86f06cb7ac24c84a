/* payment_mail.h: the texts of every mail a payment sends (payment.h: every
 * debit is mailed to the customer at once), queued in the caller's
 * transaction (notify/outbox.h) — for payments that is the ledger writer's
 * batch transaction, inside the payment's hook (payment_internal.h).
 *
 * `to` is always a customer's verified address on file.  No code, token or
 * card number appears in a text; amounts are integer yen.  `where` is what
 * the customer reads as the other side: a store's name; the other
 * customer's address (recipient, sender) is always masked in the text
 * ("h***@example.com", util/email.h email_mask).  Each returns notify_enqueue's result (ERR_OK,
 * ERR_STORE, ERR_NOMEM, ERR_INVALID_PARAM). */
#ifndef KESSAI_WALLET_PAYMENT_MAIL_H
#define KESSAI_WALLET_PAYMENT_MAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"
#include "util/err.h"

/* A payment at a store (a code shown at the register, or the store's QR). */
enum err payment_mail_paid(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *where,
                           bool offline, int64_t balance);
/* A refund (or the void of a payment) back into the wallet. */
enum err payment_mail_refunded(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *where,
                               bool is_void, int64_t balance);
/* Money sent to another customer (message: "" or the sender's text). */
enum err payment_mail_p2p_sent(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *recipient,
                               const char *message, int64_t balance);
/* Money received from another customer. */
enum err payment_mail_p2p_received(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *sender,
                                   const char *message, int64_t balance);

#endif
