/* gateway_test.c: the built-in test processor (gateway.h, docs/test-cards.md).
 *
 * It behaves like an acquirer's test mode: the card number selects a
 * behaviour (success, a decline, a CVC mismatch, 3-D Secure), and tokens,
 * challenges, authorizations and refunds live in its own SQLite file
 * (gateway_test_db.h), so its answers survive a kessaid crash as a remote
 * processor's would.  The PAN and CVC are looked at in tokenize() and
 * forgotten: only the behaviour they selected is kept with the token, and,
 * for a number that is not a published test card, the PAN keyed-hashed with
 * the processor's own key (test-acquirer.key beside its file).
 *
 * Card holders: a real issuer sends its 3-D Secure code to its cardholder's
 * phone, whoever asks to link the card.  This one learns its holder the first
 * time the card passes 3-D Secure (the address the link was asked for); from
 * then on a link of that card from an account with another address mails the
 * code to the holder (gateway_challenge.otp_to).  The published numbers
 * (4242 4242 4242 4242, …) are shared by every developer and have no holder.
 *
 * Authorization life (one row per idempotency key):
 *
 *   authorize --card needs 3-D Secure--> requires_action --challenge ok--> authorized
 *      |                                      |                             |
 *      |                                      +--challenge failed/expired--> declined
 *      +--card declines--> declined           (authentication_failed)      capture
 *      +--otherwise------> authorized                                        v
 *                                                               captured --refund (<= captured in all)
 *
 * A requires_action authorization moves on when challenge_verify settles its
 * challenge (resolve_action), or, if the challenge simply expired, the next
 * time authorize is called with its key.
 *
 * Invariants:
 *   1. Same idempotency key, same request: the stored outcome, nothing new
 *      (a requires_action repeat names the same challenge, otp "": the code
 *      was delivered once).  Same key, different token or amount:
 *      ERR_IDEMPOTENCY_CONFLICT.  The same holds for refund keys, and
 *      capture is idempotent by authorization.
 *   2. Refunds never exceed what was captured; a capture never exceeds what
 *      was authorized.
 *   3. A challenge is settled once: succeeded or failed, never reopened.
 *   4. A processor error (card ...0119) records nothing: the caller retries
 *      with the same key and gets the same error.
 *
 * Thread safety: one mutex around the SQLite handle; every op takes it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "util/idem.h"
#include "util/masterkey.h"
#include "util/ids.h"
#include "util/money.h"
#include "util/timeutil.h"
#include "wallet/gateway_test.h"
#include "wallet/gateway_test_db.h"

#define OTP_DIGITS 6

/* Published numbers that simply work (docs/test-cards.md): shared, so no holder. */
static const char *const shared_cards[] = {"4242424242424242", "5555555555554444", "3530111333300000",
                                           "378282246310005"};

/* What a test card does (docs/test-cards.md); the name is what the vault keeps. */
enum behaviour {
    B_OK,              /* everything succeeds */
    B_STOLEN,          /* tokenize: ERR_CARD_DECLINED */
    B_EXPIRED,         /* tokenize: ERR_CARD_EXPIRED */
    B_CVC_FAIL,        /* tokenize: ERR_INCORRECT_CVC whatever the CVC */
    B_NO_FUNDS,        /* authorize: ERR_CARD_INSUFFICIENT_FUNDS */
    B_3DS_EVERY,       /* authorize: requires_action every time */
    B_3DS_FAILS,       /* every challenge fails; authorize requires_action */
    B_PROCESSOR_ERROR, /* authorize: ERR_GATEWAY */
    B__COUNT
};

static const char *const behaviour_names[B__COUNT] = {
    [B_OK] = "ok",
    [B_STOLEN] = "stolen",
    [B_EXPIRED] = "expired",
    [B_CVC_FAIL] = "cvc_fail",
    [B_NO_FUNDS] = "no_funds",
    [B_3DS_EVERY] = "3ds_every",
    [B_3DS_FAILS] = "3ds_fails",
    [B_PROCESSOR_ERROR] = "processor_error",
};

static const struct {
    const char *pan;
    enum behaviour b;
} test_cards[] = {
    {"4000000000009979", B_STOLEN},    {"4000000000000069", B_EXPIRED},   {"4000000000000127", B_CVC_FAIL},
    {"4000000000009995", B_NO_FUNDS},  {"4000002760003184", B_3DS_EVERY}, {"4000008400001629", B_3DS_FAILS},
    {"4000000000000119", B_PROCESSOR_ERROR},
};

