/* test_paycode.c: payment codes (wallet/paycode.h) at the domain level, on
 * a real store, a real group-commit ledger writer and an injected clock.
 *
 * What a customer, a register and an attacker would notice: a one-time
 * code is 18 digits a register can check (prefix, Luhn), pays once, dies at
 * exactly 60 s and with its device; an offline code is what
 * docs/paycodes.md says byte for byte, is accepted within +-1 step and
 * once per step, and dies with its key or its device; a guessed code with
 * a valid check digit gets nowhere.  Neither a code nor an offline key is
 * ever at rest, in any form, and the ledger verifies clean after each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "auth_fixture.h"
#include "qr_read.h"
#include "wallet_fixture.h"
#include "auth/email_change.h"
#include "auth/password_change.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "util/luhn.h"
#include "wallet/paycode.h"

#define STEP_MS (OFFLINE_STEP_S * INT64_C(1000))

/* docs/paycodes.md, "Worked example" */
#define DOC_KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define DOC_OFFLINE_ID 412345
#define DOC_UNIX 1800000015
#define DOC_STEP 60000000
#define DOC_CODE "904123455069641331"
#define DOC_CODE_BEFORE "904123459827816466"
#define DOC_CODE_AFTER "904123454138482389"

struct tp {
    struct af *f;
    struct ledger_writer *writer;
    struct wallet_ctx w;
    uint8_t keys[8][32]; /* offline keys seen, searched for at rest as bytes */
    int nkeys;
};

struct cust {
    char email[64];
    struct af_phone phone;
    struct auth_grant g;
    struct auth_session s;
};

static int setup(void **state)
{
    struct tp *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = af_new();
    t->f->cfg.new_device_cooldown_s = 0; /* the cool-down test sets it back */
    wf_ledger_start(t->f, &t->writer);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tp *t = *state;
    wf_ledger_stop(t->f, t->writer);
    /* No code, no key (as text: af_secret; as raw bytes: here) at rest. */
    af_assert_no_secrets_at_rest(t->f);
    const char *files[] = {"kessai.db", "kessai.db-wal"};
    for (size_t i = 0; i < 2; i++) {
        char path[700];
        size_t len = 0;
        tu_path(path, sizeof path, t->f->dir, files[i]);
        char *buf = tu_slurp(path, &len);
        for (int k = 0; buf && k < t->nkeys; k++)
            if (memmem(buf, len, t->keys[k], 32) != NULL)
                fail_msg("offline key bytes found in %s", files[i]);
        free(buf);
    }
    af_free(t->f);
    free(t);
    return 0;
}

static const struct wallet_ctx *W(struct tp *t)
{
    return wf_ctx(&t->w, t->f, t->writer, NULL);
}

/* A customer with a full, fresh session on their own phone. */
static void customer(struct tp *t, struct cust *c, const char *email)
{
    memset(c, 0, sizeof *c);
    af_customer_signed_in(t->f, email, c->email, sizeof c->email, &c->phone, &c->g, &c->s);
}

/* The same customer signing in on another phone (same authenticator app). */
static void second_phone(struct tp *t, const struct cust *c, struct cust *c2)
{
    *c2 = *c;
    af_phone_new(&c2->phone, "tablet");
    memcpy(c2->phone.seed, c->phone.seed, sizeof c->phone.seed);
    assert_int_equal(af_login(t->f, c2->email, &c2->phone, &c2->g), ERR_OK);
    af_auth(t->f, &c2->g, &c2->s);
}

static void refresh(struct tp *t, struct cust *c)
{
    assert_int_equal(af_login(t->f, c->email, &c->phone, &c->g), ERR_OK);
    af_auth(t->f, &c->g, &c->s);
}

static void new_code(struct tp *t, struct cust *c, char code[PAYCODE_DIGITS + 1], int64_t *expires)
{
    int64_t local;
    assert_int_equal(paycode_new(W(t), &c->s, code, expires ? expires : &local), ERR_OK);
    af_secret(t->f, code);
}

static enum err resolve(struct tp *t, const char *code, struct paycode_hit *hit)
{
    struct paycode_hit local;
    return paycode_resolve(W(t), code, hit ? hit : &local);
}

/* Consume in a transaction of its own, as a payment would in its hook. */
static enum err consume(struct tp *t, const struct paycode_hit *hit)
{
    struct store *st = t->f->st;
    assert_int_equal(st->ops->begin(st), ERR_OK);
    enum err e = paycode_consume(st, hit, t->f->now);
    if (e == ERR_OK)
        assert_int_equal(st->ops->commit(st), ERR_OK);
    else
        assert_int_equal(st->ops->rollback(st), ERR_OK);
    return e;
}

