/* bench_load.c: the load of `kessai bench charges` (bench.h).
 *
 * Each connection runs one flow after another, as a customer and a
 * register would:
 *
 *   IDLE --POST /v1/paycodes (the customer's session)--> CODE
 *   CODE --201 {code}--> POST /pos/v1/charges {code, amount}, signed by the
 *        connection's terminal, a fresh Idempotency-Key --> CHARGE
 *   CHARGE --201 {id: pay_…}--> recorded --> IDLE (next customer, at random)
 *   any other answer: counted (and the first one kept for the report) --> IDLE
 *   connection lost: counted, reconnected --> IDLE
 *
 * With codes_ahead, every code is issued first (the same requests, on every
 * connection, before the window: the STOCK phase) and kept in order; in
 * the window each flow takes the next one and goes straight to CHARGE, so
 * the window measures the register's charges alone.  The stock is
 * codes_ahead codes or what CODES_AHEAD_MAX_US allows, whichever comes
 * first: with a window of at most 20 s (bench_charges.c) the last charge
 * presents a code at most 50 s old, inside its 60 s.
 *
 * All connections are driven from one thread with epoll: on a 2-core
 * machine the generator must leave as much CPU as it can to kessaid.
 * Responses are not parsed as JSON: the code and the payment id are found
 * by their keys, which is all the load needs (and costs next to nothing).
 * After the window closes no flow starts; those in flight finish (up to
 * 30 s) and their charges are checked too, but only charges acknowledged
 * within the window count towards charges/s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/bench.h"
#include "pos/sign.h"
#include "wallet/wallet_types.h"

#define DRAIN_US (30 * 1000000ull)
#define REQ_MAX 2048
#define RECONNECT_MAX 100
#define CODES_AHEAD_MAX_US (30 * 1000000ull)

enum phase { IDLE, CODE, CHARGE };

struct flow {
    struct bh_conn c;
    size_t index;
    enum phase phase;
    bool out_armed; /* EPOLLOUT registered */
    uint32_t customer;
    uint32_t terminal;
    uint64_t seq;
    unsigned failures; /* reconnections in a row without an answer */
    uint64_t t_code, t_charge;
    int64_t amount;
    char idem[32];
};

struct load {
    const struct bench_load_opts *o;
    const struct bench_seed *seed;
    struct bench_stats *st;
    int ep;
    struct flow *flows;
    uint64_t t0, deadline;
    size_t cap_charge, cap_code, cap_flow, cap_acks;
    char host[64];
    /* codes_ahead: the codes issued before the window, used in order */
    bool stocking;
    struct stocked {
        uint32_t customer;
        char code[PAYCODE_DIGITS + 1]; /* secret: wiped */
    } *stock;
    size_t stock_want, stock_asked, stock_n, stock_next;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int push_u32(uint32_t **arr, size_t *n, size_t *cap, uint64_t v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 65536;
        uint32_t *p = realloc(*arr, c * sizeof *p);
        if (p == NULL)
            return -1;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return 0;
}

static void note_error(struct load *l, struct flow *f, const char *what)
{
    struct bench_stats *st = l->st;
    st->errors++;
    int cls = f->c.status / 100;
    st->status[cls >= 1 && cls <= 5 ? cls : 0]++;
    st->last_error_s = (double)(now_us() - l->t0) / 1e6;
    if (st->first_error[0] == '\0') {
        st->first_error_s = st->last_error_s;
        snprintf(st->first_error, sizeof st->first_error, "%s: status %d %.*s", what, f->c.status,
                 (int)(f->c.body_len > 160 ? 160 : f->c.body_len), f->c.body ? f->c.body : "");
    }
}

static void arm(struct load *l, struct flow *f, bool out)
{
    if (out == f->out_armed)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = f};
    epoll_ctl(l->ep, EPOLL_CTL_MOD, f->c.fd, &ev);
    f->out_armed = out;
}

static int open_conn(struct load *l, struct flow *f)
{
    if (bh_connect(&f->c, &l->o->addr) != 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = f};
    f->out_armed = true;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, f->c.fd, &ev) != 0) {
        bh_close(&f->c);
        return -1;
    }
    return 0;
}

static int send_req(struct load *l, struct flow *f, const char *req, size_t len)
{
    if (bh_send(&f->c, req, len) != 0)
        return -1;
    arm(l, f, f->c.out_off < f->c.out_len);
    return 0;
}