struct test_gateway {
    struct gateway base;
    pthread_mutex_t lock;
    struct gtdb *db;
    uint8_t card_key[MASTERKEY_BYTES]; /* keys the PAN hashes that name a card's holder */
    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
};

static struct test_gateway *tg(struct gateway *g)
{
    return (struct test_gateway *)g;
}

static int64_t wall_clock(void *ctx)
{
    (void)ctx;
    return time_now_ms();
}

static enum behaviour behaviour_of_pan(const char *pan)
{
    for (size_t i = 0; i < sizeof test_cards / sizeof test_cards[0]; i++)
        if (strcmp(pan, test_cards[i].pan) == 0)
            return test_cards[i].b;
    return B_OK;
}

/* A published test card: shared by everyone, no holder. */
static bool published(const char *pan)
{
    for (size_t i = 0; i < sizeof shared_cards / sizeof shared_cards[0]; i++)
        if (strcmp(pan, shared_cards[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof test_cards / sizeof test_cards[0]; i++)
        if (strcmp(pan, test_cards[i].pan) == 0)
            return true;
    return false;
}

static enum behaviour behaviour_by_name(const char *name)
{
    for (int b = 0; b < B__COUNT; b++)
        if (strcmp(name, behaviour_names[b]) == 0)
            return (enum behaviour)b;
    return B_OK;
}

/* A card is good through the last day of its expiry month (UTC). */
static bool card_expired(int64_t now_ms, int exp_month, int exp_year)
{
    if (exp_month < 1 || exp_month > 12 || exp_year < 1000 || exp_year > 9999)
        return true;
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return true;
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
    return exp_year < y || (exp_year == y && exp_month < m);
}

/* A string of at most max chars, and not NULL. */
static bool bounded(const char *s, size_t max)
{
    return s != NULL && strnlen(s, max + 1) <= max;
}

static bool digits(const char *s, size_t min, size_t max)
{
    if (!bounded(s, max))
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return false;
    return n >= min;
}

/* The vault's failures are the processor's: outcome unknown, retry. */
static enum err gw_err(enum err e)
{
    return e == ERR_STORE || e == ERR_NOMEM ? ERR_GATEWAY : e;
}

static void code_hash(const uint8_t salt[GTDB_SALT_BYTES], const char *code, uint8_t out[GTDB_HASH_BYTES])
{
    crypto_generichash(out, GTDB_HASH_BYTES, (const unsigned char *)code, strlen(code), salt, GTDB_SALT_BYTES);
}

/* ---- tokenize ---- */

static enum err tg_tokenize(struct gateway *g, const struct gateway_card_input *in, struct gateway_card *out)
{
    struct test_gateway *t = tg(g);
    if (in == NULL || out == NULL || in->pan == NULL || in->cvc == NULL)
        return ERR_INVALID_PARAM;
    memset(out, 0, sizeof *out);
    /* An issuer declines a number that is not one; the caller checks first. */
    if (!card_pan_valid(in->pan))
        return ERR_CARD_DECLINED;
    enum behaviour b = behaviour_of_pan(in->pan);
    const char *brand = card_brand(in->pan);
    /* The issuer's answers, in the order a real one gives them: a stolen
     * card is refused whatever else is typed. */
    if (b == B_STOLEN)
        return ERR_CARD_DECLINED;
    pthread_mutex_lock(&t->lock);
    int64_t now = t->now_ms(t->clock_ctx);
    pthread_mutex_unlock(&t->lock);
    if (b == B_EXPIRED || card_expired(now, in->exp_month, in->exp_year))
        return ERR_CARD_EXPIRED;
    const char *want = strcmp(brand, "amex") == 0 ? "1234" : "123";
    if (b == B_CVC_FAIL || !digits(in->cvc, 3, 4) || strcmp(in->cvc, want) != 0)
        return ERR_INCORRECT_CVC;

    struct gtdb_token row = {.exp_month = in->exp_month, .exp_year = in->exp_year, .created_ms = now};
    char id[IDS_BUF];
    snprintf(row.token, sizeof row.token, "%s", ids_random(id, "tok"));
    snprintf(row.behaviour, sizeof row.behaviour, "%s", behaviour_names[b]);
    snprintf(row.brand, sizeof row.brand, "%s", brand);
    size_t n = strlen(in->pan);
    memcpy(row.last4, in->pan + n - 4, 4);
    row.last4[4] = '\0';
    if (!published(in->pan)) {
        row.has_card_key = true;
        crypto_generichash(row.card_key, sizeof row.card_key, (const unsigned char *)in->pan, n, t->card_key,
                           sizeof t->card_key);
    }

    pthread_mutex_lock(&t->lock);
    enum err e = gtdb_token_insert(t->db, &row);
    pthread_mutex_unlock(&t->lock);
    if (e != ERR_OK)
        return gw_err(e);
    snprintf(out->token, sizeof out->token, "%s", row.token);
    snprintf(out->brand, sizeof out->brand, "%s", row.brand);
    memcpy(out->last4, row.last4, sizeof out->last4);
    out->exp_month = row.exp_month;
    out->exp_year = row.exp_year;
    return ERR_OK;
}

/* ---- 3-D Secure ---- */

/* Open a challenge on token (for auth_ref, or "" for a card link asked for
 * by the account at email) and insert it; out gets its ref and the code the
 * simulated issuer sends.  Lock held. */
static enum err challenge_open(struct test_gateway *t, const char *token, const char *auth_ref, const char *email,
                               int64_t now, struct gateway_challenge *out)
{
    struct gtdb_challenge c = {.state = GTDB_CH_OPEN, .expires_ms = now + GATEWAY_CHALLENGE_TTL_MS, .created_ms = now};
    char id[IDS_BUF];
    snprintf(c.ref, sizeof c.ref, "%s", ids_random(id, "tds"));
    snprintf(c.token, sizeof c.token, "%s", token);
    snprintf(c.auth_ref, sizeof c.auth_ref, "%s", auth_ref);
    snprintf(c.email, sizeof c.email, "%s", email);
    char otp[OTP_DIGITS + 1];
    snprintf(otp, sizeof otp, "%06u", (unsigned)randombytes_uniform(1000000));
    randombytes_buf(c.salt, sizeof c.salt);
    code_hash(c.salt, otp, c.code_hash);
    enum err e = gtdb_challenge_insert(t->db, &c);
    if (e == ERR_OK) {
        snprintf(out->ref, sizeof out->ref, "%s", c.ref);
        snprintf(out->otp, sizeof out->otp, "%s", otp);
    }
    sodium_memzero(otp, sizeof otp);
    return e;
}

static enum err tg_challenge_start(struct gateway *g, const char *token, const char *email,
                                   struct gateway_challenge *out)
{
    struct test_gateway *t = tg(g);
    if (out == NULL || !bounded(email, EMAIL_MAX))
        return ERR_INVALID_PARAM;
    memset(out, 0, sizeof *out);
    if (!bounded(token, CARD_TOKEN_MAX))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&t->lock);
    struct gtdb_token tok;
    char holder[EMAIL_MAX + 1] = "";
    enum err e = gtdb_token_get(t->db, token, &tok);
    if (e == ERR_OK && tok.has_card_key && (e = gtdb_holder_get(t->db, tok.card_key, holder)) == ERR_NOT_FOUND)
        e = ERR_OK; /* no holder yet: whoever passes first is it */
    if (e == ERR_OK)
        e = challenge_open(t, token, "", email, t->now_ms(t->clock_ctx), out);
    /* Addresses are kept as given, lower case (util/email.h). */
    if (e == ERR_OK && holder[0] != '\0' && strcmp(holder, email) != 0)
        snprintf(out->otp_to, sizeof out->otp_to, "%s", holder);
    pthread_mutex_unlock(&t->lock);
    return gw_err(e);
}

/* A card link's challenge passed: its address is the card's holder from now
 * on, unless the card has one.  Lock held, inside a transaction. */
static enum err learn_holder(struct test_gateway *t, const struct gtdb_challenge *c, int64_t now)
{
    if (c->auth_ref[0] != '\0' || c->email[0] == '\0')
        return ERR_OK;
    struct gtdb_token tok;
    enum err e = gtdb_token_get(t->db, c->token, &tok);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_STORE : e;
    return tok.has_card_key ? gtdb_holder_set(t->db, tok.card_key, c->email, now) : ERR_OK;
}

/* A requires_action authorization follows its challenge: succeeded makes it
 * authorized, failed or expired makes it declined (authentication_failed).
 * Writes *a when it moves.  Lock held, inside a transaction. */
static enum err resolve_action(struct test_gateway *t, struct gtdb_auth *a, int64_t now)
{
    if (strcmp(a->status, "requires_action") != 0)
        return ERR_OK;
    struct gtdb_challenge c;
    enum err e = gtdb_challenge_get(t->db, a->challenge_ref, &c);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_STORE : e; /* the vault lost a row it wrote */
    if (c.state == GTDB_CH_OPEN && now >= c.expires_ms) {
        c.state = GTDB_CH_FAILED;
        e = gtdb_challenge_update(t->db, &c);
        if (e != ERR_OK)
            return e;
    }
    if (c.state == GTDB_CH_SUCCEEDED) {
        snprintf(a->status, sizeof a->status, "authorized");
    } else if (c.state == GTDB_CH_FAILED) {
        snprintf(a->status, sizeof a->status, "declined");
        a->decline = ERR_AUTHENTICATION_FAILED;
    } else {
        return ERR_OK;
    }
    return gtdb_auth_update(t->db, a);
}

/* Settle one guess on c; returns the answer for the caller.  Lock held. */
static enum err challenge_guess(struct test_gateway *t, struct gtdb_challenge *c, const char *code, int64_t now)
{
    if (c->state != GTDB_CH_OPEN)
        return ERR_AUTHENTICATION_FAILED;
    if (now >= c->expires_ms) {
        c->state = GTDB_CH_FAILED;
        return ERR_AUTHENTICATION_FAILED;
    }
    struct gtdb_token tok;
    enum err e = gtdb_token_get(t->db, c->token, &tok);
    if (e != ERR_OK)
        return e == ERR_NOT_FOUND ? ERR_STORE : e;
    bool ok = false;
    if (behaviour_by_name(tok.behaviour) != B_3DS_FAILS && digits(code, OTP_DIGITS, OTP_DIGITS)) {
        uint8_t h[GTDB_HASH_BYTES];
        code_hash(c->salt, code, h);
        ok = sodium_memcmp(h, c->code_hash, sizeof h) == 0;
    }
    if (ok) {
        c->state = GTDB_CH_SUCCEEDED;
        return ERR_OK;
    }
    if (++c->wrong >= GATEWAY_CHALLENGE_TRIES) {
        c->state = GTDB_CH_FAILED;
        return ERR_AUTHENTICATION_FAILED;
    }
    return ERR_INVALID_CODE;
}

static enum err tg_challenge_verify(struct gateway *g, const char *challenge_ref, const char *code)
{
    struct test_gateway *t = tg(g);
    if (!bounded(challenge_ref, GATEWAY_REF_MAX))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&t->lock);
    int64_t now = t->now_ms(t->clock_ctx);
    struct gtdb_challenge c;
    enum err answer = ERR_OK, e = gtdb_begin(t->db);
    if (e == ERR_OK)
        e = gtdb_challenge_get(t->db, challenge_ref, &c);
    if (e == ERR_OK) {
        int before = c.state, wrong = c.wrong;
        answer = challenge_guess(t, &c, code, now);
        if (answer == ERR_STORE) {
            e = ERR_STORE;
        } else if (c.state != before || c.wrong != wrong) {
            e = gtdb_challenge_update(t->db, &c);
            /* The authorization it authenticates moves with it. */
            struct gtdb_auth a;
            if (e == ERR_OK && c.auth_ref[0] != '\0' && (e = gtdb_auth_by_ref(t->db, c.auth_ref, &a)) == ERR_OK)
                e = resolve_action(t, &a, now);
            if (e == ERR_OK && c.state == GTDB_CH_SUCCEEDED)
                e = learn_holder(t, &c, now);
        }
    }
    if (e == ERR_OK)
        e = gtdb_commit(t->db);
    if (e != ERR_OK)
        gtdb_rollback(t->db);
    pthread_mutex_unlock(&t->lock);
    return e != ERR_OK ? gw_err(e) : answer;
}