/* An offline key for c's device: the raw key and the offline id. */
static void offline_key(struct tp *t, struct cust *c, uint8_t key[32], int64_t *oid)
{
    char b64[OFFLINE_KEY_B64_LEN + 1];
    assert_int_equal(paycode_offline_key(W(t), &c->s, b64, oid), ERR_OK);
    assert_int_equal(strlen(b64), OFFLINE_KEY_B64_LEN);
    assert_true(*oid >= 0 && *oid <= 9999999);
    af_secret(t->f, b64);
    size_t len = 0;
    assert_int_equal(sodium_base642bin(key, 32, b64, strlen(b64), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(len, 32);
    assert_true(t->nkeys < 8);
    memcpy(t->keys[t->nkeys++], key, 32);
}

static int64_t step_now(struct tp *t) { return t->f->now / STEP_MS; }

/* The phone's offline code of this moment (a secret of the run). */
static void derive_now(struct tp *t, const uint8_t key[32], int64_t oid, char code[PAYCODE_DIGITS + 1])
{
    paycode_offline_derive(key, oid, step_now(t), code);
    af_secret(t->f, code);
}

/* ---- one-time codes ------------------------------------------------------------ */

static void a_code_is_18_digits_a_register_can_check(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    char seen[40][PAYCODE_DIGITS + 1];
    for (int i = 0; i < 40; i++) {
        new_code(t, &a, seen[i], NULL);
        assert_int_equal(strlen(seen[i]), PAYCODE_DIGITS);
        assert_int_equal(strspn(seen[i], "0123456789"), PAYCODE_DIGITS);
        assert_int_equal(seen[i][0], PAYCODE_ONLINE_PREFIX);
        assert_true(luhn_valid(seen[i]));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(seen[i], seen[k]);
    }
    /* every one of them is live and names the customer and the phone */
    struct paycode_hit hit;
    assert_int_equal(resolve(t, seen[0], &hit), ERR_OK);
    assert_int_equal(hit.customer_id, a.s.customer_id);
    assert_int_equal(hit.device_id, a.s.device_id);
    assert_false(hit.offline);
    assert_false(hit.device_new);
    assert_true(hit.paycode_id > 0);
    assert_int_equal(resolve(t, seen[39], &hit), ERR_OK);
}

static void a_code_lives_exactly_60_seconds(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    int64_t t0 = t->f->now, expires = 0;
    char code[PAYCODE_DIGITS + 1];
    new_code(t, &a, code, &expires);
    assert_int_equal(expires, t0 + PAYCODE_TTL_MS);

    struct paycode_hit hit;
    t->f->now = t0 + PAYCODE_TTL_MS - 1;
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    t->f->now = t0 + PAYCODE_TTL_MS;
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    /* resolved a millisecond before, charged at the 60th second: too late */
    assert_int_equal(consume(t, &hit), ERR_INVALID_CODE);
}

/* Expired codes leave the store in bulk, at most every SQ_PURGE_EVERY_MS
 * (10 s) per connection, never one random index page per new code; until
 * then an expired row is inert. */
static void expired_codes_are_purged_in_bulk(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    struct store *st = t->f->st;
    int64_t t0 = t->f->now;
    struct paycode c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct paycode){.customer_id = a.s.customer_id, .device_id = a.s.device_id, .created_ms = t0,
                                .expires_ms = t0 + 1000};
        randombytes_buf(c[i].code_hash, sizeof c[i].code_hash);
    }
    struct paycode got;
    assert_int_equal(st->ops->paycode_insert(st, &c[0], t0), ERR_OK);
    assert_int_equal(st->ops->paycode_insert(st, &c[1], t0 + 1), ERR_OK);
    /* c[0] has expired, but the last purge was a moment ago: it stays */
    assert_int_equal(st->ops->paycode_insert(st, &c[2], t0 + 5000), ERR_OK);
    assert_int_equal(st->ops->paycode_get(st, c[0].code_hash, &got), ERR_OK);
    /* ten seconds on, one insert takes every expired code with it */
    assert_int_equal(st->ops->paycode_insert(st, &c[3], t0 + 1000 + 10000), ERR_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st->ops->paycode_get(st, c[i].code_hash, &got), ERR_NOT_FOUND);
    /* the purge runs before the insert: the new row (expired as it is) waits for the next */
    assert_int_equal(st->ops->paycode_get(st, c[3].code_hash, &got), ERR_OK);
}

static void a_code_pays_once(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    char code[PAYCODE_DIGITS + 1];
    new_code(t, &a, code, NULL);
    struct paycode_hit hit;
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
}

