/* staff_cmd.c: `kessai admin staff …`: the accounts of the people who run
 * kessai (support, fraud analysts, finance, administrators).
 *
 * The life cycle is that of ops/staff.h:
 *
 *   staff create --> pending_2fa --staff confirm (first good code)--> active
 *                        |                                              |
 *                        +------------------ staff disable -------------+--> disabled
 *   staff enable: disabled --> pending_2fa or active, whichever it was.
 *
 * What crosses the screen: the TOTP enrolment URI, once, at creation (it is
 * the seed, and kessai keeps only a sealed copy).  What never does: the
 * password (read from standard input, see password_input.c), its hash, the
 * seed afterwards.  Every buffer that held one is wiped before returning.
 * Every change is an entry of the audit log with the actor "admin-cli".
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/password.h"
#include "cli/cli.h"
#include "ops/staff.h"
#include "ops/staff_json.h"
#include "util/email.h"
#include "util/ids.h"
#include "util/timeutil.h"

/* E-mail addresses are ASCII and mostly short, but come last all the same:
 * a long one must not push the other columns about. */
#define STAFF_ROW "%-17s  %-13s  %-11s  %-24s  %s\n"

static enum err staff_page(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n)
{
    (void)filter;
    return x->st->ops->staff_list(x->st, after, max, out, n);
}

static int64_t staff_id_of(const void *r) { return ((const struct staff *)r)->id; }
static json_t *staff_json_v(const void *r) { return staff_json(r); }
static void staff_header(void) { printf(STAFF_ROW, "ID", "ROLE", "STATUS", "CREATED", "EMAIL"); }

static void staff_print(const void *r)
{
    const struct staff *s = r;
    char id[IDS_BUF], ts[TIME_ISO_BUF];
    printf(STAFF_ROW, ids_format(id, STAFF_ID_PREFIX, s->id), s->role, staff_status(s),
           time_iso8601(ts, s->created_ms), s->email);
}

static const struct cli_lister staff_lister = {
    "staff",    STAFF_ID_PREFIX, staff_header, sizeof(struct staff),
    staff_page, staff_id_of,     staff_json_v, staff_print,
};

/* Canonical form of the address `s` given as `what` (an option or EMAIL). */
static int parse_email(const struct cli_ctx *x, const char *what, const char *s, char out[EMAIL_MAX + 1])
{
    if (email_normalize(s, out) != ERR_OK)
        return cli_usage_error(x->cmd, "%s: '%s' is not a valid e-mail address", what, s);
    return CLI_EXIT_OK;
}