/* ---- authorize, capture, refund ---- */

/* The answer a stored authorization gives. */
static enum err auth_report(const struct gtdb_auth *a, struct gateway_auth *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->ref, sizeof out->ref, "%s", a->ref);
    if (strcmp(a->status, "declined") == 0)
        return a->decline != ERR_OK ? a->decline : ERR_CARD_DECLINED;
    if (strcmp(a->status, "requires_action") == 0) {
        out->status = GATEWAY_REQUIRES_ACTION;
        snprintf(out->challenge.ref, sizeof out->challenge.ref, "%s", a->challenge_ref);
        return ERR_OK;
    }
    out->status = GATEWAY_AUTHORIZED; /* authorized or captured */
    return ERR_OK;
}

/* A new authorization for key on token.  Lock held, inside a transaction;
 * *otp gets the code of a new challenge. */
static enum err auth_create(struct test_gateway *t, const char *token, int64_t amount, const char *key, int64_t now,
                            struct gtdb_auth *a, struct gateway_challenge *ch)
{
    struct gtdb_token tok;
    enum err e = gtdb_token_get(t->db, token, &tok);
    if (e != ERR_OK)
        return e;
    enum behaviour b = behaviour_by_name(tok.behaviour);
    if (b == B_PROCESSOR_ERROR)
        return ERR_GATEWAY; /* nothing recorded (invariant 4) */
    memset(a, 0, sizeof *a);
    char id[IDS_BUF];
    snprintf(a->ref, sizeof a->ref, "%s", ids_random(id, "auth"));
    snprintf(a->idem_key, sizeof a->idem_key, "%s", key);
    snprintf(a->token, sizeof a->token, "%s", token);
    a->amount = amount;
    a->created_ms = now;
    snprintf(a->status, sizeof a->status, "authorized");
    if (card_expired(now, tok.exp_month, tok.exp_year)) {
        snprintf(a->status, sizeof a->status, "declined");
        a->decline = ERR_CARD_EXPIRED;
    } else if (b == B_NO_FUNDS) {
        snprintf(a->status, sizeof a->status, "declined");
        a->decline = ERR_CARD_INSUFFICIENT_FUNDS;
    } else if (b == B_3DS_EVERY || b == B_3DS_FAILS) {
        snprintf(a->status, sizeof a->status, "requires_action");
        e = challenge_open(t, token, a->ref, "", now, ch);
        if (e != ERR_OK)
            return e;
        snprintf(a->challenge_ref, sizeof a->challenge_ref, "%s", ch->ref);
    }
    return gtdb_auth_insert(t->db, a);
}

