/* test_auth_session.c: session time-outs, device binding, revocation,
 * freshness, password change, and password reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth_fixture.h"
#include "auth/password_change.h"
#include "auth/throttle.h"
#include "ledger/writer.h"

static void sessions_expire_when_idle_and_at_the_absolute_limit(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    int64_t idle = f->cfg.session_idle_s * 1000, absolute = f->cfg.session_absolute_s * 1000, born = f->now;
    /* Used every idle - 1 s, it lives until the absolute limit, not longer. */
    while (f->now + idle - 1000 < born + absolute) {
        f->now += idle - 1000;
        af_auth(f, &g, &s);
        assert_true(s.expires_ms <= born + absolute);
    }
    f->now = born + absolute;
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);

    /* Idle: a minute short of the time-out it works, at the time-out not. */
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    f->now += idle - 60000;
    af_auth(f, &g, &s);
    f->now += idle;
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    /* Garbage tokens. */
    assert_int_equal(session_authenticate(af_ctx(f), NULL, p.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(session_authenticate(af_ctx(f), "short", p.device_id, &s), ERR_UNAUTHENTICATED);
    char forged[SESSION_TOKEN_BUF];
    secret_new_token(forged);
    assert_int_equal(session_authenticate(af_ctx(f), forged, p.device_id, &s), ERR_UNAUTHENTICATED);
    af_free(f);
}

/* In kessaid a request does not wait for its session's last-seen write:
 * it rides the ledger writer's next group commit.  The session still
 * stays alive while used, and the touch writes nothing but a later
 * last_seen_ms, so it can neither undo a revocation nor move time back. */
static void a_touch_through_the_ledger_writer_keeps_the_session_alive(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    struct customer_session row;
    char did[IDS_BUF];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    ids_format(did, DEVICE_ID_PREFIX, g.device_id);
    int64_t idle = f->cfg.session_idle_s * 1000;

    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = 64};
    assert_int_equal(ledger_writer_start(tu_open_store(f->dir), &o, &w), ERR_OK);
    f->now += idle - 1000;
    struct auth_ctx via_writer = *af_ctx(f);
    via_writer.writer = w;
    assert_int_equal(session_authenticate(&via_writer, g.session_token, did, &s), ERR_OK);
    assert_int_equal(s.last_seen_ms, f->now);
    ledger_writer_stop(w); /* commits what is queued */
    assert_int_equal(f->st->ops->session_get(f->st, g.session_id, &row), ERR_OK);
    assert_int_equal(row.last_seen_ms, f->now);
    /* Without that touch the session would have idled out by now. */
    f->now += idle - 1000;
    af_auth(f, &g, &s);

    /* Never backwards; a revoked session stays revoked. */
    assert_int_equal(f->st->ops->session_seen(f->st, g.session_id, f->now - idle), ERR_OK);
    assert_int_equal(f->st->ops->session_get(f->st, g.session_id, &row), ERR_OK);
    assert_int_equal(row.last_seen_ms, f->now);
    int n = 0;
    assert_int_equal(f->st->ops->session_revoke_many(f->st, g.customer_id, 0, 0, f->now, &n), ERR_OK);
    assert_true(n > 0);
    assert_int_equal(f->st->ops->session_seen(f->st, g.session_id, f->now + 1000), ERR_OK);
    assert_int_equal(f->st->ops->session_get(f->st, g.session_id, &row), ERR_OK);
    assert_int_equal(row.revoked_ms, f->now);
    f->now += 1000;
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, did, &s), ERR_UNAUTHENTICATED);
    af_free(f);
}

/* A request's reads share one snapshot, and the store keeps the customer
 * and device rows it read there until the snapshot ends (a request reads
 * them several times).  Kept rows never outlive their snapshot: a change
 * made on the same connection shows at once, one made elsewhere from the
 * next snapshot on, and a removed device is refused. */
