/* risk.h: the risk engine (docs/risk.md).
 *
 * Every login, card link, top-up, payment, refund and transfer is scored
 * before it moves money; the answer is allow, challenge, hold or deny, with
 * an integer score and the reasons (rule, observed value, threshold).
 *
 *   caller                         engine
 *   ------                         ------
 *   fill a risk_event       -->    risk_evaluate: reads the windows, changes nothing
 *                                  (or risk_admit: the same, and counts it at once)
 *   act on the verdict
 *   risk_record (optional)  -->    the decision as a row of the store
 *   do it (or not)
 *   risk_observe(outcome)   -->    the windows learn what actually happened
 *                                  (risk_release: an admitted event that will
 *                                  be observed by another, or not at all)
 *
 * Contract:
 *  - The engine is an object its owner (kessaid) creates once; it holds no
 *    global state.  risk_evaluate and risk_observe may be called from any
 *    number of threads at once: the state is split into shards by key, each
 *    behind its own mutex, and a call never holds two shards' locks, so
 *    calls neither deadlock nor race.  Two calls about the same customer
 *    interleave key by key: each counter is exact, but an evaluation may see
 *    one key before and another after a concurrent observation.
 *  - Memory is bounded and allocated in risk_new: at most max_keys keys
 *    (customers, devices, cards, stores, terminals, addresses, each per
 *    rule); a new key beyond that takes the place of the key written least
 *    recently in its shard (risk_stats counts evictions).  Windows are
 *    rings of RISK_BUCKETS time buckets: an event counts for at least
 *    (RISK_BUCKETS-1)/RISK_BUCKETS of its window and at most the window.
 *    Evaluating and observing allocate nothing.
 *  - The store is the source of truth: the in-memory windows are a cache of
 *    recent history that risk_warm rebuilds after a restart.  Each node has
 *    its own engine; with several nodes every node sees only the traffic it
 *    served (documented in docs/risk.md).
 *  - Times are the caller's (ms since the epoch), so tests set the clock.
 *    Events may arrive slightly out of order; one older than a window is
 *    ignored by that window.
 *  - Strings in an event are borrowed for the call only.
 *  - The fan-in rule's senders are a set, not a count: an admitted
 *    sender stays in it when the transfer fails (a new account trying to
 *    send to the same recipient is the signal either way).
 */
#ifndef KESSAI_RISK_RISK_H
#define KESSAI_RISK_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "risk/risk_config.h"
#include "risk/risk_types.h"
#include "store/store.h"
#include "util/err.h"

#define RISK_BUCKETS 16
#define RISK_REASONS_MAX 16

/* Flags of an event (what the caller knows about the customer and device). */
enum risk_flag {
    RISK_F_DEVICE_NEW = 1 << 0,     /* the device is in its new-device cool-down */
    RISK_F_PASSWORD_RESET = 1 << 1, /* the password was reset recently (the reset cool-down) */
    RISK_F_ACCOUNT_NEW = 1 << 2,    /* the account is younger than account_new_s (risk_account_is_new) */
    RISK_F_PAYEE_NEW = 1 << 3,      /* P2P: the recipient's account is new (risk_account_is_new) */
    RISK_F_PAYEE_FIRST = 1 << 4,    /* P2P: the sender never sent the recipient new_payee_amount in one transfer */
};

struct risk_event {
    enum risk_kind kind;
    int64_t at_ms;
    int64_t customer_id;     /* the payer / the account; 0 unknown (a login for an unknown address) */
    int64_t device_id;       /* the device row (recorded with the decision); 0 none */
    int64_t device_key;      /* risk_device_key(public key): the phone across all its accounts; 0 none */
    const char *client_addr; /* IPv4 or IPv6 text (IPv6 counted per /64); NULL or "" unknown */
    int64_t card_fp;         /* risk_card_fp(fingerprint) for card links and card top-ups; 0 none */
    int64_t store_id;        /* payments, cash top-ups; refunds: the REFUNDING register's store
                                (the payment may be another store's of the merchant); 0 none */
    int64_t terminal_id;     /* the register, when one is involved; 0 none */
    const char *category;    /* the store's category (merchant.h); NULL none */
    const char *const *item_categories; /* the charge's items' categories, n_items of them */
    size_t n_items;
    bool has_location; /* lat/lon are the store's */
    int64_t lat_e6, lon_e6;
    int64_t amount;          /* yen; 0 for logins and links */
    int64_t counterparty_id; /* P2P: the recipient */
    unsigned flags;          /* enum risk_flag */
    /* Refunds: the payment given back, and the refunding store's last
     * refund or void to the same payer for another payment (0: none within
     * the window; the caller reads it from the store, so it survives a
     * restart).  category is the payment's store's (the goods'). */
    int64_t ref_at_ms;
    int64_t ref_amount;
    int64_t payer_refunded_ms;
    /* Set by risk_admit, cleared by risk_release: the event is in the count
     * and amount windows already, so risk_observe takes it out again unless
     * it is done.  The caller leaves it false. */
    bool admitted;
};

