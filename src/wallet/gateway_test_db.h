/* gateway_test_db.h: the test processor's vault, one SQLite file (internal
 * to gateway_test.c; nothing else includes it).
 *
 * It plays the part of a remote acquirer's database, so it is a file of its
 * own (never kessai's store), in WAL mode with synchronous=FULL: an answer
 * the processor gave survives a kessaid crash, as a real processor's would,
 * which is what lets top-up reconciliation ask again with the same key.
 *
 * Invariants:
 *   1. No PAN or CVC in the clear: a token row keeps the behaviour the test
 *      card selects, the brand, the last four digits, the expiry and, for a
 *      number that is not one of the published test cards, the PAN's
 *      BLAKE2b keyed with the processor's own key (a file beside this one,
 *      never in it), which is how its issuer knows a card's holder.
 *   2. A 3-D Secure code is kept only as BLAKE2b keyed with a random
 *      per-challenge salt.
 *   3. Errors are stored by err_symbol, not by enum value, so a file stays
 *      readable by a build whose enum err grew.
 *
 * Not thread-safe: the caller serialises every call (gateway_test.c holds
 * its mutex).  Getters return ERR_NOT_FOUND for a missing row; any SQLite
 * failure is ERR_STORE.
 */
#ifndef KESSAI_WALLET_GATEWAY_TEST_DB_H
#define KESSAI_WALLET_GATEWAY_TEST_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "wallet/gateway.h"

#define GTDB_SALT_BYTES 16
#define GTDB_HASH_BYTES 32
#define GTDB_BEHAVIOUR_MAX 15
#define GTDB_STATUS_MAX 15

struct gtdb;

struct gtdb_token {
    char token[CARD_TOKEN_MAX + 1];
    char behaviour[GTDB_BEHAVIOUR_MAX + 1]; /* gateway_test.c's name for what the test card does */
    char brand[CARD_BRAND_MAX + 1];
    char last4[5];
    int exp_month;
    int exp_year;
    bool has_card_key; /* false for the published test cards: they have no one holder */
    uint8_t card_key[GTDB_HASH_BYTES];
    int64_t created_ms;
};

/* A challenge's state: open, then succeeded or failed, never back. */
enum gtdb_challenge_state { GTDB_CH_OPEN = 0, GTDB_CH_SUCCEEDED = 1, GTDB_CH_FAILED = 2 };

struct gtdb_challenge {
    char ref[GATEWAY_REF_MAX + 1];
    char token[CARD_TOKEN_MAX + 1];
    char auth_ref[GATEWAY_REF_MAX + 1]; /* the authorization it authenticates; "" for a card link */
    char email[EMAIL_MAX + 1];          /* the address the link was asked for ("" for an authorization) */
    uint8_t salt[GTDB_SALT_BYTES];
    uint8_t code_hash[GTDB_HASH_BYTES];
    int wrong; /* wrong codes so far */
    int state; /* enum gtdb_challenge_state */
    int64_t expires_ms;
    int64_t created_ms;
};

struct gtdb_auth {
    char ref[GATEWAY_REF_MAX + 1];
    char idem_key[IDEM_KEY_MAX + 1];
    char token[CARD_TOKEN_MAX + 1];
    int64_t amount;
    char status[GTDB_STATUS_MAX + 1]; /* "requires_action", "authorized", "declined", "captured" */
    enum err decline;                 /* "declined": why */
    char challenge_ref[GATEWAY_REF_MAX + 1];
    int64_t captured; /* amount captured, 0 before */
    int64_t refunded; /* sum of refunds */
    int64_t created_ms;
};

struct gtdb_refund {
    char idem_key[IDEM_KEY_MAX + 1];
    char auth_ref[GATEWAY_REF_MAX + 1];
    int64_t amount;
    int64_t created_ms;
};

/* Open or create the file at path.  ERR_STORE if it cannot be opened. */
enum err gtdb_open(const char *path, struct gtdb **out);
void gtdb_close(struct gtdb *db);

/* One write transaction (BEGIN IMMEDIATE … COMMIT); gtdb_rollback is
 * harmless when none is open. */
enum err gtdb_begin(struct gtdb *db);
enum err gtdb_commit(struct gtdb *db);
void gtdb_rollback(struct gtdb *db);

enum err gtdb_token_insert(struct gtdb *db, const struct gtdb_token *t);
enum err gtdb_token_get(struct gtdb *db, const char *token, struct gtdb_token *out);

/* The issuer's cardholder of the card with this key: the address of the
 * first account that passed 3-D Secure with it.  holder_set keeps the first. */
enum err gtdb_holder_get(struct gtdb *db, const uint8_t card_key[GTDB_HASH_BYTES], char email[EMAIL_MAX + 1]);
enum err gtdb_holder_set(struct gtdb *db, const uint8_t card_key[GTDB_HASH_BYTES], const char *email, int64_t now_ms);

enum err gtdb_challenge_insert(struct gtdb *db, const struct gtdb_challenge *c);
enum err gtdb_challenge_get(struct gtdb *db, const char *ref, struct gtdb_challenge *out);
/* Writes wrong and state. */
enum err gtdb_challenge_update(struct gtdb *db, const struct gtdb_challenge *c);

enum err gtdb_auth_insert(struct gtdb *db, const struct gtdb_auth *a);
enum err gtdb_auth_by_key(struct gtdb *db, const char *idem_key, struct gtdb_auth *out);
enum err gtdb_auth_by_ref(struct gtdb *db, const char *ref, struct gtdb_auth *out);
/* Writes status, decline, captured and refunded. */
enum err gtdb_auth_update(struct gtdb *db, const struct gtdb_auth *a);

enum err gtdb_refund_insert(struct gtdb *db, const struct gtdb_refund *r);
enum err gtdb_refund_by_key(struct gtdb *db, const char *idem_key, struct gtdb_refund *out);

#endif
