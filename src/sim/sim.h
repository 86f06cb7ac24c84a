/* sim.h: `kessai simulate` (issue 7): a retail chain's customers, stores and
 * attackers driving a running kessai over its HTTP APIs only, and a report
 * of what happened to the money.
 *
 *   rng.c         the run's own PRNG (xoshiro256**, seeded by splitmix64)
 *   http.c        a blocking HTTP/1.1 client, one connection per request,
 *                 from a chosen loopback source address (a client address
 *                 per customer or attacker, as in real life)
 *   mailbox.c     the customers' mailboxes: kessaid's mail spool, read as
 *                 a mail client does (new/ -> cur/), indexed by recipient
 *   phone.c       the app on a phone: device key, TOTP, registration,
 *                 login, second-factor checks, password reset
 *   offline.c     the app's offline codes: its key from the API, the codes
 *                 it derives itself without signal (docs/paycodes.md)
 *   stores.c      merchants, stores and registers (made with `kessai admin`),
 *                 the register's signed requests
 *   population.c  the legitimate customers: onboarding and everyday use
 *   scn_*.c       one attack scenario each
 *   report.c      the figures, as text and JSON; report_html.c the page
 *   run.c         the world, the event loop over simulated time, the checks
 *
 * Determinism: every choice comes from the run's PRNG, events run one at a
 * time in (simulated time, sequence) order, and the wall clock is the
 * simulated one: the own kessaid reads it from a clock file the run moves
 * to each event's time (KESSAI_CLOCK_FILE, util/timeutil.h), and the phones
 * compute their codes from it.  So one seed gives the same report,
 * latencies apart, at any size (with --url the server's real clock rules).
 *
 * Secrets (passwords, TOTP seeds, tokens, terminal secrets) live in this
 * process's memory only and are wiped before it exits.
 */
#ifndef KESSAI_SIM_SIM_H
#define KESSAI_SIM_SIM_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/totp.h"
#include "util/err.h"

/* ---- rng.c ---- */

struct sim_rng {
    uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n), n > 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* True with probability p. */
bool sim_rng_chance(struct sim_rng *r, double p);
/* n bytes. */
void sim_rng_bytes(struct sim_rng *r, uint8_t *out, size_t n);

/* ---- http.c ---- */

#define SIM_SRC_MAX 20 /* "127.255.255.255" */

struct sim_resp {
    int status;     /* 0: no answer (connection failed) */
    json_t *j;      /* the parsed body, or NULL */
    char code[64];  /* error.code, "" when none */
    char param[64]; /* error.param, "" when none */
    uint32_t us;    /* latency */
};

struct sim_http {
    struct sockaddr_in addr;
    bool loopback; /* the server is on 127/8: bind a source address per caller */
};

/* One request (Connection: close) from source address src (NULL or "": any),
 * with extra header lines (each "Name: value\r\n", may be NULL) and a body
 * (may be NULL).  *out filled; free with sim_resp_free. */
void sim_http_call(const struct sim_http *h, const char *src, const char *method, const char *path,
                   const char *headers, const char *body, struct sim_resp *out);
void sim_resp_free(struct sim_resp *r);
/* Top-level string member of the answer, or "". */
const char *sim_resp_str(const struct sim_resp *r, const char *key);
/* A member path like "charge.id" (objects only), or NULL. */
json_t *sim_resp_get(const struct sim_resp *r, const char *dotted);

/* ---- mailbox.c ---- */

struct sim_mail {
    char *to;      /* lower case */
    char *subject;
    char *text;    /* the whole message */
    bool taken;    /* a phone read the code or token in it */
};

struct sim_mailbox {
    char dir[600]; /* DATA_DIR/mail */
    struct sim_mail **m; /* each message allocated once: a pointer stays valid as the index grows */
    size_t n, cap;
    char **seen;   /* Message-IDs read (open addressing): a message delivered twice is one message */
    size_t nseen, cap_seen;
    pthread_mutex_t *lock; /* held while the index changes (sign-ups run on several threads) */
};

void sim_mailbox_init(struct sim_mailbox *mb, const char *data_dir);
void sim_mailbox_free(struct sim_mailbox *mb);
/* Move whatever arrived in new/ into the index (and cur/). */
void sim_mailbox_poll(struct sim_mailbox *mb);
/* The oldest message to `to` whose subject contains `subject` and that was
 * not taken yet, waiting up to 30 s for it; it is marked taken.  NULL if
 * none came. */
