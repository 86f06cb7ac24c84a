/* audit_cmd.c: `kessai audit verify` and `kessai audit search`: the
 * tamper-evident audit log (audit/audit.h, docs/audit-log.md).
 *
 * verify recomputes the chain with DIR/master.key, which must exist (a new
 * key would call every entry forged), prints the violations it finds and
 * the head (last id and hash) for the operator to record outside the
 * database; given such a record back with --anchor, it also catches the
 * removal of the newest entries, which the chain alone cannot show.
 *
 * search reads entries newest first through the store's search op (the
 * admin API's too), a page of CLI_PAGE at a time, so memory stays flat.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "util/email.h"
#include "util/timeutil.h"

#define HEX_BUF (2 * AUDIT_MAC_BYTES + 1)

/* ---- verify --------------------------------------------------------------- */

/* --anchor ID:HASH, as verify printed the head. */
static int parse_anchor(const struct cli_ctx *x, struct audit_anchor *a)
{
    const char *v = cli_opt(x, "--anchor");
    const char *colon = v ? strchr(v, ':') : NULL;
    char *end = NULL;
    errno = 0;
    long long id = colon ? strtoll(v, &end, 10) : 0;
    size_t bin = 0;
    if (colon == NULL || errno || end != colon || id < 1 || strlen(colon + 1) != 2 * AUDIT_MAC_BYTES ||
        sodium_hex2bin(a->hash, sizeof a->hash, colon + 1, 2 * AUDIT_MAC_BYTES, NULL, &bin, NULL) != 0 ||
        bin != AUDIT_MAC_BYTES)
        return cli_usage_error(x->cmd, "--anchor: expected ID:HASH as 'audit verify' printed the head (a number, "
                                       "a colon and %d hex digits), not '%s'",
                               2 * AUDIT_MAC_BYTES, v);
    a->id = id;
    return CLI_EXIT_OK;
}

/* The verdict as JSON: the violations audit_verify wrote to mem, one a line. */
static json_t *verify_json(const struct audit_verify_report *rep, char *mem)
{
    char hex[HEX_BUF];
    json_t *problems = json_array();
    char *save = NULL;
    for (char *line = mem ? strtok_r(mem, "\n", &save) : NULL; problems && line; line = strtok_r(NULL, "\n", &save))
        json_array_append_new(problems, json_string(line));
    json_t *head = rep->head_id ? json_pack("{s:I, s:s?}", "id", (json_int_t)rep->head_id, "hash",
                                            rep->head_hash_len == AUDIT_MAC_BYTES
                                                ? sodium_bin2hex(hex, sizeof hex, rep->head_hash, AUDIT_MAC_BYTES)
                                                : NULL)
                                : json_null();
    return json_pack("{s:b, s:I, s:I, s:o, s:o, s:o}", "ok", rep->violations == 0, "entries", (json_int_t)rep->entries,
                     "violations", (json_int_t)rep->violations, "first_bad_id",
                     rep->first_bad_id ? json_integer(rep->first_bad_id) : json_null(), "head",
                     head ? head : json_null(), "problems", problems ? problems : json_array());
}

