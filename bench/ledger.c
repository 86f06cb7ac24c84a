/* bench/ledger.c: durable transfers per second through the group-commit
 * writer, against one transfer per commit.  Run by hand (bench/ledger), never
 * by tests; figures go to bench/README.md.
 *
 * Set-up: N customer wallets (never-negative), each funded by one transfer.
 * Measured: random wallet-to-wallet transfers, submitted asynchronously from
 * two threads with up to --inflight outstanding, so the writer always has a
 * queue to group.  Latency is submit-to-callback, i.e. until durable.
 */
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "util/log.h"
#include "util/timeutil.h"

struct req {
    struct run *run;
    int64_t t0, lat;
};

struct run {
    sem_t window;
    struct req *reqs;
    long n;
    const int64_t *wallets;
    long nwallets;
    const char *tag;
    int producers;
    pthread_mutex_t mu;
    long ok, failed;
    int64_t *commit_ns;
    long commits, commit_cap, groups;
};

static void done(void *ctx, const struct ledger_result *r)
{
    struct req *q = ctx;
    q->lat = time_mono_ns() - q->t0;
    pthread_mutex_lock(&q->run->mu);
    if (r->err == ERR_OK)
        q->run->ok++;
    else
        q->run->failed++;
    pthread_mutex_unlock(&q->run->mu);
    sem_post(&q->run->window);
}

static void on_commit(void *ctx, size_t groups, size_t transfers, int64_t ns)
{
    (void)transfers;
    struct run *r = *(struct run **)ctx;
    if (r == NULL)
        return;
    if (r->commits < r->commit_cap)
        r->commit_ns[r->commits] = ns;
    r->commits++;
    r->groups += (long)groups;
}

struct producer {
    struct run *run;
    struct ledger_writer *w;
    int idx;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct run *r = p->run;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(p->idx + 1);
    for (long i = p->idx; i < r->n; i += r->producers) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        long a = (long)(seed % (uint64_t)r->nwallets), b = (long)((seed >> 20) % (uint64_t)r->nwallets);
        if (a == b)
            b = (b + 1) % r->nwallets;
        struct ledger_transfer t = {.debit_account = r->wallets[a], .credit_account = r->wallets[b],
                                    .amount = 1 + (int64_t)(seed >> 40) % 100};
        snprintf(t.key, sizeof t.key, "%s-%ld", r->tag, i);
        snprintf(t.kind, sizeof t.kind, "p2p");
        sem_wait(&r->window);
        r->reqs[i] = (struct req){.run = r, .t0 = time_mono_ns()};
        if (ledger_writer_submit(p->w, &t, 1, done, &r->reqs[i]) != ERR_OK) {
            fprintf(stderr, "submit failed\n");
            exit(1);
        }
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(int64_t *v, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p * (double)(n - 1));
    return (double)v[i] / 1e6;
}