const struct sim_mail *sim_mailbox_take(struct sim_mailbox *mb, const char *to, const char *subject);
/* The same, waiting at most ms milliseconds. */
const struct sim_mail *sim_mailbox_take_within(struct sim_mailbox *mb, const char *to, const char *subject, int ms);
/* Messages to `to` so far. */
size_t sim_mailbox_count(struct sim_mailbox *mb, const char *to);
/* The first run of exactly `digits` digits in the body; false if none. */
bool sim_mail_digits(const struct sim_mail *m, int digits, char *out);
/* The value after "label" up to the end of its line (e.g. "Reset token: "). */
bool sim_mail_after(const struct sim_mail *m, const char *label, char *out, size_t n);

/* ---- the world ---- */

struct sim_world;

/* A phone's app state: its device key and its session. */
struct sim_phone {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pk_b64[64];
    char device_id[40];
    char token[64];
    bool new_device; /* the server said so at sign-in: the app asks for the second factor before money moves */
    char src[SIM_SRC_MAX]; /* a thief's phone calls from its own address ("": the customer's) */
    double fresh_until;    /* sim_clock_ms() seconds: the session's second factor is fresh until then */
    /* Offline codes (offline.c): the key the server showed once, the
     * device's offline id, the last 30 s step a code was shown for. */
    bool has_offline;
    uint8_t offline_key[32];
    char offline_id[8];
    int64_t offline_step;
};

/* A city: customers live there and pay in its stores. */
struct sim_city {
    const char *name;
    double lat, lon;
};

struct sim_store {
    char id[32];      /* str_… */
    char name[64];
    char category[16];
    int city;
    double lat, lon;
    char term_id[32];
    char key_id[40];
    char src[SIM_SRC_MAX]; /* the register's client address */
    uint8_t secret[32];
    char *qr;         /* the store's QR payload */
    int open_min, close_min; /* opening hours, minutes from local midnight (0, 1440: round the clock) */
};

/* A payment a customer may later ask to have refunded. */
struct sim_paid {
    char id[32];   /* pay_… */
    int store;
    int64_t amount;
    bool refunded;
};

struct sim_customer {
    char email[96];
    char password[48];
    char user_id[32];
    char src[SIM_SRC_MAX];
    uint8_t seed[TOTP_SEED_BYTES];
    int64_t last_step;
    struct sim_phone phone;
    char card_id[32];
    int city;
    int friends[3];
    bool onboarded;
    bool attacker;          /* an account the attackers made (mules) */
    bool reuses_password;   /* the 2019 leak has this customer's real password */
    bool signed_out;        /* the session ended: the app signs in again on its next call */
    bool reset_signed_out;  /* ... because of the customer's own password reset (the app knows) */
    char card[20];          /* the test card's number (drawn before sign-up) */
    char recovery[24];      /* one of the recovery codes shown at enrolment, kept by the customer */
    int64_t first_topup;
    int64_t expected;       /* balance, from every acknowledged movement */
    struct sim_paid paid[4];
    size_t npaid;
    uint64_t idem;          /* Idempotency-Key counter */
    bool offline;           /* sometimes pays without signal (an offline code) */
    int64_t offline_spent;  /* paid offline in the run: the app keeps under the offline day limit */
};

/* One event of the simulated clock. */
struct sim_event {
    double t;       /* simulated seconds from the start */
    uint32_t seq;
    uint16_t kind;  /* SIM_EV_* */
    uint16_t scn;   /* attack scenario index for SIM_EV_ATTACK */
    uint32_t actor; /* customer index, or the scenario's own step number */
    uint32_t arg;
};

enum { SIM_EV_LEGIT = 1, SIM_EV_ATTACK = 2 };

/* Per-operation latencies. */
#define SIM_MAX_OPS 40
struct sim_lat {
    char op[32];
    uint32_t *us;
    size_t n, cap;
};

/* The figures of one scenario (the legitimate traffic is counted in the
 * entry of the scenario the run was started with). */
struct sim_stats {
    char name[32];
    int64_t gain;               /* attacker_gain_yen */
    uint64_t attempts;          /* attack_attempts */
    json_t *stopped_by;         /* check -> count */
    json_t *reached;            /* stage -> count: how far attacks got */
    uint64_t legit_ops, legit_refused, legit_challenged;
    json_t *legit_refusals;     /* code -> count, for the report */
    uint64_t notifications;
    int64_t legit_moved;        /* yen moved by legitimate operations that succeeded */
    int64_t attack_moved;       /* yen moved by an attack's requests that succeeded (its own accounts'
                                 * top-ups and purchases, a scam victim's transfer, a mule's, the
                                 * refunds it caused; gain among them) */
};

