/* bench_charges.c: `kessai bench charges`: durable charges per second at
 * the register, measured from outside over HTTP (bench.h, bench/README.md).
 *
 *   SETUP   own kessaid: a temporary data directory on disk, seeded, then
 *           kessaid started on a free port of 127.0.0.1;
 *           --url: the running kessaid's data directory (--data-dir) is
 *           seeded while it serves (same machine)
 *   LOAD    every connection: a code for a customer, then a signed charge
 *           of it (bench_load.c), for --seconds; with --codes-ahead every
 *           code is issued before that window, which then holds only charges
 *   STOP    own kessaid: SIGTERM (in-flight requests finish, the writer
 *           flushes)
 *   CHECK   every acknowledged charge is in the ledger under its transfer
 *           key "cpm:trm_…:<Idempotency-Key>", with the receipt's id, the
 *           amount and the customer's wallet; then `ledger verify`
 *   REPORT  charges/s, latency percentiles, errors, the check, the CPU
 *           time per acknowledged charge of this generator and (own
 *           kessaid) of kessaid's threads, and how the writer grouped the
 *           load into commits (kessaid's GET /metrics), over the window
 *
 * Exit status 0 only if charges were acknowledged and the check holds;
 * errors under load (refusals, 5xx) are reported, not fatal: they are part
 * of what is measured.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "ledger/ledger.h"
#include "merchant/terminal.h"
#include "wallet/wallet_types.h"

#define DEFAULT_SECONDS 10
#define DEFAULT_CONNECTIONS 64
#define DEFAULT_CUSTOMERS 1000
#define FUNDING 10000000 /* yen per wallet: no charge of a run can run out */
#define AMOUNT_MIN 100
#define AMOUNT_MAX 2000
#define SESSION_S (12 * 3600)

#define SETTINGS_MAX 16
/* --codes-ahead: a code issued before the window must still be valid (60 s)
 * when the window's last charge presents it (bench_load.c: at most 30 s
 * are spent issuing). */
#define CODES_AHEAD_SECONDS_MAX 20
#define CODES_AHEAD_MAX 2000000

struct bench_args {
    const char *url;
    int64_t seconds, connections, customers, terminals;
    int64_t codes_ahead; /* 0: codes issued in the window, one per charge */
    char set_buf[1024];          /* --set, split in place */
    const char *set[SETTINGS_MAX];
    size_t nset;
};