/* Two registers charge the same code at the same instant: each consumes in
 * its own group of the writer's batch; exactly one pays. */
struct race {
    struct paycode_hit hit;
    int64_t now;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int *done;
    enum err err;
};

static enum err race_hook(void *ctx, struct store *st, const struct ledger_transfer *x,
                          const struct ledger_balances *after, size_t n, bool replayed)
{
    (void)x, (void)after, (void)n, (void)replayed;
    struct race *r = ctx;
    return paycode_consume(st, &r->hit, r->now);
}

static void race_done(void *ctx, const struct ledger_result *res)
{
    struct race *r = ctx;
    pthread_mutex_lock(r->mu);
    r->err = res->err;
    (*r->done)++;
    pthread_cond_signal(r->cv);
    pthread_mutex_unlock(r->mu);
}

static void two_registers_at_once_pay_once(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int done = 0;
    for (int round = 0; round < 2; round++) {
        /* round 0: one-time code; round 1: offline code */
        struct paycode_hit hit;
        if (round == 0) {
            char code[PAYCODE_DIGITS + 1];
            new_code(t, &a, code, NULL);
            assert_int_equal(resolve(t, code, &hit), ERR_OK);
        } else {
            uint8_t key[32];
            int64_t oid;
            refresh(t, &a);
            offline_key(t, &a, key, &oid);
            char code[PAYCODE_DIGITS + 1];
            derive_now(t, key, oid, code);
            assert_int_equal(resolve(t, code, &hit), ERR_OK);
        }
        struct race r[2];
        static const struct ledger_transfer none;
        done = 0;
        for (int i = 0; i < 2; i++) {
            r[i] = (struct race){.hit = hit, .now = t->f->now, .mu = &mu, .cv = &cv, .done = &done};
            assert_int_equal(ledger_writer_submit_hooked(t->writer, &none, 0, race_hook, &r[i], race_done, &r[i]),
                             ERR_OK);
        }
        pthread_mutex_lock(&mu);
        while (done < 2)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        assert_int_equal((r[0].err == ERR_OK) + (r[1].err == ERR_OK), 1);
        assert_int_equal((r[0].err == ERR_INVALID_CODE) + (r[1].err == ERR_INVALID_CODE), 1);
    }
}

static void a_code_needs_a_full_session_on_an_active_device(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    char code[PAYCODE_DIGITS + 1];
    int64_t exp;

    /* an enrol session (password and e-mail only) gets no code */
    struct auth_session enrol = a.s;
    enrol.scope = SESSION_SCOPE_ENROL;
    assert_int_equal(paycode_new(W(t), &enrol, code, &exp), ERR_MFA_REQUIRED);
    assert_string_equal(code, "");

    /* a code from the second phone works until that phone is removed */
    second_phone(t, &a, &b);
    new_code(t, &b, code, NULL);
    struct paycode_hit hit;
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    assert_int_equal(hit.device_id, b.s.device_id);
    refresh(t, &a);
    assert_int_equal(device_remove(af_ctx(t->f), &a.s, b.s.device_id), ERR_OK);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    /* and the removed phone gets no new code, even with its old session in hand */
    assert_int_equal(paycode_new(W(t), &b.s, code, &exp), ERR_UNAUTHENTICATED);
    assert_string_equal(code, "");
    /* the phone still in the customer's hand does */
    new_code(t, &a, code, NULL);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
}

static void a_new_device_is_flagged_for_lower_limits(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    t->f->cfg.new_device_cooldown_s = 3600;
    second_phone(t, &a, &b);
    char ca[PAYCODE_DIGITS + 1], cb[PAYCODE_DIGITS + 1];
    new_code(t, &a, ca, NULL);
    new_code(t, &b, cb, NULL);
    struct paycode_hit hit;
    assert_int_equal(resolve(t, ca, &hit), ERR_OK);
    assert_false(hit.device_new);
    assert_int_equal(resolve(t, cb, &hit), ERR_OK);
    assert_true(hit.device_new);
    /* an hour later the cool-down is over */
    t->f->now += 3600 * 1000;
    new_code(t, &b, cb, NULL);
    assert_int_equal(resolve(t, cb, &hit), ERR_OK);
    assert_false(hit.device_new);
}

/* ---- what a register might present ------------------------------------------- */

/* payload + its check digit */
static void with_luhn(char code[PAYCODE_DIGITS + 1])
{
    code[PAYCODE_DIGITS - 1] = (char)('0' + luhn_check_digit(code, PAYCODE_DIGITS - 1));
    code[PAYCODE_DIGITS] = '\0';
}

