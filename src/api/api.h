/* api.h: what kessaid's handlers share, and its route table.
 *
 * The app context is made by kessaid's main() and outlives the HTTP server;
 * handlers receive it as their `app` argument.  Handlers never keep a store
 * connection across requests: they borrow one from the pool (pool.h) and
 * give it back before they return or suspend.
 */
#ifndef KESSAI_API_API_H
#define KESSAI_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

struct store_pool;
struct http_metrics;
struct ledger_writer;
struct config;
struct auth_workers;
struct ratelimit;
struct notify_sender;
struct notify_wake;
struct gateway;
struct risk;
struct feed_hub;

struct api_ctx {
    const struct config *cfg;
    struct store_pool *pool;         /* store connections for handlers */
    struct ledger_writer *writer;  /* every money movement goes through it */
    struct http_metrics *metrics;  /* rendered by GET /metrics */
    const uint8_t *master_key;     /* MASTERKEY_BYTES, for sealing secrets at rest */
    struct auth_workers *workers;  /* Argon2id work runs here (workers.h) */
    struct ratelimit *ratelimit;   /* per-address bucket of the unauthenticated endpoints */
    const struct notify_sender *mail; /* delivers the outbox after each commit (notify/sender.h) */
    const struct notify_wake *wake;   /* the background deliverer, for mail left queued on purpose
                                         (auth_ctx.h, notify/deliverer.h); NULL: none */
    struct gateway *gateway;          /* the card processor (wallet/gateway.h) */
    struct risk *risk;                /* the risk engine, owned by kessaid (risk/risk.h); NULL: no scoring */
    struct auth_workers *wallet_workers; /* card and top-up work: gateway calls, ledger waits (wallet_jobs.h) */
    void (*crash_point)(const char *point); /* test hook for wallet_ctx, NULL in production */
    struct feed_hub *feeds;                 /* customers' live feeds (notify/feed.h); NULL: none */
    struct guess_pending *guesses;          /* bad codes in flight (wallet/guess_pending.h); NULL: none */
};

/* kessaid's one route table (routes.c). */
const struct http_route *api_routes(size_t *n);

#endif
