/* kessaid: the kessai server.
 *
 *   kessaid [--data-dir DIR] [--listen HOST:PORT] [--config FILE]
 *
 * Settings, lowest precedence first: built-in defaults, the config file,
 * KESSAI_* environment variables, flags (util/config.h).
 *
 * Life cycle:
 *
 *   parse flags -> load config -> prepare DIR (0700) -> master key (DIR/master.key)
 *     -> store DIR/kessai.db + ledger_init -> ledger writer (own connection)
 *     -> handler connection pool -> mailbox DIR/mail + deliver queued mail
 *     -> mail retry thread and webhook thread (own connections)
 *     -> auth workers (own connections)
 *     -> card gateway (test processor, DIR/test-acquirer.db) -> wallet workers
 *     -> ledger writer -> top-up reconciliation of everything unfinished (a
 *        crash between the gateway and the ledger is finished here, before
 *        serving) -> top-up reconciler thread (every 60 s, own connection)
 *     -> review sweeper thread (held payments that lapsed: every
 *        review_sweep_interval_s, own connection)
 *     -> HTTP server -> [sigwait SIGTERM|SIGINT]
 *     -> http_server_stop (drain, bounded) -> wallet and auth workers stop
 *        (running jobs finish, queued ones are cancelled) -> reconciler,
 *        review sweeper, mail retry and webhook threads stop
 *     -> ledger_writer_stop (flushes) -> gateway closed
 *     -> close pool -> exit 0
 *
 * Any failure before serving prints one line "kessaid: <what>" on stderr and
 * exits 1 (2 for command-line mistakes).  The signals are blocked in every
 * thread (the mask is set before any thread exists and threads inherit it),
 * and main() alone receives them with sigwait: no handler, no global flag.
 *
 * Test-only hook: when KESSAI_TEST_CRASH_AT names a point of a top-up
 * (wallet/topup_internal.h, e.g. "topup_authorized": the gateway said yes,
 * nothing is credited yet), kessaid exits at once with status 77 when a
 * top-up reaches it, without cleanup, as if the machine had died there.
 * The reconciliation at the next start must then finish that top-up once.
 *
 * Simulator and test hook: with KESSAI_CLOCK_FILE=PATH the wall clock
 * (every time_now_ms(): windows, code lifetimes, TOTP steps, stored times)
 * is read from that file, which `kessai simulate` moves along its simulated
 * clock (util/timeutil.h says what the file must be; anything else is
 * refused at start-up).  Monotonic time (time-outs, latencies) stays real.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <liboath/oath.h>
#include <sodium.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "api/workers.h"
#include "notify/deliverer.h"
#include "notify/feed.h"
#include "notify/mailspool.h"
#include "notify/outbox.h"
#include "notify/smtp.h"
#include "notify/webhook.h"
#include "pos/sign.h"
#include "store/pool.h"
#include "wallet/guess_pending.h"
#include "http/metrics.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "risk/risk.h"
#include "store/store.h"
#include "util/audit_mac.h"
#include "util/config.h"
#include "util/log.h"
#include "util/masterkey.h"
#include "util/timeutil.h"
#include "util/wipe.h"
#include "wallet/gateway.h"
#include "wallet/paycode.h"
#include "wallet/topup.h"
#include "wallet/periodic.h"
#include "wallet/review.h"

/* How long in-flight requests get to finish after SIGTERM.  Below the 30 s
 * systemd and Kubernetes wait before SIGKILL, with room for the writer to flush. */
#define GRACE_MS 10000
/* How often the mail thread delivers what is queued when nothing wakes it
 * sooner: mail that failed to go out after its commit is retried then. */
#define MAIL_RETRY_MS 5000
/* How often the webhook thread looks for due deliveries when nothing wakes
 * it: retries whose back-off is over, and events another node queued. */
#define WEBHOOK_ROUND_MS 1000
/* Customers' live feeds (GET /v1/events): at most this many open at once on
 * a node; how often the store is looked at for events other nodes wrote;
 * the keep-alive comment's period. */