static void malformed_and_guessed_codes_are_refused(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    char code[PAYCODE_DIGITS + 1];
    new_code(t, &a, code, NULL);

    char bad[64];
    const char *shapes[] = {"", "8", "81234567890123456", "8123456789012345678", "81234567890123456x",
                            " 81234567890123456", "812345678901234567 "};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        assert_int_equal(resolve(t, shapes[i], NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, NULL, NULL), ERR_INVALID_CODE);
    /* the live code with its check digit wrong */
    snprintf(bad, sizeof bad, "%s", code);
    bad[PAYCODE_DIGITS - 1] = (char)('0' + (bad[PAYCODE_DIGITS - 1] - '0' + 1) % 10);
    assert_int_equal(resolve(t, bad, NULL), ERR_INVALID_CODE);
    /* the live code's digits under another prefix, with a valid check digit */
    for (char p = '0'; p <= '9'; p++) {
        snprintf(bad, sizeof bad, "%s", code);
        bad[0] = p;
        with_luhn(bad);
        assert_int_equal(resolve(t, bad, NULL), p == PAYCODE_ONLINE_PREFIX ? ERR_OK : ERR_INVALID_CODE);
    }
    /* guesses next to the live code, each with a valid check digit */
    for (int i = 1; i < PAYCODE_DIGITS - 1; i++) {
        snprintf(bad, sizeof bad, "%s", code);
        bad[i] = (char)('0' + (bad[i] - '0' + 1) % 10);
        with_luhn(bad);
        assert_int_equal(resolve(t, bad, NULL), ERR_INVALID_CODE);
    }
    /* the live code still pays after all that */
    struct paycode_hit hit;
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_OK);
}

/* ---- offline codes ------------------------------------------------------------- */

