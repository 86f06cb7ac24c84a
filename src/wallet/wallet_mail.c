#include "wallet/wallet_mail.h"

#include <inttypes.h>
#include <stdio.h>

#include "auth/auth_mail.h"
#include "util/money.h"
#include "util/timeutil.h"
#include "wallet/gateway.h"

enum err wallet_mail_card_challenge(const struct auth_ctx *ctx, const char *to, const char *last4, const char *otp)
{
    char body[768];
    snprintf(body, sizeof body,
             "Your card issuer's verification code to link the card ending in %s to your kessai wallet is: %s\n\n"
             "It is valid for %d minutes.  The request came from %s.\n"
             "If you did not just add this card, do not enter the code: someone who knows your password is\n"
             "signed in to your account.  Sign out everywhere and change your password now.",
             last4, otp, GATEWAY_CHALLENGE_TTL_MS / 60000, auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your card verification code", body);
}

enum err wallet_mail_card_challenge_holder(const struct auth_ctx *ctx, const char *to, const char *last4,
                                          const char *otp)
{
    char body[768];
    snprintf(body, sizeof body,
             "Someone is adding your card ending in %s to a kessai wallet registered to another e-mail address.\n\n"
             "If that is you, your card issuer's verification code is: %s (valid for %d minutes).\n\n"
             "If it is not you, do not give this code to anyone, whoever asks for it: without it the card cannot\n"
             "be added.  Someone may know your card's number and security code; ask your card issuer for a new card.",
             last4, otp, GATEWAY_CHALLENGE_TTL_MS / 60000);
    return auth_mail_send(ctx, to, "Your card is being added to a kessai wallet", body);
}

/* A card linked or removed: "Your <brand> card ending in <last4> <what> your
 * kessai wallet at <when>, from <address>.\n<rest>". */
static enum err card_notice(const struct auth_ctx *ctx, const char *to, const char *brand, const char *last4,
                            const char *what, const char *rest, const char *subject)
{
    char body[768], when[TIME_ISO_BUF];
    snprintf(body, sizeof body, "Your %s card ending in %s %s your kessai wallet at %s, from %s.\n%s", brand, last4,
             what, time_iso8601(when, ctx->now), auth_mail_addr_text(ctx), rest);
    return auth_mail_send(ctx, to, subject, body);
}

enum err wallet_mail_card_linked(const struct auth_ctx *ctx, const char *to, const char *brand, const char *last4)
{
    return card_notice(ctx, to, brand, last4, "was linked to",
                       "It can now be used to top up your wallet.\n\n"
                       "If this was not you, remove the card in the app, sign out everywhere and change your "
                       "password now.",
                       "A card was linked to your kessai wallet");
}

enum err wallet_mail_card_removed(const struct auth_ctx *ctx, const char *to, const char *brand, const char *last4)
{
    return card_notice(ctx, to, brand, last4, "was removed from",
                       "It can no longer be used to top up.\n\n"
                       "If this was not you, sign out everywhere and change your password now.",
                       "A card was removed from your kessai wallet");
}

enum err wallet_mail_topup_succeeded(const struct auth_ctx *ctx, const char *to, int64_t amount, const char *source,
                                     int64_t balance)
{
    char body[1024], when[TIME_ISO_BUF], a[32], b[32];
    snprintf(body, sizeof body,
             "%s was added to your kessai wallet from %s at %s.\n"
             "Your balance is now %s.\n\n"
             "If this was not you, freeze your account in the app and contact support at once.",
             money_format_yen(a, amount), source, time_iso8601(when, ctx->now), money_format_yen(b, balance));
    return auth_mail_send(ctx, to, "Your kessai wallet was topped up", body);
}

enum err wallet_mail_topup_challenge(const struct auth_ctx *ctx, const char *to, const char *last4, int64_t amount,
                                     const char *otp)
{
    char body[768], a[32];
    snprintf(body, sizeof body,
             "Your card issuer's verification code for a top-up of %s from the card ending in %s is: %s\n\n"
             "It is valid for %d minutes.  The request came from %s.\n"
             "If you did not just top up your wallet, do not enter the code: someone who knows your password\n"
             "is signed in to your account.  Sign out everywhere and change your password now.",
             money_format_yen(a, amount), last4, otp, GATEWAY_CHALLENGE_TTL_MS / 60000, auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your top-up verification code", body);
}