#define FEEDS_MAX 1000
#define FEED_POLL_MS 1000
#define FEED_KEEPALIVE_MS 15000

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
/* Top-ups untouched this long are finished by the reconciler thread, every
 * interval: a live request is normally done within a second or two. */
#define RECONCILE_INTERVAL_MS 60000
#define RECONCILE_MIN_AGE_MS 30000
/* The status of a test crash (KESSAI_TEST_CRASH_AT). */
#define EXIT_TEST_CRASH 77

/* The test crash point, read once from the environment before any thread
 * starts and never written after: wallet_ctx's hook takes no context. */
static const char *test_crash_at;

static void crash_point(const char *point)
{
    if (test_crash_at != NULL && strcmp(point, test_crash_at) == 0) {
        fprintf(stderr, "kessaid: test crash at %s\n", point);
        _exit(EXIT_TEST_CRASH);
    }
}

static const char usage[] =
    "usage: kessaid [--data-dir DIR] [--listen HOST:PORT] [--config FILE]\n"
    "\n"
    "  --data-dir DIR      where the store (kessai.db) and master key live; created 0700\n"
    "  --listen HOST:PORT  address to serve HTTP on (default 127.0.0.1:8080)\n"
    "  --config FILE       INI file of settings ([server], [ledger], [auth], [wallet],\n"
    "                      [payments], [mail], [operations], [risk])\n"
    "  --help              show this help\n"
    "\n"
    "Every setting can also come from KESSAI_<NAME> (e.g. KESSAI_LISTEN);\n"
    "flags override the environment, which overrides the file.\n"
    "Every setting, its default and bounds: docs/configuration.md.\n"
    "\n"
    "Tests only: KESSAI_TEST_CRASH_AT=POINT makes kessaid exit at once (status 77)\n"
    "when a top-up reaches POINT (topup_created, topup_authorized, topup_credited).\n"
    "Simulator and tests only: KESSAI_CLOCK_FILE=PATH reads the wall clock from PATH\n"
    "(8 bytes: a little-endian int64 of Unix ms; owned by this user, mode 0600).\n";

struct flags {
    const char *config;
    const char *data_dir;
    const char *listen;
    bool help;
};

static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kessaid: %s\n", line);
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0; /* our own messages, one line each */
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': f->config = optarg; break;
        case 'd': f->data_dir = optarg; break;
        case 'l': f->listen = optarg; break;
        case 'h': f->help = true; break;
        case ':':
            say("option '%s' needs a value (try --help)", argv[optind - 1]);
            return -1;
        default:
            say("unknown option '%s' (try --help)", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        say("unexpected argument '%s' (try --help)", argv[optind]);
        return -1;
    }
    return 0;
}

static int load_config(const struct flags *f, struct config *cfg)
{
    char errbuf[CONFIG_ERRBUF] = "";
    config_defaults(cfg);
    if (f->config && config_load_file(cfg, f->config, errbuf) != ERR_OK)
        goto bad;
    if (config_load_env(cfg, errbuf) != ERR_OK)
        goto bad;
    if (f->data_dir && config_set(cfg, NULL, "data_dir", f->data_dir, errbuf) != ERR_OK)
        goto bad;
    if (f->listen && config_set(cfg, NULL, "listen", f->listen, errbuf) != ERR_OK)
        goto bad;
    if (config_check(cfg, errbuf) != ERR_OK)
        goto bad;
    return 0;
bad:
    say("%s", errbuf);
    return -1;
}

/* The data dir holds the master key: it must be ours and usable, and is
 * created private.  The owner bits are checked as well as access(), so the
 * check means the same when run as root (for whom access() always succeeds). */
