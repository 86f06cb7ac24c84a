#include "auth/txn.h"

#include "notify/outbox.h"

enum err auth_begin(const struct auth_ctx *ctx) { return ctx->st->ops->begin(ctx->st); }

/* Roll back (!keep) or commit; true when the call's work is now committed.
 * A failed commit is rolled back and its error put in *e (nothing the call
 * did happened, and that is the answer). */
static bool finish(const struct auth_ctx *ctx, bool keep, enum err *e)
{
    struct store *st = ctx->st;
    if (!keep) {
        st->ops->rollback(st);
        return false;
    }
    enum err c = st->ops->commit(st);
    if (c != ERR_OK) {
        st->ops->rollback(st);
        *e = c;
        return false;
    }
    return true;
}

static void wake(const struct auth_ctx *ctx)
{
    if (ctx->wake && ctx->wake->wake)
        ctx->wake->wake(ctx->wake->ctx);
}

void auth_deliver(const struct auth_ctx *ctx)
{
    /* Failures are logged by the outbox and retried by the next delivery:
     * the change is committed, so the caller's answer must not change. */
    if (ctx->mail)
        (void)notify_deliver_pending(ctx->st, ctx->master_key, ctx->mail, ctx->now, NULL);
    else
        wake(ctx);
}

enum err auth_end(const struct auth_ctx *ctx, bool keep, enum err result)
{
    enum err e = result;
    if (!finish(ctx, keep, &e))
        return e;
    auth_deliver(ctx);
    return result;
}

enum err auth_end_deferred(const struct auth_ctx *ctx, bool keep, enum err result)
{
    enum err e = result;
    if (!finish(ctx, keep, &e))
        return e;
    /* Woken whether or not this call queued mail: knowing would take
     * bookkeeping in every mail path, and a round with nothing queued
     * costs the deliverer one read. */
    wake(ctx);
    return result;
}

char *auth_customer_ad(char buf[IDS_BUF], int64_t customer_id)
{
    return ids_format(buf, CUSTOMER_ID_PREFIX, customer_id);
}

int64_t auth_idle_ms(const struct auth_ctx *ctx) { return ctx->cfg->session_idle_s * 1000; }
int64_t auth_absolute_ms(const struct auth_ctx *ctx) { return ctx->cfg->session_absolute_s * 1000; }
