/* record.c: the audit entries of the admin commands' changes (cli.h,
 * audit/audit.h).  The actor is always "admin-cli"; who ran the command,
 * as far as this machine knows ("cli:" + the login name), goes into the
 * detail as "operator". */
#include <time.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "util/timeutil.h"

enum err cli_record(struct cli_ctx *x, const char *action, int64_t customer_id, json_t *detail)
{
    char operator[64];
    cli_operator_name(operator);
    if (detail == NULL)
        detail = json_object();
    if (detail)
        json_object_set_new(detail, "operator", json_string(operator));
    return audit_record(x->st, time_now_ms(), AUDIT_ACTOR_ADMIN_CLI, customer_id, action, AUDIT_SUCCESS, NULL, 0,
                        detail);
}

enum err cli_change_begin(struct cli_ctx *x) { return x->st->ops->begin(x->st); }

enum err cli_change_end(struct cli_ctx *x, enum err e, const char *action, int64_t customer_id, json_t *detail)
{
    if (e == ERR_OK)
        e = cli_record(x, action, customer_id, detail);
    else
        json_decref(detail);
    if (e == ERR_OK)
        e = x->st->ops->commit(x->st);
    if (e != ERR_OK)
        x->st->ops->rollback(x->st);
    return e;
}