int cli_run_audit_verify(struct cli_ctx *x)
{
    struct audit_anchor anchor;
    bool anchored = cli_opt(x, "--anchor") != NULL;
    int rc = anchored ? parse_anchor(x, &anchor) : CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    char db[PATH_MAX], keypath[PATH_MAX];
    cli_data_path(x, "kessai.db", db, sizeof db);
    cli_data_path(x, "master.key", keypath, sizeof keypath);
    rc = cli_open_store_readonly(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (access(keypath, F_OK) != 0)
        return cli_failure("no master key at %s: verify needs the key the log was written with", keypath);
    /* The key is not attached to the store: verify reads and changes
     * nothing.  Attaching it would chain, and so sign, entries that wait
     * for it (store.h audit_key_set) as they read now: a log rewritten
     * without the key, its MACs dropped and the marker of a database from
     * before the chain put back, would then pass. */
    uint8_t key[MASTERKEY_BYTES];
    rc = cli_load_master_key(x, key);
    if (rc != CLI_EXIT_OK)
        return rc;
    char *mem = NULL;
    size_t memlen = 0;
    FILE *out = stdout;
    if (x->json && (out = open_memstream(&mem, &memlen)) == NULL) {
        sodium_memzero(key, sizeof key);
        return cli_failure("out of memory");
    }
    if (!x->json)
        printf("audit verify: checking every entry of %s\n", db);
    struct audit_verify_report rep;
    enum err e = audit_verify(x->st, key, anchored ? &anchor : NULL, out, &rep);
    sodium_memzero(key, sizeof key);
    if (x->json)
        fclose(out);
    if (e != ERR_OK) {
        free(mem);
        return cli_failure("audit verify could not read the store: %s", err_message(e));
    }
    if (x->json) {
        rc = cli_print_json(verify_json(&rep, mem));
        free(mem);
        return rc != CLI_EXIT_OK ? rc : rep.violations ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    if (rep.violations > AUDIT_VERIFY_SHOW)
        printf("... and %zu more\n", rep.violations - AUDIT_VERIFY_SHOW);
    char hex[HEX_BUF] = "(none)";
    if (rep.head_hash_len == AUDIT_MAC_BYTES)
        sodium_bin2hex(hex, sizeof hex, rep.head_hash, AUDIT_MAC_BYTES);
    if (rep.head_id)
        printf("audit verify: head %lld:%s\n", (long long)rep.head_id, hex);
    else
        printf("audit verify: head: the log is empty\n");
    if (rep.violations) {
        char where[48] = "in the schema";
        if (rep.first_bad_id > 0)
            snprintf(where, sizeof where, "at entry %lld", (long long)rep.first_bad_id);
        printf("audit verify: FAILED: %zu violation%s (%zu entr%s; the first %s)\n", rep.violations,
               rep.violations == 1 ? "" : "s", rep.entries, rep.entries == 1 ? "y" : "ies", where);
        return CLI_EXIT_FAIL;
    }
    printf("audit verify: ok (%zu entr%s%s)\n", rep.entries, rep.entries == 1 ? "y" : "ies",
           anchored ? ", anchor matches" : "");
    return CLI_EXIT_OK;
}

/* ---- backfill ------------------------------------------------------------- */

int cli_run_audit_backfill(struct cli_ctx *x)
{
    char keypath[PATH_MAX];
    cli_data_path(x, "master.key", keypath, sizeof keypath);
    int rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (access(keypath, F_OK) != 0)
        return cli_failure("no master key at %s: the entries are chained with the key kessaid uses", keypath);
    uint8_t key[MASTERKEY_BYTES];
    if ((rc = cli_load_master_key(x, key)) != CLI_EXIT_OK)
        return rc;
    int64_t legacy = 0;
    enum err e = audit_backfill(x->st, key, &legacy);
    sodium_memzero(key, sizeof key);
    switch (e) {
    case ERR_OK:
        printf("audit backfill: %lld entr%s chained\n", (long long)legacy, legacy == 1 ? "y" : "ies");
        return CLI_EXIT_OK;
    case ERR_NOT_FOUND:
        printf("audit backfill: nothing to chain (every entry is in the chain)\n");
        return CLI_EXIT_OK;
    case ERR_CONFLICT:
        return cli_failure("audit backfill: the log is already chained, so its marker was put back by hand: "
                           "removed, nothing signed; run 'kessai audit verify' to see what else changed");
    default:
        return cli_failure("audit backfill could not chain the entries: %s", err_message(e));
    }
}

/* ---- search --------------------------------------------------------------- */

#define SEARCH_ROW "%-8s  %-24s  %-17s  %-17s  %-28s  %-7s  %-15s  %s\n"

/* --since / --until: ISO 8601 (UTC) or milliseconds since the epoch. */
static int parse_time(const struct cli_ctx *x, const char *name, int64_t *ms)
{
    const char *v = cli_opt(x, name);
    *ms = 0;
    if (v == NULL)
        return CLI_EXIT_OK;
    char *end = NULL;
    errno = 0;
    long long n = v[0] >= '0' && v[0] <= '9' ? strtoll(v, &end, 10) : -1;
    if (end && *end == '\0' && errno == 0 && n > 0) {
        *ms = n;
        return CLI_EXIT_OK;
    }
    if (time_parse_iso8601(v, ms) == ERR_OK && *ms > 0)
        return CLI_EXIT_OK;
    return cli_usage_error(x->cmd,
                           "%s: expected a UTC time such as 2027-01-15 or 2027-01-15T09:30:00Z, or milliseconds "
                           "since 1970, not '%s'",
                           name, v);
}

/* --customer usr_… (into *id), or the customer's e-mail address (into
 * email, looked up by find_customer once the store is open). */
static int parse_customer(const struct cli_ctx *x, int64_t *id, char email[EMAIL_MAX + 1])
{
    const char *v = cli_opt(x, "--customer");
    email[0] = '\0';
    if (v == NULL || strchr(v, '@') == NULL)
        return cli_parse_opt_id(x, "--customer", CUSTOMER_ID_PREFIX, id);
    *id = 0;
    if (email_normalize(v, email) != ERR_OK)
        return cli_usage_error(x->cmd, "--customer: '%s' is neither a customer id nor an e-mail address", v);
    return CLI_EXIT_OK;
}

static int find_customer(struct cli_ctx *x, const char *email, int64_t *id)
{
    struct customer c;
    enum err e = x->st->ops->customer_get_by_email(x->st, email, &c);
    if (e == ERR_OK)
        *id = c.id;
    sodium_memzero(&c, sizeof c); /* it holds the password hash */
    if (e == ERR_NOT_FOUND)
        return cli_failure("%s: no such customer", email);
    return e == ERR_OK ? CLI_EXIT_OK : cli_fail_err(e, email);
}

static int text_opt(const struct cli_ctx *x, const char *name, size_t max, const char **out)
{
    *out = cli_opt(x, name);
    if (*out && (**out == '\0' || strlen(*out) > max))
        return cli_usage_error(x->cmd, "%s must be 1 to %zu bytes", name, max);
    return CLI_EXIT_OK;
}

static void print_entry(const struct security_event *e)
{
    char id[24], at[TIME_ISO_BUF], cust[IDS_BUF] = "-";
    snprintf(id, sizeof id, "%lld", (long long)e->id);
    if (e->customer_id > 0)
        ids_format(cust, CUSTOMER_ID_PREFIX, e->customer_id);
    printf(SEARCH_ROW, id, time_iso8601(at, e->at_ms), e->actor[0] ? e->actor : "-", cust, e->kind, e->outcome,
           e->client_addr[0] ? e->client_addr : "-", e->detail);
}

int cli_run_audit_search(struct cli_ctx *x)
{
    struct security_event_filter f = {0};
    size_t limit = 0;
    long long before = 0;
    char email[EMAIL_MAX + 1];
    const char *b = cli_opt(x, "--before");
    int rc = parse_customer(x, &f.customer_id, email);
    if (rc == CLI_EXIT_OK)
        rc = text_opt(x, "--actor", SEC_EVENT_ACTOR_MAX, &f.actor);
    if (rc == CLI_EXIT_OK)
        rc = text_opt(x, "--action", SEC_EVENT_KIND_MAX, &f.kind);
    if (rc == CLI_EXIT_OK)
        rc = parse_time(x, "--since", &f.since_ms);
    if (rc == CLI_EXIT_OK)
        rc = parse_time(x, "--until", &f.until_ms);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK && b) {
        char *end = NULL;
        errno = 0;
        before = strtoll(b, &end, 10);
        if (errno || end == b || *end || before < 1)
            rc = cli_usage_error(x->cmd, "--before: expected an entry id (a whole number from 1), not '%s'", b);
    }
    if (rc == CLI_EXIT_OK && f.since_ms && f.until_ms && f.since_ms >= f.until_ms)
        rc = cli_usage_error(x->cmd, "--since must be before --until");
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store_readonly(x);
    if (rc == CLI_EXIT_OK && email[0])
        rc = find_customer(x, email, &f.customer_id);
    if (rc != CLI_EXIT_OK)
        return rc;

    struct security_event *page = calloc(CLI_PAGE + 1, sizeof *page);
    if (page == NULL)
        return cli_failure("out of memory");
    size_t shown = 0;
    bool more = false;
    int64_t last = 0;
    if (x->json)
        printf("{\"entries\":[");
    else
        printf(SEARCH_ROW, "ID", "AT", "ACTOR", "CUSTOMER", "ACTION", "OUTCOME", "CLIENT", "DETAIL");
    for (;;) {
        size_t want = limit ? limit - shown + 1 : CLI_PAGE;
        if (want > CLI_PAGE)
            want = CLI_PAGE;
        size_t n = 0;
        enum err e = x->st->ops->security_event_search(x->st, &f, before, want, page, &n);
        if (e != ERR_OK) {
            rc = cli_failure("searching the audit log failed: %s", err_message(e));
            break;
        }
        for (size_t i = 0; i < n && !more; i++) {
            if (limit && shown == limit) {
                more = true;
                break;
            }
            if (x->json) {
                json_t *j = audit_entry_json(&page[i]);
                if (j == NULL) {
                    rc = cli_failure("out of memory");
                    break;
                }
                if (shown)
                    fputc(',', stdout);
                json_dumpf(j, stdout, JSON_COMPACT);
                json_decref(j);
            } else {
                print_entry(&page[i]);
            }
            shown++;
            last = page[i].id;
        }
        if (rc != CLI_EXIT_OK || more || n < want)
            break;
        before = page[n - 1].id;
    }
    free(page);
    if (rc != CLI_EXIT_OK) {
        if (x->json)
            printf("\n");
        return rc;
    }
    if (x->json && more)
        printf("],\"next_before\":%lld}\n", (long long)last);
    else if (x->json)
        printf("],\"next_before\":null}\n");
    else if (more)
        printf("(more: add --before %lld)\n", (long long)last);
    return CLI_EXIT_OK;
}
