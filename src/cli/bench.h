/* bench.h: what the files of `kessai bench charges` share.
 *
 *   bench_charges.c  the command: options, the run, the report, the check
 *   bench_seed.c     customers, sessions, funded wallets and terminals,
 *                    written straight into the store (no Argon2, no TOTP)
 *   bench_server.c   starting and stopping a kessaid of its own (also
 *                    kessai simulate's, src/sim/run.c)
 *   bench_http.c     a minimal keep-alive HTTP/1.1 client on non-blocking
 *                    sockets (one request in flight per connection)
 *   bench_load.c     the load: codes issued and charged, on every
 *                    connection at once, from one epoll thread
 *   bench_cpu.c      the CPU time a process's threads used, by thread name
 *   bench_commits.c  the ledger writer's commits, from kessaid's GET /metrics
 *
 * A benchmark may seed the store directly; nothing else may (the
 * simulator of issue 7 goes through the API).  Secrets the seeding makes
 * (session tokens, terminal secrets) live in this process's memory only
 * and are wiped before it exits.
 */
#ifndef KESSAI_CLI_BENCH_H
#define KESSAI_CLI_BENCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/session.h"
#include "merchant/types.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/masterkey.h"

/* ---- seeding (bench_seed.c) ---- */

struct bench_customer {
    int64_t id;
    int64_t wallet;
    char token[SESSION_TOKEN_BUF]; /* secret */
    char device[IDS_BUF];         /* "dev_…" */
};

struct bench_terminal {
    int64_t id;
    char key_id[TERMINAL_KEY_ID_MAX + 1];
    uint8_t secret[TERMINAL_SECRET_BYTES]; /* secret */
};

struct bench_seed {
    struct bench_customer *customers;
    size_t ncustomers;
    struct bench_terminal *terminals;
    size_t nterminals;
    int64_t funding; /* yen put into each wallet */
};

/* Write ncustomers customers (each with a device, a FULL session valid
 * session_s seconds and a wallet funded with `funding` yen through the
 * ledger writer), one merchant with a store per 8 terminals, and
 * nterminals terminals, into the store at db_path (created and migrated
 * if new; kessaid may be serving it).  tag keeps the e-mail addresses of
 * several runs apart.  Prints progress on stderr. */
enum err bench_seed(const char *db_path, const uint8_t mk[MASTERKEY_BYTES], size_t ncustomers, size_t nterminals,
                    int64_t funding, int64_t session_s, const char *tag, struct bench_seed *out);
/* Wipe the secrets and free. */
void bench_seed_free(struct bench_seed *s);

/* ---- a kessaid of its own (bench_server.c) ---- */

struct bench_server {
    pid_t pid;
    char dir[512];     /* temporary data directory, removed by bench_server_cleanup */
    char log[600];     /* kessaid's stderr */
    uint16_t port;
};

/* A temporary data directory under $TMPDIR (else /var/tmp: a real disk,
 * so that "durable" means an fsync to one). */
enum err bench_server_mkdir(struct bench_server *s);
/* Start kessaid (next to this program, or $KESSAID) on the directory and a
 * free port of 127.0.0.1 with env (NULL-terminated "KESSAI_X=v"), and wait
 * until /healthz answers (up to 30 s). */
enum err bench_server_start(struct bench_server *s, const char *const *env);
/* SIGTERM, wait; its exit status (-1 if killed by a signal). */
int bench_server_stop(struct bench_server *s);
/* Move kessaid's log out of the directory, to DIR.log, and say where (a
 * run with errors: the log says what kessaid saw of them). */
void bench_server_keep_log(struct bench_server *s);
/* Remove the directory (unless KESSAI_KEEP_BENCH_DIR is set). */
void bench_server_cleanup(struct bench_server *s);

/* ---- HTTP (bench_http.c) ---- */

struct bh_conn {
    int fd;
    char *out;
    size_t out_len, out_off, out_cap;
    char *in;
    size_t in_len, in_cap;
    /* The response, once complete (bh_read returned 1): valid until the
     * next request. */
    int status;
    const char *body;
    size_t body_len;
    bool close_after; /* the server said Connection: close */
    size_t consumed;  /* bytes of `in` the response took */
};

/* Connect (non-blocking, TCP_NODELAY).  -1 on failure (errno). */
int bh_connect(struct bh_conn *c, const struct sockaddr_in *addr);
void bh_close(struct bh_conn *c);
/* A new connection in place of the old one (closed), keeping the buffers
 * and the response just read (the server said Connection: close). */
int bh_reconnect(struct bh_conn *c, const struct sockaddr_in *addr);
/* Queue one request (head and body concatenated) and write what the socket
 * takes now.  0, or -1 (connection lost). */