/* --set "KESSAI_A=1 KESSAI_B=2": each word a KESSAI_ setting for the own kessaid. */
static int parse_set(const struct cli_ctx *x, struct bench_args *a)
{
    const char *v = cli_opt(x, "--set");
    if (v == NULL)
        return CLI_EXIT_OK;
    if (a->url)
        return cli_usage_error(x->cmd, "--set configures the benchmark's own kessaid; not with --url");
    if (strlen(v) >= sizeof a->set_buf)
        return cli_usage_error(x->cmd, "--set is too long");
    memcpy(a->set_buf, v, strlen(v) + 1);
    char *save = NULL;
    for (char *w = strtok_r(a->set_buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (strncmp(w, "KESSAI_", 7) != 0 || strchr(w, '=') == NULL || a->nset == SETTINGS_MAX)
            return cli_usage_error(x->cmd, "--set takes up to %d words KESSAI_NAME=VALUE", SETTINGS_MAX);
        a->set[a->nset++] = w;
    }
    return CLI_EXIT_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile q (0..1) of v[n] (sorted here), in milliseconds. */
static double pct(uint32_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1] / 1000.0;
}

struct pcts {
    double p50, p99, p999;
};

static struct pcts percentiles(uint32_t *v, size_t n)
{
    if (n == 0)
        return (struct pcts){0, 0, 0};
    qsort(v, n, sizeof *v, cmp_u32);
    return (struct pcts){pct(v, n, 0.50), pct(v, n, 0.99), pct(v, n, 0.999)};
}

struct check {
    size_t found, missing, wrong;
    struct ledger_verify_report rep;
    enum err verify_err;
};

/* CHECK: each acknowledged charge by its transfer key, then the books. */
static enum err check_ledger(const char *db, const struct bench_seed *seed, const struct bench_stats *st,
                             struct check *out)
{
    memset(out, 0, sizeof *out);
    struct store *s = NULL;
    enum err e = store_open_sqlite(db, &s);
    if (e != ERR_OK)
        return e;
    for (size_t i = 0; e == ERR_OK && i < st->nacks; i++) {
        const struct bench_ack *a = &st->acks[i];
        char key[LEDGER_KEY_MAX + 1], trm[IDS_BUF];
        snprintf(key, sizeof key, "cpm:%s:%s", ids_format(trm, TERMINAL_ID_PREFIX, seed->terminals[a->terminal].id),
                 a->idem);
        struct ledger_transfer x;
        enum err g = s->ops->transfer_get_by_key(s, key, &x);
        if (g == ERR_TRANSFER_NOT_FOUND) {
            if (out->missing++ < 5)
                fprintf(stderr, "kessai: bench: acknowledged charge %s (key %s) is not in the ledger\n", a->idem, key);
        } else if (g != ERR_OK) {
            e = g;
        } else if (x.id != a->payment || x.amount != a->amount ||
                   x.debit_account != seed->customers[a->customer].wallet || x.state != LEDGER_STATE_POSTED) {
            if (out->wrong++ < 5)
                fprintf(stderr, "kessai: bench: charge %s differs in the ledger (id, amount, wallet or state)\n",
                        a->idem);
        } else {
            out->found++;
        }
    }
    if (e == ERR_OK)
        out->verify_err = ledger_verify(s, stderr, &out->rep);
    store_close(s);
    return e;
}

/* What was measured over the load beside it: CPU time (reported per
 * acknowledged charge) and the writer's commits. */
struct measures {
    /* where the window started: read by start_measures */
    pid_t pid;                     /* own kessaid, or 0 */
    const struct sockaddr_in *addr;
    struct bench_cpu k0, g0;
    struct bench_commits c0;
    bool kessaid_known; /* own kessaid only: with --url its pid is not ours to know */
    struct bench_cpu kessaid;
    double generator;
    bool commits_known; /* kessaid's /metrics answered before and after, and it committed */
    struct bench_commits commits;
};

/* window_start of the load: the counters' values as the window opens. */
static void start_measures(void *arg)
{
    struct measures *u = arg;
    u->commits_known = bench_commits_read(u->addr, &u->c0) == ERR_OK;
    u->kessaid_known = u->pid > 0 && bench_cpu_read(u->pid, &u->k0) == ERR_OK;
    (void)bench_cpu_read(getpid(), &u->g0);
}

/* The counters' values now, against the window's start. */
static void end_measures(struct measures *u)
{
    struct bench_cpu now;
    struct bench_commits c1;
    u->kessaid_known = u->kessaid_known && bench_cpu_read(u->pid, &now) == ERR_OK;
    if (u->kessaid_known)
        bench_cpu_diff(&u->k0, &now, &u->kessaid);
    u->commits_known = u->commits_known && bench_commits_read(u->addr, &c1) == ERR_OK;
    if (u->commits_known)
        bench_commits_diff(&u->c0, &c1, &u->commits);
    u->commits_known = u->commits_known && u->commits.commits > 0;
    if (bench_cpu_read(getpid(), &now) == ERR_OK)
        u->generator = bench_cpu_total(&now) - bench_cpu_total(&u->g0);
}

static double per_charge_us(double seconds, const struct bench_stats *st)
{
    return st->nacks ? seconds * 1e6 / (double)st->nacks : 0;
}

/* "kessaid 412 µs (MHD-worker 150, ledger-writer 130, ledger-done 110, other 22); generator 28 µs" */
static void print_cpu(const struct measures *u, const struct bench_stats *st)
{
    printf("  CPU/charge     ");
    if (u->kessaid_known) {
        printf("kessaid %.0f µs (", per_charge_us(bench_cpu_total(&u->kessaid), st));
        double other = 0;
        for (size_t i = 0; i < u->kessaid.n; i++) {
            if (i < 3)
                printf("%s %.0f, ", u->kessaid.by_name[i].name, per_charge_us(u->kessaid.by_name[i].seconds, st));
            else
                other += u->kessaid.by_name[i].seconds;
        }
        printf("other %.0f); ", per_charge_us(other, st));
    }
    printf("this generator %.0f µs\n", per_charge_us(u->generator, st));
}

/* "commits        118/s, 76.1 requests (38.0 transfers) a commit, 7.7 ms each" */
static void print_commits(const struct measures *u, const struct bench_stats *st)
{
    const struct bench_commits *c = &u->commits;
    if (!u->commits_known)
        return;
    printf("  commits        %.0f/s, %.1f requests (%.1f transfers) a commit, %.2f ms each   (ledger writer)\n",
           c->commits / st->seconds, c->groups / c->commits, c->transfers / c->commits, c->seconds * 1e3 / c->commits);
}

static void report_text(const struct bench_args *a, const char *where, const struct bench_stats *st,
                        const struct pcts *ch, const struct pcts *cd, const struct pcts *fl, const struct check *c,
                        const struct measures *u)
{
    printf("kessai bench charges: %" PRId64 " connections, %" PRId64 " customers, %" PRId64
           " terminals, %" PRId64 " s, %s\n",
           a->connections, a->customers, a->terminals, a->seconds, where);
    printf("  charges/s      %.0f  (%" PRIu64 " durable charges acknowledged in %.1f s; ", (double)st->charges / st->seconds,
           st->charges, st->seconds);
    if (a->codes_ahead)
        printf("their codes issued ahead: %zu in %.1f s, %.0f/s)\n", st->codes_ahead, st->codes_ahead_s,
               (double)st->codes_ahead / st->codes_ahead_s);
    else
        printf("codes issued %.0f/s)\n", (double)st->codes / st->seconds);
    if (st->stock_out_s > 0)
        printf("  codes ahead    ran out %.1f s into the window: charges/s is short of what kessaid could do\n",
               st->stock_out_s);
    printf("  charge ms      p50 %.2f  p99 %.2f  p99.9 %.2f   (POST /pos/v1/charges)\n", ch->p50, ch->p99, ch->p999);
    printf("  code ms        p50 %.2f  p99 %.2f  p99.9 %.2f   (POST /v1/paycodes%s)\n", cd->p50, cd->p99, cd->p999,
           a->codes_ahead ? ", ahead" : "");
    if (!a->codes_ahead)
        printf("  code+charge ms p50 %.2f  p99 %.2f  p99.9 %.2f\n", fl->p50, fl->p99, fl->p999);
    printf("  errors         %" PRIu64 " (4xx %" PRIu64 ", 5xx %" PRIu64 ", connection %" PRIu64 ")", st->errors,
           st->status[4], st->status[5], st->status[0]);
    if (st->errors)
        printf("; at %.1f-%.1f s; first: %s", st->first_error_s, st->last_error_s, st->first_error);
    printf("\n");
    printf("  check          %zu of %zu acknowledged charges in the ledger by transfer key (%zu missing, %zu "
           "different); ledger verify: %s (%zu accounts, %zu transfers)\n",
           c->found, st->nacks, c->missing, c->wrong,
           c->verify_err != ERR_OK ? "could not run" : c->rep.violations ? "FAILED" : "ok", c->rep.accounts,
           c->rep.transfers);
    print_cpu(u, st);
    print_commits(u, st);
}

/* Microseconds, as integers: JSON readers get exact figures, not binary fractions. */
static json_int_t us(double ms) { return (json_int_t)llround(ms * 1000.0); }

static json_t *cpu_json(const struct measures *u, const struct bench_stats *st)
{
    json_t *threads = json_object();
    for (size_t i = 0; u->kessaid_known && i < u->kessaid.n; i++)
        json_object_set_new(threads, u->kessaid.by_name[i].name,
                            json_integer(llround(per_charge_us(u->kessaid.by_name[i].seconds, st))));
    return json_pack("{s:o, s:o, s:I}", "kessaid",
                     u->kessaid_known ? json_integer(llround(per_charge_us(bench_cpu_total(&u->kessaid), st)))
                                      : json_null(),
                     "kessaid_threads", threads, "generator", (json_int_t)llround(per_charge_us(u->generator, st)));
}

/* Counts as integers (readers divide), the time per commit in µs. */
static json_t *commits_json(const struct measures *u, const struct bench_stats *st)
{
    const struct bench_commits *c = &u->commits;
    if (!u->commits_known)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "commits", (json_int_t)llround(c->commits), "requests",
                     (json_int_t)llround(c->groups), "transfers", (json_int_t)llround(c->transfers), "per_s",
                     (json_int_t)llround(c->commits / st->seconds), "us_each",
                     (json_int_t)llround(c->seconds * 1e6 / c->commits));
}

