/* bench/risk.c: what the risk engine adds to a payment.  Run by hand
 * (bench/risk), never by tests; figures go to bench/README.md.
 *
 * Set-up: one engine with the default settings (or --max-keys), 21,000
 * stores spread over Japan, --customers customers each with a phone, a
 * card, an address and three stores near home.  Each thread replays its
 * own pre-generated stream of events (70 % payments, 15 % card top-ups,
 * 10 % transfers, 5 % logins; 100 a second of simulated time in all,
 * whatever the number of threads)
 * as kessaid would: risk_evaluate (risk_admit with --admit 1, as the money
 * flows do), then risk_observe(RISK_DONE).
 * Measured: evaluate + observe pairs per second over all threads, ns per
 * pair, the evaluate's p50/p99 (every 64th call timed), and evictions.
 *
 * Then the other half of the cost: risk_record rows written into a fresh
 * SQLite store (synchronous=FULL), 1,000 to a transaction as the ledger
 * writer's group commit would carry them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "merchant/merchant.h"
#include "risk/risk.h"
#include "util/log.h"
#include "util/timeutil.h"

#define NOW 1767225600000LL
#define STORES 21000
#define SAMPLE_EVERY 64

struct bstore {
    int64_t id, lat_e6, lon_e6;
    const char *category;
};

struct bcustomer {
    int64_t device_key, card_fp;
    char addr[24];
    int stores[3];
};

struct world {
    struct bstore *stores;
    struct bcustomer *customers;
    long ncustomers;
};

struct thread {
    struct risk *r;
    struct risk_event *events;
    long n;
    int64_t *samples;
    long nsamples;
    int64_t ns; /* the thread's own time in the loop */
    long denied;
    bool admit; /* risk_admit instead of risk_evaluate */
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void make_world(struct world *w, long ncustomers)
{
    uint64_t seed = 0x243f6a8885a308d3ull;
    w->stores = calloc(STORES, sizeof *w->stores);
    w->customers = calloc((size_t)ncustomers, sizeof *w->customers);
    w->ncustomers = ncustomers;
    if (w->stores == NULL || w->customers == NULL)
        exit(1);
    for (int i = 0; i < STORES; i++) {
        /* Japan, roughly: 31..43 N, 130..145 E */
        w->stores[i] = (struct bstore){.id = 1000 + i,
                                       .lat_e6 = 31000000 + (int64_t)(next(&seed) % 12000000),
                                       .lon_e6 = 130000000 + (int64_t)(next(&seed) % 15000000),
                                       .category = merchant_categories[next(&seed) % 8]};
    }
    for (long c = 0; c < ncustomers; c++) {
        struct bcustomer *k = &w->customers[c];
        k->device_key = (int64_t)(next(&seed) >> 1) | 1;
        k->card_fp = (int64_t)(next(&seed) >> 1) | 1;
        uint64_t a = next(&seed);
        snprintf(k->addr, sizeof k->addr, "10.%u.%u.%u", (unsigned)(a & 255), (unsigned)(a >> 8 & 255),
                 (unsigned)(a >> 16 & 255));
        int home = (int)(next(&seed) % STORES);
        for (int j = 0; j < 3; j++)
            k->stores[j] = (home + j) % STORES; /* "near home": neighbours in the table */
        /* make the three really near: copy home's place, nudged ~1 km */
        for (int j = 1; j < 3; j++) {
            w->stores[k->stores[j]].lat_e6 = w->stores[home].lat_e6 + 9000 * j;
            w->stores[k->stores[j]].lon_e6 = w->stores[home].lon_e6;
        }
    }
}

static void make_events(const struct world *w, struct risk_event *ev, long n, int idx, int nthreads)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(idx + 1);
    for (long i = 0; i < n; i++) {
        long c = (long)(next(&seed) % (uint64_t)w->ncustomers);
        const struct bcustomer *k = &w->customers[c];
        const struct bstore *s = &w->stores[k->stores[next(&seed) % 3]];
        unsigned roll = (unsigned)(next(&seed) % 100);
        struct risk_event e = {.at_ms = NOW + i * 10 * nthreads, /* 100 events a second in all */
                               .customer_id = c + 1,
                               .device_id = c + 1,
                               .device_key = k->device_key,
                               .client_addr = k->addr};
        if (roll < 70) {
            e.kind = RISK_PAYMENT;
            e.store_id = s->id, e.terminal_id = s->id * 4 + (int64_t)(next(&seed) % 4);
            e.category = s->category;
            e.has_location = true, e.lat_e6 = s->lat_e6, e.lon_e6 = s->lon_e6;
            e.amount = 100 + (int64_t)(next(&seed) % 3000);
        } else if (roll < 85) {
            e.kind = RISK_TOPUP;
            e.card_fp = k->card_fp;
            e.amount = 1000 * (1 + (int64_t)(next(&seed) % 10));
        } else if (roll < 95) {
            e.kind = RISK_P2P;
            e.counterparty_id = 1 + (int64_t)(next(&seed) % (uint64_t)w->ncustomers);
            e.amount = 500 + (int64_t)(next(&seed) % 5000);
        } else {
            e.kind = RISK_LOGIN;
        }
        ev[i] = e;
    }
}