static void the_documented_example_reproduces(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len = 0;
    assert_int_equal(sodium_base642bin(key, sizeof key, DOC_KEY_B64, strlen(DOC_KEY_B64), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(len, 32);
    for (int i = 0; i < 32; i++)
        assert_int_equal(key[i], i);
    assert_int_equal(DOC_UNIX / OFFLINE_STEP_S, DOC_STEP);
    char code[PAYCODE_DIGITS + 1];
    paycode_offline_derive(key, DOC_OFFLINE_ID, DOC_STEP, code);
    assert_string_equal(code, DOC_CODE);
    assert_true(luhn_valid(code));
    paycode_offline_derive(key, DOC_OFFLINE_ID, DOC_STEP - 1, code);
    assert_string_equal(code, DOC_CODE_BEFORE);
    paycode_offline_derive(key, DOC_OFFLINE_ID, DOC_STEP + 1, code);
    assert_string_equal(code, DOC_CODE_AFTER);
    /* the intermediate values the page shows */
    uint8_t msg[26], mac[32];
    memcpy(msg, "kessai-offline-v1:", 18);
    for (int i = 0; i < 8; i++)
        msg[18 + i] = (uint8_t)((uint64_t)DOC_STEP >> (56 - 8 * i));
    char hex[2 * sizeof msg + 1];
    sodium_bin2hex(hex, sizeof hex, msg, sizeof msg);
    assert_string_equal(hex, "6b65737361692d6f66666c696e652d76313a0000000003938700");
    crypto_auth_hmacsha256(mac, msg, sizeof msg, key);
    char mhex[65];
    sodium_bin2hex(mhex, sizeof mhex, mac, sizeof mac);
    assert_string_equal(mhex, "d785b6c9b582f6a5f6834631d02d043f04503a22271838963b886bf211e561c6");
}

static void an_offline_code_is_accepted_within_one_step(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    uint8_t key[32];
    int64_t oid;
    offline_key(t, &a, key, &oid);
    /* in the middle of a step, so that "now" is unambiguous */
    t->f->now = (step_now(t) + 10) * STEP_MS + STEP_MS / 2;
    int64_t s = step_now(t);
    for (int64_t d = -3; d <= 3; d++) {
        char code[PAYCODE_DIGITS + 1];
        paycode_offline_derive(key, oid, s + d, code);
        af_secret(t->f, code);
        assert_int_equal(code[0], PAYCODE_OFFLINE_PREFIX);
        assert_true(luhn_valid(code));
        char want_id[8];
        snprintf(want_id, sizeof want_id, "%07lld", (long long)oid);
        assert_memory_equal(code + 1, want_id, 7); /* the device, inside the code */
        struct paycode_hit hit;
        enum err e = resolve(t, code, &hit);
        if (d >= -1 && d <= 1) {
            assert_int_equal(e, ERR_OK);
            assert_true(hit.offline);
            assert_int_equal(hit.offline_step, s + d);
            assert_int_equal(hit.customer_id, a.s.customer_id);
            assert_int_equal(hit.device_id, a.s.device_id);
            assert_int_equal(hit.paycode_id, 0);
        } else {
            assert_int_equal(e, ERR_INVALID_CODE);
        }
    }
}

static void an_offline_code_pays_once_per_step(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    uint8_t key[32];
    int64_t oid;
    offline_key(t, &a, key, &oid);
    char code[PAYCODE_DIGITS + 1], next[PAYCODE_DIGITS + 1];
    paycode_offline_derive(key, oid, step_now(t), code);
    paycode_offline_derive(key, oid, step_now(t) + 1, next);
    af_secret(t->f, code);
    af_secret(t->f, next);
    struct paycode_hit hit;
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_OK);
    /* the same code again: it resolves (no read of uses), but cannot pay */
    assert_int_equal(resolve(t, code, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_INVALID_CODE);
    /* the next step's code is another payment */
    t->f->now += STEP_MS;
    assert_int_equal(resolve(t, next, &hit), ERR_OK);
    assert_int_equal(consume(t, &hit), ERR_OK);
    /* long after, the uses have been purged, but the old code is long dead */
    t->f->now += PAYCODE_OFFLINE_USE_KEEP_MS * 2;
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
}

static void a_forged_offline_code_is_refused(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    uint8_t key[32];
    int64_t oid;
    offline_key(t, &a, key, &oid);
    char code[PAYCODE_DIGITS + 1], bad[PAYCODE_DIGITS + 1];
    derive_now(t, key, oid, code);
    /* any one of the 9 derived digits changed, check digit recomputed */
    for (int i = 8; i < PAYCODE_DIGITS - 1; i++) {
        memcpy(bad, code, sizeof bad);
        bad[i] = (char)('0' + (bad[i] - '0' + 5) % 10);
        with_luhn(bad);
        assert_int_equal(resolve(t, bad, NULL), ERR_INVALID_CODE);
    }
    /* a key of the attacker's own, with the victim's offline id */
    uint8_t mine[32];
    randombytes_buf(mine, sizeof mine);
    paycode_offline_derive(mine, oid, step_now(t), bad);
    assert_int_equal(resolve(t, bad, NULL), ERR_INVALID_CODE);
    /* an offline id nobody has */
    paycode_offline_derive(key, (oid + 1) % 10000000, step_now(t), bad);
    assert_int_equal(resolve(t, bad, NULL), ERR_INVALID_CODE);
    /* the genuine one still works */
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
}

static void an_offline_key_dies_with_its_replacement_and_its_device(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    uint8_t k1[32], k2[32];
    int64_t o1, o2;
    offline_key(t, &a, k1, &o1);
    offline_key(t, &a, k2, &o2);
    char code[PAYCODE_DIGITS + 1];
    /* the first key was replaced: its codes are dead (and if the new id
     * happened to equal the old, the new key does not derive them) */
    derive_now(t, k1, o1, code);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    derive_now(t, k2, o2, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
    assert_int_equal(af_events(t->f, a.s.customer_id, "offline_key_issued"), 2);

    /* a second phone's key dies when that phone is removed */
    second_phone(t, &a, &b);
    uint8_t kb[32];
    int64_t ob;
    offline_key(t, &b, kb, &ob);
    derive_now(t, kb, ob, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
    refresh(t, &a);
    assert_int_equal(device_remove(af_ctx(t->f), &a.s, b.s.device_id), ERR_OK);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    /* and the removed phone cannot get a new one */
    char b64[OFFLINE_KEY_B64_LEN + 1];
    int64_t oid;
    b.s.fresh_until_ms = t->f->now + 1000; /* even with its old session "fresh" */
    assert_int_equal(paycode_offline_key(W(t), &b.s, b64, &oid), ERR_UNAUTHENTICATED);
    assert_string_equal(b64, "");

    /* a key revoked while its device lives (what a session's revocation does) */
    assert_int_equal(t->f->st->ops->paycodes_revoke(t->f->st, a.s.customer_id, a.s.device_id, t->f->now), ERR_OK);
    paycode_offline_derive(k2, o2, step_now(t), code);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
}

/* Recovery, a password change and an e-mail change end every offline key
 * and unused code of the customer, as they end the sessions: whoever had
 * the account may have enrolled a phone or have a code on its screen. */
static void an_offline_key_dies_with_a_reset_a_password_or_an_email_change(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    second_phone(t, &a, &b);
    uint8_t ka[32], kb[32];
    int64_t oa, ob;
    char code[PAYCODE_DIGITS + 1], why[256], a_once[PAYCODE_DIGITS + 1], b_once[PAYCODE_DIGITS + 1];
    /* an e-mail change from phone a */
    offline_key(t, &b, kb, &ob);
    derive_now(t, kb, ob, code);
    new_code(t, &a, a_once, NULL);
    char confirm[8];
    assert_int_equal(email_change_request(af_ctx(t->f), &a.s, "aiko.new@example.com", t->f->now), ERR_OK);
    af_mail_word(t->f, "aiko.new@example.com", "Confirm your new", "address is: ", confirm, sizeof confirm);
    struct customer_profile prof;
    assert_int_equal(email_change_confirm(af_ctx(t->f), &a.s, confirm, &prof), ERR_OK);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, a_once, NULL), ERR_INVALID_CODE);
    snprintf(a.email, sizeof a.email, "aiko.new@example.com");
    second_phone(t, &a, &b);

    offline_key(t, &a, ka, &oa);
    offline_key(t, &b, kb, &ob);
    derive_now(t, kb, ob, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
    new_code(t, &a, a_once, NULL);
    new_code(t, &b, b_once, NULL);
    /* a password change from phone a: b's key and one-time code (and a's
     * own) are dead */
    af_secret(t->f, "a completely new passphrase");
    assert_int_equal(password_change(af_ctx(t->f), &a.s, AF_PASSWORD, "a completely new passphrase", why, sizeof why),
                     ERR_OK);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, b_once, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, a_once, NULL), ERR_INVALID_CODE);
    derive_now(t, ka, oa, code);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);

    /* a new key and code for phone a, then a completed reset kills them too */
    offline_key(t, &a, ka, &oa);
    derive_now(t, ka, oa, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
    new_code(t, &a, a_once, NULL);
    char token[64], totp[TOTP_DIGITS + 1];
    assert_int_equal(reset_request(af_ctx(t->f), a.email), ERR_OK);
    af_mail_word(t->f, a.email, "Reset", "Reset token: ", token, sizeof token);
    af_secret(t->f, "the owner's recovered passphrase");
    af_totp(t->f, &a.phone, totp);
    assert_int_equal(reset_complete(af_ctx(t->f), token, "the owner's recovered passphrase", totp, NULL, why,
                                    sizeof why),
                     ERR_OK);
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, a_once, NULL), ERR_INVALID_CODE);
}

