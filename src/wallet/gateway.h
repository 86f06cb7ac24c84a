/* gateway.h: the card gateway (acquirer) interface.
 *
 * Everything kessai does with a card goes through these operations; a real
 * processor is one more implementation of `struct gateway_ops`, and callers
 * (wallet/card.c, wallet/topup.c) never change.  The PAN, expiry and CVV are
 * handed to tokenize() and to nothing else: after it returns, kessai holds
 * only the token and the public facts in `struct gateway_card`.
 *
 * Every operation that moves money (authorize, capture, refund) takes the
 * caller's idempotency key: called again with the same key it returns the
 * first result and moves nothing, which is what makes a top-up safe to retry
 * after a crash (wallet/topup.h, reconciliation).
 *
 * 3-D Secure: the issuer authenticates the cardholder with a one-time code.
 * challenge_start() opens a challenge and names it, given the account's
 * verified address (3-D Secure 2 hands the issuer the cardholder's e-mail);
 * the test processor also hands back the code its simulated issuer "sends"
 * (gateway_challenge.otp) and where (otp_to), which the caller delivers
 * through the outbox; a real processor leaves otp empty and the issuer
 * reaches the cardholder itself.  The code goes to the card's holder as the
 * issuer knows them, not necessarily to the address given: that is what
 * stops a thief who has a card's number and CVC from linking it.  A
 * challenge allows GATEWAY_CHALLENGE_TRIES wrong codes and lives
 * GATEWAY_CHALLENGE_TTL_MS.
 *
 * Result codes (enum err): ERR_OK; declines ERR_CARD_DECLINED (stolen, lost,
 * do-not-honour: the caller is not told which), ERR_CARD_INSUFFICIENT_FUNDS,
 * ERR_CARD_EXPIRED, ERR_INCORRECT_CVC; ERR_AUTHENTICATION_FAILED (3-D Secure
 * failed: wrong code too often, expired, or the issuer refused); ERR_INVALID_CODE
 * (a wrong code with tries left); ERR_NOT_FOUND (unknown token, challenge or
 * authorization); ERR_GATEWAY (processor unreachable or broken: the outcome
 * is unknown and the caller must retry with the same idempotency key).
 * Misuse, refused without changing anything: ERR_IDEMPOTENCY_CONFLICT (a key
 * reused for another token, amount or authorization, or a second capture of
 * another amount), ERR_AMOUNT_INVALID (outside 1..MONEY_MAX, a capture above
 * the authorized amount, refunds above the captured amount), ERR_CONFLICT
 * (capture of an authorization that is declined or waits for 3-D Secure,
 * refund of one not captured), ERR_INVALID_PARAM (NULL arguments, an
 * idempotency key that util/idem.h refuses: 1..IDEM_KEY_MAX printable
 * ASCII without space).
 *
 * Thread safety: every op may be called from any thread concurrently.
 */
#ifndef KESSAI_WALLET_GATEWAY_H
#define KESSAI_WALLET_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/email.h"
#include "util/err.h"
#include "wallet/wallet_types.h"

#define GATEWAY_CHALLENGE_TRIES 3
#define GATEWAY_CHALLENGE_TTL_MS (10 * 60 * 1000)
#define GATEWAY_OTP_MAX 15

/* What the cardholder typed.  Strings are NUL-terminated digits; the caller
 * wipes them (sodium_memzero) after the call. */
struct gateway_card_input {
    const char *pan; /* 12..19 digits, Luhn-valid (checked by the caller) */
    int exp_month;   /* 1..12 */
    int exp_year;    /* four digits */
    const char *cvc; /* 3 or 4 digits */
};

/* What kessai may keep. */
struct gateway_card {
    char token[CARD_TOKEN_MAX + 1];
    char brand[CARD_BRAND_MAX + 1];
    char last4[5];
    int exp_month;
    int exp_year;
};

struct gateway_challenge {
    char ref[GATEWAY_REF_MAX + 1]; /* names the challenge in challenge_verify */
    char otp[GATEWAY_OTP_MAX + 1]; /* test processor only: the code to deliver; "" otherwise */
    /* test processor only: where its issuer sends the code.  "" means the
     * address given to challenge_start; otherwise the card's holder, who
     * is someone else (docs/test-cards.md). */
    char otp_to[EMAIL_MAX + 1];
};

enum gateway_auth_status {
    GATEWAY_AUTHORIZED = 1,      /* funds reserved; capture next */
    GATEWAY_REQUIRES_ACTION = 2, /* the issuer wants a 3-D Secure challenge first (see challenge) */
};

struct gateway_auth {
    int status;                    /* enum gateway_auth_status, when the op returned ERR_OK */
    char ref[GATEWAY_REF_MAX + 1]; /* the authorization's id */
    struct gateway_challenge challenge; /* REQUIRES_ACTION only */
};

struct gateway;

struct gateway_ops {
    const char *name; /* "test", … */
    /* Check the card with its issuer (CVV included, no money) and return a
     * token.  Declines as listed above. */
    enum err (*tokenize)(struct gateway *g, const struct gateway_card_input *in, struct gateway_card *out);
    /* Open a 3-D Secure challenge for linking token to the wallet of the
     * account whose verified address is email. */
    enum err (*challenge_start)(struct gateway *g, const char *token, const char *email,
                                struct gateway_challenge *out);
    /* Check a code: ERR_OK (authenticated; the challenge is spent),
     * ERR_INVALID_CODE (tries left), ERR_AUTHENTICATION_FAILED (no tries
     * left or expired; spent), ERR_NOT_FOUND. */
    enum err (*challenge_verify)(struct gateway *g, const char *challenge_ref, const char *code);
    /* Reserve amount yen on the card.  Idempotent by key.  On ERR_OK look at
     * out->status: REQUIRES_ACTION means call challenge_verify with
     * out->challenge.ref, then authorize again with the same key. */
    enum err (*authorize)(struct gateway *g, const char *token, int64_t amount, const char *idem_key,
                          struct gateway_auth *out);
    /* Take the reserved money (idempotent by authorization). */
    enum err (*capture)(struct gateway *g, const char *auth_ref, int64_t amount);
    /* Give back a captured amount (idempotent by key). */
    enum err (*refund)(struct gateway *g, const char *auth_ref, int64_t amount, const char *idem_key);
    void (*close)(struct gateway *g);
};

struct gateway {
    const struct gateway_ops *ops;
};

/* The built-in test processor (gateway_test.c): behaves like an acquirer's
 * test mode for the cards listed in docs/test-cards.md.  Its own state (its
 * "vault": tokens, challenges, authorizations; never a PAN or CVV) lives in
 * the SQLite file at path, so that it survives a kessaid restart like a
 * remote processor would.  ERR_STORE if the file cannot be opened. */
enum err gateway_test_open(const char *path, struct gateway **out);

/* Convenience: g->ops->close(g), NULL-safe. */
void gateway_close(struct gateway *g);

/* Card number helpers (pure; card_number.c). */
/* 12..19 ASCII digits passing the Luhn check. */
bool card_pan_valid(const char *pan);
/* "visa", "mastercard", "amex", "jcb", "diners", "discover", "unionpay" or "unknown". */
const char *card_brand(const char *pan);

#endif
