/* run.c: one simulation run (sim.h): its own kessaid or the given one, the
 * chain's stores, the population, the attacks, the event loop over
 * simulated time, the reconciliation of every balance against the
 * server's, `kessai ledger verify` and `kessai audit verify`, the report. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench.h"
#include "sim/sim.h"
#include "util/timeutil.h"

extern char **environ;

/* ---- the clock ---- */

/* Simulated second 0 with its own kessaid: a fixed Monday, at --start-hour
 * in Japan (UTC+9, where the stores' hours and the server's days are), so
 * that every stored time, ISO timestamps included, repeats from run to run. */
#define CLOCK_DAY "2026-01-05"
#define JST_OFFSET_MS (9 * TIME_HOUR_MS)

int64_t sim_clock_ms(const struct sim_world *w)
{
    if (w->clock)
        return w->clock_epoch_ms + (int64_t)(w->now * 1000 + 0.5); /* now >= 0 */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move the server's clock to the simulated time (never back: w->now only grows). */
static void clock_tick(struct sim_world *w)
{
    if (w->clock)
        __atomic_store_n(w->clock, (int64_t)htole64((uint64_t)sim_clock_ms(w)), __ATOMIC_RELEASE);
}

/* The clock file (0600, in the server's data directory), mapped; its path in path. */
static bool clock_create(struct sim_world *w, const char *dir, char *path, size_t n)
{
    int64_t day = 0;
    if (time_parse_iso8601(CLOCK_DAY, &day) != ERR_OK)
        return false;
    w->clock_epoch_ms = day - JST_OFFSET_MS + w->o->start_hour * TIME_HOUR_MS;
    snprintf(path, n, "%s/sim-clock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return false;
    uint64_t le = htole64((uint64_t)w->clock_epoch_ms);
    bool ok = write(fd, &le, sizeof le) == (ssize_t)sizeof le;
    void *m = ok ? mmap(NULL, sizeof le, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED)
        return false;
    w->clock = m;
    return true;
}

/* ---- events: a binary heap on (t, seq) ---- */

static bool before(const struct sim_event *a, const struct sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_push(struct sim_world *w, double t, uint16_t kind, uint16_t scn, uint32_t actor, uint32_t arg)
{
    if (w->nev == w->cap_ev) {
        size_t cap = w->cap_ev ? w->cap_ev * 2 : 1024;
        struct sim_event *p = realloc(w->ev, cap * sizeof *p);
        if (p == NULL)
            return;
        w->ev = p;
        w->cap_ev = cap;
    }
    size_t i = w->nev++;
    w->ev[i] = (struct sim_event){.t = t, .seq = w->next_seq++, .kind = kind, .scn = scn, .actor = actor, .arg = arg};
    while (i > 0 && before(&w->ev[i], &w->ev[(i - 1) / 2])) {
        struct sim_event tmp = w->ev[i];
        w->ev[i] = w->ev[(i - 1) / 2];
        w->ev[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static bool pop(struct sim_world *w, struct sim_event *out)
{
    if (w->nev == 0)
        return false;
    *out = w->ev[0];
    w->ev[0] = w->ev[--w->nev];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->nev && before(&w->ev[l], &w->ev[m]))
            m = l;
        if (r < w->nev && before(&w->ev[r], &w->ev[m]))
            m = r;
        if (m == i)
            break;
        struct sim_event tmp = w->ev[i];
        w->ev[i] = w->ev[m];
        w->ev[m] = tmp;
        i = m;
    }
    return true;
}

/* ---- calls ---- */

void sim_new_src(struct sim_world *w, char out[SIM_SRC_MAX])
{
    /* 127.10.0.1 onwards, skipping .0 and .255: one client address each. */
    uint32_t i = w->next_src++;
    uint32_t a = i / 254, c = i % 254 + 1;
    snprintf(out, SIM_SRC_MAX, "127.%u.%u.%u", 10 + a / 256, a % 256, c);
}

void sim_call_raw(struct sim_world *w, const char *op, const char *src, const char *method, const char *path,
                  const char *headers, const char *body, struct sim_resp *out)
{
    sim_http_call(&w->http, src, method, path, headers, body, out);
    if (out->status == 0)
        snprintf(out->code, sizeof out->code, "connection_failed");
    pthread_mutex_lock(&w->lock);
    w->requests++;
    sim_lat_add(w, op, out->us);
    pthread_mutex_unlock(&w->lock);
}

void sim_call(struct sim_world *w, const char *op, const char *src, const char *method, const char *path,
              const char *headers, json_t *body, struct sim_resp *out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    sim_call_raw(w, op, src, method, path, headers, text, out);
    if (text) {
        sodium_memzero(text, strlen(text)); /* passwords, codes */
        free(text);
    }
}

void sim_call_as(struct sim_world *w, const char *op, struct sim_customer *c, const struct sim_phone *p,
                 const char *method, const char *path, json_t *body, bool idem, struct sim_resp *out)
{
    char headers[400];
    int n = snprintf(headers, sizeof headers, "Authorization: Bearer %s\r\nKessai-Device: %s\r\n", p->token,
                     p->device_id);
    if (idem)
        snprintf(headers + n, sizeof headers - (size_t)n, "Idempotency-Key: sim-%s-%zu-%" PRIu64 "\r\n", w->tag,
                 (size_t)(c - w->c), ++c->idem);
    sim_call(w, op, p->src[0] ? p->src : c->src, method, path, headers, body, out);
    sodium_memzero(headers, sizeof headers);
}

void sim_count(json_t *obj, const char *key, uint64_t by)
{
    json_int_t v = json_integer_value(json_object_get(obj, key));
    json_object_set_new(obj, key, json_integer(v + (json_int_t)by));
}

void sim_check_name(const struct sim_resp *r, char *out, size_t n)
{
    if (r->param[0] && (strcmp(r->code, "limit_exceeded") == 0 || strcmp(r->code, "rate_limited") == 0))
        snprintf(out, n, "%s:%s", r->code, r->param);
    else if (r->code[0])
        snprintf(out, n, "%s", r->code);
    else
        snprintf(out, n, "http_%d", r->status);
}

/* ---- the kessai CLI ---- */

/* Run `kessai --data-dir DIR args…`; its exit status and stdout. */
static int run_cli(struct sim_world *w, const char *const *args, char **out)
{
    const char *argv[32];
    size_t k = 0;
    argv[k++] = w->self;
    argv[k++] = "--data-dir";
    argv[k++] = w->data_dir;
    for (const char *const *a = args; *a && k < 31; a++)
        argv[k++] = *a;
    argv[k] = NULL;
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        /* Its messages (the terminal secret's warning) are for people at a
         * terminal; a failure shows in the exit status. */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(fds[1], 1);
        if (devnull >= 0)
            dup2(devnull, 2);
        if (w->clock) {
            /* The commands keep the server's clock: the stores' times and
             * the verifications see the times kessaid stored. */
            char *env[512];
            size_t e = 0;
            for (char **p = environ; *p && e < 510; p++)
                if (strncmp(*p, "KESSAI_CLOCK_FILE=", 18) != 0)
                    env[e++] = *p;
            env[e++] = w->clock_env;
            env[e] = NULL;
            execve(w->self, (char *const *)argv, env);
        } else {
            execv(w->self, (char *const *)argv);
        }
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = read(fds[0], buf + n, cap - n - 1)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        n += (size_t)r;
        if (cap - n < 2) {
            char *p = realloc(buf, cap * 2);
            if (p == NULL)
                break;
            buf = p;
            cap *= 2;
        }
    }
    close(fds[0]);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (buf)
        buf[n] = '\0';
    *out = buf;
    return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json_t *sim_admin(struct sim_world *w, const char *const *args)
{
    const char *a[32];
    size_t k = 0;
    for (const char *const *p = args; *p && k < 30; p++)
        a[k++] = *p;
    a[k++] = "--json";
    a[k] = NULL;
    char *out = NULL;
    int rc = run_cli(w, a, &out);
    json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
    if (j == NULL)
        fprintf(stderr, "kessai: simulate: `kessai %s %s %s` failed (exit %d)\n", args[0], args[1] ? args[1] : "",
                args[1] && args[2] ? args[2] : "", rc);
    if (out) {
        sodium_memzero(out, strlen(out)); /* terminal secrets */
        free(out);
    }
    return j;
}

/* "ok" or the command's last line. */
static void verify(struct sim_world *w, const char *what, int slot)
{
    char *out = NULL;
    int rc = run_cli(w, (const char *[]){what, "verify", NULL}, &out);
    if (rc == 0) {
        w->verify_text[slot] = strdup("ok");
    } else {
        char *last = out ? out : "";
        size_t len = out ? strlen(out) : 0;
        while (len > 0 && (out[len - 1] == '\n'))
            out[--len] = '\0';
        char *nl = out ? strrchr(out, '\n') : NULL;
        if (nl)
            last = nl + 1;
        char buf[512];
        snprintf(buf, sizeof buf, "exit %d: %s", rc, last);
        w->verify_text[slot] = strdup(buf);
    }
    free(out);
}

/* ---- reconciliation: every wallet as the simulator expects it ---- */

static void reconcile(struct sim_world *w)
{
    uint64_t checked = 0, mismatched = 0;
    int64_t expected = 0, actual = 0;
    json_t *first = json_null();
    for (size_t i = 0; i < w->nc; i++) {
        struct sim_customer *c = &w->c[i];
        if (!c->onboarded)
            continue;
        struct sim_resp r;
        sim_call_as(w, "wallet", c, &c->phone, "GET", "/v1/wallet", NULL, false, &r);
        if (r.status == 401) {
            /* The session ended (a thief's mismatch revoked it, a reset): sign in again. */
            sim_resp_free(&r);
            struct sim_resp lr;
            if (!sim_login_recovery(w, c, &c->phone, &lr)) {
                sim_resp_free(&lr);
                sim_login(w, c, &c->phone, &lr);
            }
            sim_resp_free(&lr);
            sim_call_as(w, "wallet", c, &c->phone, "GET", "/v1/wallet", NULL, false, &r);
        }
        int64_t bal = (int64_t)json_integer_value(json_object_get(r.j, "balance"));
        if (r.status == 200) {
            checked++;
            expected += c->expected;
            actual += bal;
            if (bal != c->expected) {
                mismatched++;
                if (json_is_null(first)) {
                    json_decref(first);
                    first = json_pack("{s:s, s:I, s:I}", "customer", c->user_id, "expected", (json_int_t)c->expected,
                                      "server", (json_int_t)bal);
                }
            }
        } else {
            mismatched++;
        }
        sim_resp_free(&r);
    }
    w->reconcile = json_pack("{s:I, s:I, s:I, s:I, s:o}", "wallets_checked", (json_int_t)checked, "mismatches",
                             (json_int_t)mismatched, "expected_total_yen", (json_int_t)expected, "server_total_yen",
                             (json_int_t)actual, "first_mismatch", first);
}

/* Mail is delivered moments after the request that queued it (for
 * unauthenticated calls by kessaid's mail thread): wait until nothing new
 * has come for a second (at most 10 s), so that the counts are complete. */
static void settle_mail(struct sim_world *w)
{
    size_t seen = SIZE_MAX;
    int quiet = 0;
    for (int i = 0; i < 100 && quiet < 10; i++) {
        sim_mailbox_poll(&w->mail);
        quiet = w->mail.n == seen ? quiet + 1 : 0;
        seen = w->mail.n;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
}

/* Messages the population received (codes, receipts, alerts): their
 * addresses are c<index>.<tag>@example.jp. */
static uint64_t legit_mail(struct sim_world *w)
{
    char tail[64];
    snprintf(tail, sizeof tail, ".%s@example.jp", w->tag);
    size_t tl = strlen(tail);
    uint64_t n = 0;
    for (size_t i = 0; i < w->mail.n; i++) {
        const char *to = w->mail.m[i]->to;
        size_t len = strlen(to);
        n += to[0] == 'c' && len > tl && strcmp(to + len - tl, tail) == 0;
    }
    return n;
}

/* ---- the run ---- */

static int setup(struct sim_world *w, struct bench_server *own)
{
    ssize_t k = readlink("/proc/self/exe", w->self, sizeof w->self - 1);
    if (k <= 0)
        return 2;
    w->self[k] = '\0';
    if (w->o->url == NULL) {
        if (bench_server_mkdir(own) != ERR_OK)
            return 2;
        snprintf(w->data_dir, sizeof w->data_dir, "%s", own->dir);
        snprintf(w->tag, sizeof w->tag, "s");
        /* Its wall clock is the simulated one (util/timeutil.h): the same
         * seed gives the same windows, code steps and stored times. */
        char path[sizeof own->dir + 16];
        if (!clock_create(w, own->dir, path, sizeof path)) {
            fprintf(stderr, "kessai: simulate: cannot create the clock file in %s\n", own->dir);
            return 2;
        }
        snprintf(w->clock_env, sizeof w->clock_env, "KESSAI_CLOCK_FILE=%s", path);
        if (bench_server_start(own, (const char *const[]){"KESSAI_LOG_LEVEL=warn", w->clock_env, NULL}) != ERR_OK)
            return 2;
        w->http.addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(own->port),
                                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    } else {
        snprintf(w->data_dir, sizeof w->data_dir, "%s", w->o->data_dir);
        /* Several runs against one server need their own addresses. */
        snprintf(w->tag, sizeof w->tag, "%06llx", (unsigned long long)(time(NULL) & 0xffffff));
    }
    w->http.loopback = (ntohl(w->http.addr.sin_addr.s_addr) >> 24) == 127;
    sim_mailbox_init(&w->mail, w->data_dir);
    w->mail.lock = &w->lock;
    sim_mailbox_poll(&w->mail);
    return 0;
}

/* Where the wall time goes, with KESSAI_SIM_PHASES set. */
static void phase(const struct sim_world *w, const char *what)
{
    if (getenv("KESSAI_SIM_PHASES") == NULL)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "phase %s: %.1f s, %" PRIu64 " requests\n", what, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
            w->requests);
}

static void progress(const struct sim_world *w, size_t done, size_t total)
{
    if (!w->o->progress)
        return;
    fprintf(stderr, "\rsimulated %5.1f/%.0f min  events %zu/%zu  requests %" PRIu64 "   ", w->now / 60,
            w->horizon / 60, done, total, w->requests);
}

int sim_run(const struct sim_opts *o)
{
    struct sim_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return 2;
    w->o = o;
    pthread_mutex_init(&w->lock, NULL);
    sim_rng_seed(&w->rng, o->seed);
    w->horizon = (double)o->minutes * 60;
    sim_stats_init(&w->legit, o->scenario);
    struct bench_server own;
    memset(&own, 0, sizeof own);
    w->http.addr = o->url_addr;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = setup(w, &own);
    if (rc == 0 && !sim_stores_create(w))
        rc = 2;
    if (rc == 0) {
        /* The attacks of the scenario (all of them for mix). */
        for (size_t i = 0; i < sim_nscenarios; i++)
            if (strcmp(o->scenario, "mix") == 0 || strcmp(o->scenario, sim_scenarios[i]->name) == 0) {
                struct sim_attack *a = &w->atk[w->natk];
                a->ops = sim_scenarios[i];
                a->index = (uint16_t)w->natk++;
                sim_stats_init(&a->st, a->ops->name);
            }
        sim_population_onboard(w);
        phase(w, "onboarded");
        sim_population_plan(w);
        settle_mail(w); /* attacks count the alerts that come after this */
        for (size_t i = 0; i < w->natk; i++)
            w->atk[i].ops->plan(w, &w->atk[i]);
        size_t total = w->nev, done = 0;
        struct sim_event ev;
        while (pop(w, &ev)) {
            if (ev.t > w->now)
                w->now = ev.t;
            if (ev.kind == SIM_EV_LEGIT && w->clock) {
                /* A customer whose phone has spent its codes of these
                 * steps (it pays or signs in often) acts when they are
                 * there, as its owner would wait. */
                double ready = sim_phone_ready(w, &w->c[ev.actor]);
                if (ready > w->now) {
                    sim_push(w, ready, ev.kind, ev.scn, ev.actor, ev.arg);
                    w->postponed++;
                    continue;
                }
            }
            clock_tick(w);
            if (ev.kind == SIM_EV_LEGIT)
                sim_population_step(w, &ev);
            else if (ev.scn < w->natk)
                w->atk[ev.scn].ops->step(w, &w->atk[ev.scn], &ev);
            if (++done % 50 == 0)
                progress(w, done, total > done ? total : done);
        }
        if (w->horizon > w->now)
            w->now = w->horizon;
        clock_tick(w);
        progress(w, done, done);
        phase(w, "clock ran out");
        if (getenv("KESSAI_SIM_PHASES") && w->clock)
            fprintf(stderr, "actions held for their phone's codes: %" PRIu64 "\n", w->postponed);
        settle_mail(w);
        phase(w, "mail settled");
        w->legit.notifications = legit_mail(w);
        for (size_t i = 0; i < w->natk; i++)
            if (w->atk[i].ops->finish)
                w->atk[i].ops->finish(w, &w->atk[i]);
        reconcile(w);
        phase(w, "reconciled");
    }
    if (o->progress)
        fputc('\n', stderr);
    if (o->url == NULL && own.pid > 0) {
        int st = bench_server_stop(&own);
        if (st != 0)
            fprintf(stderr, "kessai: simulate: kessaid exited with status %d; see %s\n", st, own.log);
    }
    if (rc == 0) {
        if (o->url == NULL) {
            verify(w, "ledger", 0);
            verify(w, "audit", 1);
        } else {
            w->verify_text[0] = strdup("skipped");
            w->verify_text[1] = strdup("skipped");
        }
        w->ledger_verify = w->verify_text[0];
        w->audit_verify = w->verify_text[1];
        clock_gettime(CLOCK_MONOTONIC, &t1);
        w->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        json_t *rep = sim_report_json(w);
        sim_report_text(w, rep, stdout);
        if (o->json_path && json_dump_file(rep, o->json_path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
            fprintf(stderr, "kessai: simulate: cannot write %s\n", o->json_path);
            rc = 2;
        }
        if (rc == 0 && o->html_path && sim_report_html(rep, o->html_path) != 0) {
            fprintf(stderr, "kessai: simulate: cannot write %s\n", o->html_path);
            rc = 2;
        }
        if (rc == 0 && !json_is_true(json_object_get(rep, "targets_met")))
            rc = 1;
        json_decref(rep);
    }
    bench_server_cleanup(&own);
    if (w->clock)
        munmap(w->clock, sizeof *w->clock);
    /* Wipe and free. */
    for (size_t i = 0; i < w->nc; i++)
        sodium_memzero(&w->c[i], sizeof w->c[i]);
    free(w->c);
    for (size_t i = 0; i < w->ns; i++) {
        free(w->s[i].qr);
        sodium_memzero(&w->s[i], sizeof w->s[i]);
    }
    free(w->s);
    free(w->ev);
    for (size_t i = 0; i < w->natk; i++)
        sim_stats_free(&w->atk[i].st);
    sim_stats_free(&w->legit);
    for (size_t i = 0; i < w->nlat; i++)
        free(w->lat[i].us);
    sim_mailbox_free(&w->mail);
    json_decref(w->reconcile);
    pthread_mutex_destroy(&w->lock);
    free(w->verify_text[0]);
    free(w->verify_text[1]);
    free(w);
    return rc;
}
