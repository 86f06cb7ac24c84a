/* api_staff.c: staff, audit entries and money for the admin API tests
 * (api_staff.h). */
#include "api_staff.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "store/store.h"
#include "util/ids.h"
#include "wallet/topup.h"
#include "testutil.h"

void ac_staffer_new(struct ac_server *s, struct ac_staffer *m, const char *email, const char *role)
{
    memset(m, 0, sizeof *m);
    snprintf(m->u.email, sizeof m->u.email, "%s", email);
    m->u.who = ac_new_source(s);
    char pw[700], args[1400];
    tu_path(pw, sizeof pw, s->root, "pw.txt");
    FILE *f = fopen(pw, "w");
    assert_non_null(f);
    fputs(AC_STAFF_PASSWORD "\n", f);
    fclose(f);
    snprintf(args, sizeof args, "admin staff create --email %s --role %s <'%s'", email, role, pw);
    json_t *j = ac_cli_json(s, args);
    ac_seed_from_uri(s, &m->u, json_string_value(json_object_get(j, "otpauth_uri")));
    snprintf(m->id, sizeof m->id, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    char code[TOTP_DIGITS + 1];
    ac_totp_next(&m->u, code);
    snprintf(args, sizeof args, "admin staff confirm --email %s --code %s >/dev/null", email, code);
    assert_int_equal(ac_cli(s, args), 0);
}

struct ac_resp ac_staff_sign_in(struct ac_server *s, struct ac_staffer *m, const char *password, const char *code)
{
    struct ac_who anon = m->u.who;
    anon.token = NULL;
    return ac_call(s, &anon, "POST", "/admin/v1/sessions",
                   json_pack("{s:s, s:s, s:s}", "email", m->u.email, "password", password, "totp_code", code));
}

void ac_staff_sign_in_ok(struct ac_server *s, struct ac_staffer *m)
{
    char code[TOTP_DIGITS + 1];
    ac_totp_next(&m->u, code);
    struct ac_resp r = ac_staff_sign_in(s, m, AC_STAFF_PASSWORD, code);
    AC_EXPECT_STATUS(r, 201);
    snprintf(m->token, sizeof m->token, "%s", ac_str(&r, "token"));
    ac_remember(s, m->token);
    m->u.who.token = m->token;
    ac_resp_free(&r);
}

long ac_call_status(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                        json_t *body, const char *want_code)
{
    struct ac_resp r = ac_call(s, w, method, path, body);
    long st = r.status;
    if (want_code && strcmp(ac_err_code(&r), want_code) != 0)
        fail_msg("%s %s: %s, expected error %s", method, path, r.raw ? r.raw : "", want_code);
    ac_resp_free(&r);
    return st;
}

size_t ac_load_events(const struct ac_server *s, struct security_event *ev, size_t max)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    size_t n = 0;
    assert_int_equal(st->ops->security_event_list(st, 0, 0, max, ev, &n), ERR_OK);
    store_close(st);
    return n;
}

void ac_fund(const struct ac_server *s, const struct ac_user *c, int64_t amount)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", s->data);
    struct store *st = NULL, *ws = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    assert_int_equal(store_open_sqlite(path, &ws), ERR_OK);
    int64_t from = 0, to = 0, cid = 0;
    assert_int_equal(ledger_system_account(st, "card_receivable", &from), ERR_OK);
    assert_int_equal(ids_parse(c->customer_id, CUSTOMER_ID_PREFIX, &cid), ERR_OK);
    assert_int_equal(wallet_account(st, cid, &to), ERR_OK);
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = 4};
    assert_int_equal(ledger_writer_start(ws, &o, &w), ERR_OK);
    struct ledger_transfer x = {.debit_account = from, .credit_account = to, .amount = amount};
    snprintf(x.key, sizeof x.key, "test-fund-%.40s", c->customer_id);
    snprintf(x.kind, sizeof x.kind, "topup_card");
    assert_int_equal(ledger_writer_submit_wait(w, &x, 1, NULL, NULL), ERR_OK);
    ledger_writer_stop(w);
    store_close(st);
}

int64_t ac_balance(struct ac_server *s, const struct ac_user *c)
{
    struct ac_resp r = ac_call(s, &c->who, "GET", "/v1/balance", NULL);
    AC_EXPECT_STATUS(r, 200);
    int64_t b = json_integer_value(json_object_get(r.j, "balance"));
    ac_resp_free(&r);
    return b;
}

char *ac_shop(struct ac_server *s, char store_id[64])
{
    json_t *m = ac_cli_json(s, "admin merchant create --name 'Kessai Mart'");
    char args[1400], qrpath[700];
    snprintf(args, sizeof args,
             "admin store create --merchant %s --name 'Kessai Mart Ginza' --address '4-6-16 Ginza, Chuo-ku, Tokyo' "
             "--lat 35.671 --lon 139.765 --category convenience",
             json_string_value(json_object_get(m, "id")));
    json_decref(m);
    json_t *st = ac_cli_json(s, args);
    snprintf(store_id, 64, "%s", json_string_value(json_object_get(st, "id")));
    json_decref(st);
    tu_path(qrpath, sizeof qrpath, s->root, "qr.txt");
    snprintf(args, sizeof args, "admin store qr %s > '%s'", store_id, qrpath);
    assert_int_equal(ac_cli(s, args), 0);
    char *qr = tu_slurp(qrpath, NULL);
    qr[strcspn(qr, "\n")] = '\0';
    return qr;
}
