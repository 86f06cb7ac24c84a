/* risk_internal.h: what the files of src/risk/ share (not for callers).
 *
 *   risk.c        the engine object, evaluate/observe running the rule table
 *   state.c       keys -> windows: sharded hash tables, LRU eviction
 *   window.c      the windows themselves: time-bucket rings, member sets
 *   keys.c        device, card and address keys
 *   rule_*.c      the rules, each an eval (reads) and an observe (writes)
 *   record.c      decisions into the store; warm.c: history out of it
 */
#ifndef KESSAI_RISK_RISK_INTERNAL_H
#define KESSAI_RISK_RISK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "risk/risk.h"

/* Each key of the state belongs to one dimension: the same customer id is
 * a different key for velocity (DIM_VEL_CUSTOMER) than for card declines
 * (DIM_DECL_CUSTOMER).  Each dimension has one kind of window. */
enum risk_dim {
    DIM_VEL_CUSTOMER,   /* ring: the customer's money movements; and last: top-up and store */
    DIM_VEL_DEVICE,     /* ring: the phone's, across accounts */
    DIM_VEL_CARD,       /* ring: the card's top-ups */
    DIM_VEL_STORE,      /* ring: the store's payments and cash top-ups */
    DIM_VEL_TERMINAL,   /* ring: the register's */
    DIM_ACCTS_DEVICE,   /* set: accounts on one phone */
    DIM_ACCTS_ADDR,     /* set: accounts from one address */
    DIM_DECL_CUSTOMER,  /* ring: card declines of the customer */
    DIM_DECL_DEVICE,    /* ring: … of the phone */
    DIM_DECL_ADDR,      /* ring: … from the address */
    DIM_CARDS_CUSTOMER, /* set: cards tried by the customer */
    DIM_CARDS_DEVICE,   /* set: … on the phone */
    DIM_FAN_IN,         /* set: new accounts that sent the customer money */
    DIM_REFUND_STORE,   /* ring: the refunds its registers gave (whichever store took the payment) */
    DIM_MULE_IN,        /* ring: P2P a new account received */
    DIM_MULE_OUT,       /* ring: what a new account sent by P2P and spent at stores */
    DIM_MULE_OWN,       /* ring: a new account's own top-ups */
    DIM_COUNT
};

/* ---- windows (window.c): plain data, no locking ---- */

/* count and sum of what happened in RISK_BUCKETS buckets of width_ms each,
 * the newest being `epoch` (= time / width_ms). */
struct risk_ring {
    int64_t epoch;
    uint32_t count[RISK_BUCKETS];
    int64_t sum[RISK_BUCKETS];
};

/* Up to RISK_SET_SIZE distinct members (ids, never 0), each with when it
 * was last seen; the stalest makes room for a new one. */
struct risk_set {
    struct {
        int64_t member;
        int64_t at_ms;
    } m[RISK_SET_SIZE];
};

/* A customer's latest top-up and latest store. */
struct risk_last {
    int64_t topup_ms; /* 0: none seen */
    int64_t topup_amount;
    int64_t loc_ms; /* 0: none seen */
    int64_t lat_e6, lon_e6;
};

/* What a ring dimension's key holds.  `last` is DIM_VEL_CUSTOMER's only:
 * the customer's last top-up and store share the slot of the customer's
 * velocity, one key (and one cache miss) fewer per payment. */
struct risk_counter {
    struct risk_ring ring;
    struct risk_last last;
};

union risk_payload {
    struct risk_counter counter;
    struct risk_set set;
};

/* The bucket width of a window of window_s seconds (>= 1 ms). */
int64_t risk_ring_width(int64_t window_s);
/* Totals of the buckets within the window that ends at now. */
void risk_ring_totals(const struct risk_ring *r, int64_t width_ms, int64_t now, int64_t *count, int64_t *sum);
/* Count one event of amount at time at (ignored if older than the ring). */
void risk_ring_add(struct risk_ring *r, int64_t width_ms, int64_t at, int64_t amount);
/* Take one such event out again (a no-op if its bucket has left the ring;
 * counts and sums never go below 0). */
void risk_ring_sub(struct risk_ring *r, int64_t width_ms, int64_t at, int64_t amount);
/* Distinct members seen after now - window_ms, counting `also` (if not 0)
 * as one of them whether or not it was seen. */
int risk_set_count(const struct risk_set *s, int64_t window_ms, int64_t now, int64_t also);
void risk_set_add(struct risk_set *s, int64_t member, int64_t at);

/* ---- state (state.c): keys -> payloads, thread-safe ---- */

#define RISK_SHARDS 64

struct risk_shard;

struct risk_state {
    struct risk_shard *shards; /* RISK_SHARDS of them */
    uint64_t seed;             /* random: nobody can pick ids that collide in one shard */
    void *slots_mem, *index_mem; /* every shard's slots and index, two mappings */
    size_t slots_len, index_len;
};

enum err risk_state_init(struct risk_state *s, uint64_t max_keys);
void risk_state_free(struct risk_state *s);
/* Under the key's shard lock: fn(payload, ctx) if the key exists; returns
 * whether it did.  Never inserts. */
