/* code_budget.c: the daily cap on mailed codes (code_budget.h). */
#include "auth/code_budget.h"

#include "auth/events.h"

enum err code_budget_take(const struct auth_ctx *ctx, int64_t customer_id, const char *purpose, bool *granted)
{
    int n = 0;
    int64_t since = ctx->now - CODE_BUDGET_WINDOW_MS;
    *granted = false;
    enum err e = ctx->st->ops->code_issue_count(ctx->st, customer_id, purpose, since + 1, &n);
    if (e != ERR_OK)
        return e;
    if (n >= CODE_BUDGET_PER_DAY)
        return sec_event_record(ctx->st, ctx->now, customer_id, SEC_CODE_BUDGET_EXHAUSTED, SEC_FAILURE,
                                ctx->client_addr, 0, json_pack("{s:s}", "purpose", purpose));
    /* Rows older than the window can never count again: purge them here
     * so the table stays as small as the traffic of one day. */
    e = ctx->st->ops->code_issue_insert(ctx->st, customer_id, purpose, ctx->now, since);
    if (e == ERR_OK)
        *granted = true;
    return e;
}