struct sim_attack;

struct sim_scenario_ops {
    const char *name;
    const char *summary;
    /* Plan the attack's events (sim_push_attack); may make accounts. */
    void (*plan)(struct sim_world *w, struct sim_attack *a);
    /* Run one of its events. */
    void (*step)(struct sim_world *w, struct sim_attack *a, const struct sim_event *ev);
    /* After the clock ran out: count notifications, free state. */
    void (*finish)(struct sim_world *w, struct sim_attack *a);
};

struct sim_attack {
    const struct sim_scenario_ops *ops;
    struct sim_stats st;
    void *state;
    uint16_t index;
};

struct sim_opts {
    const char *scenario;
    int64_t customers, stores, minutes;
    int64_t offline_share;  /* percent of customers who sometimes pay offline */
    int64_t start_hour;     /* local time of day when the simulated clock starts */
    uint64_t seed;
    const char *url;       /* NULL: own kessaid */
    struct sockaddr_in url_addr; /* with url: where it is */
    const char *data_dir;  /* with --url: that kessaid's data directory (mail, admin commands) */
    const char *json_path, *html_path;
    bool progress;
};

struct sim_world {
    const struct sim_opts *o;
    struct sim_rng rng;
    struct sim_http http;
    struct sim_mailbox mail;
    char data_dir[600];
    char self[600];         /* this program, for `kessai admin` */
    char tag[16];           /* keeps several runs on one server apart */
    struct sim_customer *c;
    size_t nc, cap_c;
    size_t nlegit;          /* customers [0, nlegit) are the population */
    struct sim_store *s;
    size_t ns;
    struct sim_event *ev;
    size_t nev, cap_ev;
    uint32_t next_seq;
    double now;             /* simulated seconds */
    /* Own kessaid: the clock file it reads its wall clock from (mapped
     * here read-write, moved to each event's time), and the Unix ms of
     * simulated second 0.  NULL with --url: the real clock. */
    int64_t *clock;
    int64_t clock_epoch_ms;
    char clock_env[640];    /* "KESSAI_CLOCK_FILE=…" for kessaid and the commands */
    uint64_t postponed;     /* customers' actions held until their phone had the codes */
    double horizon;
    struct sim_attack atk[8];
    size_t natk;
    struct sim_stats legit; /* the run's own entry */
    struct sim_lat lat[SIM_MAX_OPS];
    size_t nlat;
    uint32_t next_src;      /* source addresses handed out */
    uint64_t nonce;
    uint64_t requests;
    const char *ledger_verify, *audit_verify; /* "ok", "skipped" or the failure (owned strings) */
    char *verify_text[2];
    json_t *reconcile;
    double wall_s;
    /* Offline-code payments of the population: register charges tried,
     * paid (201), challenged (202), refused; yen paid. */
    struct {
        uint64_t attempts, paid, challenged, refused;
        int64_t yen;
    } offline;
    uint64_t closed_skips;  /* a customer's visit or refund that found every store it would use closed */
    /* Sign-ups run on several threads (each customer's own conversation);
     * this guards what they share: counters, latencies, the mailbox. */
    pthread_mutex_t lock;
};

/* The cities of the map (cities.c is in stores.c). */
extern const struct sim_city sim_cities[];
extern const size_t sim_ncities;
double sim_km(double lat1, double lon1, double lat2, double lon2);

/* run.c */
/* The server's wall clock as the simulation sees it, in Unix ms: the
 * simulated clock with its own kessaid, the real one with --url. */
int64_t sim_clock_ms(const struct sim_world *w);
void sim_push(struct sim_world *w, double t, uint16_t kind, uint16_t scn, uint32_t actor, uint32_t arg);
/* A fresh loopback source address (a new client address). */
void sim_new_src(struct sim_world *w, char out[SIM_SRC_MAX]);
/* A call, timed under op. */
void sim_call(struct sim_world *w, const char *op, const char *src, const char *method, const char *path,
              const char *headers, json_t *body, struct sim_resp *out);
/* The same with a body sent byte for byte (NULL: none). */
void sim_call_raw(struct sim_world *w, const char *op, const char *src, const char *method, const char *path,
                  const char *headers, const char *body, struct sim_resp *out);
