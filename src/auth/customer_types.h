/* customer_types.h: the stored records of customer identity (issue 3).
 *
 * These are what store.h reads and writes; the domain modules (customer.h,
 * mfa.h, device.h, session.h, login.h, reset.h, email_change.h) are the only writers.  No
 * field ever holds a secret in the clear: passwords are Argon2id strings, the
 * TOTP seed is sealed with the master key (associated data: the customer's
 * public id, "usr_…"), and every token, code and challenge is a keyed BLAKE2b
 * hash (auth/secret_hash.h).
 */
#ifndef KESSAI_AUTH_CUSTOMER_TYPES_H
#define KESSAI_AUTH_CUSTOMER_TYPES_H

#include <stdint.h>

#include "auth/password.h"
#include "auth/totp.h"
#include "util/audit_mac.h"
#include "util/email.h"
#include "util/masterkey.h"

/* Public id prefixes (util/ids.h): usr_…, dev_…, ses_…. */
#define CUSTOMER_ID_PREFIX "usr"
#define DEVICE_ID_PREFIX "dev"
#define SESSION_ID_PREFIX "ses"

#define AUTH_HASH_BYTES 32 /* keyed BLAKE2b of a token, code or challenge */
#define CUSTOMER_TOTP_SEALED_BYTES (TOTP_SEED_BYTES + MASTERKEY_SEAL_OVERHEAD)
#define DEVICE_KEY_B64_LEN 43 /* Ed25519 public key, base64url without padding */
#define DEVICE_NAME_MAX 64    /* bytes of UTF-8, no control characters */
#define CLIENT_ADDR_MAX 63    /* textual IPv4/IPv6 address */

struct customer {
    int64_t id;
    char email[EMAIL_MAX + 1]; /* normalised (util/email.h) */
    char password_hash[AUTH_PASSWORD_HASH_MAX];
    int email_verified;
    int totp_enrolled;                                       /* totp_sealed holds the confirmed seed */
    uint8_t totp_sealed[CUSTOMER_TOTP_SEALED_BYTES];         /* valid iff totp_enrolled */
    int totp_pending;                                        /* an enrolment awaits its first code */
    uint8_t totp_pending_sealed[CUSTOMER_TOTP_SEALED_BYTES]; /* valid iff totp_pending */
    int64_t totp_last_step;                                  /* no TOTP code is accepted twice */
    int failed_logins;                                       /* consecutive; reset by success or reset */
    int64_t locked_until_ms;                                 /* 0 or end of the lock-out */
    int64_t cooldown_until_ms;                               /* 0 or end of the post-reset cool-down */
    int64_t created_ms;
};

struct customer_device {
    int64_t id;
    int64_t customer_id;
    char public_key[DEVICE_KEY_B64_LEN + 1]; /* canonical base64url */
    char name[DEVICE_NAME_MAX + 1];
    int64_t first_seen_ms;
    int64_t last_seen_ms;
    int64_t new_until_ms; /* new-device cool-down ends */
    int64_t removed_ms;   /* 0 while the device may be used */
};

enum session_scope {
    SESSION_SCOPE_ENROL = 1, /* from e-mail verification: may only enrol TOTP and read /v1/me */
    SESSION_SCOPE_FULL = 2,  /* password + second factor + device proof (or TOTP confirmed) */
};

struct customer_session {
    int64_t id;
    int64_t customer_id;
    int64_t device_id;
    uint8_t token_hash[AUTH_HASH_BYTES];
    int scope; /* enum session_scope */
    int64_t created_ms;
    int64_t last_seen_ms;
    int64_t absolute_ms; /* created_ms + session_absolute_s: never extended */
    int64_t mfa_at_ms;   /* last second-factor check (login, confirm, /v1/mfa/verify); 0 none */
    int mfa_failures;    /* consecutive wrong codes on /v1/mfa/verify */
    int64_t revoked_ms;  /* 0 while not revoked */
    /* Filled by reads (a join), ignored by writes. */
    char device_name[DEVICE_NAME_MAX + 1];
};

