/* bench_seed.c: what a charge needs, written straight into the store
 * (bench.h): customers who could never log in (no password, no second
 * factor: only the session made here works), each with one device past its
 * cool-down, one FULL session whose token is made and hashed exactly as
 * kessaid does (secret_hash.h, SECRET_SESSION_TOKEN) and kept only in this
 * process, and a wallet funded through the ledger writer (so `ledger
 * verify` holds); one merchant, a store per 8 terminals, and the
 * terminals (terminal_create: secrets sealed with the data directory's
 * master key, the plaintext kept here for signing). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/secret_hash.h"
#include "cli/bench.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "util/timeutil.h"
#include "wallet/topup_internal.h"

#define TERMINALS_PER_STORE 8
#define CUSTOMERS_PER_TXN 1000

struct fund_wait {
    atomic_size_t failed;
    atomic_size_t done;
};

static void funded(void *ctx, const struct ledger_result *res)
{
    struct fund_wait *f = ctx;
    if (res->err != ERR_OK)
        atomic_fetch_add(&f->failed, 1);
    atomic_fetch_add(&f->done, 1);
}

static enum err seed_shops(struct store *st, const uint8_t mk[MASTERKEY_BYTES], const char *tag,
                           struct bench_seed *out)
{
    char name[MERCHANT_NAME_MAX + 1];
    snprintf(name, sizeof name, "Bench Mart %s", tag);
    struct merchant m;
    enum err e = merchant_create(st, name, &m);
    struct merchant_store shop = {0};
    for (size_t i = 0; e == ERR_OK && i < out->nterminals; i++) {
        if (i % TERMINALS_PER_STORE == 0) {
            snprintf(name, sizeof name, "Bench Mart %s #%zu", tag, i / TERMINALS_PER_STORE + 1);
            e = merchant_store_create(st, m.id, name, "1-1 Bench-cho, Chiyoda-ku, Tokyo", 35681236, 139767125,
                                      "convenience", &shop);
        }
        struct merchant_terminal t;
        char hex[TERMINAL_SECRET_HEX_BUF];
        if (e == ERR_OK)
            e = terminal_create(st, mk, shop.id, &t, hex);
        if (e == ERR_OK) {
            struct bench_terminal *bt = &out->terminals[i];
            bt->id = t.id;
            memcpy(bt->key_id, t.key_id, sizeof bt->key_id);
            if (sodium_hex2bin(bt->secret, sizeof bt->secret, hex, strlen(hex), NULL, NULL, NULL) != 0)
                e = ERR_INTERNAL;
        }
        sodium_memzero(hex, sizeof hex);
    }
    return e;
}

/* One customer: the row, a device, a FULL session, an empty wallet account. */
static enum err seed_customer(struct store *st, const uint8_t mk[MASTERKEY_BYTES], const char *tag, size_t i,
                              int64_t now, int64_t session_s, struct bench_customer *bc)
{
    struct customer c;
    memset(&c, 0, sizeof c);
    snprintf(c.email, sizeof c.email, "bench-%s-%zu@bench.invalid", tag, i);
    snprintf(c.password_hash, sizeof c.password_hash, "!"); /* matches no password: no login */
    c.email_verified = 1;
    c.created_ms = now;
    enum err e = st->ops->customer_insert(st, &c);
    if (e != ERR_OK)
        return e;
    struct customer_device d;
    memset(&d, 0, sizeof d);
    d.customer_id = c.id;
    uint8_t pk[32];
    randombytes_buf(pk, sizeof pk);
    sodium_bin2base64(d.public_key, sizeof d.public_key, pk, sizeof pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(d.name, sizeof d.name, "bench phone");
    d.first_seen_ms = d.last_seen_ms = now;
    d.new_until_ms = 0; /* past its new-device cool-down: the ordinary limits */
    if ((e = st->ops->device_insert(st, &d)) != ERR_OK)
        return e;
    struct customer_session s;
    memset(&s, 0, sizeof s);
    s.customer_id = c.id;
    s.device_id = d.id;
    secret_new_token(bc->token);
    secret_hash_str(mk, SECRET_SESSION_TOKEN, bc->token, s.token_hash);
    s.scope = SESSION_SCOPE_FULL;
    s.created_ms = s.last_seen_ms = s.mfa_at_ms = now;
    s.absolute_ms = now + session_s * 1000;
    if ((e = st->ops->session_insert(st, &s)) != ERR_OK)
        return e;
    char owner[IDS_BUF];
    e = ledger_account_create(st, ids_format(owner, CUSTOMER_ID_PREFIX, c.id), TOPUP_WALLET_KIND,
                              LEDGER_ACCT_DEBITS_LE_CREDITS, &bc->wallet);
    bc->id = c.id;
    ids_format(bc->device, DEVICE_ID_PREFIX, d.id);
    return e;
}

static enum err seed_customers(struct store *st, const uint8_t mk[MASTERKEY_BYTES], const char *tag,
                               int64_t session_s, struct bench_seed *out)
{
    int64_t now = time_now_ms();
    enum err e = ERR_OK;
    for (size_t i = 0; e == ERR_OK && i < out->ncustomers; i += CUSTOMERS_PER_TXN) {
        if ((e = st->ops->begin(st)) != ERR_OK)
            break;
        for (size_t k = i; e == ERR_OK && k < i + CUSTOMERS_PER_TXN && k < out->ncustomers; k++)
            e = seed_customer(st, mk, tag, k, now, session_s, &out->customers[k]);
        e = e == ERR_OK ? st->ops->commit(st) : e;
        if (e != ERR_OK)
            st->ops->rollback(st);
    }
    return e;
}

/* Every wallet gets `funding` from card_receivable, through the writer. */
static enum err fund(const char *db_path, struct store *st, const char *tag, struct bench_seed *out)
{
    int64_t source = 0;
    enum err e = ledger_system_account(st, "card_receivable", &source);
    struct store *ws = NULL;
    if (e == ERR_OK)
        e = store_open_sqlite(db_path, &ws);
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = 8192};
    if (e == ERR_OK && (e = ledger_writer_start(ws, &o, &w)) != ERR_OK)
        store_close(ws);
    if (e != ERR_OK)
        return e;
    struct fund_wait f;
    atomic_init(&f.failed, 0);
    atomic_init(&f.done, 0);
    size_t submitted = 0;
    for (size_t i = 0; e == ERR_OK && i < out->ncustomers; i++) {
        struct ledger_transfer x;
        memset(&x, 0, sizeof x);
        snprintf(x.key, sizeof x.key, "bench:%s:fund:%" PRId64, tag, out->customers[i].id);
        x.debit_account = source;
        x.credit_account = out->customers[i].wallet;
        x.amount = out->funding;
        snprintf(x.kind, sizeof x.kind, "%s", TOPUP_XFER_CARD);
        e = ledger_writer_submit(w, &x, 1, funded, &f);
        if (e == ERR_OK)
            submitted++;
    }
    ledger_writer_stop(w); /* commits everything queued and calls every callback */
    if (e == ERR_OK && (atomic_load(&f.done) != submitted || atomic_load(&f.failed) != 0))
        e = ERR_STORE;
    return e;
}