static int prepare_data_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        say("cannot create data dir %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        say("cannot access data dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        say("data dir %s is not a directory", dir);
        return -1;
    }
    if ((st.st_mode & S_IRWXU) != S_IRWXU || access(dir, R_OK | W_OK | X_OK) != 0) {
        say("data dir %s must be readable, writable and searchable by its owner (chmod 0700)", dir);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        log_event(LOG_WARN, "data_dir_not_private",
                  json_pack("{s:s, s:s}", "data_dir", dir, "advice", "chmod 0700: it holds the master key"));
    return 0;
}

static unsigned cores_or(int64_t configured)
{
    if (configured > 0)
        return (unsigned)configured;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (unsigned)cores : 1;
}

static unsigned worker_threads(const struct config *cfg) { return cores_or(cfg->threads); }

/* The webhook thread's round (notify/webhook.h); failures are logged there. */
struct webhook_round {
    const uint8_t *master_key;
    struct webhook_poster poster;
    struct notify_retry retry;
    struct webhook_holds holds; /* the webhook thread's only */
};

static void webhook_round(void *ctx, struct store *st, int64_t now)
{
    struct webhook_round *r = ctx;
    (void)webhook_deliver_pending(st, r->master_key, &r->poster, &r->retry, now, &r->holds, NULL);
}

/* A commit that queued mail may have queued webhook events too (payments):
 * one wake asks both threads for a round. */
struct notify_threads {
    struct notify_deliverer *mail;
    struct notify_deliverer *webhooks;
    struct feed_hub *feeds;
};

static void wake_notify_threads(void *ctx)
{
    const struct notify_threads *t = ctx;
    notify_deliverer_wake(t->mail);
    notify_deliverer_wake(t->webhooks);
    feed_hub_wake(t->feeds);
}

/* The periodic threads' rounds (wallet/periodic.h); each logs its failures. */
static void reconcile_round(void *ctx, const struct wallet_ctx *w)
{
    (void)ctx;
    (void)topup_reconcile(w, w->a.now - RECONCILE_MIN_AGE_MS, NULL); /* logs its own failures */
}

/* Batches until one finds fewer than a batch (or fails). */
static void sweep_round(void *ctx, const struct wallet_ctx *w)
{
    (void)ctx;
    size_t n = REVIEW_SWEEP_BATCH;
    enum err e = ERR_OK;
    while (e == ERR_OK && n == REVIEW_SWEEP_BATCH)
        e = review_sweep(w, &n);
    if (e != ERR_OK)
        log_event(LOG_WARN, "review_sweep_failed", json_pack("{s:s}", "error", err_symbol(e)));
}

/* A periodic thread on a store connection of its own; false (said why)
 * if it cannot start. */
static bool start_periodic(const char *path, const uint8_t *audit_key, struct store_memory *mem,
                           const struct wallet_ctx *tmpl, const char *name, int64_t interval_ms,
                           periodic_round_fn round, struct periodic **out)
{
    struct store *st = NULL;
    enum err e = store_open_sqlite_audited(path, audit_key, mem, &st);
    if (e == ERR_OK)
        e = periodic_start(st, tmpl, name, interval_ms, round, NULL, out);
    if (e != ERR_OK) {
        store_close(st);
        say("cannot start the %s thread: %s", name, err_message(e));
    }
    return e == ERR_OK;
}

/* Mail queued before a crash (committed, not yet delivered) goes out now. */
static void deliver_queued_mail(struct store_pool *pool, const uint8_t *master_key,
                                const struct notify_sender *sender)
{
    struct store *st = store_pool_acquire(pool);
    size_t n = 0;
    enum err e = notify_deliver_pending(st, master_key, sender, time_now_ms(), &n);
    store_pool_release(pool, st);
    if (e != ERR_OK)
        log_event(LOG_WARN, "mail_delivery_failed", json_pack("{s:s}", "error", err_symbol(e)));
    else if (n > 0)
        log_event(LOG_INFO, "mail_delivered_at_start", json_pack("{s:I}", "messages", (json_int_t)n));
}