static int report_json(const struct bench_args *a, const struct bench_stats *st, const struct pcts *ch,
                       const struct pcts *cd, const struct pcts *fl, const struct check *c, const struct measures *u)
{
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:I, s:s, "
        "s:{s:I, s:I, s:I, s:b}, s:o, s:o, s:o, s:o}",
        "connections", (json_int_t)a->connections, "customers", (json_int_t)a->customers, "terminals",
        (json_int_t)a->terminals, "seconds", (json_int_t)a->seconds, "charges_per_s",
        (json_int_t)llround((double)st->charges / st->seconds), "charges", (json_int_t)st->charges, "codes_per_s",
        (json_int_t)llround((double)st->codes / st->seconds), "charge_us", "p50", us(ch->p50), "p99", us(ch->p99),
        "p999", us(ch->p999), "code_us", "p50", us(cd->p50), "p99", us(cd->p99), "p999", us(cd->p999), "flow_us",
        "p50", us(fl->p50), "p99", us(fl->p99), "p999", us(fl->p999), "errors", (json_int_t)st->errors,
        "first_error", st->first_error, "check", "acknowledged", (json_int_t)st->nacks, "in_ledger",
        (json_int_t)c->found, "violations", (json_int_t)c->rep.violations, "verify_ok",
        c->verify_err == ERR_OK && c->rep.violations == 0, "cpu_us_per_charge", cpu_json(u, st),
        "commits", commits_json(u, st), "errors_at",
        st->errors ? json_pack("[f, f]", st->first_error_s, st->last_error_s) : json_null(), "codes_ahead",
        a->codes_ahead ? json_pack("{s:I, s:f, s:o}", "codes", (json_int_t)st->codes_ahead, "seconds",
                                   st->codes_ahead_s, "ran_out_at",
                                   st->stock_out_s > 0 ? json_real(st->stock_out_s) : json_null())
                       : json_null());
    return cli_print_json(j);
}