/* The owner of a stolen phone revokes its session from another one: the
 * code on the thief's screen and the phone's offline key stop paying at
 * once, the owner's own phone's do not; signing out everywhere ends them
 * all. */
static void a_revoked_session_takes_its_phones_codes_with_it(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    second_phone(t, &a, &b);
    uint8_t ka[32], kb[32];
    int64_t oa, ob;
    offline_key(t, &a, ka, &oa);
    offline_key(t, &b, kb, &ob);
    char a_code[PAYCODE_DIGITS + 1], b_code[PAYCODE_DIGITS + 1], a_off[PAYCODE_DIGITS + 1],
        b_off[PAYCODE_DIGITS + 1];
    new_code(t, &a, a_code, NULL);
    new_code(t, &b, b_code, NULL);
    paycode_offline_derive(ka, oa, step_now(t), a_off);
    paycode_offline_derive(kb, ob, step_now(t), b_off);
    af_secret(t->f, a_off);
    af_secret(t->f, b_off);
    assert_int_equal(resolve(t, b_code, NULL), ERR_OK);
    assert_int_equal(resolve(t, b_off, NULL), ERR_OK);

    assert_int_equal(session_revoke(af_ctx(t->f), &a.s, b.s.id), ERR_OK);
    assert_int_equal(resolve(t, b_code, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, b_off, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, a_code, NULL), ERR_OK);
    assert_int_equal(resolve(t, a_off, NULL), ERR_OK);

    assert_int_equal(session_revoke_all(af_ctx(t->f), &a.s), ERR_OK);
    assert_int_equal(resolve(t, a_code, NULL), ERR_INVALID_CODE);
    assert_int_equal(resolve(t, a_off, NULL), ERR_INVALID_CODE);
}

/* A request authenticates, then waits (a worker, the writer's queue):
 * its session revoked meanwhile (the owner signing the thief's phone out)
 * gets neither a code nor an offline key, which would outlive the
 * revocation that was meant to take them (the key for 30 days). */