/* One measured run; prints one table row. */
static void run(const char *dir, const char *tag, const int64_t *wallets, long nwallets, long n, long inflight,
                size_t batch_max, int check)
{
    struct run r = {.n = n, .wallets = wallets, .nwallets = nwallets, .tag = tag, .producers = 2};
    struct run *rp = NULL;
    r.reqs = calloc((size_t)n, sizeof *r.reqs);
    r.commit_cap = n;
    r.commit_ns = calloc((size_t)n, sizeof *r.commit_ns);
    sem_init(&r.window, 0, (unsigned)inflight);
    pthread_mutex_init(&r.mu, NULL);

    char path[600];
    snprintf(path, sizeof path, "%s/kessai.db", dir);
    struct store *st = NULL;
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = batch_max, .on_commit = on_commit, .on_commit_ctx = &rp};
    if (store_open_sqlite(path, &st) != ERR_OK || ledger_writer_start(st, &o, &w) != ERR_OK)
        exit(1);
    rp = &r;
    int64_t t0 = time_mono_ns();
    pthread_t th[2];
    struct producer p[2];
    for (int i = 0; i < 2; i++) {
        p[i] = (struct producer){&r, w, i};
        pthread_create(&th[i], NULL, produce, &p[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (long i = 0; i < inflight; i++)
        sem_wait(&r.window); /* drain */
    double secs = (double)(time_mono_ns() - t0) / 1e9;
    ledger_writer_stop(w);

    int64_t *lat = malloc((size_t)n * sizeof *lat);
    for (long i = 0; i < n; i++)
        lat[i] = r.reqs[i].lat;
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    long nc = r.commits < r.commit_cap ? r.commits : r.commit_cap;
    qsort(r.commit_ns, (size_t)nc, sizeof *r.commit_ns, cmp64);
    printf("%-14s %9ld %8.2f %10.0f %8ld %9.1f %8.2f %8.2f %8.2f %8.2f %8.2f\n", batch_max > 1 ? "group commit" : "one per commit",
           r.ok, secs, (double)r.ok / secs, r.commits, (double)r.groups / (double)(r.commits ? r.commits : 1),
           pct_ms(lat, n, 0.50), pct_ms(lat, n, 0.99), pct_ms(lat, n, 0.999), pct_ms(r.commit_ns, nc, 0.50),
           pct_ms(r.commit_ns, nc, 0.99));
    if (r.failed)
        printf("  (%ld transfers refused, e.g. insufficient funds)\n", r.failed);
    if (check) {
        struct ledger_verify_report rep;
        if (store_open_sqlite(path, &st) != ERR_OK || ledger_verify(st, stderr, &rep) != ERR_OK || rep.violations) {
            fprintf(stderr, "ledger verify FAILED\n");
            exit(1);
        }
        store_close(st);
    }
    free(lat);
    free(r.reqs);
    free(r.commit_ns);
}

int main(int argc, char **argv)
{
    long naccounts = 100000, n = 500000, nsingle = 3000, inflight = 8192, batch = 8192;
    const char *dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--accounts"))
            naccounts = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--transfers"))
            n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--single"))
            nsingle = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--inflight"))
            inflight = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch-max"))
            batch = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else {
            fprintf(stderr, "usage: ledger [--accounts N] [--transfers N] [--single N] [--inflight N] "
                            "[--batch-max N] [--dir DIR]\n");
            return 2;
        }
    }
    if (sodium_init() < 0 || naccounts < 2 || n < 1 || inflight < 1)
        return 2;
    log_set_level(LOG_WARN);
    char tmpl[] = "/var/tmp/kessai-bench.XXXXXX";
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
        return 1;

    char path[600];
    snprintf(path, sizeof path, "%s/kessai.db", dir);
    struct store *st = NULL;
    if (store_open_sqlite(path, &st) != ERR_OK || ledger_init(st) != ERR_OK)
        return 1;
    int64_t *wallets = malloc((size_t)naccounts * sizeof *wallets), src;
    if (ledger_system_account(st, "card_receivable", &src) != ERR_OK || st->ops->begin(st) != ERR_OK)
        return 1;
    for (long i = 0; i < naccounts; i++) {
        char owner[32];
        snprintf(owner, sizeof owner, "usr_bench%ld", i);
        if (ledger_account_create(st, owner, "wallet", LEDGER_ACCT_DEBITS_LE_CREDITS, &wallets[i]) != ERR_OK)
            return 1;
    }
    if (st->ops->commit(st) != ERR_OK)
        return 1;
    store_close(st);

    /* Fund every wallet (one transfer each, through the writer). */
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = (size_t)batch};
    if (store_open_sqlite(path, &st) != ERR_OK || ledger_writer_start(st, &o, &w) != ERR_OK)
        return 1;
    for (long i = 0; i < naccounts; i += LEDGER_CHAIN_MAX) {
        struct ledger_transfer g[LEDGER_CHAIN_MAX];
        size_t k = 0;
        for (; k < LEDGER_CHAIN_MAX && i + (long)k < naccounts; k++) {
            g[k] = (struct ledger_transfer){.debit_account = src, .credit_account = wallets[i + (long)k], .amount = 100000};
            snprintf(g[k].key, sizeof g[k].key, "fund-%ld", i + (long)k);
            snprintf(g[k].kind, sizeof g[k].kind, "topup_card");
        }
        if (ledger_writer_submit_wait(w, g, k, NULL, NULL) != ERR_OK)
            return 1;
    }
    ledger_writer_stop(w);

    printf("kessai ledger benchmark: %ld accounts, %ld in flight, store %s\n", naccounts, inflight, path);
    printf("%-14s %9s %8s %10s %8s %9s %8s %8s %8s %8s %8s\n", "mode", "durable", "seconds", "xfers/s", "commits",
           "avg batch", "p50 ms", "p99 ms", "p999 ms", "commit50", "commit99");
    run(dir, "g", wallets, naccounts, n, inflight, (size_t)batch, 1);
    run(dir, "s", wallets, naccounts, nsingle, inflight, 1, 1);
    printf("ledger verify: ok\n");
    free(wallets);
    if (dir == tmpl) { /* our own scratch directory: leave nothing behind */
        const char *files[] = {"kessai.db", "kessai.db-wal", "kessai.db-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return 0;
}