static void rows_kept_for_a_snapshot_are_never_stale_after_it(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    struct store *st = f->st, *other = tu_open_store(f->dir);
    struct customer c;
    struct customer_device d;

    assert_int_equal(st->ops->snapshot_begin(st), ERR_OK);
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    assert_int_equal(c.failed_logins, 0);
    assert_int_equal(st->ops->device_get(st, g.device_id, &d), ERR_OK);
    assert_int_equal(d.removed_ms, 0);
    assert_int_equal(st->ops->customer_get(st, g.customer_id + 1000, &c), ERR_NOT_FOUND);
    assert_int_equal(st->ops->device_get(st, g.device_id + 1000, &d), ERR_NOT_FOUND);
    /* elsewhere: the device is removed, a login fails */
    assert_int_equal(other->ops->device_remove(other, g.device_id, f->now), ERR_OK);
    assert_int_equal(other->ops->customer_get(other, g.customer_id, &c), ERR_OK);
    c.failed_logins = 3;
    assert_int_equal(other->ops->customer_update(other, &c), ERR_OK);
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    assert_int_equal(c.failed_logins, 0); /* the snapshot's state */
    st->ops->snapshot_end(st);

    assert_int_equal(st->ops->snapshot_begin(st), ERR_OK);
    assert_int_equal(st->ops->device_get(st, g.device_id, &d), ERR_OK);
    assert_true(d.removed_ms != 0);
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    assert_int_equal(c.failed_logins, 3);
    /* here: a write inside the snapshot ends it, the next read is fresh */
    c.failed_logins = 4;
    assert_int_equal(st->ops->customer_update(st, &c), ERR_OK);
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    assert_int_equal(c.failed_logins, 4);
    st->ops->snapshot_end(st);

    /* read outside any snapshot, changed elsewhere: the next snapshot reads it anew */
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    c.failed_logins = 5;
    assert_int_equal(other->ops->customer_update(other, &c), ERR_OK);
    assert_int_equal(st->ops->snapshot_begin(st), ERR_OK);
    assert_int_equal(st->ops->customer_get(st, g.customer_id, &c), ERR_OK);
    assert_int_equal(c.failed_logins, 5);
    st->ops->snapshot_end(st);

    /* the removed phone's session is refused */
    struct auth_session s;
    assert_int_equal(st->ops->snapshot_begin(st), ERR_OK);
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    st->ops->snapshot_end(st);
    store_close(other);
    af_free(f);
}

static void a_token_from_another_device_is_refused_recorded_and_revoked(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, g2;
    struct auth_session s;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_phone_new(&q, "tablet");
    memcpy(q.seed, p.seed, sizeof q.seed);
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    /* The phone's session presented as the tablet: refused, recorded, and
     * the session ends, so that the right device id, guessed next, does not
     * help the thief either (the owner signs in again). */
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, q.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_events(f, g.customer_id, "session_device_mismatch"), 1);
    assert_int_equal(af_events(f, g.customer_id, "session_revoked"), 1);
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    /* A revoked token is merely dead: nothing more is recorded. */
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, q.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_events(f, g.customer_id, "session_device_mismatch"), 1);
    assert_int_equal(af_events(f, g.customer_id, "session_revoked"), 1);
    struct security_event ev[64];
    size_t n = 0;
    assert_int_equal(f->st->ops->security_event_list(f->st, g.customer_id, 0, 64, ev, &n), ERR_OK);
    int revoked = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i].kind, "session_revoked") == 0) {
            assert_non_null(strstr(ev[i].detail, "\"reason\":\"device_mismatch\""));
            revoked++;
        }
    assert_int_equal(revoked, 1);
    /* The tablet's session is not touched ... */
    af_auth(f, &g2, &s);
    /* ... until it is presented with no device id, or a malformed one. */
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, NULL, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, q.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, "dev_nonsense", &s), ERR_UNAUTHENTICATED);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, q.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_events(f, g.customer_id, "session_device_mismatch"), 3);
    assert_int_equal(af_events(f, g.customer_id, "session_revoked"), 3);
    /* A new sign-in on the phone works as ever. */
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    af_free(f);
}