struct risk_reason {
    const char *rule; /* static: "velocity_customer_count", "impossible_travel", … */
    int64_t value;    /* what was observed (count, yen, km/h, seconds, …) */
    int64_t threshold;
    int score; /* what it added; 0 for hard rules (card testing: deny) */
};

struct risk_decision {
    enum risk_verdict verdict;
    int score;
    size_t n_reasons; /* every rule that fired, in rule order */
    struct risk_reason reasons[RISK_REASONS_MAX];
};

struct risk_stats {
    uint64_t keys;      /* tracked now */
    uint64_t capacity;  /* most that can be tracked */
    uint64_t evictions; /* keys dropped for newer ones since risk_new */
};

struct risk;

/* A new engine; ERR_INVALID_PARAM if the configuration is inconsistent
 * (risk_config_check; the reason is logged), ERR_NOMEM. */
enum err risk_new(const struct risk_config *cfg, struct risk **out);
void risk_free(struct risk *r); /* NULL-safe; no call may be running */

/* Score ev.  Always fills *out (ERR_OK); ERR_INVALID_PARAM and an allow
 * with score 0 only for an event of no known kind. */
enum err risk_evaluate(struct risk *r, const struct risk_event *ev, struct risk_decision *out);

/* risk_evaluate, and then, under one lock with every other admission, the
 * event counted in the count and amount windows (velocity, refunds per
 * store, a new account's P2P in and out, fan-in senders) as if it were
 * done.  Requests scored in the same moment, before any of them commits
 * (a burst of refunds from one register, stolen accounts sending to one
 * mule in one group commit), are thus scored each against the others: the
 * n-th sees n-1.  Sets ev->admitted.  The caller must then risk_observe
 * the event, which takes the counts out again for any outcome but
 * RISK_DONE, or risk_release it; an admitted event never observed stays
 * counted until its windows pass it (the safe side). */
enum err risk_admit(struct risk *r, struct risk_event *ev, struct risk_decision *out);

/* An admitted event's counts out of the windows again, and ev->admitted
 * cleared; nothing else is observed (no-op if not admitted).  For an
 * operation that did not happen now and is observed later from an event of
 * its own (a register charge waiting for the customer), or a retry that
 * paid before. */
void risk_release(struct risk *r, struct risk_event *ev);

/* Feed what happened into the windows: a completed payment counts towards
 * velocity and travel, a declined card attempt towards card testing, any
 * attempt towards "accounts per device".  ERR_INVALID_PARAM for an unknown
 * kind or outcome. */
enum err risk_observe(struct risk *r, const struct risk_event *ev, enum risk_outcome outcome);

void risk_stats(struct risk *r, struct risk_stats *out);

/* Rebuild the windows from the store's recent history (payments, transfers,
 * top-ups, card attempts, refunds within the longest window before now), so that a
 * restart does not reset a thief's counters.  Call before serving, on an
 * engine nobody else uses yet.  *rows (may be NULL) counts what was read. */
enum err risk_warm(struct risk *r, struct store *st, int64_t now, size_t *rows);

/* Store the decision about ev (one insert; inside the caller's transaction
 * or alone).  ref names the operation (NULL: ""); *id (may be NULL) gets
 * the row's id. */
enum err risk_record(struct store *st, const struct risk_event *ev, const struct risk_decision *d, const char *ref,
                     int64_t *id);
/* The reasons as the JSON array stored with a decision (NUL-terminated in
 * buf of n bytes); ERR_OVERFLOW if they do not fit. */
enum err risk_reasons_json(const struct risk_decision *d, char *buf, size_t n);

/* Keys of things the engine knows only by id. */
int64_t risk_device_key(const char *public_key);                 /* 0 for NULL or "" */
int64_t risk_card_fp(const uint8_t fingerprint[CARD_FINGERPRINT_BYTES]);

const char *risk_kind_name(enum risk_kind k);       /* "payment"; "unknown" */
const char *risk_verdict_name(enum risk_verdict v); /* "challenge"; "unknown" */

#endif
