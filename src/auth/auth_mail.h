/* auth_mail.h: the texts of the mail customer authentication sends, each
 * queued in the caller's transaction (notify/outbox.h).  `to` is always the
 * address on file, except for the two codes that prove a mailbox: the
 * verification code goes to the (unverified) address being registered, and
 * the change-of-address code to the new address asked for.  Texts never contain anything but
 * the one secret they exist to deliver (code, token). */
#ifndef KESSAI_AUTH_AUTH_MAIL_H
#define KESSAI_AUTH_AUTH_MAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_ctx.h"

/* What every mail text of the customer's (here and wallet/wallet_mail.h)
 * is built with.  auth_mail_send queues subject and body to `to` in ctx's
 * transaction (notify_enqueue: ERR_OK, ERR_STORE, ERR_NOMEM). */
enum err auth_mail_send(const struct auth_ctx *ctx, const char *to, const char *subject, const char *body);
/* The client address as it may appear in a mail: printable ASCII, else
 * "an unknown address". */
const char *auth_mail_addr_text(const struct auth_ctx *ctx);

enum err auth_mail_verification_code(const struct auth_ctx *ctx, const char *to, const char *code);
enum err auth_mail_register_attempt(const struct auth_ctx *ctx, const char *to);
enum err auth_mail_new_device(const struct auth_ctx *ctx, const char *to, const char *device_name);
/* in_session: the last wrong password was a password change's "current
 * password", typed in a signed-in session (someone holds one). */
enum err auth_mail_locked(const struct auth_ctx *ctx, const char *to, int64_t until_ms, bool in_session);
enum err auth_mail_reset_token(const struct auth_ctx *ctx, const char *to, const char *token);
enum err auth_mail_password_changed(const struct auth_ctx *ctx, const char *to);
/* A sign-in with the right password and a wrong second factor. */
enum err auth_mail_password_known(const struct auth_ctx *ctx, const char *to);
enum err auth_mail_reset_completed(const struct auth_ctx *ctx, const char *to);
/* Second-factor changes the customer must hear about: a new set of
 * recovery codes (the old set void), and a recovery code used to sign in or
 * confirm (left: how many remain). */
enum err auth_mail_recovery_codes_replaced(const struct auth_ctx *ctx, const char *to);
enum err auth_mail_authenticator_replaced(const struct auth_ctx *ctx, const char *to);
enum err auth_mail_recovery_code_used(const struct auth_ctx *ctx, const char *to, int left);
/* Change of address (auth/email_change.h): the code to the new address;
 * the notices to the address on file, before and after the change. */
enum err auth_mail_email_change_code(const struct auth_ctx *ctx, const char *to, const char *code);
enum err auth_mail_email_change_requested(const struct auth_ctx *ctx, const char *to, const char *new_email);
enum err auth_mail_email_changed(const struct auth_ctx *ctx, const char *to, const char *new_email);

#endif
