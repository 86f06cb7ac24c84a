/* api_client.h: driving a real kessaid over HTTP from a cmocka test.
 *
 * Linked into every test binary (every tests/unit file not named test_… is
 * a shared helper), so every name here starts with ac_.  Every helper fails the
 * current test (cmocka fail_msg) on anything unexpected, so tests read as a
 * list of steps.
 *
 *   struct ac_server s;
 *   ac_server_init(&s);                       // temp dir: data/, kessaid.log
 *   ac_server_start(&s, (const char *[]){"KESSAI_TOPUP_MAX=5000", NULL});
 *   struct ac_user u;
 *   ac_user_enrolled(&s, &u, "alice");        // registered, TOTP, FULL fresh session
 *   struct ac_resp r = ac_call(&s, &u.who, "GET", "/v1/wallet", NULL);
 *   AC_EXPECT_STATUS(r, 200);
 *   ac_resp_free(&r);
 *   ac_server_stop(&s);                       // SIGTERM, wait
 *   ac_server_cleanup(&s);                    // remove the temp dir (unless KESSAI_KEEP_TEST_DIR)
 *
 * The server binary is $KESSAID (else build/asan/kessaid), the CLI $KESSAI
 * (else the kessaid path without its trailing "d").  kessaid's stderr (its
 * JSON log) goes to s.logpath.  The environment given to ac_server_start
 * replaces every KESSAI_* variable of the test's own environment.
 *
 * Client addresses: the per-address rate limit and the card-testing and
 * credential-stuffing blocks count per client address, so each user gets its
 * own loopback address 127.0.0.N (all of 127/8 reaches the server on Linux).
 *
 * Secrets: ac_remember() keeps every secret a test handled (passwords,
 * tokens, codes, card numbers); ac_assert_no_secrets() (after a stop) greps
 * the data directory (but the mailbox, which holds mail in the clear by
 * design) and the log for each of them.
 *
 * Needs curl_global_init, sodium_init and oath_init in main().
 */
#ifndef KESSAI_TESTS_API_CLIENT_H
#define KESSAI_TESTS_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/totp.h"

#define AC_MAX_SECRETS 1024
#define AC_PASSWORD "violet-harbour-teapot-91"

/* ---- the server ---------------------------------------------------------- */

struct ac_server {
    pid_t pid;          /* 0 when not running */
    char *root;         /* temp dir holding data/ and kessaid.log */
    char data[600];     /* the data directory */
    char logpath[600];  /* kessaid's stderr, appended across restarts */
    char base[64];      /* "http://127.0.0.1:PORT" */
    char *secrets[AC_MAX_SECRETS];
    size_t nsecrets;
    int next_source;    /* last octet of the next client address */
};

void ac_server_init(struct ac_server *s);
/* Start kessaid on a free port with env (NULL-terminated "KESSAI_X=v" list,
 * may be NULL) and wait until /healthz answers (fails the test otherwise). */
void ac_server_start(struct ac_server *s, const char *const *env);
/* SIGTERM and wait; the exit status (-1 if killed by a signal). */
int ac_server_stop(struct ac_server *s);
/* Wait up to timeout_ms for the server to exit on its own (a test crash
 * hook); its exit status, or -1 (killed by a signal), or -2 (still running:
 * then it is SIGKILLed). */
int ac_server_wait_exit(struct ac_server *s, int timeout_ms);
/* Stop if running, remove the temp dir (unless KESSAI_KEEP_TEST_DIR is set),
 * free the secrets. */
void ac_server_cleanup(struct ac_server *s);
/* "$KESSAI --data-dir DATA args..." through the shell; its exit status.
 * args is pasted as is (quote it yourself). */
int ac_cli(const struct ac_server *s, const char *args);
/* Run `kessai ARGS --json` (it must succeed) and parse its one line. */
json_t *ac_cli_json(const struct ac_server *s, const char *args);
/* `kessai audit verify` passes on the data directory (if it has a
 * database): whatever kessaid's connections and the CLI appended forms one
 * intact chain.  Fails the test with verify's output otherwise. */
void ac_assert_audit_intact(const struct ac_server *s);

/* A POS terminal made with the CLI; its secret (remembered as a secret of
 * the run) signs requests with pos_sign. */
struct ac_terminal {
    char id[32];     /* trm_… */
    char key_id[40]; /* tk_… */
    uint8_t secret[32];
};
void ac_make_terminal(struct ac_server *s, const char *store_id, struct ac_terminal *t);

/* ---- HTTP ----------------------------------------------------------------- */

/* Who is calling: the client address ("" = default), and the session if any. */
struct ac_who {
    char source[32];
    const char *token;     /* Authorization: Bearer … */
    const char *device_id; /* Kessai-Device: dev_… */
};

struct ac_resp {
    long status;            /* 0: the connection failed (see curl_error) */
    char *raw;              /* body text, NUL-terminated, or NULL */
    json_t *j;              /* parsed body, or NULL */
    char retry_after[32];
    char idempotent_replayed[16]; /* Idempotent-Replayed header value, "" if absent */
    char location[256];
    char curl_error[128];
};

/* A fresh client address 127.0.0.N. */
struct ac_who ac_new_source(struct ac_server *s);

/* One call; body (may be NULL) is consumed (json_decref'd).  Fails the test
 * when the connection fails. */
