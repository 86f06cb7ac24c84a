/* auth_fixture.h: shared by the test_auth_*.c files (header-only, so it is
 * not linked into every other test): a real SQLite store in a temporary
 * directory, a master key, the mail spool as the customers' mailbox, simulated
 * phones (Ed25519 keys, TOTP apps) and an injected clock.
 * Include after <cmocka.h>. */
#ifndef KESSAI_TESTS_AUTH_FIXTURE_H
#define KESSAI_TESTS_AUTH_FIXTURE_H

#include <ctype.h>
#include <dirent.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/customer.h"
#include "auth/device.h"
#include "auth/login.h"
#include "auth/mfa.h"
#include "auth/reset.h"
#include "auth/session.h"
#include "notify/mailspool.h"
#include "notify/outbox.h"
#include "inbox.h"
#include "testutil.h"
#include "util/config.h"
#include "util/ids.h"

#define AF_T0 1800000000000LL /* 2027-01-15, ms */
#define AF_PASSWORD "violet tuesday gravel lantern"
#define AF_MAX_SECRETS 256
#define AF_MAX_TAKEN 256

struct af {
    char *dir;
    struct store *st;
    uint8_t mk[MASTERKEY_BYTES];
    struct config cfg;
    struct mailspool md;
    struct notify_sender sender;
    struct notify_wake wake; /* what kessaid's mail thread does, at once: af_deliver */
    struct auth_ctx ctx;
    int64_t now;
    const char *addr;
    /* Every secret a test saw, checked against the database bytes. */
    char *secrets[AF_MAX_SECRETS];
    int nsecrets;
    /* Message-IDs of the mail a test took (af_mail): a spool file holds a
     * whole round, so taking a message cannot remove its file. */
    char taken[AF_MAX_TAKEN][80];
    int ntaken;
};

struct af_phone {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pub[DEVICE_KEY_B64_LEN + 1];
    char name[DEVICE_NAME_MAX + 1];
    uint8_t seed[TOTP_SEED_BYTES]; /* the authenticator app */
    char device_id[IDS_BUF];
};

static inline void af_secret(struct af *f, const char *s)
{
    if (f->nsecrets < AF_MAX_SECRETS && s && *s)
        f->secrets[f->nsecrets++] = strdup(s);
}

/* The fixture's stand-in for kessaid's mail thread, woken by the calls
 * that leave their mail queued (auth_ctx.h): deliver now, so tests read
 * the mailbox right after any call. */
static inline void af_deliver(void *ctx)
{
    struct af *f = ctx;
    (void)notify_deliver_pending(f->st, f->mk, &f->sender, f->now, NULL);
}

static inline struct af *af_new(void)
{
    struct af *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tempdir();
    f->st = tu_open_store(f->dir);
    tu_master_key(f->dir, f->mk); /* the key of the audit log's MACs too */
    config_defaults(&f->cfg);
    assert_int_equal(mailspool_open(&f->md, f->dir), ERR_OK);
    f->sender = mailspool_sender(&f->md);
    f->wake = (struct notify_wake){af_deliver, f};
    f->now = AF_T0;
    f->addr = "198.51.100.7";
    af_secret(f, AF_PASSWORD);
    return f;
}

static inline void af_free(struct af *f)
{
    for (int i = 0; i < f->nsecrets; i++)
        free(f->secrets[i]);
    store_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
}

/* The context for the next call, at f->now from f->addr. */
static inline const struct auth_ctx *af_ctx(struct af *f)
{
    f->ctx = (struct auth_ctx){.st = f->st,
                               .master_key = f->mk,
                               .cfg = &f->cfg,
                               .mail = &f->sender,
                               .now = f->now,
                               .client_addr = f->addr,
                               .wake = &f->wake};
    return &f->ctx;
}

