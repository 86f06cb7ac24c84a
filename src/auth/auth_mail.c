#include "auth/auth_mail.h"

#include <stdio.h>

#include "auth/customer.h"
#include "auth/email_change.h"
#include "auth/reset.h"
#include "notify/outbox.h"
#include "util/timeutil.h"

enum err auth_mail_send(const struct auth_ctx *ctx, const char *to, const char *subject, const char *body)
{
    return notify_enqueue(ctx->st, ctx->master_key, ctx->now, to, subject, body);
}

const char *auth_mail_addr_text(const struct auth_ctx *ctx)
{
    const char *a = ctx->client_addr;
    if (a == NULL || *a == '\0')
        return "an unknown address";
    for (const char *p = a; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return "an unknown address";
    return a;
}

enum err auth_mail_verification_code(const struct auth_ctx *ctx, const char *to, const char *code)
{
    char body[512];
    snprintf(body, sizeof body,
             "Your kessai verification code is: %s\n\n"
             "It is valid for %d minutes.  If you did not just register with kessai, ignore this message:\n"
             "without the code nobody can use this address.",
             code, EMAIL_CODE_TTL_MS / 60000);
    return auth_mail_send(ctx, to, "Your kessai verification code", body);
}

enum err auth_mail_register_attempt(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "Someone tried to register a new kessai account with your address from %s.\n\n"
             "Your account is unchanged.  If it was you, sign in instead or reset your password.",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Someone tried to register with your address", body);
}

enum err auth_mail_new_device(const struct auth_ctx *ctx, const char *to, const char *device_name)
{
    char body[768], when[TIME_ISO_BUF];
    snprintf(body, sizeof body,
             "New sign-in from device \"%s\" at %s (%s).\n\n"
             "If this was not you, sign in, remove the device and change your password now.",
             device_name, auth_mail_addr_text(ctx), time_iso8601(when, ctx->now));
    return auth_mail_send(ctx, to, "New sign-in to your kessai account", body);
}

enum err auth_mail_locked(const struct auth_ctx *ctx, const char *to, int64_t until_ms, bool in_session)
{
    char body[768], until[TIME_ISO_BUF];
    if (in_session)
        snprintf(body, sizeof body,
                 "Your kessai account was locked after too many wrong passwords, the last typed as the current "
                 "password of a password change, in a signed-in session, from %s.\n"
                 "It unlocks at %s.\n\n"
                 "If this was not you, someone is signed in to your account: sign out everywhere and reset your "
                 "password.",
                 auth_mail_addr_text(ctx), time_iso8601(until, until_ms));
    else
        snprintf(body, sizeof body,
                 "Your kessai account was locked after too many failed sign-in attempts, the last from %s.\n"
                 "It unlocks at %s.\n\n"
                 "If these attempts were not yours, your password may be known to someone: reset it.",
                 auth_mail_addr_text(ctx), time_iso8601(until, until_ms));
    return auth_mail_send(ctx, to, "Your kessai account is locked", body);
}

enum err auth_mail_reset_token(const struct auth_ctx *ctx, const char *to, const char *token)
{
    char body[512];
    snprintf(body, sizeof body,
             "A password reset was requested for your kessai account from %s.\n\n"
             "Reset token: %s\n\n"
             "It is valid for %d minutes and once, together with your second factor.\n"
             "If you did not ask for it, ignore this message: your password stays as it is.",
             auth_mail_addr_text(ctx), token, RESET_TOKEN_TTL_MS / 60000);
    return auth_mail_send(ctx, to, "Reset your kessai password", body);
}

enum err auth_mail_password_changed(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "The password of your kessai account was changed from %s; your other sessions were ended.\n\n"
             "If this was not you, reset your password now.",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your kessai password was changed", body);
}

enum err auth_mail_password_known(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "Someone signed in to your kessai account from %s with your password, but the wrong authenticator "
             "code, and was refused.\n\n"
             "If this was not you, your password is known to someone: change it now (or reset it).",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your kessai password was used with a wrong code", body);
}

enum err auth_mail_recovery_codes_replaced(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "A new set of recovery codes for your kessai account was made from %s; the old codes no longer work.\n\n"
             "If this was not you, reset your password now and contact support.",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "New recovery codes for your kessai account", body);
}

enum err auth_mail_authenticator_replaced(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "A new authenticator app was set up for your kessai account from %s, with a new set of recovery "
             "codes; the old app and the old codes no longer work.\n\n"
             "If this was not you, contact support now: they can stop your account and reset your second factor.",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your kessai authenticator was changed", body);
}

enum err auth_mail_recovery_code_used(const struct auth_ctx *ctx, const char *to, int left)
{
    char body[512];
    snprintf(body, sizeof body,
             "A recovery code of your kessai account was used from %s instead of your authenticator; "
             "%d codes are left.\n\n"
             "If this was not you, reset your password now and contact support.",
             auth_mail_addr_text(ctx), left);
    return auth_mail_send(ctx, to, "A recovery code of your kessai account was used", body);
}

enum err auth_mail_reset_completed(const struct auth_ctx *ctx, const char *to)
{
    char body[512];
    snprintf(body, sizeof body,
             "The password of your kessai account was reset from %s.  Every session was ended, and some\n"
             "limits are lower for a while.\n\n"
             "If this was not you, contact support at once.",
             auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your kessai password was reset", body);
}

enum err auth_mail_email_change_code(const struct auth_ctx *ctx, const char *to, const char *code)
{
    char body[512];
    snprintf(body, sizeof body,
             "Your kessai code to confirm this address is: %s\n\n"
             "It is valid for %d minutes.  If you did not ask for your kessai account to use this address,\n"
             "ignore this message: without the code nothing changes.",
             code, EMAIL_CHANGE_CODE_TTL_MS / 60000);
    return auth_mail_send(ctx, to, "Confirm your new kessai e-mail address", body);
}

enum err auth_mail_email_change_requested(const struct auth_ctx *ctx, const char *to, const char *new_email)
{
    char body[1024];
    snprintf(body, sizeof body,
             "A change of your kessai account's e-mail address to %s was requested from %s.\n"
             "Nothing changes until the code sent to that address is entered.\n\n"
             "If this was not you, someone has your password and your second factor: sign in, sign out\n"
             "everywhere, change your password and set up your authenticator app again, then contact support.",
             new_email, auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "A change of your kessai e-mail address was requested", body);
}

enum err auth_mail_email_changed(const struct auth_ctx *ctx, const char *to, const char *new_email)
{
    char body[1024];
    snprintf(body, sizeof body,
             "The e-mail address of your kessai account was changed to %s from %s; your other sessions\n"
             "were ended.  This address will get no more mail about the account.\n\n"
             "If this was not you, contact support at once: the account may have been taken over.",
             new_email, auth_mail_addr_text(ctx));
    return auth_mail_send(ctx, to, "Your kessai e-mail address was changed", body);
}