static enum err tg_authorize(struct gateway *g, const char *token, int64_t amount, const char *idem_key,
                             struct gateway_auth *out)
{
    struct test_gateway *t = tg(g);
    if (out == NULL)
        return ERR_INVALID_PARAM;
    memset(out, 0, sizeof *out);
    if (!idem_key_valid(idem_key))
        return ERR_INVALID_PARAM;
    if (money_check_amount(amount) != ERR_OK)
        return ERR_AMOUNT_INVALID;
    if (!bounded(token, CARD_TOKEN_MAX))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&t->lock);
    int64_t now = t->now_ms(t->clock_ctx);
    struct gtdb_auth a;
    struct gateway_challenge fresh = {0};
    enum err answer = ERR_OK, e = gtdb_begin(t->db);
    if (e == ERR_OK)
        e = gtdb_auth_by_key(t->db, idem_key, &a);
    if (e == ERR_OK) {
        if (strcmp(a.token, token) != 0 || a.amount != amount)
            e = ERR_IDEMPOTENCY_CONFLICT;
        else
            e = resolve_action(t, &a, now);
    } else if (e == ERR_NOT_FOUND) {
        e = auth_create(t, token, amount, idem_key, now, &a, &fresh);
    }
    if (e == ERR_OK)
        e = gtdb_commit(t->db);
    if (e == ERR_OK)
        answer = auth_report(&a, out);
    else
        gtdb_rollback(t->db);
    pthread_mutex_unlock(&t->lock);
    /* The code goes out with the first answer only. */
    if (e == ERR_OK && out->status == GATEWAY_REQUIRES_ACTION && fresh.otp[0] != '\0')
        memcpy(out->challenge.otp, fresh.otp, sizeof out->challenge.otp);
    sodium_memzero(&fresh, sizeof fresh);
    return e != ERR_OK ? gw_err(e) : answer;
}

