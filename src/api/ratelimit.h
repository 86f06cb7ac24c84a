/* ratelimit.h: a token bucket per client address, in bounded memory.
 *
 * Each address owns a bucket of `burst` tokens that refills at `per_second`
 * tokens a second; a request takes one token or is refused with the number of
 * seconds until one is back (the 429's Retry-After).  The unauthenticated
 * customer endpoints and POST /v1/mfa/verify pass through it.
 *
 * Memory is a fixed table chosen at creation, never grown: a flood of
 * addresses cannot exhaust the server.  When the table is crowded, a new
 * address takes over a bucket that has refilled completely (forgetting it
 * loses nothing: a full bucket is a fresh one) or else the one least recently
 * used.  The price: an attacker who cycles through more addresses than the
 * table holds can get fresh buckets for some of them — which a per-address
 * limit cannot stop anyway; per-account lock-out and the stored
 * credential-stuffing block (src/auth) are the defences that count there.
 *
 * IPv6 clients are keyed by their /64, the smallest block one subscriber
 * usually gets: per-address buckets would hand an attacker 2^64 of them.
 * Slots are found through a hash keyed with a random key, so nobody can
 * aim addresses at a victim's slot.
 *
 * Per node (DESIGN.md, "Scale-out"): each node limits what it sees, which
 * is safe, and behind N nodes a client gets at most N times the budget.
 * Thread-safe: one mutex, held for a few dozen instructions.
 */
#ifndef KESSAI_API_RATELIMIT_H
#define KESSAI_API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RATELIMIT_BURST 20
#define RATELIMIT_PER_SECOND 1
#define RATELIMIT_SLOTS 8192

struct ratelimit;

struct ratelimit_opts {
    unsigned burst;      /* >= 1 */
    unsigned per_second; /* >= 1 */
    size_t slots;        /* rounded up to a power of two, >= 16 */
};

/* ERR_INVALID_PARAM for zero settings, ERR_NOMEM. */
enum err ratelimit_new(const struct ratelimit_opts *o, struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl); /* NULL-safe */

/* Take a token for addr (numeric, as http_request_client_addr gives it) at
 * now_ms, a clock in milliseconds that never goes back (time_window_ms: the
 * monotonic one, or a simulator's clock file).  true: allowed.  false: refused,
 * and *retry_after_s (>= 1) is when the next token will be there. */
bool ratelimit_take(struct ratelimit *rl, const char *addr, int64_t now_ms, int64_t *retry_after_s);

#endif
