#include "wallet/payment_mail.h"

#include <inttypes.h>
#include <stdio.h>

#include "notify/outbox.h"
#include "util/email.h"
#include "util/money.h"
#include "util/timeutil.h"

static enum err send(const struct auth_ctx *ctx, const char *to, const char *subject, const char *body)
{
    return notify_enqueue(ctx->st, ctx->master_key, ctx->now, to, subject, body);
}

static const char *warning = "If this was not you, freeze your account in the app at once and contact support.";

enum err payment_mail_paid(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *where,
                           bool offline, int64_t balance)
{
    char body[1024], when[TIME_ISO_BUF], a[32], b[32];
    snprintf(body, sizeof body,
             "You paid %s at %s at %s%s.\n"
             "Your balance is now %s.\n\n%s",
             money_format_yen(a, amount), where, time_iso8601(when, ctx->now), offline ? " with an offline code" : "",
             money_format_yen(b, balance), warning);
    return send(ctx, to, "You paid with your kessai wallet", body);
}

enum err payment_mail_refunded(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *where,
                               bool is_void, int64_t balance)
{
    char body[1024], when[TIME_ISO_BUF], a[32], b[32];
    snprintf(body, sizeof body,
             "%s %s %s back to your kessai wallet at %s.\n"
             "Your balance is now %s.",
             where, is_void ? "cancelled a payment and gave" : "refunded", money_format_yen(a, amount),
             time_iso8601(when, ctx->now), money_format_yen(b, balance));
    return send(ctx, to, is_void ? "A payment was cancelled" : "You received a refund", body);
}

enum err payment_mail_p2p_sent(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *recipient,
                               const char *message, int64_t balance)
{
    char body[1536], when[TIME_ISO_BUF], a[32], b[32], who[EMAIL_MASKED_MAX + 1];
    email_mask(recipient, who); /* never the other customer's full address */
    snprintf(body, sizeof body,
             "You sent %s to %s at %s.\n%s%s%s"
             "Your balance is now %s.\n\n%s",
             money_format_yen(a, amount), who, time_iso8601(when, ctx->now), *message ? "Your message: " : "", message,
             *message ? "\n" : "", money_format_yen(b, balance), warning);
    return send(ctx, to, "You sent money from your kessai wallet", body);
}

enum err payment_mail_p2p_received(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *sender,
                                   const char *message, int64_t balance)
{
    char body[1536], when[TIME_ISO_BUF], a[32], b[32], who[EMAIL_MASKED_MAX + 1];
    email_mask(sender, who);
    snprintf(body, sizeof body,
             "%s sent you %s at %s.\n%s%s%s"
             "Your balance is now %s.",
             who, money_format_yen(a, amount), time_iso8601(when, ctx->now), *message ? "Their message: " : "", message,
             *message ? "\n" : "", money_format_yen(b, balance));
    return send(ctx, to, "You received money in your kessai wallet", body);
}