static enum err tg_capture(struct gateway *g, const char *auth_ref, int64_t amount)
{
    struct test_gateway *t = tg(g);
    if (money_check_amount(amount) != ERR_OK)
        return ERR_AMOUNT_INVALID;
    if (!bounded(auth_ref, GATEWAY_REF_MAX))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&t->lock);
    int64_t now = t->now_ms(t->clock_ctx);
    struct gtdb_auth a;
    enum err e = gtdb_begin(t->db);
    if (e == ERR_OK)
        e = gtdb_auth_by_ref(t->db, auth_ref, &a);
    if (e == ERR_OK)
        e = resolve_action(t, &a, now);
    if (e == ERR_OK) {
        if (strcmp(a.status, "captured") == 0) {
            if (a.captured != amount)
                e = ERR_IDEMPOTENCY_CONFLICT;
        } else if (strcmp(a.status, "authorized") != 0) {
            e = ERR_CONFLICT; /* requires_action or declined: nothing to take */
        } else if (amount > a.amount) {
            e = ERR_AMOUNT_INVALID;
        } else {
            snprintf(a.status, sizeof a.status, "captured");
            a.captured = amount;
            e = gtdb_auth_update(t->db, &a);
        }
    }
    if (e == ERR_OK)
        e = gtdb_commit(t->db);
    if (e != ERR_OK)
        gtdb_rollback(t->db);
    pthread_mutex_unlock(&t->lock);
    return gw_err(e);
}

