#include "auth/txn.h"

#include "notify/outbox.h"

enum err auth_begin(const struct auth_ctx *ctx) { return ctx->st->ops->begin(ctx->st); }

enum err auth_end(const struct auth_ctx *ctx, bool keep, enum err result)
{
    struct store *st = ctx->st;
    if (!keep) {
        st->ops->rollback(st);
        return result;
    }
    enum err e = st->ops->commit(st);
    if (e != ERR_OK) {
        st->ops->rollback(st);
        return e;
    }
    /* Failures are logged by the outbox and retried by the next delivery:
     * the change is committed, so the caller's answer must not change. */
    if (ctx->mail)
        (void)notify_deliver_pending(st, ctx->master_key, ctx->mail, ctx->now, NULL);
    return result;
}

char *auth_customer_ad(char buf[IDS_BUF], int64_t customer_id)
{
    return ids_format(buf, CUSTOMER_ID_PREFIX, customer_id);
}

int64_t auth_idle_ms(const struct auth_ctx *ctx) { return ctx->cfg->session_idle_s * 1000; }
int64_t auth_absolute_ms(const struct auth_ctx *ctx) { return ctx->cfg->session_absolute_s * 1000; }