enum err bench_seed(const char *db_path, const uint8_t mk[MASTERKEY_BYTES], size_t ncustomers, size_t nterminals,
                    int64_t funding, int64_t session_s, const char *tag, struct bench_seed *out)
{
    memset(out, 0, sizeof *out);
    out->customers = calloc(ncustomers, sizeof *out->customers);
    out->terminals = calloc(nterminals, sizeof *out->terminals);
    out->ncustomers = ncustomers;
    out->nterminals = nterminals;
    out->funding = funding;
    if (out->customers == NULL || out->terminals == NULL) {
        bench_seed_free(out);
        return ERR_NOMEM;
    }
    struct store *st = NULL;
    enum err e = store_open_sqlite(db_path, &st);
    if (e != ERR_OK) {
        bench_seed_free(out);
        return e;
    }
    const char *step = "ledger";
    if ((e = ledger_init(st)) == ERR_OK) {
        step = "merchant, stores and terminals";
        e = seed_shops(st, mk, tag, out);
    }
    if (e == ERR_OK) {
        fprintf(stderr, "seeding %zu customers (device, session, wallet)...\n", ncustomers);
        step = "customers";
        e = seed_customers(st, mk, tag, session_s, out);
    }
    if (e == ERR_OK) {
        step = "funding";
        e = fund(db_path, st, tag, out);
    }
    store_close(st);
    if (e != ERR_OK) {
        fprintf(stderr, "kessai: bench: seeding failed at %s: %s\n", step, err_message(e));
        bench_seed_free(out);
    }
    return e;
}

void bench_seed_free(struct bench_seed *s)
{
    if (s->customers) {
        sodium_memzero(s->customers, s->ncustomers * sizeof *s->customers);
        free(s->customers);
    }
    if (s->terminals) {
        sodium_memzero(s->terminals, s->nterminals * sizeof *s->terminals);
        free(s->terminals);
    }
    memset(s, 0, sizeof *s);
}