static int send_code_request(struct load *l, struct flow *f)
{
    const struct bench_customer *c = &l->seed->customers[f->customer];
    char req[REQ_MAX];
    int n = snprintf(req, sizeof req,
                     "POST /v1/paycodes HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nKessai-Device: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                     l->host, c->token, c->device);
    int rc = n > 0 && (size_t)n < sizeof req ? send_req(l, f, req, (size_t)n) : -1;
    sodium_memzero(req, sizeof req);
    return rc;
}

static int send_charge(struct load *l, struct flow *f, const char *code)
{
    const struct bench_terminal *t = &l->seed->terminals[f->terminal];
    const struct bench_load_opts *o = l->o;
    int64_t span = o->amount_max - o->amount_min + 1;
    f->amount = o->amount_min + (span > 1 ? (int64_t)randombytes_uniform((uint32_t)span) : 0);
    snprintf(f->idem, sizeof f->idem, "b%08" PRIx64 "-%zu-%" PRIu64, o->run_id & 0xffffffffu, f->index, f->seq++);
    char body[128];
    int bl = snprintf(body, sizeof body, "{\"code\":\"%s\",\"amount\":%" PRId64 "}", code, f->amount);
    char nonce[32];
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(nonce, sizeof nonce, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int64_t ts = (int64_t)time(NULL);
    char sig[POS_SIG_HEX_LEN + 1];
    pos_sign(t->secret, "POST", "/pos/v1/charges", ts, nonce, body, (size_t)bl, sig);
    char req[REQ_MAX];
    int n = snprintf(req, sizeof req,
                     "POST /pos/v1/charges HTTP/1.1\r\nHost: %s\r\n"
                     "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%" PRId64 ",nonce=%s,sig=%s\r\n"
                     "Idempotency-Key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     l->host, t->key_id, ts, nonce, sig, f->idem, bl, body);
    int rc = n > 0 && (size_t)n < sizeof req ? send_req(l, f, req, (size_t)n) : -1;
    sodium_memzero(req, sizeof req);
    sodium_memzero(body, sizeof body);
    return rc;
}

/* The string value of "key" in a flat JSON body, into out[n]; false if absent. */
static bool json_str(const char *body, size_t len, const char *key, char *out, size_t n)
{
    char pat[40];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = memmem(body, len, pat, (size_t)pl);
    if (p == NULL)
        return false;
    const char *end = body + len;
    p += pl;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return false;
    p++;
    size_t k = 0;
    while (p < end && *p != '"' && k + 1 < n)
        out[k++] = *p++;
    out[k] = '\0';
    return p < end && *p == '"';
}

/* The receipt's payment id: the one string value starting "pay_" (the
 * receipt, {"charge":{"id":"pay_…",…},…}, names no other payment). */
static bool pay_id(const char *body, size_t len, char *out, size_t n)
{
    const char *p = memmem(body, len, "\"" PAYMENT_ID_PREFIX "_", sizeof PAYMENT_ID_PREFIX + 1);
    if (p == NULL)
        return false;
    const char *end = body + len;
    size_t k = 0;
    for (p++; p < end && *p != '"' && k + 1 < n; p++)
        out[k++] = *p;
    out[k] = '\0';
    return p < end && *p == '"';
}

static void reconnect(struct load *l, struct flow *f, uint64_t now);

/* A flow of the window with codes_ahead: the next stocked code, charged. */
static void charge_stocked(struct load *l, struct flow *f, uint64_t now)
{
    if (l->stock_next == l->stock_n) {
        if (l->st->stock_out_s == 0)
            l->st->stock_out_s = (double)(now - l->t0) / 1e6;
        return;
    }
    struct stocked *k = &l->stock[l->stock_next++];
    f->customer = k->customer;
    f->t_code = f->t_charge = now;
    f->phase = CHARGE;
    int rc = send_charge(l, f, k->code);
    sodium_memzero(k->code, sizeof k->code);
    if (rc != 0)
        reconnect(l, f, now);
}

static void start_flow(struct load *l, struct flow *f, uint64_t now)
{
    f->phase = IDLE;
    if (now >= l->deadline)
        return;
    if (l->stock != NULL && !l->stocking) {
        charge_stocked(l, f, now);
        return;
    }
    /* Stocking: no more code requests than codes wanted. */
    if (l->stocking) {
        if (l->stock_asked == l->stock_want)
            return;
        l->stock_asked++;
    }
    /* Any customer, as at a real chain's registers.  Taking them in turn
     * (connection i's k-th flow: customer i + k * connections) put the
     * flows in flight on neighbouring customers, whose balances, spending
     * counters and feed entries then shared the pages a commit writes:
     * 15-28 % more charges/s than customers at random (bench/README.md,
     * eighteenth session). */
    f->customer = randombytes_uniform((uint32_t)l->seed->ncustomers);
    f->t_code = now;
    if (send_code_request(l, f) == 0) {
        f->phase = CODE;
        return;
    }
    f->c.status = 0;
    note_error(l, f, "connection");
    reconnect(l, f, now);
}

/* A new connection and a new flow; a connection that keeps failing at once
 * is given up (its flow stays idle) rather than retried in a loop. */
static void reconnect(struct load *l, struct flow *f, uint64_t now)
{
    epoll_ctl(l->ep, EPOLL_CTL_DEL, f->c.fd, NULL);
    bh_close(&f->c);
    f->phase = IDLE;
    if (++f->failures > RECONNECT_MAX) {
        if (f->failures == RECONNECT_MAX + 1)
            fprintf(stderr, "kessai: bench: connection %zu keeps failing; given up\n", f->index);
        return;
    }
    if (open_conn(l, f) == 0)
        start_flow(l, f, now);
}

static int record_ack(struct load *l, struct flow *f, int64_t pay_id)
{
    struct bench_stats *st = l->st;
    if (st->nacks == l->cap_acks) {
        size_t c = l->cap_acks ? l->cap_acks * 2 : 65536;
        struct bench_ack *p = realloc(st->acks, c * sizeof *p);
        if (p == NULL)
            return -1;
        st->acks = p;
        l->cap_acks = c;
    }
    struct bench_ack *a = &st->acks[st->nacks++];
    memcpy(a->idem, f->idem, sizeof a->idem);
    a->payment = pay_id;
    a->amount = f->amount;
    a->customer = f->customer;
    a->terminal = f->terminal;
    return 0;
}

/* A whole response arrived on f. */
static void on_response(struct load *l, struct flow *f, uint64_t now)
{
    struct bench_stats *st = l->st;
    struct bh_conn *c = &f->c;
    bool in_window = now <= l->deadline;
    f->failures = 0;
    if (f->phase == CODE) {
        char code[PAYCODE_DIGITS + 8];
        bool ok = c->status == 201 && json_str(c->body, c->body_len, "code", code, sizeof code) &&
                  strlen(code) == PAYCODE_DIGITS;
        push_u32(&st->code_us, &st->ncode_us, &l->cap_code, now - f->t_code);
        if (!ok) {
            note_error(l, f, "POST /v1/paycodes");
            bh_done(c);
            start_flow(l, f, now);
            return;
        }
        if (l->stocking) {
            struct stocked *k = &l->stock[l->stock_n++];
            k->customer = f->customer;
            memcpy(k->code, code, sizeof k->code);
            sodium_memzero(code, sizeof code);
            bh_done(c);
            start_flow(l, f, now);
            return;
        }
        if (in_window)
            st->codes++;
        bh_done(c);
        f->t_charge = now;
        f->phase = CHARGE;
        if (send_charge(l, f, code) != 0)
            reconnect(l, f, now);
        sodium_memzero(code, sizeof code);
        return;
    }
    char id[IDS_BUF];
    int64_t pay = 0;
    bool ok = c->status == 201 && pay_id(c->body, c->body_len, id, sizeof id) &&
              ids_parse(id, PAYMENT_ID_PREFIX, &pay) == ERR_OK;
    if (ok) {
        push_u32(&st->charge_us, &st->ncharge_us, &l->cap_charge, now - f->t_charge);
        if (l->stock == NULL)
            push_u32(&st->flow_us, &st->nflow_us, &l->cap_flow, now - f->t_code);
        record_ack(l, f, pay);
        if (in_window)
            st->charges++;
    } else {
        note_error(l, f, "POST /pos/v1/charges");
    }
    bh_done(c);
    start_flow(l, f, now);
}

static void on_event(struct load *l, struct flow *f, uint32_t events)
{
    uint64_t now = now_us();
    if (events & EPOLLOUT) {
        int w = bh_write(&f->c);
        if (w < 0) {
            f->c.status = 0;
            note_error(l, f, "connection");
            reconnect(l, f, now);
            return;
        }
        if (w == 1)
            arm(l, f, false);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        int r = bh_read(&f->c);
        if (r < 0) {
            if (f->phase != IDLE) {
                f->c.status = 0;
                note_error(l, f, "connection");
            }
            reconnect(l, f, now);
            return;
        }
        if (r == 1) {
            if (f->c.close_after) {
                /* Go on over a new connection: the answer stays readable. */
                epoll_ctl(l->ep, EPOLL_CTL_DEL, f->c.fd, NULL);
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = f};
                f->out_armed = true;
                if (bh_reconnect(&f->c, &l->o->addr) != 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, f->c.fd, &ev) != 0) {
                    bh_close(&f->c);
                    f->phase = IDLE;
                    return;
                }
            }
            if (f->phase == IDLE) {
                bh_done(&f->c); /* nothing was asked: ignore */
                return;
            }
            on_response(l, f, now_us());
        }
    }
}

static size_t busy(const struct load *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->o->connections; i++)
        n += l->flows[i].phase != IDLE;
    return n;
}