static void customers_list_and_revoke_their_own_sessions(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, other;
    struct auth_grant g, g2, g3, og;
    struct auth_session s, os;
    struct session_info list[SESSION_LIST_MAX];
    size_t n = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g2), ERR_OK);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g3), ERR_OK);
    af_phone_new(&other, "other");
    af_customer(f, "b@example.jp", &other, &og, NULL);
    af_auth(f, &g2, &s);
    assert_int_equal(session_list(af_ctx(f), &s, list, SESSION_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 3);
    int current = 0;
    for (size_t i = 0; i < n; i++) {
        current += list[i].current;
        assert_string_equal(list[i].device_name, "phone");
    }
    assert_int_equal(current, 1);
    /* Someone else's session: not found, and untouched. */
    assert_int_equal(session_revoke(af_ctx(f), &s, og.session_id), ERR_NOT_FOUND);
    af_auth(f, &og, &os);
    assert_int_equal(session_revoke(af_ctx(f), &s, g3.session_id), ERR_OK);
    assert_int_equal(session_revoke(af_ctx(f), &s, g3.session_id), ERR_NOT_FOUND);
    assert_int_equal(session_authenticate(af_ctx(f), g3.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    af_auth(f, &g2, &s);
    assert_int_equal(session_list(af_ctx(f), &s, list, SESSION_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 2);
    /* Sign out everywhere, this session included. */
    assert_int_equal(session_revoke_all(af_ctx(f), &s), ERR_OK);
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    af_auth(f, &og, &os); /* the other customer is untouched */
    assert_int_equal(af_events(f, g.customer_id, "session_revoked"), 2);
    af_free(f);
}

static void sensitive_operations_need_a_fresh_second_factor(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, q;
    struct auth_grant g, g2;
    struct auth_session s;
    struct device_info devs[DEVICE_LIST_MAX];
    size_t n = 0;
    char totp[TOTP_DIGITS + 1];
    int64_t fresh = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_phone_new(&q, "old tablet");
    memcpy(q.seed, p.seed, sizeof q.seed);
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    f->now += AUTH_FRESH_MFA_MS;
    af_auth(f, &g, &s);
    assert_int_equal(device_list(af_ctx(f), &s, devs, DEVICE_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_true(devs[0].current && !devs[1].current);
    assert_int_equal(device_remove(af_ctx(f), &s, g2.device_id), ERR_FRESH_MFA_REQUIRED);
    char why[256];
    assert_int_equal(password_change(af_ctx(f), &s, AF_PASSWORD, "a completely new passphrase", why,
                                              sizeof why),
                     ERR_FRESH_MFA_REQUIRED);
    af_totp(f, &p, totp);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    assert_int_equal(device_remove(af_ctx(f), &s, g.device_id + 1000), ERR_NOT_FOUND);
    assert_int_equal(device_remove(af_ctx(f), &s, g2.device_id), ERR_OK);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, q.device_id, &s), ERR_UNAUTHENTICATED);
    af_auth(f, &g, &s);
    assert_int_equal(device_list(af_ctx(f), &s, devs, DEVICE_LIST_MAX, &n), ERR_OK);
    assert_int_equal(n, 1);
    /* The removed key is a new device again. */
    assert_int_equal(af_login(f, "a@example.jp", &q, &g2), ERR_OK);
    assert_true(g2.new_device);
    af_free(f);
}

static void five_wrong_codes_end_the_session(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    int64_t fresh = 0;
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_auth(f, &g, &s);
    for (int i = 0; i < MFA_SESSION_MAX_FAILURES; i++)
        assert_int_equal(mfa_verify(af_ctx(f), &s, "000000", NULL, &fresh), ERR_INVALID_CODE);
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    af_free(f);
}

static void password_change_ends_other_sessions_and_mails(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g, g2;
    struct auth_session s;
    char why[256];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g2), ERR_OK);
    af_auth(f, &g2, &s);
    assert_int_equal(password_change(af_ctx(f), &s, "wrong current password", "a completely new passphrase",
                                              why, sizeof why),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(password_change(af_ctx(f), &s, AF_PASSWORD, "password1234", why, sizeof why),
                     ERR_WEAK_PASSWORD);
    af_secret(f, "a completely new passphrase");
    assert_int_equal(password_change(af_ctx(f), &s, AF_PASSWORD, "a completely new passphrase", why,
                                              sizeof why),
                     ERR_OK);
    af_auth(f, &g2, &s);
    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_mail_count(f, "a@example.jp", "password was changed"), 1);
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    char totp[TOTP_DIGITS + 1];
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", "a completely new passphrase", &p, totp, NULL, true, NULL), ERR_OK);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

/* Regression: the change runs on a worker with the session as it was when
 * the request was authenticated.  A session ended meanwhile (here by "sign
 * out everywhere" from the owner's phone) used to set the password anyway and
 * end the owner's sessions. */
static void password_change_by_a_session_ended_meanwhile_changes_nothing(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p, thief;
    struct auth_grant g, gt;
    struct auth_session owner, stale;
    char why[256];
    af_phone_new(&p, "phone");
    af_phone_new(&thief, "thief");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    memcpy(thief.seed, p.seed, sizeof thief.seed); /* password and second factor both stolen */
    assert_int_equal(af_login(f, "a@example.jp", &thief, &gt), ERR_OK);
    af_auth(f, &gt, &stale); /* the thief's request is authenticated, full and fresh ... */
    af_auth(f, &g, &owner);
    assert_int_equal(session_revoke_all(af_ctx(f), &owner), ERR_OK); /* ... the owner signs out everywhere ... */
    af_secret(f, "the thief's new passphrase");
    /* ... and then the queued change runs. */
    assert_int_equal(password_change(af_ctx(f), &stale, AF_PASSWORD, "the thief's new passphrase", why,
                                              sizeof why),
                     ERR_UNAUTHENTICATED);
    assert_int_equal(af_mail_count(f, "a@example.jp", "password was changed"), 0);
    assert_int_equal(af_events(f, g.customer_id, "password_changed"), 0);
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_OK); /* the old password still works */
    af_free(f);
}

/* The same for a session that reached its absolute end while the change
 * waited in the worker's queue: nothing is changed. */
static void password_change_past_the_session_absolute_end_changes_nothing(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session cur;
    char why[256];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_auth(f, &g, &cur); /* authenticated, second factor fresh a second before the end ... */
    cur.mfa_at_ms = cur.absolute_ms - 1000;
    cur.fresh_until_ms = cur.mfa_at_ms + 5 * 60 * 1000;
    f->now = cur.absolute_ms; /* ... and the change runs at the session's end */
    af_secret(f, "a new passphrase nobody knows");
    assert_int_equal(
        password_change(af_ctx(f), &cur, AF_PASSWORD, "a new passphrase nobody knows", why, sizeof why),
        ERR_UNAUTHENTICATED);
    assert_int_equal(af_events(f, g.customer_id, "password_changed"), 0);
    assert_int_equal(af_mail_count(f, "a@example.jp", "password was changed"), 0);
    af_free(f);
}

/* A thief holding a session with a fresh second factor (the phone itself
 * was taken, unlocked) but not the password must not be able to guess it at
 * the change-password form: each wrong current password counts as a failed
 * login, the 10th locks the account and mails the owner, and while locked
 * even the right password is refused, here and at login. */
static void guessing_the_current_password_locks_the_account(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    char why[256], guess[64];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    for (int i = 1; i <= THROTTLE_LOCK_AFTER; i++) {
        assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 0);
        snprintf(guess, sizeof guess, "guessed passphrase number %d", i);
        assert_int_equal(password_change(af_ctx(f), &s, guess, "the thief's new passphrase", why, sizeof why),
                         ERR_INVALID_CREDENTIALS);
    }
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 1);
    char body[4096];
    assert_int_equal(af_mail(f, "a@example.jp", "locked", true, body, sizeof body), 1);
    assert_non_null(strstr(body, "signed-in session"));
    assert_int_equal(af_events(f, g.customer_id, "account_locked"), 1);
    assert_int_equal(af_events(f, g.customer_id, "password_change_failed"), THROTTLE_LOCK_AFTER);
    /* Locked: the right current password is refused too, and not counted
     * as a new lock-out; login is locked as well. */
    assert_int_equal(password_change(af_ctx(f), &s, AF_PASSWORD, "the thief's new passphrase", why, sizeof why),
                     ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events(f, g.customer_id, "password_change_failed"), THROTTLE_LOCK_AFTER + 1);
    assert_int_equal(af_events(f, g.customer_id, "password_changed"), 0);
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events(f, g.customer_id, "account_locked"), 1);
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 0);
    /* When the lock is over, the owner signs in and changes it. */
    f->now += THROTTLE_LOCK_MS;
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    af_auth(f, &g, &s);
    af_secret(f, "the owner's new passphrase");
    assert_int_equal(password_change(af_ctx(f), &s, AF_PASSWORD, "the owner's new passphrase", why, sizeof why),
                     ERR_OK);
    af_free(f);
}

