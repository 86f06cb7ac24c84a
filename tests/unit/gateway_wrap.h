/* gateway_wrap.h: a card gateway for tests (header-only, so it is not
 * linked into every other test): the built-in test processor behind a
 * wrapper that a test can make misbehave like a real acquirer does.
 *
 *   down                 authorize and capture answer ERR_GATEWAY (the
 *                        processor unreachable; tokenize and challenges work)
 *   tokenize_delay_ms    tokenize waits this long before asking the
 *                        processor (a slow issuer: concurrent requests all
 *                        get past admission before any is answered)
 *   tokenized            tokenize calls so far (under mu)
 *   opened, opened_ctx   called after each challenge_start the processor
 *                        answered (something changing meanwhile, e.g. the
 *                        account's address)
 *
 * Thread-safe as the processor is, as long as down and tokenize_delay_ms
 * are set while no call runs. */
#ifndef KESSAI_TESTS_GATEWAY_WRAP_H
#define KESSAI_TESTS_GATEWAY_WRAP_H

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "wallet/gateway.h"

struct gw_wrap {
    struct gateway base;
    struct gateway *inner;
    bool down;
    int tokenize_delay_ms;
    pthread_mutex_t mu;
    int tokenized;
    void (*opened)(void *ctx);
    void *opened_ctx;
};

static inline struct gateway *gw_wrap_inner(struct gateway *g) { return ((struct gw_wrap *)g)->inner; }

static inline enum err gw_wrap_tokenize(struct gateway *g, const struct gateway_card_input *in,
                                        struct gateway_card *out)
{
    struct gw_wrap *w = (struct gw_wrap *)g;
    pthread_mutex_lock(&w->mu);
    w->tokenized++;
    pthread_mutex_unlock(&w->mu);
    if (w->tokenize_delay_ms > 0)
        usleep((useconds_t)w->tokenize_delay_ms * 1000);
    return w->inner->ops->tokenize(w->inner, in, out);
}
static inline enum err gw_wrap_challenge_start(struct gateway *g, const char *token, const char *email,
                                               struct gateway_challenge *out)
{
    struct gw_wrap *w = (struct gw_wrap *)g;
    enum err e = w->inner->ops->challenge_start(w->inner, token, email, out);
    if (e == ERR_OK && w->opened)
        w->opened(w->opened_ctx);
    return e;
}
static inline enum err gw_wrap_challenge_verify(struct gateway *g, const char *ref, const char *code)
{
    return gw_wrap_inner(g)->ops->challenge_verify(gw_wrap_inner(g), ref, code);
}
static inline enum err gw_wrap_authorize(struct gateway *g, const char *token, int64_t amount, const char *key,
                                         struct gateway_auth *out)
{
    if (((struct gw_wrap *)g)->down)
        return ERR_GATEWAY;
    return gw_wrap_inner(g)->ops->authorize(gw_wrap_inner(g), token, amount, key, out);
}
static inline enum err gw_wrap_capture(struct gateway *g, const char *ref, int64_t amount)
{
    if (((struct gw_wrap *)g)->down)
        return ERR_GATEWAY;
    return gw_wrap_inner(g)->ops->capture(gw_wrap_inner(g), ref, amount);
}
static inline enum err gw_wrap_refund(struct gateway *g, const char *ref, int64_t amount, const char *key)
{
    return gw_wrap_inner(g)->ops->refund(gw_wrap_inner(g), ref, amount, key);
}
/* The wrapper does not own the processor: the test closes it. */
static inline void gw_wrap_close(struct gateway *g) { (void)g; }

static const struct gateway_ops gw_wrap_ops = {
    "wrapped",         gw_wrap_tokenize, gw_wrap_challenge_start, gw_wrap_challenge_verify,
    gw_wrap_authorize, gw_wrap_capture,  gw_wrap_refund,          gw_wrap_close};

/* Wrap inner, well-behaved to start with; &g->base is the gateway. */
static inline struct gateway *gw_wrap_init(struct gw_wrap *g, struct gateway *inner)
{
    *g = (struct gw_wrap){.base = {&gw_wrap_ops}, .inner = inner};
    pthread_mutex_init(&g->mu, NULL);
    return &g->base;
}

#endif