static void a_session_revoked_while_its_code_or_key_is_made_gets_neither(void **state)
{
    struct tp *t = *state;
    struct cust a, thief;
    customer(t, &a, "aiko@example.com");
    second_phone(t, &a, &thief);
    struct auth_session before = thief.s; /* authenticated, not yet served */
    assert_int_equal(session_revoke(af_ctx(t->f), &a.s, thief.s.id), ERR_OK);

    char code[PAYCODE_DIGITS + 1], b64[OFFLINE_KEY_B64_LEN + 1];
    int64_t expires = 0, oid = -1;
    assert_int_equal(paycode_new(W(t), &before, code, &expires), ERR_UNAUTHENTICATED);
    assert_int_equal(paycode_offline_key(W(t), &before, b64, &oid), ERR_UNAUTHENTICATED);
    assert_int_equal(oid, -1);
    assert_string_equal(b64, "");
    new_code(t, &a, code, NULL); /* the owner's own phone still gets one */
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
}

/* A charge looks the code up, then commits: a device removed in between
 * (its owner faster than the thief at the register) pays nothing, online
 * code or offline, nor an offline key replaced in between. */
static void a_code_resolved_before_its_device_or_key_went_does_not_pay(void **state)
{
    struct tp *t = *state;
    struct cust a, b;
    customer(t, &a, "aiko@example.com");
    second_phone(t, &a, &b);
    uint8_t kb[32];
    int64_t ob;
    offline_key(t, &b, kb, &ob);
    char code[PAYCODE_DIGITS + 1], off[PAYCODE_DIGITS + 1];
    new_code(t, &b, code, NULL);
    derive_now(t, kb, ob, off);
    struct paycode_hit hc, ho;
    assert_int_equal(resolve(t, code, &hc), ERR_OK);
    assert_int_equal(resolve(t, off, &ho), ERR_OK);
    refresh(t, &a);
    assert_int_equal(device_remove(af_ctx(t->f), &a.s, b.s.device_id), ERR_OK);
    assert_int_equal(consume(t, &hc), ERR_INVALID_CODE);
    assert_int_equal(consume(t, &ho), ERR_INVALID_CODE);

    /* nor a key replaced in between (the phone asked for a new one) */
    uint8_t ka[32];
    int64_t oa;
    offline_key(t, &a, ka, &oa);
    derive_now(t, ka, oa, off);
    assert_int_equal(resolve(t, off, &ho), ERR_OK);
    offline_key(t, &a, ka, &oa);
    assert_int_equal(consume(t, &ho), ERR_INVALID_CODE);
}