/* Failed logins and wrong current passwords fill one counter: 5 of each
 * lock the account, so alternating between the two buys nothing. */
static void login_and_password_change_failures_share_one_counter(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    struct auth_session s;
    char why[256], totp[TOTP_DIGITS + 1];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g), ERR_OK);
    for (int i = 0; i < THROTTLE_LOCK_AFTER / 2; i++) {
        af_totp(f, &p, totp);
        assert_int_equal(af_login_ex(f, "a@example.jp", "not the password at all", &p, totp, NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    }
    af_auth(f, &g, &s);
    char totp2[TOTP_DIGITS + 1];
    int64_t fresh = 0;
    af_totp(f, &p, totp2);
    assert_int_equal(mfa_verify(af_ctx(f), &s, totp2, NULL, &fresh), ERR_OK);
    af_auth(f, &g, &s);
    for (int i = 0; i < THROTTLE_LOCK_AFTER - THROTTLE_LOCK_AFTER / 2; i++)
        assert_int_equal(password_change(af_ctx(f), &s, "not the password either", "the thief's new passphrase",
                                         why, sizeof why),
                         ERR_INVALID_CREDENTIALS);
    assert_int_equal(af_events(f, g.customer_id, "account_locked"), 1);
    assert_int_equal(af_mail_count(f, "a@example.jp", "locked"), 1);
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    af_free(f);
}

/* ---- password reset ---- */

#define NEW_PW "shiny replacement passphrase"

static void reset_mails_only_the_verified_address_on_file(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char code[8];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(reset_request(af_ctx(f), "nobody@example.jp"), ERR_OK);
    assert_int_equal(reset_request(af_ctx(f), "garbage"), ERR_OK);
    af_register(f, "unverified@example.jp", AF_PASSWORD, code);
    assert_int_equal(reset_request(af_ctx(f), "unverified@example.jp"), ERR_OK);
    assert_int_equal(af_mail_total(f), 0);
    /* Whatever the spelling, the mail goes to the address on file. */
    assert_int_equal(reset_request(af_ctx(f), "A@Example.JP"), ERR_OK);
    assert_int_equal(af_mail_total(f), 1);
    assert_int_equal(af_mail_count(f, "a@example.jp", "Reset"), 1);
    assert_int_equal(af_events(f, g.customer_id, "reset_requested"), 1);
    af_free(f);
}

static void reset_needs_token_and_second_factor_and_ends_every_session(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g, g2;
    struct auth_session s;
    char token[64], totp[TOTP_DIGITS + 1], wrong[8], why[256];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    assert_int_equal(af_login(f, "a@example.jp", &p, &g2), ERR_OK);
    /* Lock the account first: a completed reset clears the lock. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(af_login_ex(f, "a@example.jp", "some wrong guess here", &p, "000000", NULL, true, NULL),
                         ERR_INVALID_CREDENTIALS);
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", token, sizeof token);
    af_secret(f, NEW_PW);

    char forged[SECRET_TOKEN_BUF];
    secret_new_token(forged);
    af_totp(f, &p, totp);
    assert_int_equal(reset_complete(af_ctx(f), forged, NEW_PW, totp, NULL, why, sizeof why), ERR_INVALID_TOKEN);
    assert_int_equal(reset_complete(af_ctx(f), token, NEW_PW, NULL, NULL, why, sizeof why), ERR_INVALID_CODE);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 1) % 1000000);
    assert_int_equal(reset_complete(af_ctx(f), token, NEW_PW, wrong, NULL, why, sizeof why), ERR_INVALID_CODE);
    assert_int_equal(reset_complete(af_ctx(f), token, "password1234", totp, NULL, why, sizeof why),
                     ERR_WEAK_PASSWORD);
    /* The typo and the weak password did not burn the token. */
    assert_int_equal(reset_complete(af_ctx(f), token, NEW_PW, totp, NULL, why, sizeof why), ERR_OK);
    assert_int_equal(reset_complete(af_ctx(f), token, NEW_PW, totp, NULL, why, sizeof why), ERR_INVALID_TOKEN);

    assert_int_equal(session_authenticate(af_ctx(f), g.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(session_authenticate(af_ctx(f), g2.session_token, p.device_id, &s), ERR_UNAUTHENTICATED);
    assert_int_equal(af_mail_count(f, "a@example.jp", "password was reset"), 1);
    assert_int_equal(af_events(f, g.customer_id, "reset_completed"), 1);
    /* Old password out, new one in, lock cleared, cool-down set. */
    assert_int_equal(af_login(f, "a@example.jp", &p, NULL), ERR_INVALID_CREDENTIALS);
    af_totp(f, &p, totp);
    assert_int_equal(af_login_ex(f, "a@example.jp", NEW_PW, &p, totp, NULL, true, &g2), ERR_OK);
    af_auth(f, &g2, &s);
    assert_true(s.cooldown_until_ms > f->now);
    assert_true(s.cooldown_until_ms <= f->now + f->cfg.reset_cooldown_s * 1000);
    af_assert_no_secrets_at_rest(f);
    af_free(f);
}

/* With the mailbox alone (no phone), each token buys RESET_TOKEN_MAX_TRIES
 * guesses at the authenticator, and a new token restarts the count.  The
 * customer's wrong answers are capped per day instead: past 25, even the
 * right code is not checked.  Tokens keep coming (a stranger asking for
 * them stops nobody), and the next day the owner's reset works. */
static void a_mailbox_alone_gets_25_guesses_a_day(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char t[64], totp[TOTP_DIGITS + 1], wrong[8], why[256];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, NULL);
    af_secret(f, NEW_PW);
    int guesses = 0;
    while (guesses < MFA_GUESSES_PER_DAY) {
        assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
        af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t, sizeof t);
        af_totp(f, &p, totp);
        for (int i = 0; i < RESET_TOKEN_MAX_TRIES; i++, guesses++) {
            snprintf(wrong, sizeof wrong, "%06d", (atoi(totp) + 100 + guesses) % 1000000);
            assert_int_equal(reset_complete(af_ctx(f), t, NEW_PW, wrong, NULL, why, sizeof why), ERR_INVALID_CODE);
        }
    }
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t, sizeof t);
    af_totp(f, &p, totp);
    assert_int_equal(reset_complete(af_ctx(f), t, NEW_PW, totp, NULL, why, sizeof why), ERR_RATE_LIMITED);
    assert_int_equal(af_events(f, g.customer_id, "mfa_failed"), MFA_GUESSES_PER_DAY);
    /* a day later the owner resets with the same token's successor */
    f->now += 24LL * 3600 * 1000;
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t, sizeof t);
    af_totp(f, &p, totp);
    assert_int_equal(reset_complete(af_ctx(f), t, NEW_PW, totp, NULL, why, sizeof why), ERR_OK);
    af_free(f);
}