/* Start a flow on every connection and drive them for `window` µs, then
 * let those in flight finish (up to DRAIN_US). */
static void run(struct load *l, uint64_t window)
{
    l->t0 = now_us();
    l->deadline = l->t0 + window;
    for (size_t i = 0; i < l->o->connections; i++)
        if (l->flows[i].c.fd >= 0)
            start_flow(l, &l->flows[i], l->t0);
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_us();
        /* Stocking, nothing in flight means the stock is full. */
        if ((now >= l->deadline || l->stocking) && busy(l) == 0)
            break;
        if (now >= l->deadline + DRAIN_US)
            break;
        int n = epoll_wait(l->ep, evs, 256, 100);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++)
            on_event(l, evs[i].data.ptr, evs[i].events);
    }
}

/* The STOCK phase of codes_ahead.  Refused codes are errors of the run, as
 * in the window. */
static enum err stock_codes(struct load *l)
{
    struct bench_stats *st = l->st;
    l->stock_want = l->o->codes_ahead;
    l->stock = calloc(l->stock_want, sizeof *l->stock);
    if (l->stock == NULL)
        return ERR_NOMEM;
    l->stocking = true;
    run(l, CODES_AHEAD_MAX_US);
    l->stocking = false;
    st->codes_ahead = l->stock_n;
    st->codes_ahead_s = (double)(now_us() - l->t0) / 1e6;
    return l->stock_n > 0 ? ERR_OK : ERR_INTERNAL;
}