int main(int argc, char **argv)
{
    /* First: jansson's allocator functions are process-wide and must be
     * set before any thread or JSON exists; request and reply trees hold
     * passwords and tokens. */
    wipe_json_allocations();
    struct flags flags = {0};
    if (parse_flags(argc, argv, &flags) != 0)
        return EXIT_USAGE;
    if (flags.help) {
        fputs(usage, stdout);
        return 0;
    }

    /* Every file kessaid creates (the database, its WAL, the test card
     * processor's file, mail) is the service's alone, whatever the
     * caller's umask and even in a data dir made 0755 by someone else. */
    umask(077);

    /* Before any thread exists, so that every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = EXIT_RUNTIME;
    uint8_t master_key[MASTERKEY_BYTES];
    /* Every connection gets the audit log's key: any of them may append
     * an entry (audit/audit.h), and one without the key cannot. */
    uint8_t audit_key[AUDIT_KEY_BYTES] = {0};
    struct store_memory *mem = NULL;
    struct store *writer_store = NULL;
    struct ledger_writer *writer = NULL;
    struct store_pool *pool = NULL;
    struct auth_workers *workers = NULL;
    struct auth_workers *wallet_workers = NULL;
    struct gateway *gateway = NULL;
    struct risk *risk = NULL;
    struct guess_pending *guesses = NULL;
    struct periodic *reconciler = NULL, *sweeper = NULL;
    struct ratelimit *ratelimit = NULL;
    struct mailspool mailbox;
    struct smtp smtp;
    struct notify_sender mail = {0};
    struct notify_deliverer *deliverer = NULL;
    struct notify_deliverer *webhook_deliverer = NULL;
    struct feed_hub *feeds = NULL;
    struct webhook_round hooks = {.master_key = master_key, .poster = webhook_curl_poster(),
                                  .retry = NOTIFY_RETRY_DEFAULT};
    struct notify_threads notify_threads = {0};
    struct notify_wake wake_deliverer = {0};
    struct http_metrics *metrics = NULL;
    struct http_server *srv = NULL;
    char path[CONFIG_STR + 32];

    struct config cfg;
    if (load_config(&flags, &cfg) != 0)
        return EXIT_USAGE;
    log_set_level((enum log_level)log_level_parse(cfg.log_level));
    /* Before any thread: every thread reads the clock it sets. */
    const char *clock_env = getenv("KESSAI_CLOCK_FILE");
    if (clock_env && *clock_env) {
        char why[600];
        if (time_clock_file_use(clock_env, why, sizeof why) != ERR_OK) {
            say("%s", why);
            return EXIT_RUNTIME;
        }
    }
    char host[CONFIG_STR];
    uint16_t port = 0;
    if (config_listen_addr(&cfg, host, sizeof host, &port) != ERR_OK) {
        say("listen: expected HOST:PORT, got '%s'", cfg.listen);
        return EXIT_USAGE;
    }
    /* Before any thread: curl_global_init is not thread-safe. */
    if (sodium_init() < 0 || oath_init() != OATH_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        say("libsodium, liboath or libcurl failed to initialise");
        return EXIT_RUNTIME;
    }
    if (prepare_data_dir(cfg.data_dir) != 0)
        return EXIT_RUNTIME;

    snprintf(path, sizeof path, "%s/master.key", cfg.data_dir);
    if (masterkey_load_or_create(path, master_key) != ERR_OK) {
        say("cannot read or create the master key %s: it must be a %d-byte file readable only by its owner "
            "(mode 0600)",
            path, MASTERKEY_BYTES);
        return EXIT_RUNTIME;
    }

    audit_key_derive(master_key, audit_key);

    snprintf(path, sizeof path, "%s/kessai.db", cfg.data_dir);
    enum err e = store_memory_new(&mem);
    if (e == ERR_OK)
        e = store_open_sqlite_audited(path, audit_key, mem, &writer_store);
    if (e == ERR_OK)
        e = ledger_init(writer_store);
    /* Before the first request, and holding no lock another node waits for. */
    if (e == ERR_OK)
        e = pos_nonces_load(writer_store, time_now_ms());
    if (e == ERR_OK)
        e = paycode_load(writer_store, time_now_ms());
    if (e != ERR_OK) {
        say("cannot open the store %s: %s (details in the log)", path, err_message(e));
        goto cleanup;
    }
    unsigned threads = worker_threads(&cfg);
    e = store_pool_open_sqlite(path, threads, audit_key, mem, &pool);
    if (e != ERR_OK) {
        say("cannot open the store %s: %s (details in the log)", path, err_message(e));
        goto cleanup;
    }

    if (mailspool_open(&mailbox, cfg.data_dir) != ERR_OK) {
        say("cannot create the mailbox %s/mail", cfg.data_dir);
        goto cleanup;
    }
    mail = mailspool_sender(&mailbox);
    if (cfg.smtp_url[0]) {
        /* A relay takes the customers' mail instead of DATA_DIR/mail. */
        if (smtp_open(&smtp, cfg.smtp_url, cfg.smtp_from, cfg.smtp_user, cfg.smtp_password) != ERR_OK) {
            say("[mail] smtp_url must be smtp://HOST[:PORT] or smtps://HOST[:PORT] and smtp_from an address");
            rc = EXIT_USAGE;
            goto cleanup;
        }
        mail = smtp_sender(&smtp);
    }
    deliver_queued_mail(pool, master_key, &mail);
    struct store *deliverer_store = NULL;
    e = store_open_sqlite_audited(path, audit_key, mem, &deliverer_store);
    if (e == ERR_OK)
        e = notify_deliverer_start(deliverer_store, master_key, &mail, NULL, MAIL_RETRY_MS, &deliverer);
    if (e != ERR_OK) {
        store_close(deliverer_store);
        say("cannot start the mail retry thread: %s", err_message(e));
        goto cleanup;
    }
    struct store *webhook_store = NULL;
    e = store_open_sqlite_audited(path, audit_key, mem, &webhook_store);
    if (e == ERR_OK)
        e = notify_deliverer_start_round(webhook_store, webhook_round, &hooks, "webhooks", WEBHOOK_ROUND_MS,
                                         &webhook_deliverer);
    if (e != ERR_OK) {
        store_close(webhook_store);
        say("cannot start the webhook thread: %s", err_message(e));
        goto cleanup;
    }
    struct store *feed_store = NULL;
    e = store_open_sqlite_audited(path, audit_key, mem, &feed_store);
    if (e == ERR_OK)
        e = feed_hub_start(feed_store, FEEDS_MAX, FEED_POLL_MS, FEED_KEEPALIVE_MS, &feeds);
    if (e != ERR_OK) {
        store_close(feed_store);
        say("cannot start the live-feed thread: %s", err_message(e));
        goto cleanup;
    }
    notify_threads = (struct notify_threads){.mail = deliverer, .webhooks = webhook_deliverer, .feeds = feeds};
    wake_deliverer = (struct notify_wake){.wake = wake_notify_threads, .ctx = &notify_threads};
    unsigned auth_threads = cores_or(cfg.auth_workers);
    e = auth_workers_start(path, audit_key, mem, auth_threads, AUTH_WORKERS_QUEUE_MAX, &workers);
    if (e != ERR_OK) {
        say("cannot start the authentication workers: %s", err_message(e));
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/test-acquirer.db", cfg.data_dir);
    e = gateway_test_open(path, &gateway);
    if (e != ERR_OK) {
        say("cannot open the test card processor %s: %s (details in the log)", path, err_message(e));
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/kessai.db", cfg.data_dir);
    unsigned wallet_threads = cores_or(cfg.wallet_workers);
    e = auth_workers_start(path, audit_key, mem, wallet_threads, AUTH_WORKERS_QUEUE_MAX, &wallet_workers);
    if (e != ERR_OK) {
        say("cannot start the wallet workers: %s", err_message(e));
        goto cleanup;
    }
    const char *crash_env = getenv("KESSAI_TEST_CRASH_AT");
    test_crash_at = crash_env && *crash_env ? crash_env : NULL;
    if (guess_pending_new(&guesses) != ERR_OK) {
        say("out of memory");
        goto cleanup;
    }
    struct ratelimit_opts rl = {.burst = RATELIMIT_BURST, .per_second = RATELIMIT_PER_SECOND, .slots = RATELIMIT_SLOTS};
    if (ratelimit_new(&rl, &ratelimit) != ERR_OK) {
        say("out of memory");
        goto cleanup;
    }

    /* The risk engine scores every money flow (docs/risk.md).  Warmed from
     * the store before anyone is served, so a restart does not reset a
     * thief's counters. */
    e = risk_new(&cfg.risk, &risk);
    if (e != ERR_OK) {
        say("cannot start the risk engine: %s (details in the log)", err_message(e));
        goto cleanup;
    }
    {
        struct store *ws = store_pool_acquire(pool);
        size_t warmed = 0;
        e = risk_warm(risk, ws, time_now_ms(), &warmed);
        store_pool_release(pool, ws);
        if (e != ERR_OK) {
            say("cannot warm the risk engine from the store: %s (details in the log)", err_message(e));
            goto cleanup;
        }
        log_event(LOG_INFO, "risk_warmed", json_pack("{s:I}", "rows", (json_int_t)warmed));
    }

    size_t nroutes = 0;
    const struct http_route *routes = api_routes(&nroutes);
    metrics = http_metrics_new(routes, nroutes);
    if (metrics == NULL) {
        say("out of memory");
        goto cleanup;
    }
    struct ledger_writer_opts wopts = {
        .batch_max = (size_t)cfg.ledger_batch_max,
        .on_commit = http_metrics_observe_commit,
        .on_commit_ctx = metrics,
    };
    e = ledger_writer_start(writer_store, &wopts, &writer);
    if (e != ERR_OK) {
        say("cannot start the ledger writer: %s", err_message(e));
        goto cleanup;
    }
    writer_store = NULL; /* the writer owns it now */

    struct api_ctx app = {
        .cfg = &cfg,
        .pool = pool,
        .writer = writer,
        .metrics = metrics,
        .master_key = master_key,
        .workers = workers,
        .ratelimit = ratelimit,
        /* No request delivers mail itself: each wakes the mail thread
         * (at most NOTIFY_ROUND_GAP_MS later), the one sender of this node.
         * Two deliverers would both send what they both read (outbox.c),
         * and a hung SMTP relay would hold request threads. */
        .mail = NULL,
        .wake = &wake_deliverer,
        .gateway = gateway,
        .risk = risk,
        .wallet_workers = wallet_workers,
        .crash_point = test_crash_at ? crash_point : NULL,
        .feeds = feeds,
        .guesses = guesses,
    };

    /* Top-ups a crash left half-way are finished before anyone can ask
     * about them; then a thread keeps finishing those a lost connection or
     * a gateway outage leaves behind. */
    struct store *rs = store_pool_acquire(pool);
    struct wallet_ctx wtmpl = {
        .a = {.st = rs, .master_key = master_key, .cfg = &cfg, .mail = NULL, .now = time_now_ms(),
              .client_addr = "", .wake = &wake_deliverer}, /* the mail thread delivers (above) */
        .gw = gateway,
        .writer = writer,
        .crash_point = app.crash_point,
    };
    size_t reconciled = 0;
    e = topup_reconcile(&wtmpl, INT64_MAX, &reconciled);
    store_pool_release(pool, rs);
    if (e != ERR_OK)
        log_event(LOG_WARN, "topup_reconcile_failed", json_pack("{s:s}", "error", err_message(e)));
    if (!start_periodic(path, audit_key, mem, &wtmpl, "topup-reconcile", RECONCILE_INTERVAL_MS,
                        reconcile_round, &reconciler))
        goto cleanup;
    /* Held payments lapse whether or not anyone looks (wallet/review.h). */
    if (!start_periodic(path, audit_key, mem, &wtmpl, "review-sweep", cfg.review_sweep_interval_s * 1000,
                        sweep_round, &sweeper))
        goto cleanup;
    struct http_server_config hc = {
        .host = host,
        .port = port,
        .threads = threads,
        .max_body_bytes = (size_t)cfg.max_body_bytes,
        .max_connections = (unsigned)cfg.max_connections,
        .max_connections_per_ip = (unsigned)cfg.max_connections_per_ip,
        .connection_timeout_s = (unsigned)cfg.connection_timeout_s,
        .header_memory_bytes = (size_t)cfg.header_memory_bytes,
    };
    char errbuf[HTTP_ERRBUF] = "";
    if (http_server_start(&hc, routes, nroutes, &app, metrics, &srv, errbuf) != ERR_OK) {
        say("%s", errbuf);
        goto cleanup;
    }
    char listen_addr[CONFIG_STR + 8];
    snprintf(listen_addr, sizeof listen_addr, "%s:%u", host, (unsigned)http_server_port(srv));
    log_event(LOG_INFO, "kessaid_listening",
              json_pack("{s:s, s:s, s:i, s:i, s:I}", "listen", listen_addr, "data_dir", cfg.data_dir, "threads",
                        (int)threads, "auth_workers", (int)auth_threads, "max_body_bytes",
                        (json_int_t)cfg.max_body_bytes));

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0)
        ;
    log_event(LOG_INFO, "kessaid_shutdown",
              json_pack("{s:s, s:i, s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", "in_flight",
                        (int)http_server_inflight(srv), "grace_ms", GRACE_MS));
    size_t unfinished = http_server_stop(srv, GRACE_MS);
    srv = NULL;
    auth_workers_stop(wallet_workers); /* after the server: nobody submits any more */
    wallet_workers = NULL;
    auth_workers_stop(workers);
    workers = NULL;
    periodic_stop(reconciler); /* before the writer and the gateway it uses */
    reconciler = NULL;
    periodic_stop(sweeper); /* before the writer */
    sweeper = NULL;
    notify_deliverer_stop(deliverer);
    deliverer = NULL;
    notify_deliverer_stop(webhook_deliverer);
    webhook_deliverer = NULL;
    feed_hub_stop(feeds); /* after the server: no feed is open any more */
    feeds = NULL;
    ledger_writer_stop(writer); /* commits what is queued and runs every callback */
    writer = NULL;
    risk_free(risk); /* after the writer: its completer callbacks observe outcomes */
    risk = NULL;
    log_event(LOG_INFO, "kessaid_stopped", json_pack("{s:i}", "unfinished_requests", (int)unfinished));
    rc = 0;

cleanup:
    http_server_stop(srv, 0);
    auth_workers_stop(wallet_workers);
    auth_workers_stop(workers);
    periodic_stop(reconciler);
    periodic_stop(sweeper);
    notify_deliverer_stop(deliverer);
    notify_deliverer_stop(webhook_deliverer);
    feed_hub_stop(feeds);
    ratelimit_free(ratelimit);
    if (writer)
        ledger_writer_stop(writer);
    store_close(writer_store);
    store_pool_close(pool);
    store_memory_free(mem); /* after every connection that shares them */
    gateway_close(gateway);
    risk_free(risk); /* after the writer and every worker that calls it */
    guess_pending_free(guesses); /* after the writer, whose callbacks count them down */
    http_metrics_free(metrics);
    sodium_memzero(master_key, sizeof master_key);
    sodium_memzero(audit_key, sizeof audit_key);
    sodium_memzero(&smtp, sizeof smtp);
    sodium_memzero(cfg.smtp_password, sizeof cfg.smtp_password);
    oath_done();
    curl_global_cleanup();
    return rc;
}