static void reset_tokens_expire_are_replaced_and_die_after_five_wrong_codes(void **state)
{
    (void)state;
    struct af *f = af_new();
    struct af_phone p;
    struct auth_grant g;
    char t1[64], t2[64], t3[64], totp[TOTP_DIGITS + 1], why[256];
    char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    af_phone_new(&p, "phone");
    af_customer(f, "a@example.jp", &p, &g, codes);
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t1, sizeof t1);
    f->now += RESET_TOKEN_TTL_MS;
    af_totp(f, &p, totp);
    assert_int_equal(reset_complete(af_ctx(f), t1, NEW_PW, totp, NULL, why, sizeof why), ERR_INVALID_TOKEN);

    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t2, sizeof t2);
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t3, sizeof t3);
    af_totp(f, &p, totp);
    assert_int_equal(reset_complete(af_ctx(f), t2, NEW_PW, totp, NULL, why, sizeof why), ERR_INVALID_TOKEN);
    for (int i = 0; i < RESET_TOKEN_MAX_TRIES; i++)
        assert_int_equal(reset_complete(af_ctx(f), t3, NEW_PW, NULL, "0000-0000-0000", why, sizeof why),
                         ERR_INVALID_CODE);
    assert_int_equal(reset_complete(af_ctx(f), t3, NEW_PW, NULL, codes[0], why, sizeof why), ERR_INVALID_TOKEN);
    /* A fresh token with a recovery code works. */
    assert_int_equal(reset_request(af_ctx(f), "a@example.jp"), ERR_OK);
    af_mail_word(f, "a@example.jp", "Reset", "Reset token: ", t1, sizeof t1);
    af_secret(f, NEW_PW);
    assert_int_equal(reset_complete(af_ctx(f), t1, NEW_PW, NULL, codes[0], why, sizeof why), ERR_OK);
    af_free(f);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_expire_when_idle_and_at_the_absolute_limit),
        cmocka_unit_test(a_touch_through_the_ledger_writer_keeps_the_session_alive),
        cmocka_unit_test(rows_kept_for_a_snapshot_are_never_stale_after_it),
        cmocka_unit_test(a_token_from_another_device_is_refused_recorded_and_revoked),
        cmocka_unit_test(customers_list_and_revoke_their_own_sessions),
        cmocka_unit_test(sensitive_operations_need_a_fresh_second_factor),
        cmocka_unit_test(five_wrong_codes_end_the_session),
        cmocka_unit_test(password_change_ends_other_sessions_and_mails),
        cmocka_unit_test(password_change_by_a_session_ended_meanwhile_changes_nothing),
        cmocka_unit_test(password_change_past_the_session_absolute_end_changes_nothing),
        cmocka_unit_test(guessing_the_current_password_locks_the_account),
        cmocka_unit_test(login_and_password_change_failures_share_one_counter),
        cmocka_unit_test(reset_mails_only_the_verified_address_on_file),
        cmocka_unit_test(reset_needs_token_and_second_factor_and_ends_every_session),
        cmocka_unit_test(reset_tokens_expire_are_replaced_and_die_after_five_wrong_codes),
        cmocka_unit_test(a_mailbox_alone_gets_25_guesses_a_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