enum err bench_load_run(const struct bench_load_opts *opts, const struct bench_seed *seed, struct bench_stats *st)
{
    memset(st, 0, sizeof *st);
    struct load l = {.o = opts, .seed = seed, .st = st};
    snprintf(l.host, sizeof l.host, "127.0.0.1:%u", (unsigned)ntohs(opts->addr.sin_port));
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    l.flows = calloc(opts->connections, sizeof *l.flows);
    if (l.ep < 0 || l.flows == NULL) {
        if (l.ep >= 0)
            close(l.ep);
        free(l.flows);
        return ERR_NOMEM;
    }
    size_t opened = 0;
    for (size_t i = 0; i < opts->connections; i++) {
        struct flow *f = &l.flows[i];
        f->index = i;
        f->c.fd = -1;
        f->terminal = (uint32_t)(i % seed->nterminals);
        opened += open_conn(&l, f) == 0;
    }
    if (opened < opts->connections && opened > 0)
        fprintf(stderr, "kessai: bench: only %zu of %zu connections opened (%s; see ulimit -n)\n", opened,
                opts->connections, strerror(errno));
    if (opened == 0) {
        close(l.ep);
        free(l.flows);
        fprintf(stderr, "kessai: bench: cannot connect to %s: %s\n", l.host, strerror(errno));
        return ERR_INTERNAL;
    }
    enum err e = opts->codes_ahead > 0 ? stock_codes(&l) : ERR_OK;
    if (e == ERR_OK) {
        if (opts->window_start)
            opts->window_start(opts->window_arg);
        run(&l, (uint64_t)(opts->seconds * 1e6));
    }
    st->seconds = opts->seconds;
    size_t stuck = busy(&l);
    if (stuck)
        fprintf(stderr, "kessai: bench: %zu requests still unanswered 30 s after the window\n", stuck);
    for (size_t i = 0; i < opts->connections; i++)
        bh_close(&l.flows[i].c);
    free(l.flows);
    close(l.ep);
    if (l.stock != NULL) {
        sodium_memzero(l.stock, l.stock_want * sizeof *l.stock);
        free(l.stock);
    }
    return e;
}

void bench_stats_free(struct bench_stats *st)
{
    free(st->charge_us);
    free(st->code_us);
    free(st->flow_us);
    free(st->acks);
    memset(st, 0, sizeof *st);
}