static inline void af_phone_new(struct af_phone *p, const char *name)
{
    memset(p, 0, sizeof *p);
    crypto_sign_keypair(p->pk, p->sk);
    sodium_bin2base64(p->pub, sizeof p->pub, p->pk, sizeof p->pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(p->name, sizeof p->name, "%s", name);
}

static inline void af_sign(const struct af_phone *p, const char *challenge, char sig[100])
{
    uint8_t raw[crypto_sign_BYTES];
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%s%s", DEVICE_SIG_PREFIX, challenge);
    crypto_sign_detached(raw, NULL, (const uint8_t *)msg, (size_t)n, p->sk);
    sodium_bin2base64(sig, 100, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The phone's current TOTP code; moves the clock on one step first, so every
 * code a test asks for is new. */
static inline void af_totp(struct af *f, const struct af_phone *p, char code[TOTP_DIGITS + 1])
{
    f->now += TOTP_STEP_SECONDS * 1000;
    assert_int_equal(totp_code(p->seed, f->now / 1000, code), ERR_OK);
    af_secret(f, code);
}

/* ---- the mailbox (DATA_DIR/mail/new, read with inbox.h) ---- */

static inline bool af_was_taken(const struct af *f, const char *id)
{
    for (int i = 0; i < f->ntaken; i++)
        if (strcmp(f->taken[i], id) == 0)
            return true;
    return false;
}

/* Messages to `to` whose subject contains `subject` and that no test took;
 * n of them.  With take, the oldest match's body goes into body[bn] and it
 * counts as taken from then on (so the next take finds the next message). */
static inline int af_mail(struct af *f, const char *to, const char *subject, bool take, char *body, size_t bn)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/new", f->md.dir);
    struct inbox box;
    inbox_load(&box, dir);
    int n = 0;
    for (size_t i = 0; i < box.n; i++) {
        const struct inbox_msg *m = &box.m[i];
        if (strcmp(m->to, to) != 0 || strstr(m->subject, subject) == NULL || af_was_taken(f, m->id))
            continue;
        n++;
        if (take) {
            assert_true(m->id[0] != '\0' && f->ntaken < AF_MAX_TAKEN);
            snprintf(f->taken[f->ntaken++], sizeof f->taken[0], "%s", m->id);
            snprintf(body, bn, "%s", inbox_body(m->text));
            break;
        }
    }
    inbox_free(&box);
    return n;
}

static inline int af_mail_count(struct af *f, const char *to, const char *subject)
{
    return af_mail(f, to, subject, false, NULL, 0);
}

/* Every message in the mailbox that no test took, to anyone. */
static inline int af_mail_total(struct af *f)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/new", f->md.dir);
    struct inbox box;
    inbox_load(&box, dir);
    int n = 0;
    for (size_t i = 0; i < box.n; i++)
        n += !af_was_taken(f, box.m[i].id);
    inbox_free(&box);
    return n;
}

/* Take the oldest matching mail (af_mail) and copy the word after `marker` in it. */
static inline void af_mail_word(struct af *f, const char *to, const char *subject, const char *marker, char *out,
                                size_t n)
{
    char body[4096];
    assert_int_equal(af_mail(f, to, subject, true, body, sizeof body), 1);
    const char *p = strstr(body, marker);
    assert_non_null(p);
    p += strlen(marker);
    size_t k = strcspn(p, " \n");
    assert_true(k > 0 && k < n);
    memcpy(out, p, k);
    out[k] = '\0';
    af_secret(f, out);
}

/* ---- flows ---- */

static inline void af_register(struct af *f, const char *email, const char *password, char code[8])
{
    const char *bad = NULL;
    char why[256];
    af_secret(f, password);
    assert_int_equal(customer_register(af_ctx(f), email, password, &bad, why, sizeof why), ERR_OK);
    af_mail_word(f, email, "verification code", "code is: ", code, 8);
}

/* One verification attempt from phone p: a fresh challenge, signed by p
 * (a corrupted signature unless sign), with password and code. */
static inline enum err af_verify_ex(struct af *f, const char *email, const char *password, const char *code,
                                    const struct af_phone *p, bool sign, struct auth_grant *g)
{
    char ch[LOGIN_CHALLENGE_BUF], sig[100];
    int64_t exp = 0;
    const char *bad = NULL;
    struct auth_grant local;
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_secret(f, ch);
    af_sign(p, ch, sig);
    if (!sign)
        sig[3] = sig[3] == 'A' ? 'B' : 'A';
    struct verify_input in = {email, password, code, p->pub, p->name, ch, sig};
    enum err e = customer_verify_email(af_ctx(f), &in, g ? g : &local, &bad);
    if (e == ERR_OK)
        af_secret(f, (g ? g : &local)->session_token);
    return e;
}

static inline enum err af_verify(struct af *f, const char *email, const char *code, const struct af_phone *p,
                                 struct auth_grant *g)
{
    return af_verify_ex(f, email, AF_PASSWORD, code, p, true, g);
}

static inline void af_seed_from_uri(const char *uri, uint8_t seed[TOTP_SEED_BYTES])
{
    const char *s = strstr(uri, "secret=");
    assert_non_null(s);
    s += 7;
    char b32[64];
    snprintf(b32, sizeof b32, "%.*s", (int)strcspn(s, "&"), s);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(oath_base32_decode(b32, strlen(b32), &out, &len), OATH_OK);
    assert_int_equal(len, TOTP_SEED_BYTES);
    memcpy(seed, out, TOTP_SEED_BYTES);
    free(out);
}

static inline void af_auth(struct af *f, const struct auth_grant *g, struct auth_session *s)
{
    char did[IDS_BUF];
    assert_int_equal(session_authenticate(af_ctx(f), g->session_token, ids_format(did, DEVICE_ID_PREFIX, g->device_id), s),
                     ERR_OK);
}

/* Register, verify the address from p, enrol TOTP: a customer ready to log
 * in.  g receives the (now full) session; codes (may be NULL) the recovery
 * codes. */
static inline void af_customer(struct af *f, const char *email, struct af_phone *p, struct auth_grant *g,
                               char codes[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF])
{
    char code[8], uri[TOTP_URI_MAX], totp[TOTP_DIGITS + 1];
    char local[RECOVERY_CODE_COUNT][RECOVERY_CODE_BUF];
    struct auth_session s;
    af_register(f, email, AF_PASSWORD, code);
    assert_int_equal(af_verify(f, email, code, p, g), ERR_OK);
    ids_format(p->device_id, DEVICE_ID_PREFIX, g->device_id);
    assert_int_equal(g->scope, SESSION_SCOPE_ENROL);
    af_auth(f, g, &s);
    assert_int_equal(mfa_totp_begin(af_ctx(f), &s, uri), ERR_OK);
    af_seed_from_uri(uri, p->seed);
    char seedhex[2 * TOTP_SEED_BYTES + 1], seedb32[64];
    sodium_bin2hex(seedhex, sizeof seedhex, p->seed, TOTP_SEED_BYTES);
    af_secret(f, seedhex);
    const char *sp = strstr(uri, "secret=") + 7;
    snprintf(seedb32, sizeof seedb32, "%.*s", (int)strcspn(sp, "&"), sp);
    af_secret(f, seedb32);
    af_totp(f, p, totp);
    assert_int_equal(mfa_totp_confirm(af_ctx(f), &s, totp, codes ? codes : local), ERR_OK);
    for (int i = 0; i < RECOVERY_CODE_COUNT; i++)
        af_secret(f, (codes ? codes : local)[i]);
}

/* One login attempt from phone p with a fresh, correctly signed challenge
 * (unless sign is false). */
static inline enum err af_login_ex(struct af *f, const char *email, const char *password, const struct af_phone *p,
                                   const char *totp, const char *recovery, bool sign, struct auth_grant *g)
{
    char ch[LOGIN_CHALLENGE_BUF], sig[100];
    int64_t exp = 0, retry = 0;
    struct auth_grant local;
    assert_int_equal(device_challenge_new(af_ctx(f), ch, &exp), ERR_OK);
    af_secret(f, ch);
    af_sign(p, ch, sig);
    if (!sign)
        sig[3] = sig[3] == 'A' ? 'B' : 'A';
    struct login_input in = {email, password, totp, recovery, p->pub, p->name, ch, sig};
    enum err e = login_attempt(af_ctx(f), &in, g ? g : &local, &retry);
    if (e == ERR_OK)
        af_secret(f, (g ? g : &local)->session_token);
    return e;
}

static inline enum err af_login(struct af *f, const char *email, const struct af_phone *p, struct auth_grant *g)
{
    char totp[TOTP_DIGITS + 1];
    af_totp(f, p, totp);
    return af_login_ex(f, email, AF_PASSWORD, p, totp, NULL, true, g);
}

/* How many of the customer's security events (every page of them) are of
 * kind and, unless needle is NULL, hold needle in their detail. */
static inline int af_events_with(struct af *f, int64_t customer_id, const char *kind, const char *needle)
{
    struct security_event ev[64];
    size_t n = 0;
    int k = 0;
    int64_t after = 0;
    do {
        assert_int_equal(f->st->ops->security_event_list(f->st, customer_id, after, 64, ev, &n), ERR_OK);
        for (size_t i = 0; i < n; i++)
            k += strcmp(ev[i].kind, kind) == 0 && (needle == NULL || strstr(ev[i].detail, needle) != NULL);
        after = n ? ev[n - 1].id : after;
    } while (n == 64);
    return k;
}

static inline int af_events(struct af *f, int64_t customer_id, const char *kind)
{
    return af_events_with(f, customer_id, kind, NULL);
}

/* A new customer with a full, fresh session on their own phone ("phone"):
 * email copied into the caller's buffer of n bytes, the grant and session. */
static inline void af_customer_signed_in(struct af *f, const char *email, char *buf, size_t n, struct af_phone *p,
                                         struct auth_grant *g, struct auth_session *s)
{
    snprintf(buf, n, "%s", email);
    af_phone_new(p, "phone");
    af_customer(f, buf, p, g, NULL);
    af_auth(f, g, s);
}

/* Does secret occur in buf?  A secret of digits only (a 6-digit code) that
 * stands inside a longer run of digits is part of some other number (a
 * millisecond timestamp stored as text), not the code, and is not counted:
 * otherwise the test would fail by chance about once in a thousand runs. */
static inline int af_occurs(const char *buf, size_t len, const char *secret)
{
    size_t sl = strlen(secret);
    int digits = strspn(secret, "0123456789") == sl;
    for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), secret, sl)) != NULL; p++) {
        if (!digits)
            return 1;
        /* A number inside a longer run of letters and digits (a hex hash,
         * an id, a longer number) is not that number written down. */
        int before = p > buf && isalnum((unsigned char)p[-1]);
        int after = (size_t)(p - buf) + sl < len && isalnum((unsigned char)p[sl]);
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* No secret seen by the test appears in the database files' bytes. */
static inline void af_assert_no_secrets_at_rest(struct af *f)
{
    const char *files[] = {"kessai.db", "kessai.db-wal"};
    for (size_t i = 0; i < 2; i++) {
        char path[600];
        size_t len = 0;
        tu_path(path, sizeof path, f->dir, files[i]);
        char *buf = tu_slurp(path, &len);
        if (buf == NULL)
            continue;
        for (int s = 0; s < f->nsecrets; s++)
            if (af_occurs(buf, len, f->secrets[s]))
                fail_msg("secret %s found in %s", f->secrets[s], files[i]);
        free(buf);
    }
}

#endif