/* A call with the customer's session (and an Idempotency-Key when idem). */
void sim_call_as(struct sim_world *w, const char *op, struct sim_customer *c, const struct sim_phone *p,
                 const char *method, const char *path, json_t *body, bool idem, struct sim_resp *out);
/* Increment a counter in a JSON object. */
void sim_count(json_t *obj, const char *key, uint64_t by);
/* The check that refused r: "code" or "code:param". */
void sim_check_name(const struct sim_resp *r, char *out, size_t n);
/* `kessai --data-dir DIR args… --json`; its parsed output or NULL. */
json_t *sim_admin(struct sim_world *w, const char *const *args);

/* phone.c */
void sim_phone_new(struct sim_world *w, struct sim_phone *p);
void sim_phone_wipe(struct sim_phone *p);
/* The next TOTP code the server will take (with --url, waits for the real
 * clock if it must; on the simulated clock it never waits: run.c holds a
 * customer's action back until its phone has the codes, sim_phone_ready). */
void sim_totp_next(struct sim_world *w, struct sim_customer *c, char out[TOTP_DIGITS + 1]);
/* On the simulated clock: the simulated second from which c's phone has
 * two TOTP steps and one offline step unused (<= w->now: now). */
double sim_phone_ready(const struct sim_world *w, const struct sim_customer *c);
/* A signed login challenge from src with phone p: challenge, signature. */
bool sim_device_proof(struct sim_world *w, const char *src, const struct sim_phone *p, char challenge[128],
                      char sig[128]);
/* Register, verify the address (the code from the mailbox), enrol TOTP: the
 * customer's phone holds a full session.  false with the failing step and
 * its error code in why ("verify:invalid_code"). */
bool sim_register(struct sim_world *w, struct sim_customer *c, char *why, size_t why_n);
/* Sign in from phone p (password + TOTP); true with p's session. */
bool sim_login(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, struct sim_resp *r);
/* The same with the kept recovery code instead of TOTP (used once: the
 * reconciliation signs a signed-out customer in without waiting for the
 * next TOTP step). */
bool sim_login_recovery(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, struct sim_resp *r);
/* POST /v1/mfa/verify with the next TOTP code. */
bool sim_mfa(struct sim_world *w, struct sim_customer *c);
/* The same unless the second factor is still fresh (the app knows when
 * it last asked): before money moves from a phone in its cool-down. */
bool sim_mfa_if_stale(struct sim_world *w, struct sim_customer *c);
/* Forgotten password: reset by mail + TOTP (the answer in *r: 204); the
 * app signs in again when next used (c->signed_out). */
bool sim_reset_password(struct sim_world *w, struct sim_customer *c, struct sim_resp *r);
/* A password the policy takes, from the run's PRNG. */
void sim_password(struct sim_world *w, char *out, size_t n);

/* stores.c */
bool sim_stores_create(struct sim_world *w);
/* A signed register request; body may be NULL (GET). */
void sim_pos_call(struct sim_world *w, const char *op, const struct sim_store *s, const char *method,
                  const char *path, json_t *body, const char *idem, struct sim_resp *out);
/* The Authorization (and Idempotency-Key) header lines of a signed
 * register request with this exact body (NULL: none). */
void sim_pos_headers(struct sim_world *w, const struct sim_store *s, const char *method, const char *path,
                     const char *body, const char *idem, char *out, size_t n);
/* One more register at store `at` (made with `kessai admin terminal
 * create`): *out is a copy of the store with that register's keys. */
bool sim_terminal_create(struct sim_world *w, const struct sim_store *at, struct sim_store *out);
/* Whether store s is open at the simulated time of day (the clock starts
 * at o->start_hour:00 local time). */
bool sim_store_open(const struct sim_world *w, const struct sim_store *s);
/* An open store in city (or, far = true, at least 300 km from it), of a
 * category in cats (NULL: any); -1 when none is open. */
int sim_store_pick(struct sim_world *w, int city, bool far, const char *const *cats);

/* population.c */
void sim_population_onboard(struct sim_world *w);
void sim_population_plan(struct sim_world *w);
void sim_population_step(struct sim_world *w, const struct sim_event *ev);
/* Pay with a one-time code at store s (customer-presented): the register's
 * answer in *r; the customer's expected balance follows. */
void sim_pay_cpm(struct sim_world *w, struct sim_customer *c, struct sim_phone *p, int store, int64_t amount,
                 const char *op_code, const char *op_charge, struct sim_resp *r);