/* Seed db, and for an own kessaid start it; *addr where it listens. */
static int setup(struct cli_ctx *x, const struct bench_args *a, struct bench_server *own, char *db, size_t dbn,
                 struct sockaddr_in *addr, struct bench_seed *seed)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    if (a->url) {
        snprintf(dir, sizeof dir, "%s", x->data_dir);
        snprintf(path, sizeof path, "%s/kessai.db", dir);
        if (access(path, F_OK) != 0)
            return cli_failure("--url needs the data directory of that kessaid (--data-dir): no %s", path);
    } else {
        if (bench_server_mkdir(own) != ERR_OK)
            return CLI_EXIT_FAIL;
        snprintf(dir, sizeof dir, "%s", own->dir);
    }
    snprintf(db, dbn, "%s/kessai.db", dir);
    snprintf(path, sizeof path, "%s/master.key", dir);
    uint8_t mk[MASTERKEY_BYTES];
    if (masterkey_load_or_create(path, mk) != ERR_OK)
        return cli_failure("cannot read or create the master key %s", path);
    char tag[17];
    uint8_t raw[8];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(tag, sizeof tag, raw, sizeof raw);
    enum err e = bench_seed(db, mk, (size_t)a->customers, (size_t)a->terminals, FUNDING, SESSION_S, tag, seed);
    sodium_memzero(mk, sizeof mk);
    if (e != ERR_OK)
        return CLI_EXIT_FAIL;
    if (a->url)
        return CLI_EXIT_OK;
    /* The limits are the deployment's to choose; the benchmark's customers
     * pay far more often than people do (each about twice a second), so
     * the daily and monthly caps would end the run and the risk engine's
     * velocity rules (counts and amounts) would rightly challenge it, the
     * charges then waiting for customers who never answer: both are
     * lifted, the engine still scores every charge.  No access log line per request: at these
     * rates it is a disk of its own. */
    static const char *const base[] = {"KESSAI_PAY_DAILY_MAX=1000000000",
                                       "KESSAI_PAY_MONTHLY_MAX=1000000000",
                                       "KESSAI_RISK_VELOCITY_CUSTOMER_COUNT=10000000",
                                       "KESSAI_RISK_VELOCITY_DEVICE_COUNT=10000000",
                                       "KESSAI_RISK_VELOCITY_TERMINAL_COUNT=10000000",
                                       "KESSAI_RISK_VELOCITY_STORE_COUNT=10000000",
                                       "KESSAI_RISK_VELOCITY_CUSTOMER_AMOUNT=10000000000",
                                       "KESSAI_RISK_VELOCITY_DEVICE_AMOUNT=10000000000",
                                       "KESSAI_RISK_VELOCITY_TERMINAL_AMOUNT=10000000000",
                                       "KESSAI_RISK_VELOCITY_STORE_AMOUNT=10000000000",
                                       "KESSAI_LOG_LEVEL=warn"};
    const char *env[sizeof base / sizeof base[0] + SETTINGS_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < a->nset; i++)
        env[n++] = a->set[i];
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        /* --set wins: getenv() would take whichever comes first. */
        size_t len = (size_t)(strchr(base[i], '=') - base[i]) + 1;
        bool given = false;
        for (size_t k = 0; k < a->nset; k++)
            given |= strncmp(a->set[k], base[i], len) == 0;
        if (!given)
            env[n++] = base[i];
    }
    env[n] = NULL;
    fprintf(stderr, "starting kessaid on %s...\n", own->dir);
    if (bench_server_start(own, env) != ERR_OK)
        return CLI_EXIT_FAIL;
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(own->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return CLI_EXIT_OK;
}