static int role_error(const struct cli_ctx *x)
{
    char list[128] = "";
    for (size_t i = 0; staff_roles[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", staff_roles[i]);
    }
    return cli_usage_error(x->cmd, "--role must be one of: %s", list);
}

/* Show a new account and its enrolment URI; a URI that may not have reached
 * the operator disables the account (it could be sitting in a broken pipe's
 * buffer, and nobody can confirm an account whose seed is lost anyway). */
static int show_created(struct cli_ctx *x, const struct staff *s, const char *uri)
{
    int rc = CLI_EXIT_OK;
    if (x->json) {
        json_t *j = staff_json(s);
        if (j)
            json_object_set_new(j, "otpauth_uri", json_string(uri));
        rc = cli_print_json(j);
    } else {
        printf("staff %s created: role %s, status %s\n", s->email, s->role, staff_status(s));
        printf("otpauth URI: %s\n", uri);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        enum err e = staff_set_disabled(x->st, AUDIT_ACTOR_ADMIN_CLI, s->email, true, time_now_ms());
        if (e == ERR_OK)
            return cli_failure("could not write the enrolment URI; staff %s has been disabled", s->email);
        return cli_failure("could not write the enrolment URI, nor disable staff %s (%s): disable it with "
                           "'kessai admin staff disable %s'",
                           s->email, err_message(e), s->email);
    }
    fprintf(stderr,
            "NOTE: the otpauth URI holds the TOTP secret of %s. This is the only time it is shown: kessai "
            "keeps only a sealed copy and cannot show it again. Add it to the staff member's authenticator app "
            "now (paste it, or show it as a QR code). The account stays inactive (pending_2fa) until\n"
            "  kessai admin staff confirm --email %s --code CODE\n"
            "is run with the first code the app shows.\n",
            s->email, s->email);
    return rc;
}

int cli_run_staff_create(struct cli_ctx *x)
{
    char email[EMAIL_MAX + 1], password[CLI_PASSWORD_BUF] = "", reason[256] = "", uri[TOTP_URI_MAX] = "";
    uint8_t key[MASTERKEY_BYTES];
    const char *role = cli_opt(x, "--role");
    /* Everything that can be refused without the password is refused
     * before it is asked for. */
    int rc = parse_email(x, "--email", cli_opt(x, "--email"), email);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!staff_role_valid(role))
        return role_error(x);
    rc = cli_read_new_password(x->cmd, email, password);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    /* staff_create checks the policy too; checking first means a weak
     * password creates nothing, not even the data directory. */
    if (auth_password_policy(password, email, reason, sizeof reason) != ERR_OK) {
        rc = cli_usage_error(x->cmd, "password refused: %s", reason);
        goto cleanup;
    }
    rc = cli_open_store(x, 0);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    signal(SIGPIPE, SIG_IGN); /* a closed pipe must not stop us before show_created notices */
    rc = cli_load_master_key(x, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    struct staff s;
    const char *bad = NULL;
    enum err e = staff_create(x->st, key, AUDIT_ACTOR_ADMIN_CLI, time_now_ms(), email, role, password, &s, uri, &bad,
                              reason, sizeof reason);
    sodium_memzero(&s.password_hash, sizeof s.password_hash);
    if (e == ERR_WEAK_PASSWORD)
        rc = cli_usage_error(x->cmd, "password refused: %s", reason);
    else if (e == ERR_INVALID_PARAM && bad && strcmp(bad, "role") == 0)
        rc = role_error(x);
    else if (e == ERR_INVALID_PARAM && bad && strcmp(bad, "email") == 0)
        rc = cli_usage_error(x->cmd, "--email: '%s' is not a valid e-mail address", email);
    else if (e == ERR_CONFLICT)
        rc = cli_failure("%s: a staff account with this e-mail address already exists", email);
    else if (e != ERR_OK)
        rc = cli_fail_err(e, "create staff");
    else
        rc = show_created(x, &s, uri);
cleanup:
    sodium_memzero(password, sizeof password);
    sodium_memzero(uri, sizeof uri);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* A TOTP code as the app shows it: exactly TOTP_DIGITS digits.  Anything
 * else is a typo (usage), not a wrong code (failure). */
static int code_well_formed(const char *code)
{
    size_t n = strlen(code);
    return n == TOTP_DIGITS && strspn(code, "0123456789") == n;
}

/* Print account `email` as it is now: JSON, or "staff EMAIL: WHAT; status S". */
static int show_status(struct cli_ctx *x, const char *email, const char *what)
{
    struct staff s;
    enum err e = x->st->ops->staff_get_by_email(x->st, email, &s);
    sodium_memzero(&s.password_hash, sizeof s.password_hash);
    if (e != ERR_OK)
        return cli_fail_err(e, email);
    if (x->json)
        return cli_print_json(staff_json(&s));
    printf("staff %s: %s; status %s\n", s.email, what, staff_status(&s));
    return CLI_EXIT_OK;
}

int cli_run_staff_confirm(struct cli_ctx *x)
{
    char email[EMAIL_MAX + 1];
    uint8_t key[MASTERKEY_BYTES];
    const char *code = cli_opt(x, "--code");
    int rc = parse_email(x, "--email", cli_opt(x, "--email"), email);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!code_well_formed(code))
        return cli_usage_error(x->cmd, "--code: expected the %d digits the authenticator app shows, not '%s'",
                               TOTP_DIGITS, code);
    rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* Looked up first so that an unknown address is "not found" before a
     * master key is created for nothing. */
    struct staff s;
    enum err e = x->st->ops->staff_get_by_email(x->st, email, &s);
    sodium_memzero(&s.password_hash, sizeof s.password_hash);
    if (e != ERR_OK)
        return cli_fail_err(e, email);
    rc = cli_load_master_key(x, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        goto cleanup;
    e = staff_confirm_totp(x->st, key, AUDIT_ACTOR_ADMIN_CLI, email, code, time_now_ms());
    if (e == ERR_INVALID_CODE)
        rc = cli_failure("%s: wrong code, or one that was already used: enter the code the authenticator app "
                         "shows now (and check this machine's clock)",
                         email);
    else if (e == ERR_INTERNAL)
        rc = cli_failure("%s: cannot open the sealed TOTP secret: was the master key replaced?", email);
    else if (e != ERR_OK)
        rc = cli_fail_err(e, email);
    else
        rc = show_status(x, email, "two-factor enrolment confirmed");
cleanup:
    sodium_memzero(key, sizeof key);
    return rc;
}

int cli_run_staff_list(struct cli_ctx *x)
{
    int64_t after;
    size_t limit;
    int rc = cli_parse_opt_id(x, "--after", STAFF_ID_PREFIX, &after);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_limit(x, &limit);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 0);
    return rc == CLI_EXIT_OK ? cli_list(x, &staff_lister, 0, after, limit) : rc;
}

static int set_disabled(struct cli_ctx *x, bool disabled)
{
    char email[EMAIL_MAX + 1];
    int rc = parse_email(x, x->cmd->positional, x->pos, email);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc == CLI_EXIT_OK)
        rc = cli_attach_audit_key(x);
    if (rc != CLI_EXIT_OK)
        return rc;
    enum err e = staff_set_disabled(x->st, AUDIT_ACTOR_ADMIN_CLI, email, disabled, time_now_ms());
    if (e != ERR_OK)
        return cli_fail_err(e, x->pos);
    return show_status(x, email, disabled ? "disabled, it can no longer sign in" : "enabled");
}

int cli_run_staff_disable(struct cli_ctx *x) { return set_disabled(x, true); }
int cli_run_staff_enable(struct cli_ctx *x) { return set_disabled(x, false); }