struct ac_resp ac_call(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                       json_t *body);
/* The same with extra header lines ("Name: value", NULL-terminated, may be
 * NULL) and a raw body (may be NULL; sent as application/json, byte for
 * byte, e.g. for signing).  When allow_conn_error is true a failed
 * connection is returned (status 0, curl_error set) instead of failing. */
struct ac_resp ac_call_raw(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                           const char *const *headers, const char *body, bool allow_conn_error);
/* ac_call with an Idempotency-Key header (key NULL: none). */
struct ac_resp ac_call_idem(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                            const char *key, json_t *body);
void ac_resp_free(struct ac_resp *r);

/* Top-level string member, or NULL. */
const char *ac_str(const struct ac_resp *r, const char *key);
/* error.code, or "" when there is none. */
const char *ac_err_code(const struct ac_resp *r);
/* error.param, or "". */
const char *ac_err_param(const struct ac_resp *r);
/* How many lines of kessaid's log (s->logpath) contain needle. */
size_t ac_log_count(const struct ac_server *s, const char *needle);

#define AC_EXPECT_STATUS(r, want)                                                                                  \
    do {                                                                                                           \
        if ((r).status != (want))                                                                                  \
            fail_msg("line %d: status %ld, expected %d; body %s", __LINE__, (r).status, (want),                   \
                     (r).raw ? (r).raw : "");                                                                      \
    } while (0)

#define AC_EXPECT_ERROR(r, want_status, want_code)                                                                 \
    do {                                                                                                           \
        AC_EXPECT_STATUS(r, want_status);                                                                          \
        if (strcmp(ac_err_code(&(r)), (want_code)) != 0)                                                           \
            fail_msg("line %d: error %s, expected %s", __LINE__, (r).raw ? (r).raw : "", (want_code));            \
    } while (0)

/* ---- the mailbox (DATA_DIR/mail/new, read with inbox.h) --------------------- */

/* The newest message to `to` (lower case) whose text contains needle
 * (case-insensitive; NULL: any), as a malloc'd copy (headers and body), or
 * NULL.  Each message counts once, however often it was delivered. */
char *ac_mail_find(const struct ac_server *s, const char *to, const char *needle);
/* The same, waiting up to 5 s for it to arrive; fails the test if it does not. */
char *ac_mail_wait(const struct ac_server *s, const char *to, const char *needle);
/* How many messages to `to` (NULL: to anyone) contain needle (NULL: any). */
size_t ac_mail_count(const struct ac_server *s, const char *to, const char *needle);
/* Wait up to 10 s until there are count of them (mail goes out from
 * kessaid's mail thread, after the answer); then exactly count. */
void ac_mail_count_reaches(const struct ac_server *s, const char *to, const char *needle, size_t count);
/* The first run of exactly `digits` digits in the body (after the headers). */
bool ac_find_digits(const char *mail, int digits, char *out);

/* ---- customers ------------------------------------------------------------ */

struct ac_device {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pk_b64[64];
    char name[32];
};

struct ac_user {
    char email[128]; /* lower case, as on file */
    char password[64];
    uint8_t seed[TOTP_SEED_BYTES];
    bool has_seed;
    int64_t last_step; /* of the last TOTP code the server accepted */
    struct ac_device dev;
    char token[64];
    char session_id[64];
    char device_id[64];
    char customer_id[64]; /* "usr_…", from GET /v1/me */
    struct ac_who who;    /* own source address + this session */
};

void ac_device_new(struct ac_device *d, const char *name);
/* A fresh user (random address tagged `tag`, AC_PASSWORD, new device key,
 * own source address); nothing is sent. */
void ac_user_new(struct ac_server *s, struct ac_user *u, const char *tag);
/* Register, verify the address (code from the mailbox) with the device
 * proof, enrol TOTP and confirm it: u holds a FULL session whose second
 * factor is fresh (300 s), and u->customer_id is set. */
void ac_user_enrolled(struct ac_server *s, struct ac_user *u, const char *tag);
/* u's TOTP seed from an otpauth:// URI (remembered as a secret). */
void ac_seed_from_uri(struct ac_server *s, struct ac_user *u, const char *uri);
/* The next TOTP code the server will take (waits for the clock if needed). */
void ac_totp_next(struct ac_user *u, char out[TOTP_DIGITS + 1]);
/* POST /v1/mfa/verify with a fresh code: the session is fresh again. */
void ac_mfa_verify(struct ac_server *s, struct ac_user *u);
/* Log in with password + TOTP from device d (NULL: u's own) and keep the new
 * FULL session in u (u->dev becomes d's copy when d is given).  A device the
 * server has not seen for u is new: lower limits for new_device_cooldown_s. */
void ac_login(struct ac_server *s, struct ac_user *u, const struct ac_device *d);

/* ---- secrets ---------------------------------------------------------------- */

void ac_remember(struct ac_server *s, const char *secret);
/* Fails the test if any remembered secret is in a file under the data
 * directory (but mail/) or in the log.  Stop the server first (the WAL is
 * checkpointed, the log complete).  A numeric secret inside a longer number
 * does not count. */
void ac_assert_no_secrets(const struct ac_server *s);
/* Does the file contain needle (as above for numeric needles)? */
bool ac_file_contains(const char *path, const char *needle);

#endif