/* One live e-mail verification code per customer. */
struct email_code {
    int64_t customer_id;
    uint8_t code_hash[AUTH_HASH_BYTES];
    int64_t expires_ms;
    int tries; /* wrong guesses so far */
};

/* One pending change of address per customer (auth/email_change.h).  The
 * new address is not a secret; the code is a keyed hash. */
struct email_change {
    int64_t customer_id;
    char new_email[EMAIL_MAX + 1]; /* normalised */
    uint8_t code_hash[AUTH_HASH_BYTES];
    int64_t created_ms;
    int64_t expires_ms;
    int tries;  /* wrong guesses so far */
    int doomed; /* the address had an account when asked for: no code was sent, none is ever right */
};

struct reset_token {
    int64_t id;
    int64_t customer_id;
    uint8_t token_hash[AUTH_HASH_BYTES];
    int64_t created_ms;
    int64_t expires_ms;
    int64_t used_ms; /* 0 until completed */
    int tries;       /* wrong second factors presented with it */
};

/* Sources of failed logins watched for credential stuffing. */
enum auth_source_kind {
    AUTH_SOURCE_ADDR = 1,       /* client address */
    AUTH_SOURCE_DEVICE_KEY = 2, /* device public key */
    /* Card-testing blocks (wallet/card.h), kept with source_block_put/get. */
    AUTH_SOURCE_CARD_CUSTOMER = 3, /* "usr_…": too many CVV mismatches */
    AUTH_SOURCE_CARD_DEVICE = 4,   /* "dev_…": too many declines from one device */
    AUTH_SOURCE_CARD_ADDR = 5,     /* client address: too many declines from it */
    /* Code guessing at the register (wallet/payment.h), also with source_block_put/get. */
    AUTH_SOURCE_TERMINAL = 6, /* terminal key id "tk_…": too many distinct bad payment codes */
};

#define SEC_EVENT_KIND_MAX 40
#define SEC_EVENT_OUTCOME_MAX 15
#define SEC_EVENT_DETAIL_MAX 511
#define SEC_EVENT_ACTOR_MAX 63

/* One entry of the audit log (audit/audit.h, docs/audit-log.md). */
struct security_event {
    int64_t id;
    int64_t at_ms;
    int64_t customer_id; /* 0 if unknown */
    char kind[SEC_EVENT_KIND_MAX + 1];
    char outcome[SEC_EVENT_OUTCOME_MAX + 1]; /* "success" | "failure" */
    char client_addr[CLIENT_ADDR_MAX + 1];
    int64_t device_id; /* 0 if none or unknown */
    char detail[SEC_EVENT_DETAIL_MAX + 1]; /* compact JSON object, never a secret */
    char actor[SEC_EVENT_ACTOR_MAX + 1];   /* "usr_…", "stf_…", "system", "admin-cli"; "" before migration 10 */
    /* Reads: a stored text held a NUL byte or was longer than its field,
     * or a column was not stored as the type kessai writes, so the fields
     * above are not exactly what is stored (verify reports it: only an edit
     * makes such a row). */
    bool text_inexact;
    /* The chain (util/audit_mac.h): set by security_event_insert, read back
     * by the reads.  *_len is the stored length (0: NULL); the bytes are
     * those of a well-formed value, AUDIT_MAC_BYTES long (a longer one is
     * cut, and verify reports its length). */
    uint8_t prev_hash[AUDIT_MAC_BYTES];
    size_t prev_hash_len;
    uint8_t hash[AUDIT_MAC_BYTES];
    size_t hash_len;
};

/* What an audit search asks for (store.h security_event_search); a field
 * left 0 or NULL does not filter. */
struct security_event_filter {
    int64_t customer_id;
    const char *actor;
    const char *kind;
    int64_t since_ms; /* at_ms >= since_ms */
    int64_t until_ms; /* at_ms < until_ms */
};

#endif
