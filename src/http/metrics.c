/* metrics.c: fixed histograms on relaxed atomics.
 *
 * Bucket counts are stored per bucket (not cumulatively) so an observation
 * is one increment; render accumulates.  A scrape can see a count and its
 * sum from slightly different instants: Prometheus tolerates that, and it
 * keeps the hot path free of locks.
 */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define HIST_MAX 16
#define CLASSES 5 /* 1xx..5xx */

struct hist {
    const double *bounds; /* upper bounds, in the unit the series is shown in */
    size_t nb;
    double scale; /* observed unit per shown unit (1e9 for ns -> s) */
    atomic_uint_fast64_t bucket[HIST_MAX + 1]; /* last one: +Inf */
    atomic_uint_fast64_t sum;                   /* observed unit */
    atomic_uint_fast64_t count;
};

struct route_stats {
    atomic_uint_fast64_t by_class[CLASSES];
    struct hist latency;
};

struct http_metrics {
    const struct http_route *routes;
    size_t nroutes;
    struct route_stats *stats; /* nroutes + 1: the last is "unmatched" */
    atomic_int_fast64_t inflight;
    struct hist batch;
    struct hist commit;
    atomic_uint_fast64_t groups;
};

/* Prometheus' default buckets: right for request latencies. */
static const double latency_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
/* Transfers per commit: grouping shows as mass moving right under load. */
static const double batch_n[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
/* An fsync is ~0.1-10 ms on real disks; finer low buckets than latency. */
static const double commit_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

#define N(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(N(latency_s) <= HIST_MAX && N(batch_n) <= HIST_MAX && N(commit_s) <= HIST_MAX, "HIST_MAX");

static void hist_init(struct hist *h, const double *bounds, size_t nb, double scale)
{
    h->bounds = bounds;
    h->nb = nb;
    h->scale = scale;
    for (size_t i = 0; i <= HIST_MAX; i++)
        atomic_init(&h->bucket[i], 0);
    atomic_init(&h->sum, 0);
    atomic_init(&h->count, 0);
}

static void hist_observe(struct hist *h, uint64_t v)
{
    double shown = (double)v / h->scale;
    size_t i = 0;
    while (i < h->nb && shown > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

struct http_metrics *http_metrics_new(const struct http_route *routes, size_t nroutes)
{
    struct http_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->stats = calloc(nroutes + 1, sizeof *m->stats);
    if (m->stats == NULL) {
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->nroutes = nroutes;
    for (size_t r = 0; r <= nroutes; r++) {
        for (size_t c = 0; c < CLASSES; c++)
            atomic_init(&m->stats[r].by_class[c], 0);
        hist_init(&m->stats[r].latency, latency_s, N(latency_s), 1e9);
    }
    atomic_init(&m->inflight, 0);
    atomic_init(&m->groups, 0);
    hist_init(&m->batch, batch_n, N(batch_n), 1);
    hist_init(&m->commit, commit_s, N(commit_s), 1e9);
    return m;
}

void http_metrics_free(struct http_metrics *m)
{
    if (m == NULL)
        return;
    free(m->stats);
    free(m);
}

void http_metrics_observe_request(struct http_metrics *m, long route_index, int status, int64_t duration_ns)
{
    if (m == NULL)
        return;
    size_t r = route_index < 0 || (size_t)route_index >= m->nroutes ? m->nroutes : (size_t)route_index;
    int cls = status / 100 - 1;
    if (cls >= 0 && cls < CLASSES)
        atomic_fetch_add_explicit(&m->stats[r].by_class[cls], 1, memory_order_relaxed);
    hist_observe(&m->stats[r].latency, duration_ns > 0 ? (uint64_t)duration_ns : 0);
}

void http_metrics_inflight_add(struct http_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->inflight, delta, memory_order_relaxed);
}

void http_metrics_observe_commit(void *metrics, size_t groups, size_t transfers, int64_t commit_ns)
{
    struct http_metrics *m = metrics;
    if (m == NULL)
        return;
    atomic_fetch_add_explicit(&m->groups, groups, memory_order_relaxed);
    hist_observe(&m->batch, transfers);
    hist_observe(&m->commit, commit_ns > 0 ? (uint64_t)commit_ns : 0);
}

/* Label values are route patterns from our own table, but escape anyway:
 * a quote in a pattern must not break the exposition format. */
static void put_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void route_labels(FILE *f, const struct http_metrics *m, size_t r)
{
    fputs("method=\"", f);
    put_label(f, r < m->nroutes ? m->routes[r].method : "any");
    fputs("\",route=\"", f);
    put_label(f, r < m->nroutes ? m->routes[r].pattern : "unmatched");
    fputc('"', f);
}

/* m and r give the route labels of a per-route series; m is NULL for the others. */
static void put_hist(FILE *f, const char *name, struct hist *h, const struct http_metrics *m, size_t r)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->nb; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        fprintf(f, "%s_bucket{", name);
        if (m) {
            route_labels(f, m, r);
            fputc(',', f);
        }
        if (i < h->nb)
            fprintf(f, "le=\"%g\"} %llu\n", h->bounds[i], (unsigned long long)cum);
        else
            fprintf(f, "le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    double sum = (double)atomic_load_explicit(&h->sum, memory_order_relaxed) / h->scale;
    unsigned long long count = atomic_load_explicit(&h->count, memory_order_relaxed);
    fprintf(f, "%s_sum", name);
    if (m) {
        fputc('{', f);
        route_labels(f, m, r);
        fputc('}', f);
    }
    fprintf(f, " %.9g\n%s_count", sum, name);
    if (m) {
        fputc('{', f);
        route_labels(f, m, r);
        fputc('}', f);
    }
    fprintf(f, " %llu\n", count);
}

char *http_metrics_render(struct http_metrics *m, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return NULL;

    fputs("# HELP kessai_http_requests_total HTTP requests answered, by route and status class.\n"
          "# TYPE kessai_http_requests_total counter\n",
          f);
    for (size_t r = 0; r <= m->nroutes; r++) {
        for (int c = 0; c < CLASSES; c++) {
            unsigned long long v = atomic_load_explicit(&m->stats[r].by_class[c], memory_order_relaxed);
            if (v == 0)
                continue; /* absent series read as 0; keeps the page short */
            fputs("kessai_http_requests_total{", f);
            route_labels(f, m, r);
            fprintf(f, ",code=\"%dxx\"} %llu\n", c + 1, v);
        }
    }
    fputs("# HELP kessai_http_request_duration_seconds Time from request headers to the end of the reply.\n"
          "# TYPE kessai_http_request_duration_seconds histogram\n",
          f);
    for (size_t r = 0; r <= m->nroutes; r++)
        if (atomic_load_explicit(&m->stats[r].latency.count, memory_order_relaxed) > 0)
            put_hist(f, "kessai_http_request_duration_seconds", &m->stats[r].latency, m, r);
    fprintf(f,
            "# HELP kessai_http_requests_in_flight Requests received and not yet finished.\n"
            "# TYPE kessai_http_requests_in_flight gauge\n"
            "kessai_http_requests_in_flight %lld\n",
            (long long)atomic_load_explicit(&m->inflight, memory_order_relaxed));
    fputs("# HELP kessai_ledger_commit_batch_transfers Transfers per durable ledger commit.\n"
          "# TYPE kessai_ledger_commit_batch_transfers histogram\n",
          f);
    put_hist(f, "kessai_ledger_commit_batch_transfers", &m->batch, NULL, 0);
    fprintf(f,
            "# HELP kessai_ledger_commit_groups_total Request groups committed by the ledger writer.\n"
            "# TYPE kessai_ledger_commit_groups_total counter\n"
            "kessai_ledger_commit_groups_total %llu\n",
            (unsigned long long)atomic_load_explicit(&m->groups, memory_order_relaxed));
    fputs("# HELP kessai_ledger_commit_duration_seconds Time to apply and durably commit one batch.\n"
          "# TYPE kessai_ledger_commit_duration_seconds histogram\n",
          f);
    put_hist(f, "kessai_ledger_commit_duration_seconds", &m->commit, NULL, 0);

    if (ferror(f)) {
        fclose(f);
        free(buf);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