/* A legitimate operation's outcome. */
void sim_legit_outcome(struct sim_world *w, const struct sim_resp *r, int ok_status);
/* A new account made through the API (for attackers' own accounts). */
bool sim_make_account(struct sim_world *w, bool attacker, size_t *idx);

/* offline.c */
/* Offline payments' limits as docs/payments.md gives them (the app knows
 * them and stays under them). */
#define SIM_OFFLINE_PAY_MAX 5000
#define SIM_OFFLINE_DAILY_MAX 10000
/* POST /v1/paycodes/offline-key from the customer's phone (the second
 * factor first if it is stale): the phone keeps the key.  A legitimate
 * operation. */
bool sim_offline_key(struct sim_world *w, struct sim_customer *c);
/* The phone's code for the current 30 s step (kessai-offline-v1), each
 * step once: the next step's when this one was shown already (the server
 * takes one step either side); a third in one step waits (--url) or, on
 * the simulated clock, is the used one again (sim_phone_ready keeps that
 * from happening). */
void sim_offline_code(struct sim_world *w, struct sim_phone *p, char out[19]);
/* sim_offline_code without the clock: the code for now_step (the wall
 * clock's 30 s step), or for the step after when now_step's was shown
 * already; false (out untouched) when both were: the app waits. */
bool sim_offline_next(struct sim_phone *p, int64_t now_step, char out[19]);
/* The code of key and offline_id (7 digits and a NUL) for step, as
 * docs/paycodes.md derives it: 18 digits and a NUL in out. */
void sim_offline_derive(const uint8_t key[32], const char offline_id[8], int64_t step, char out[19]);
/* Pay amount at store s with an offline code (no call from the phone):
 * the register's answer in *r; the expected balance follows. */
void sim_pay_offline(struct sim_world *w, struct sim_customer *c, int store, int64_t amount, struct sim_resp *r);

/* scenarios: the table, in the order `mix` runs them. */
extern const struct sim_scenario_ops *const sim_scenarios[];
extern const size_t sim_nscenarios;
extern const struct sim_scenario_ops sim_scn_credential_stuffing, sim_scn_session_theft, sim_scn_paycode_theft,
    sim_scn_reset_hijack, sim_scn_card_testing, sim_scn_mules, sim_scn_insider_refunds;

/* attack.c */
/* Count r's refusal (with an optional suffix naming the check more
 * precisely) in stopped_by, or a stage in reached. */
void sim_attack_stopped(struct sim_attack *a, const struct sim_resp *r, const char *suffix);
void sim_attack_reached(struct sim_attack *a, const char *stage);
/* A thief holding a session of victim's on phone thief: top up from the
 * victim's card, buy far away, send the rest to a mule. */
void sim_attack_cash_out(struct sim_world *w, struct sim_attack *a, struct sim_customer *victim,
                         struct sim_phone *thief);
/* Security alerts (lock-outs, new sign-ins, resets…) mailed, from mailbox
 * index from_mail on, to the customers flagged in victim[w->nc]. */
uint64_t sim_attack_alerts(struct sim_world *w, size_t from_mail, const bool *victim);

/* The victims of an attack on onboarded customers: about one in fifty (at
 * least 3), each given one SIM_EV_ATTACK event (actor: its index in idx) at
 * a random time.  flag[i] marks customer i; mail_from is the mailbox's end
 * when they were picked (their alerts are the mail after it). */
struct sim_victims {
    uint32_t *idx;
    size_t n;
    bool *flag;
    size_t mail_from;
};
/* Pick them (false: out of memory, none picked). */
bool sim_victims_pick(struct sim_world *w, struct sim_attack *a, struct sim_victims *v);
/* Count the victims' alerts into a->st.notifications and free. */
void sim_victims_done(struct sim_world *w, struct sim_attack *a, struct sim_victims *v);

/* report.c */
void sim_stats_init(struct sim_stats *s, const char *name);
void sim_stats_free(struct sim_stats *s);
void sim_lat_add(struct sim_world *w, const char *op, uint32_t us);
json_t *sim_report_json(const struct sim_world *w);
void sim_report_text(const struct sim_world *w, json_t *rep, FILE *out);
/* report_html.c */
int sim_report_html(json_t *rep, const char *path);

/* run.c: the whole run; 0 when every target held, 1 otherwise, 2 on a
 * setup failure. */
int sim_run(const struct sim_opts *o);

#endif