/* A key pays for PAYCODE_OFFLINE_KEY_LIFETIME_MS, not for ever. */
static void an_offline_key_expires(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    uint8_t key[32];
    int64_t oid;
    offline_key(t, &a, key, &oid);
    char code[PAYCODE_DIGITS + 1];
    t->f->now += PAYCODE_OFFLINE_KEY_LIFETIME_MS - 1000;
    derive_now(t, key, oid, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
    t->f->now += 1000;
    assert_int_equal(resolve(t, code, NULL), ERR_INVALID_CODE);
    /* the phone, signed in again, gets a new key that pays */
    refresh(t, &a);
    offline_key(t, &a, key, &oid);
    derive_now(t, key, oid, code);
    assert_int_equal(resolve(t, code, NULL), ERR_OK);
}

static void an_offline_key_needs_a_fresh_second_factor(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    t->f->now += AUTH_FRESH_MFA_MS + 1000;
    af_auth(t->f, &a.g, &a.s);
    char b64[OFFLINE_KEY_B64_LEN + 1];
    int64_t oid;
    assert_int_equal(paycode_offline_key(W(t), &a.s, b64, &oid), ERR_FRESH_MFA_REQUIRED);
    assert_string_equal(b64, "");
    assert_int_equal(af_events(t->f, a.s.customer_id, "offline_key_issued"), 0);
    /* the thief with only a session gets nothing; the owner signs in again */
    refresh(t, &a);
    uint8_t key[32];
    offline_key(t, &a, key, &oid);
}

/* ---- rendering ------------------------------------------------------------------ */

/* Code 128 bar/space widths of values 0..105 (Stop is 106: 2331112). */
static const char *const c128[106] = {
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", "221312",
    "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", "221231", "213212",
    "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321", "232121",
    "111323", "131123", "131321", "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331",
    "132131", "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131", "311123",
    "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224", "111422", "121124",
    "121421", "141122", "141221", "112214", "112412", "122114", "122411", "142112", "142211", "241211", "221114",
    "413111", "241112", "134111", "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232"};

/* Read the bars back out of the SVG the app shows, as a scanner would, and
 * decode them (Code 128, code set C: two digits per symbol). */
static void decode_barcode(const char *svg, char *out, size_t n)
{
    double x[128], w[128];
    int bars = 0;
    const char *p = strstr(svg, "<path fill='#000' d='");
    assert_non_null(p);
    /* one box per bar: M x y h width v height h -width z */
    while ((p = strchr(p, 'M')) != NULL) {
        double y, h, back;
        assert_true(bars < 128);
        assert_int_equal(sscanf(p, "M%lf %lfh%lfv%lfh-%lfz", &x[bars], &y, &w[bars], &h, &back), 5);
        assert_true(back == w[bars] && h > 0);
        bars++;
        p++;
    }
    assert_true(bars > 10);
    double module = w[0];
    for (int i = 0; i < bars; i++)
        module = w[i] < module ? w[i] : module;
    /* widths in modules: bar, space, bar, … */
    char elems[256];
    int ne = 0;
    for (int i = 0; i < bars; i++) {
        elems[ne++] = (char)('0' + (int)(w[i] / module + 0.5));
        if (i + 1 < bars)
            elems[ne++] = (char)('0' + (int)((x[i + 1] - x[i] - w[i]) / module + 0.5));
    }
    elems[ne] = '\0';
    assert_int_equal((ne - 7) % 6, 0);
    assert_string_equal(elems + ne - 7, "2331112");
    int vals[40], nv = 0;
    for (int i = 0; i + 7 < ne; i += 6) {
        int v = -1;
        for (int k = 0; k < 106; k++)
            if (strncmp(elems + i, c128[k], 6) == 0)
                v = k;
        assert_true(v >= 0);
        vals[nv++] = v;
    }
    assert_int_equal(vals[0], 105); /* Start C */
    int sum = vals[0];
    for (int i = 1; i < nv - 1; i++)
        sum += i * vals[i];
    assert_int_equal(sum % 103, vals[nv - 1]);
    size_t len = 0;
    for (int i = 1; i < nv - 1; i++) {
        assert_true(vals[i] < 100 && len + 3 <= n);
        len += (size_t)snprintf(out + len, n - len, "%02d", vals[i]);
    }
}

static void the_code_renders_as_qr_and_code_128(void **state)
{
    struct tp *t = *state;
    struct cust a;
    customer(t, &a, "aiko@example.com");
    for (int i = 0; i < 5; i++) {
        char code[PAYCODE_DIGITS + 1];
        new_code(t, &a, code, NULL);
        char *qr = NULL, *bar = NULL;
        assert_int_equal(paycode_qr_svg(code, &qr), ERR_OK);
        assert_int_equal(paycode_barcode_svg(code, &bar), ERR_OK);
        assert_int_equal(strncmp(qr, "<svg xmlns='http://www.w3.org/2000/svg'", 39), 0);
        assert_non_null(strstr(qr, "<path"));
        assert_int_equal(strncmp(bar, "<svg xmlns='http://www.w3.org/2000/svg'", 39), 0);
        assert_non_null(strstr(bar, "</svg>"));
        char back[64];
        decode_barcode(bar, back, sizeof back);
        assert_string_equal(back, code);
        assert_true(qr_read_svg(qr, back, sizeof back));
        assert_string_equal(back, code);
        free(qr);
        free(bar);
    }
    /* an offline code renders too (the phone renders its own; same format) */
    char *svg = (char *)1;
    assert_int_equal(paycode_barcode_svg(DOC_CODE, &svg), ERR_OK);
    free(svg);
    /* nothing but a well-formed code is drawn */
    assert_int_equal(paycode_barcode_svg("12345", &svg), ERR_INVALID_PARAM);
    assert_null(svg);
    assert_int_equal(paycode_qr_svg("904123455069641332", &svg), ERR_INVALID_PARAM);
    assert_null(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_code_is_18_digits_a_register_can_check, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_lives_exactly_60_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_pays_once, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_codes_are_purged_in_bulk, setup, teardown),
        cmocka_unit_test_setup_teardown(two_registers_at_once_pay_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_needs_a_full_session_on_an_active_device, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_device_is_flagged_for_lower_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_and_guessed_codes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(the_documented_example_reproduces, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_code_is_accepted_within_one_step, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_code_pays_once_per_step, setup, teardown),
        cmocka_unit_test_setup_teardown(a_forged_offline_code_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_key_dies_with_its_replacement_and_its_device, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_key_dies_with_a_reset_a_password_or_an_email_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_revoked_session_takes_its_phones_codes_with_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_session_revoked_while_its_code_or_key_is_made_gets_neither, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_code_resolved_before_its_device_or_key_went_does_not_pay, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_key_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(an_offline_key_needs_a_fresh_second_factor, setup, teardown),
        cmocka_unit_test_setup_teardown(the_code_renders_as_qr_and_code_128, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
