/* txn.h: the transaction around every auth call (auth_ctx.h's rules), for
 * the files in src/auth/ only. */
#ifndef KESSAI_AUTH_TXN_H
#define KESSAI_AUTH_TXN_H

#include <stdbool.h>

#include "auth/auth_ctx.h"
#include "auth/customer_types.h"
#include "util/ids.h"

enum err auth_begin(const struct auth_ctx *ctx);
/* Commit (keep) or roll back the call's transaction, then deliver the mail
 * it queued when ctx->mail is set (else wake ctx->wake, if set).  Returns
 * result, unless the commit failed (then that error: nothing the call did
 * happened). */
enum err auth_end(const struct auth_ctx *ctx, bool keep, enum err result);
/* What auth_end does after a commit, for mail queued in a transaction the
 * caller did not run itself (the ledger writer's, through a hook): deliver
 * it when ctx->mail is set, else wake ctx->wake (if set). */
void auth_deliver(const struct auth_ctx *ctx);
/* The same for the calls marked DEFERS MAIL (auth_ctx.h): never delivers,
 * only wakes ctx->wake (if set) after a commit. */
enum err auth_end_deferred(const struct auth_ctx *ctx, bool keep, enum err result);

/* "usr_…": the associated data of a customer's sealed TOTP seeds. */
char *auth_customer_ad(char buf[IDS_BUF], int64_t customer_id);

/* Settings in ms. */
int64_t auth_idle_ms(const struct auth_ctx *ctx);
int64_t auth_absolute_ms(const struct auth_ctx *ctx);

#endif