static void *replay(void *arg)
{
    struct thread *t = arg;
    int64_t t0 = time_mono_ns();
    for (long i = 0; i < t->n; i++) {
        struct risk_decision d;
        struct risk_event *e = &t->events[i];
        int64_t a = i % SAMPLE_EVERY == 0 ? time_mono_ns() : 0;
        if (t->admit)
            risk_admit(t->r, e, &d);
        else
            risk_evaluate(t->r, e, &d);
        if (a)
            t->samples[t->nsamples++] = time_mono_ns() - a;
        if (d.verdict == RISK_DENY)
            t->denied++;
        risk_observe(t->r, e, RISK_DONE);
    }
    t->ns = time_mono_ns() - t0;
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run(const struct world *w, const struct risk_config *cfg, int nthreads, long per_thread, bool admit)
{
    struct risk *r = NULL;
    if (risk_new(cfg, &r) != ERR_OK)
        exit(1);
    struct thread th[16];
    pthread_t tid[16];
    for (int i = 0; i < nthreads; i++) {
        th[i] = (struct thread){.r = r, .n = per_thread, .admit = admit};
        th[i].events = malloc((size_t)per_thread * sizeof *th[i].events);
        th[i].samples = malloc((size_t)(per_thread / SAMPLE_EVERY + 1) * sizeof *th[i].samples);
        if (th[i].events == NULL || th[i].samples == NULL)
            exit(1);
        make_events(w, th[i].events, per_thread, i, nthreads);
    }
    int64_t t0 = time_mono_ns();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&tid[i], NULL, replay, &th[i]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    double secs = (double)(time_mono_ns() - t0) / 1e9;

    long total = per_thread * nthreads, nsamples = 0, denied = 0;
    int64_t busy = 0;
    for (int i = 0; i < nthreads; i++)
        nsamples += th[i].nsamples, busy += th[i].ns, denied += th[i].denied;
    int64_t *all = malloc((size_t)nsamples * sizeof *all);
    long k = 0;
    for (int i = 0; i < nthreads; i++)
        for (long j = 0; j < th[i].nsamples; j++)
            all[k++] = th[i].samples[j];
    qsort(all, (size_t)nsamples, sizeof *all, cmp64);
    struct risk_stats st;
    risk_stats(r, &st);
    printf("%7d %10ld %8.2f %12.0f %10.0f %9" PRId64 " %9" PRId64 " %8.2f %9" PRIu64 " %10" PRIu64 "\n", nthreads,
           total, secs, (double)total / secs, (double)busy / (double)total, all[nsamples / 2], all[nsamples * 99 / 100],
           100.0 * (double)denied / (double)total, st.keys, st.evictions);
    free(all);
    for (int i = 0; i < nthreads; i++) {
        free(th[i].events);
        free(th[i].samples);
    }
    risk_free(r);
}

/* risk_record into a fresh store, 1,000 rows a transaction. */
static void record_run(long n)
{
    char tmpl[] = "/var/tmp/kessai-bench-risk.XXXXXX";
    char *dir = mkdtemp(tmpl), path[600];
    if (dir == NULL)
        exit(1);
    snprintf(path, sizeof path, "%s/kessai.db", dir);
    struct store *st = NULL;
    if (store_open_sqlite(path, &st) != ERR_OK)
        exit(1);
    struct risk_decision d = {.verdict = RISK_CHALLENGE, .score = 60, .n_reasons = 1};
    d.reasons[0] = (struct risk_reason){"impossible_travel", 2418, 300, 60};
    int64_t t0 = time_mono_ns();
    uint64_t seed = 42;
    for (long i = 0; i < n; i += 1000) {
        if (st->ops->begin(st) != ERR_OK)
            exit(1);
        for (long j = i; j < i + 1000 && j < n; j++) {
            struct risk_event e = {.kind = RISK_PAYMENT,
                                   .at_ms = NOW + j,
                                   .customer_id = 1 + (int64_t)(next(&seed) % 100000),
                                   .device_id = 1,
                                   .store_id = 1000,
                                   .amount = 1200};
            if (risk_record(st, &e, &d, "pay_0000000000001", NULL) != ERR_OK)
                exit(1);
        }
        if (st->ops->commit(st) != ERR_OK)
            exit(1);
    }
    double secs = (double)(time_mono_ns() - t0) / 1e9;
    printf("risk_record: %ld rows in %.2f s, %.1f us a row (1,000 a durable transaction)\n", n, secs,
           secs * 1e6 / (double)n);
    store_close(st);
    const char *files[] = {"kessai.db", "kessai.db-wal", "kessai.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    long ncustomers = 100000, per_thread = 1000000, records = 100000;
    int64_t max_keys = 0;
    bool admit = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--customers"))
            ncustomers = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--events"))
            per_thread = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-keys"))
            max_keys = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--records"))
            records = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--admit"))
            admit = atol(argv[i + 1]) != 0;
        else {
            fprintf(stderr, "usage: risk [--customers N] [--events N per thread] [--max-keys N] [--records N] "
                            "[--admit 0|1]\n");
            return 2;
        }
    }
    if (sodium_init() < 0 || ncustomers < 1 || per_thread < SAMPLE_EVERY)
        return 2;
    log_set_level(LOG_WARN);
    struct risk_config cfg;
    risk_config_defaults(&cfg);
    if (max_keys > 0)
        cfg.max_keys = max_keys;
    struct world w;
    make_world(&w, ncustomers);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("kessai risk benchmark: %ld customers, %d stores, max_keys %" PRId64
           ", %ld events per thread, %ld cores, %s\n",
           ncustomers, STORES, cfg.max_keys, per_thread, cores, admit ? "risk_admit" : "risk_evaluate");
    printf("%7s %10s %8s %12s %10s %9s %9s %8s %9s %10s\n", "threads", "pairs", "seconds", "pairs/s", "ns/pair",
           "eval p50", "eval p99", "deny %", "keys", "evictions");
    const int threads[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++)
        run(&w, &cfg, threads[i], per_thread, admit);
    if (records > 0)
        record_run(records);
    free(w.stores);
    free(w.customers);
    return 0;
}