bool risk_state_read(struct risk_state *s, enum risk_dim dim, int64_t id,
                     void (*fn)(const union risk_payload *p, void *ctx), void *ctx);
/* Under the key's shard lock: create the key (zeroed payload, evicting the
 * shard's least recently written key when full), mark it written now, and
 * fn(payload, ctx). */
void risk_state_update(struct risk_state *s, enum risk_dim dim, int64_t id,
                       void (*fn)(union risk_payload *p, void *ctx), void *ctx);
/* Under the key's shard lock: fn(payload, ctx) if the key exists, which
 * keeps its place in the eviction order (taking back, not writing anew);
 * returns whether it did.  Never inserts. */
bool risk_state_change(struct risk_state *s, enum risk_dim dim, int64_t id,
                       void (*fn)(union risk_payload *p, void *ctx), void *ctx);
void risk_state_stats(struct risk_state *s, struct risk_stats *out);

/* ---- the engine ---- */

struct risk {
    struct risk_config cfg;
    pthread_mutex_t admit; /* risk_admit: evaluate and count as one step */
    struct risk_state state;
    int64_t width_ms[DIM_COUNT]; /* ring dimensions: bucket width */
    char resale[RISK_CATEGORIES_MAX][RISK_CATEGORY_MAX + 1];
    size_t n_resale;
};

/* One evaluate or observe call: the event and what is derived from it once. */
struct risk_call {
    struct risk *r;
    const struct risk_event *ev;
    int64_t addr_key;         /* risk_addr_key of ev->client_addr; 0 none */
    struct risk_decision *d;  /* evaluate only */
    bool hard_deny;           /* a hard rule fired */
};

/* Is ev's kind one of mask's (bits 1 << RISK_…)? */
#define RISK_BIT(k) (1u << (k))
static inline bool risk_kind_in(const struct risk_event *ev, unsigned mask)
{
    return (RISK_BIT(ev->kind) & mask) != 0;
}

/* a + b, saturating at INT64_MAX (amounts are the caller's). */
static inline int64_t risk_add_sat(int64_t a, int64_t b)
{
    int64_t s;
    return __builtin_add_overflow(a, b, &s) ? INT64_MAX : s;
}

/* A rule fired: add score (hard: deny whatever the score) and the reason. */
void risk_fire(struct risk_call *c, const char *rule, int64_t value, int64_t threshold, int64_t score, bool hard);

/* Convenience reads (each takes one shard lock). */
void risk_ring_read(struct risk *r, enum risk_dim dim, int64_t id, int64_t now, int64_t *count, int64_t *sum);
void risk_ring_write(struct risk *r, enum risk_dim dim, int64_t id, int64_t at, int64_t amount);
/* A tally's ring write: sign > 0 counts one event (risk_ring_write), else
 * takes one out of a key that exists (never creating one). */
void risk_ring_tally(struct risk *r, enum risk_dim dim, int64_t id, int64_t at, int64_t amount, int sign);
int risk_set_read(struct risk *r, enum risk_dim dim, int64_t id, int64_t window_ms, int64_t now, int64_t also);
void risk_set_write(struct risk *r, enum risk_dim dim, int64_t id, int64_t member, int64_t at);

/* The key of a client address: an IPv4 address (IPv4-mapped IPv6
 * included) or an IPv6 /64, as auth/throttle.c counts them ("…/64" text
 * accepted too, as card_attempts stores it); 0 for NULL, "" or anything
 * else. */
int64_t risk_addr_key(const char *addr);
/* A 64-bit finaliser (splitmix64): spreads ids over shards and buckets. */
uint64_t risk_mix(uint64_t x);

/* ---- the rules (rule_*.c) ---- */

struct risk_rule {
    void (*eval)(struct risk_call *c);
    void (*observe)(struct risk_call *c, enum risk_outcome outcome); /* NULL: learns nothing */
    /* The rule's counts of a done event: sign +1 counts it (risk_admit, or
     * risk_observe(RISK_DONE) of an event not admitted), -1 takes an
     * admitted one out again.  NULL: the rule counts nothing. */
    void (*tally)(struct risk_call *c, int sign);
};

extern const struct risk_rule risk_rule_identity;     /* new device, recent password reset */
extern const struct risk_rule risk_rule_velocity;     /* count and amount per key and window */
extern const struct risk_rule risk_rule_resale;       /* top-up, then high-resale spending */
extern const struct risk_rule risk_rule_travel;       /* impossible travel */
extern const struct risk_rule risk_rule_shared;       /* one device or address, many accounts */
extern const struct risk_rule risk_rule_card_testing; /* declines, many cards */
extern const struct risk_rule risk_rule_fan_in;       /* P2P money mule */
extern const struct risk_rule risk_rule_refunds;      /* many refunds at one store */
extern const struct risk_rule risk_rule_new_payee;    /* a large first transfer to a new account */
extern const struct risk_rule risk_rule_mule;         /* a new account passing P2P money on */
extern const struct risk_rule risk_rule_refund_fast;  /* resale goods given back soon after */
extern const struct risk_rule risk_rule_refund_payer; /* the same payer refunded again */
/* Is category, or one of ev's items' categories, a high-resale one (rule_resale.c)? */
bool risk_high_resale(const struct risk *r, const struct risk_event *ev);

#endif