static enum err tg_refund(struct gateway *g, const char *auth_ref, int64_t amount, const char *idem_key)
{
    struct test_gateway *t = tg(g);
    if (!idem_key_valid(idem_key))
        return ERR_INVALID_PARAM;
    if (money_check_amount(amount) != ERR_OK)
        return ERR_AMOUNT_INVALID;
    if (!bounded(auth_ref, GATEWAY_REF_MAX))
        return ERR_NOT_FOUND;
    pthread_mutex_lock(&t->lock);
    int64_t now = t->now_ms(t->clock_ctx);
    struct gtdb_refund r;
    struct gtdb_auth a;
    enum err e = gtdb_begin(t->db);
    if (e == ERR_OK)
        e = gtdb_refund_by_key(t->db, idem_key, &r);
    if (e == ERR_OK) {
        if (strcmp(r.auth_ref, auth_ref) != 0 || r.amount != amount)
            e = ERR_IDEMPOTENCY_CONFLICT;
    } else if (e == ERR_NOT_FOUND) {
        e = gtdb_auth_by_ref(t->db, auth_ref, &a);
        if (e == ERR_OK && strcmp(a.status, "captured") != 0)
            e = ERR_CONFLICT; /* nothing was taken, nothing to give back */
        if (e == ERR_OK && amount > a.captured - a.refunded)
            e = ERR_AMOUNT_INVALID;
        if (e == ERR_OK) {
            r = (struct gtdb_refund){.amount = amount, .created_ms = now};
            snprintf(r.idem_key, sizeof r.idem_key, "%s", idem_key);
            snprintf(r.auth_ref, sizeof r.auth_ref, "%s", auth_ref);
            a.refunded += amount;
            e = gtdb_refund_insert(t->db, &r);
            if (e == ERR_OK)
                e = gtdb_auth_update(t->db, &a);
        }
    }
    if (e == ERR_OK)
        e = gtdb_commit(t->db);
    if (e != ERR_OK)
        gtdb_rollback(t->db);
    pthread_mutex_unlock(&t->lock);
    return gw_err(e);
}

static void tg_close(struct gateway *g)
{
    struct test_gateway *t = tg(g);
    gtdb_close(t->db);
    pthread_mutex_destroy(&t->lock);
    sodium_memzero(t->card_key, sizeof t->card_key);
    free(t);
}

static const struct gateway_ops test_ops = {
    .name = "test",
    .tokenize = tg_tokenize,
    .challenge_start = tg_challenge_start,
    .challenge_verify = tg_challenge_verify,
    .authorize = tg_authorize,
    .capture = tg_capture,
    .refund = tg_refund,
    .close = tg_close,
};

enum err gateway_test_open_clock(const char *path, int64_t (*now_ms)(void *ctx), void *ctx, struct gateway **out)
{
    if (path == NULL || now_ms == NULL || out == NULL)
        return ERR_INVALID_PARAM;
    if (sodium_init() < 0)
        return ERR_INTERNAL;
    struct test_gateway *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_NOMEM;
    /* The key lives beside the file, never in it (gateway_test_db.h). */
    char key_path[4096];
    enum err e = (size_t)snprintf(key_path, sizeof key_path, "%s.key", path) < sizeof key_path ? ERR_OK : ERR_STORE;
    if (e == ERR_OK && masterkey_load_or_create(key_path, t->card_key) != ERR_OK)
        e = ERR_STORE;
    if (e == ERR_OK)
        e = gtdb_open(path, &t->db);
    if (e != ERR_OK) {
        sodium_memzero(t->card_key, sizeof t->card_key);
        free(t);
        return e == ERR_NOMEM ? e : ERR_STORE;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->base.ops = &test_ops;
    t->now_ms = now_ms;
    t->clock_ctx = ctx;
    *out = &t->base;
    return ERR_OK;
}

enum err gateway_test_open(const char *path, struct gateway **out)
{
    return gateway_test_open_clock(path, wall_clock, NULL, out);
}