int bh_send(struct bh_conn *c, const char *req, size_t len);
/* Write more of the queued request: 1 when all is out, 0 when the socket
 * is full, -1 on error. */
int bh_write(struct bh_conn *c);
/* Read what arrived: 1 when a whole response is in (status, body), 0 when
 * more is needed, -1 on error or end of stream. */
int bh_read(struct bh_conn *c);
/* Drop the completed response from the input buffer. */
void bh_done(struct bh_conn *c);

/* Blocking GET of path (with a fresh connection); the status or -1. */
int bh_get_status(const struct sockaddr_in *addr, const char *path, int timeout_ms);

/* ---- the load (bench_load.c) ---- */

struct bench_ack {
    char idem[32];     /* the charge's Idempotency-Key */
    int64_t payment;   /* the receipt's pay_ id */
    int64_t amount;
    uint32_t customer; /* index into seed->customers */
    uint32_t terminal; /* index into seed->terminals */
};

struct bench_stats {
    uint64_t charges;    /* acknowledged (201) within the measured window */
    uint64_t codes;      /* codes issued within the window */
    uint64_t errors;     /* answers other than 201, connection failures */
    uint64_t status[6];  /* answers by class: [2]=2xx … [5]=5xx, [0] connection lost */
    double seconds;      /* the window */
    uint32_t *charge_us; /* latency of each acknowledged charge request */
    size_t ncharge_us;
    uint32_t *code_us;   /* latency of each code request */
    size_t ncode_us;
    uint32_t *flow_us;   /* code request sent -> charge acknowledged */
    size_t nflow_us;
    struct bench_ack *acks; /* every acknowledged charge, in or after the window */
    size_t nacks;
    size_t codes_ahead;     /* codes_ahead: codes issued before the window */
    double codes_ahead_s;   /* and how long that took */
    double stock_out_s;     /* codes_ahead: when the window ran out of them (0: it did not) */
    char first_error[256];  /* the first unexpected answer, for the report */
    double first_error_s, last_error_s; /* when, from the window's start (after it: the drain) */
};

struct bench_load_opts {
    struct sockaddr_in addr;
    double seconds;
    size_t connections;
    int64_t amount_min, amount_max;
    uint64_t run_id; /* makes Idempotency-Keys unique across runs */
    /* If > 0, issue this many codes before the window (bench_load.c): the
     * window then charges them in turn, measuring charges alone, and stops
     * charging when they run out; flow_us stays empty. */
    size_t codes_ahead;
    void (*window_start)(void *arg); /* if set, called as the window starts */
    void *window_arg;
};

/* ---- CPU time (bench_cpu.c) ---- */

/* Per charge, CPU time is steadier than charges/s on a shared machine, and
 * by thread it says where the time goes (bench/README.md). */
#define BENCH_CPU_NAMES 32

struct bench_cpu_name {
    char name[16];  /* the thread's name (pthread_setname_np), at most 15 bytes */
    double seconds; /* user + system, summed over the threads of that name */
};

struct bench_cpu {
    size_t n;
    struct bench_cpu_name by_name[BENCH_CPU_NAMES];
};

/* The CPU time every live thread of process pid has used so far, summed by
 * thread name (/proc/PID/task/TID/stat).  ERR_NOT_FOUND if pid is gone. */
enum err bench_cpu_read(pid_t pid, struct bench_cpu *out);
/* What each name used from before to after (names only in after count from
 * zero), largest first. */
void bench_cpu_diff(const struct bench_cpu *before, const struct bench_cpu *after, struct bench_cpu *out);
/* The sum over every name. */
double bench_cpu_total(const struct bench_cpu *c);

/* ---- The writer's commits (bench_commits.c) ---- */

/* How the load was grouped into durable commits: what every commit's fixed
 * costs are spread over (bench/README.md).  kessaid's own counters, so
 * they hold with --url too. */
struct bench_commits {
    double commits;   /* durable commits */
    double groups;    /* requests committed (a charge, a code, …) */
    double transfers; /* ledger transfers in them */
    double seconds;   /* spent applying and committing */
};

/* The counters so far, from GET /metrics at addr.  ERR_NOT_FOUND if the
 * page could not be read or lacks one of them. */
enum err bench_commits_read(const struct sockaddr_in *addr, struct bench_commits *out);
/* after - before. */
void bench_commits_diff(const struct bench_commits *before, const struct bench_commits *after,
                        struct bench_commits *out);

/* Run the load until opts->seconds have passed, then let every flow in
 * flight finish (up to 30 s more).  ERR_OK with *st filled (free with
 * bench_stats_free), or an error if not one connection could be opened. */
enum err bench_load_run(const struct bench_load_opts *opts, const struct bench_seed *seed, struct bench_stats *st);
void bench_stats_free(struct bench_stats *st);

#endif