int cli_run_bench_charges(struct cli_ctx *x)
{
    struct bench_args a = {.url = cli_opt(x, "--url")};
    int rc = cli_parse_opt_int(x, "--seconds", 1, 3600, DEFAULT_SECONDS, &a.seconds);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--connections", 1, 10000, DEFAULT_CONNECTIONS, &a.connections);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--customers", 1, 10000000, DEFAULT_CUSTOMERS, &a.customers);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--terminals", 1, 10000, a.connections < 64 ? a.connections : 64, &a.terminals);
    if (rc == CLI_EXIT_OK)
        rc = parse_set(x, &a);
    if (rc == CLI_EXIT_OK)
        rc = cli_parse_opt_int(x, "--codes-ahead", 1, CODES_AHEAD_MAX, 0, &a.codes_ahead);
    if (rc == CLI_EXIT_OK && a.codes_ahead && a.seconds > CODES_AHEAD_SECONDS_MAX)
        rc = cli_usage_error(x->cmd, "--codes-ahead takes --seconds up to %d: a code is valid 60 s",
                             CODES_AHEAD_SECONDS_MAX);
    struct sockaddr_in addr = {0};
    if (rc == CLI_EXIT_OK && a.url)
        rc = cli_parse_url(x, a.url, CLI_EXIT_FAIL, &addr);
    if (rc != CLI_EXIT_OK)
        return rc;

    struct bench_server own;
    memset(&own, 0, sizeof own);
    struct bench_seed seed;
    memset(&seed, 0, sizeof seed);
    char db[PATH_MAX + 16], where[128];
    rc = setup(x, &a, &own, db, sizeof db, &addr, &seed);
    if (rc != CLI_EXIT_OK) {
        bench_server_cleanup(&own);
        return rc;
    }
    snprintf(where, sizeof where, "%s kessaid at %s:%u", a.url ? "the" : "own", inet_ntoa(addr.sin_addr),
             (unsigned)ntohs(addr.sin_port));

    if (a.codes_ahead)
        fprintf(stderr, "issuing %" PRId64 " codes ahead, then ", a.codes_ahead);
    fprintf(stderr, "charging for %" PRId64 " s on %" PRId64 " connections...\n", a.seconds, a.connections);
    struct bench_load_opts lo = {.addr = addr,
                                 .seconds = (double)a.seconds,
                                 .connections = (size_t)a.connections,
                                 .amount_min = AMOUNT_MIN,
                                 .amount_max = AMOUNT_MAX,
                                 .run_id = (uint64_t)randombytes_random(),
                                 .codes_ahead = (size_t)a.codes_ahead};
    struct bench_stats st;
    struct measures u = {.pid = a.url ? 0 : own.pid, .addr = &addr};
    lo.window_start = start_measures;
    lo.window_arg = &u;
    enum err e = bench_load_run(&lo, &seed, &st);
    end_measures(&u);
    int status = a.url ? 0 : bench_server_stop(&own);
    if (status != 0)
        fprintf(stderr, "kessai: bench: kessaid exited with status %d\n", status);
    struct check c;
    memset(&c, 0, sizeof c);
    if (e == ERR_OK) {
        fprintf(stderr, "checking %zu acknowledged charges against the ledger...\n", st.nacks);
        e = check_ledger(db, &seed, &st, &c);
        struct pcts ch = percentiles(st.charge_us, st.ncharge_us), cd = percentiles(st.code_us, st.ncode_us),
                    fl = percentiles(st.flow_us, st.nflow_us);
        if (x->json)
            report_json(&a, &st, &ch, &cd, &fl, &c, &u);
        else
            report_text(&a, where, &st, &ch, &cd, &fl, &c, &u);
    }
    bool ok = e == ERR_OK && c.missing == 0 && c.wrong == 0 && c.verify_err == ERR_OK && c.rep.violations == 0 &&
              st.nacks > 0;
    if (e != ERR_OK)
        cli_failure("the benchmark could not run to the end: %s", err_message(e));
    else if (st.nacks == 0)
        cli_failure("not one charge was acknowledged");
    if (!a.url && (!ok || status != 0 || st.errors > 0))
        bench_server_keep_log(&own);
    bench_stats_free(&st);
    bench_seed_free(&seed);
    bench_server_cleanup(&own);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
