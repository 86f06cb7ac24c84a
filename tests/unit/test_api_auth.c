/* test_api_auth.c: customer identity over HTTP, against a real kessaid.
 *
 * The test starts the kessaid binary under test ($KESSAID, else
 * build/asan/kessaid) on 127.0.0.1 at a free port with a fresh data
 * directory, and talks to it as the wallet app and as an attacker would:
 * libcurl for HTTP, libsodium for the phone's Ed25519 device key, auth/totp.h
 * as the authenticator app (seeded from the otpauth URI), and the spool
 * files in DATA_DIR/mail/new/ (inbox.h) as the customer's mailbox, where verification codes,
 * reset tokens and alerts arrive.  docs/customer-auth.md is the contract.
 *
 * The per-address rate limit (burst 20) would make one client address run
 * out during the test, and the credential-stuffing block counts failures per
 * address: so each scenario talks from its own loopback address (all of
 * 127/8 reaches the server on Linux), as different customers would.
 *
 * Every secret the test handles is remembered; the last test stops the
 * server and checks that none of them appears in the data directory
 * (outside the mailbox, which holds mail in the clear by design) or in the
 * server's log, and that `kessai ledger verify` and `kessai audit verify`
 * pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "auth/totp.h"
#include "inbox.h"
#include "store/store.h"
#include "testutil.h"

#define PASSWORD "violet-harbour-teapot-91"
#define NEW_PASSWORD "quiet-granite-lantern-37"
#define MAX_SECRETS 512

/* ---- the server --------------------------------------------------------- */

struct fx {
    pid_t pid;
    char *root;      /* temp dir: data/ and kessaid.log */
    char data[600];  /* the data directory */
    char logpath[600];
    char base[64];   /* http://127.0.0.1:PORT */
    char *secrets[MAX_SECRETS];
    size_t nsecrets;
    int next_source; /* last octet of the next client address */
};

static void remember(struct fx *f, const char *secret)
{
    assert_non_null(secret);
    assert_true(f->nsecrets < MAX_SECRETS);
    f->secrets[f->nsecrets++] = strdup(secret);
}

static const char *kessaid_path(void)
{
    const char *p = getenv("KESSAID");
    return p && *p ? p : "build/asan/kessaid";
}

static uint16_t free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static long healthz(const char *base)
{
    char url[128];
    snprintf(url, sizeof url, "%s/healthz", base);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

/* Start kessaid with the given KESSAI_* settings (NULL-terminated list of
 * "NAME=value"), and wait until /healthz answers. */
static void server_start(struct fx *f, const char *const *env)
{
    uint16_t port = free_port();
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)port);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The caller's KESSAI_* settings would leak into the server. */
        extern char **environ;
        for (char **e = environ; *e;) {
            if (strncmp(*e, "KESSAI_", 7) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(strcspn(*e, "=")), *e);
                unsetenv(name);
            } else {
                e++;
            }
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        int fd = open(f->logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execl(kessaid_path(), "kessaid", "--data-dir", f->data, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    f->pid = pid;
    for (int i = 0; i < 400; i++) {
        if (healthz(f->base) == 200)
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            fail_msg("kessaid (%s) exited during start-up; see %s", kessaid_path(), f->logpath);
        }
        usleep(50000);
    }
    fail_msg("kessaid did not answer /healthz in time");
}

/* SIGTERM and wait; returns the exit status (-1 if killed by a signal). */
static int server_stop(struct fx *f)
{
    if (f->pid <= 0)
        return 0;
    kill(f->pid, SIGTERM);
    int st = 0;
    while (waitpid(f->pid, &st, 0) < 0 && errno == EINTR)
        ;
    f->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int fx_up(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->root = tu_tempdir();
    tu_path(f->data, sizeof f->data, f->root, "data");
    tu_path(f->logpath, sizeof f->logpath, f->root, "kessaid.log");
    f->next_source = 10;
    server_start(f, NULL);
    *state = f;
    return 0;
}

static int fx_down(void **state)
{
    struct fx *f = *state;
    server_stop(f);
    if (getenv("KESSAI_KEEP_TEST_DIR") == NULL)
        tu_rmtree(f->root);
    free(f->root);
    for (size_t i = 0; i < f->nsecrets; i++)
        free(f->secrets[i]);
    free(f);
    return 0;
}

/* ---- the client --------------------------------------------------------- */

struct resp {
    long status;
    char *raw;
    json_t *j;
    char retry_after[32];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    char *grown = realloc(r->raw, strlen(r->raw ? r->raw : "") + size * n + 1);
    if (grown == NULL)
        return 0;
    if (r->raw == NULL)
        grown[0] = '\0';
    r->raw = grown;
    strncat(r->raw, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        const char *v = p + 12;
        while (*v == ' ')
            v++;
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return len;
}

static void resp_free(struct resp *r)
{
    free(r->raw);
    json_decref(r->j);
    memset(r, 0, sizeof *r);
}

/* Who is calling: the client address, and the session if any. */
struct who {
    char source[32];
    const char *token;
    const char *device_id;
};

static struct who new_source(struct fx *f)
{
    struct who w = {0};
    assert_true(f->next_source < 250);
    snprintf(w.source, sizeof w.source, "127.0.0.%d", f->next_source++);
    return w;
}

/* One HTTP call; body (may be NULL) is consumed. */
static struct resp call(struct fx *f, const struct who *w, const char *method, const char *path, json_t *body)
{
    struct resp r = {0};
    char url[512];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char line[256];
    if (text)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (w && w->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", w->token);
        h = curl_slist_append(h, line);
    }
    if (w && w->device_id) {
        snprintf(line, sizeof line, "Kessai-Device: %s", w->device_id);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    if (w && w->source[0])
        curl_easy_setopt(c, CURLOPT_INTERFACE, w->source);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (text)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(text);
    if (r.raw && r.raw[0])
        r.j = json_loads(r.raw, 0, NULL);
    return r;
}

static const char *jstr(const struct resp *r, const char *key)
{
    return json_string_value(json_object_get(r->j, key));
}

static const char *err_code(const struct resp *r)
{
    const char *c = json_string_value(json_object_get(json_object_get(r->j, "error"), "code"));
    return c ? c : "";
}

#define expect_status(r, want)                                                                                     \
    do {                                                                                                           \
        if ((r).status != (want))                                                                                  \
            fail_msg("line %d: status %ld, expected %d; body %s", __LINE__, (r).status, (want),                   \
                     (r).raw ? (r).raw : "");                                                                      \
    } while (0)

#define expect_error(r, want_status, want_code)                                                                    \
    do {                                                                                                           \
        expect_status(r, want_status);                                                                             \
        if (strcmp(err_code(&(r)), (want_code)) != 0)                                                              \
            fail_msg("line %d: error %s, expected %s", __LINE__, (r).raw ? (r).raw : "", (want_code));            \
    } while (0)

/* ---- the mailbox -------------------------------------------------------- */

/* Login, registration and the other answers to callers who have not signed
 * in leave their mail to kessaid's mail thread (auth_ctx.h), so it lands
 * just after the answer.  Wait until the server's outbox holds nothing
 * undelivered (polled, bounded at 10 s), so that a read of the mailbox sees
 * everything the requests answered before it sent.  (Work that runs after
 * its 202, like a reset request, may not have queued anything yet: those
 * tests wait for the count they expect, mail_wait_count.) */
static void mail_settle(struct fx *f)
{
    char path[700];
    snprintf(path, sizeof path, "%s/kessai.db", f->data);
    struct store *st = NULL;
    if (store_open_sqlite(path, &st) != ERR_OK)
        fail_msg("cannot open %s to watch the outbox", path);
    struct outbox_msg *m = calloc(1, sizeof *m);
    assert_non_null(m);
    size_t n = 1;
    for (int i = 0; i < 400 && n > 0; i++) {
        assert_int_equal(st->ops->outbox_pending(st, 0, INT64_MAX, 1, m, &n), ERR_OK);
        if (n > 0)
            usleep(25000);
    }
    free(m);
    store_close(st);
}

/* Messages to `to` (NULL: to anyone) once the outbox has settled, each
 * once (inbox.h). */
static size_t mail_count_to(struct fx *f, const char *to)
{
    mail_settle(f);
    struct inbox box;
    inbox_load_data(&box, f->data);
    size_t count = 0;
    for (size_t i = 0; i < box.n; i++)
        count += to == NULL || strcmp(box.m[i].to, to) == 0;
    inbox_free(&box);
    return count;
}

/* Wait (up to 5 s) until `to` has at least `want` messages: a reset request
 * or a resend is answered first and mailed afterwards, so that neither the
 * answer nor its timing tells whether the address has an account. */
static size_t mail_wait_count(struct fx *f, const char *to, size_t want)
{
    size_t n = 0;
    for (int i = 0; i < 100 && (n = mail_count_to(f, to)) < want; i++)
        usleep(50000);
    return n;
}

/* Messages to `to` whose text contains `needle` (case-insensitive), as a
 * malloc'd copy of the newest one, or NULL. */
static char *mail_find(struct fx *f, const char *to, const char *needle)
{
    mail_settle(f);
    struct inbox box;
    inbox_load_data(&box, f->data);
    const struct inbox_msg *best = NULL;
    for (size_t i = 0; i < box.n; i++) /* oldest first */
        if (strcmp(box.m[i].to, to) == 0 && (needle == NULL || strcasestr(box.m[i].text, needle) != NULL))
            best = &box.m[i];
    char *copy = best ? strdup(best->text) : NULL;
    inbox_free(&box);
    return copy;
}

/* The first run of exactly `digits` digits in the body. */
static bool find_digits(const char *text, int digits, char *out)
{
    for (const char *p = inbox_body(text); *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
            continue;
        int len = 0;
        while (isdigit((unsigned char)p[len]))
            len++;
        if (len == digits) {
            memcpy(out, p, (size_t)digits);
            out[digits] = '\0';
            return true;
        }
    }
    return false;
}

/* The first run of 43 base64url characters (a 32-byte token) in the body. */
static bool find_token(const char *text, char out[44])
{
    for (const char *p = inbox_body(text); *p; p++) {
        size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
        if (len == 43) {
            memcpy(out, p, 43);
            out[43] = '\0';
            return true;
        }
        if (len > 0)
            p += len - 1;
    }
    return false;
}

/* ---- the phone: device key and authenticator app ------------------------ */

struct device {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pk_b64[64];
    char name[32];
};

static void device_new(struct device *d, const char *name)
{
    crypto_sign_keypair(d->pk, d->sk);
    sodium_bin2base64(d->pk_b64, sizeof d->pk_b64, d->pk, sizeof d->pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(d->name, sizeof d->name, "%s", name);
}

static json_t *device_json(const struct device *d)
{
    return json_pack("{s:s, s:s}", "public_key", d->pk_b64, "name", d->name);
}

struct user {
    char email[128]; /* as on file (lower case) */
    char password[64];
    uint8_t seed[TOTP_SEED_BYTES];
    bool has_seed;
    int64_t last_step; /* of the last code the server accepted */
    struct device dev;
    char token[64];
    char session_id[64];
    char device_id[64];
    char recovery[10][64];
    size_t nrecovery;
    struct who who; /* source address + this user's session */
};

static void user_new(struct fx *f, struct user *u, const char *tag)
{
    memset(u, 0, sizeof *u);
    char rnd[9];
    uint8_t b[4];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(rnd, sizeof rnd, b, sizeof b);
    /* "." is in no test password: the policy refuses a password that shares
     * 4 characters with the mailbox name (random hex could make "t-91"). */
    snprintf(u->email, sizeof u->email, "%s.%s@example.com", tag, rnd);
    snprintf(u->password, sizeof u->password, "%s", PASSWORD);
    device_new(&u->dev, "test phone");
    u->who = new_source(f);
}

static void use_session(struct user *u)
{
    u->who.token = u->token;
    u->who.device_id = u->device_id;
}

/* A code the server will take: steps must increase, and only the current
 * step ±1 is accepted, so pick the smallest usable step after the last one
 * (waiting for the clock when all three are used up), staying clear of a
 * step boundary that could pass while the request travels. */
static void totp_next(struct user *u, char out[TOTP_DIGITS + 1])
{
    assert_true(u->has_seed);
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        int64_t cur = now / TOTP_STEP_SECONDS, into = now % TOTP_STEP_SECONDS;
        int64_t lo = into >= TOTP_STEP_SECONDS - 3 ? cur : cur - 1;
        int64_t step = u->last_step + 1 > lo ? u->last_step + 1 : lo;
        if (step <= cur + 1 && !(step == cur + 1 && into < 1)) {
            assert_int_equal(totp_code(u->seed, step * TOTP_STEP_SECONDS, out), ERR_OK);
            u->last_step = step;
            return;
        }
        sleep(1);
    }
}

/* The code of the step last used again (a replay). */
static void totp_last(struct user *u, char out[TOTP_DIGITS + 1])
{
    assert_int_equal(totp_code(u->seed, u->last_step * TOTP_STEP_SECONDS, out), ERR_OK);
}

/* ---- flows -------------------------------------------------------------- */

/* POST /v1/login/challenge from w's address, signed by d (one bit flipped
 * if corrupt): the device proof that login and verification take. */
static void device_proof(struct fx *f, const struct who *w, const struct device *d, bool corrupt,
                         char challenge[128], char sig_b64[128])
{
    struct who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", w->source);
    struct resp r = call(f, &anon, "POST", "/v1/login/challenge", json_object());
    expect_status(r, 200);
    snprintf(challenge, 128, "%s", jstr(&r, "challenge"));
    resp_free(&r);
    char msg[256];
    snprintf(msg, sizeof msg, "kessai-login-v1:%s", challenge);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), d->sk);
    if (corrupt)
        sig[0] ^= 1;
    sodium_bin2base64(sig_b64, 128, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* POST /v1/registrations/verify from u's address (no session) with every
 * field as given. */
static struct resp verify_raw(struct fx *f, const struct user *u, const char *password, const char *code,
                              const struct device *d, const char *challenge, const char *sig_b64)
{
    struct who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", u->who.source);
    return call(f, &anon, "POST", "/v1/registrations/verify",
                json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "email", u->email, "password", password, "code", code,
                          "device", device_json(d), "challenge", challenge, "signature", sig_b64));
}

/* Verify with u's password and a fresh proof by u's device. */
static struct resp verify(struct fx *f, const struct user *u, const char *code)
{
    char challenge[128], sig[128];
    device_proof(f, &u->who, &u->dev, false, challenge, sig);
    return verify_raw(f, u, u->password, code, &u->dev, challenge, sig);
}

/* The newest verification code mailed to u. */
static void newest_code(struct fx *f, const struct user *u, char code[8])
{
    char *mail = mail_find(f, u->email, "verification code");
    if (mail == NULL)
        fail_msg("no verification mail for %s", u->email);
    assert_true(find_digits(mail, 6, code));
    free(mail);
    remember(f, code);
}

/* Keep the enrol session a successful verification returned. */
static void take_enrol_session(struct fx *f, struct user *u, struct resp *r)
{
    expect_status(*r, 201);
    assert_string_equal(jstr(r, "scope"), "enrol");
    assert_non_null(jstr(r, "expires_at"));
    assert_int_equal(strlen(jstr(r, "session_token")), 43);
    snprintf(u->token, sizeof u->token, "%s", jstr(r, "session_token"));
    snprintf(u->session_id, sizeof u->session_id, "%s", jstr(r, "session_id"));
    snprintf(u->device_id, sizeof u->device_id, "%s", jstr(r, "device_id"));
    assert_true(strncmp(u->device_id, "dev_", 4) == 0);
    remember(f, u->token);
    resp_free(r);
    use_session(u);
}

static void register_and_verify(struct fx *f, struct user *u)
{
    remember(f, u->password);
    struct resp r = call(f, &u->who, "POST", "/v1/registrations",
                         json_pack("{s:s, s:s}", "email", u->email, "password", u->password));
    expect_status(r, 202);
    assert_string_equal(jstr(&r, "status"), "verification_sent");
    resp_free(&r);

    char code[8];
    newest_code(f, u, code);
    r = verify(f, u, code);
    take_enrol_session(f, u, &r);
}

/* The base32 secret= of an otpauth URI, decoded into u->seed. */
static void seed_from_uri(struct fx *f, struct user *u, const char *uri)
{
    assert_true(strncmp(uri, "otpauth://totp/", 15) == 0);
    const char *s = strstr(uri, "secret=");
    assert_non_null(s);
    s += 7;
    size_t len = strcspn(s, "&");
    char b32[128];
    snprintf(b32, sizeof b32, "%.*s", (int)len, s);
    remember(f, b32);
    char *raw = NULL;
    size_t rawlen = 0;
    assert_int_equal(oath_base32_decode(b32, len, &raw, &rawlen), OATH_OK);
    assert_int_equal(rawlen, TOTP_SEED_BYTES);
    memcpy(u->seed, raw, TOTP_SEED_BYTES);
    free(raw);
    u->has_seed = true;
    u->last_step = 0;
}

static void enrol_totp(struct fx *f, struct user *u)
{
    struct resp r = call(f, &u->who, "POST", "/v1/mfa/totp", json_object());
    expect_status(r, 200);
    seed_from_uri(f, u, jstr(&r, "otpauth_uri"));
    const char *svg = jstr(&r, "qr_svg");
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    resp_free(&r);

    char code[8];
    totp_next(u, code);
    r = call(f, &u->who, "POST", "/v1/mfa/totp/confirm", json_pack("{s:s}", "code", code));
    expect_status(r, 200);
    assert_string_equal(jstr(&r, "scope"), "full");
    json_t *codes = json_object_get(r.j, "recovery_codes");
    assert_int_equal(json_array_size(codes), 10);
    u->nrecovery = 10;
    for (size_t i = 0; i < 10; i++) {
        const char *c = json_string_value(json_array_get(codes, i));
        assert_non_null(c);
        snprintf(u->recovery[i], sizeof u->recovery[i], "%s", c);
        remember(f, c);
    }
    resp_free(&r);
}

/* A fully enrolled customer with an enrolled device and a full session. */
static void enrolled_user(struct fx *f, struct user *u, const char *tag)
{
    user_new(f, u, tag);
    register_and_verify(f, u);
    enrol_totp(f, u);
}

struct login_opts {
    const char *email;    /* default u->email */
    const char *password; /* default u->password */
    const char *totp;     /* a code, or NULL */
    const char *recovery; /* a recovery code, or NULL */
    const struct device *dev; /* default &u->dev */
    bool bad_signature;
};

/* Challenge, sign, POST /v1/login; the raw response. */
static struct resp login(struct fx *f, struct user *u, const struct login_opts *o)
{
    const struct device *d = o->dev ? o->dev : &u->dev;
    struct who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", u->who.source);
    struct resp r = call(f, &anon, "POST", "/v1/login/challenge", json_object());
    expect_status(r, 200);
    char challenge[128];
    snprintf(challenge, sizeof challenge, "%s", jstr(&r, "challenge"));
    assert_non_null(jstr(&r, "expires_at"));
    resp_free(&r);

    char msg[256];
    snprintf(msg, sizeof msg, "kessai-login-v1:%s", challenge);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), d->sk);
    if (o->bad_signature)
        sig[0] ^= 1;
    char sig_b64[128];
    sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

    json_t *body = json_pack("{s:s, s:s, s:o, s:s, s:s}", "email", o->email ? o->email : u->email, "password",
                             o->password ? o->password : u->password, "device", device_json(d), "challenge",
                             challenge, "signature", sig_b64);
    if (o->totp)
        json_object_set_new(body, "totp_code", json_string(o->totp));
    if (o->recovery)
        json_object_set_new(body, "recovery_code", json_string(o->recovery));
    return call(f, &anon, "POST", "/v1/login", body);
}

/* Log in with password and a fresh TOTP code; keep the new session. */
static void login_ok(struct fx *f, struct user *u, const struct device *d)
{
    char code[8];
    totp_next(u, code);
    struct resp r = login(f, u, &(struct login_opts){.totp = code, .dev = d});
    expect_status(r, 200);
    assert_string_equal(jstr(&r, "scope"), "full");
    assert_int_equal(strlen(jstr(&r, "session_token")), 43);
    snprintf(u->token, sizeof u->token, "%s", jstr(&r, "session_token"));
    snprintf(u->session_id, sizeof u->session_id, "%s", jstr(&r, "session_id"));
    snprintf(u->device_id, sizeof u->device_id, "%s", jstr(&r, "device_id"));
    remember(f, u->token);
    resp_free(&r);
    use_session(u);
}

static void mfa_verify(struct fx *f, struct user *u)
{
    char code[8];
    totp_next(u, code);
    struct resp r = call(f, &u->who, "POST", "/v1/mfa/verify", json_pack("{s:s}", "totp_code", code));
    expect_status(r, 200);
    assert_non_null(jstr(&r, "fresh_until"));
    resp_free(&r);
}

/* ---- the customer's side ------------------------------------------------- */

static void test_happy_path(void **state)
{
    struct fx *f = *state;
    struct user u;
    user_new(f, &u, "happy");
    register_and_verify(f, &u);

    /* the enrol session may read /v1/me and enrol TOTP, nothing else */
    struct resp r = call(f, &u.who, "GET", "/v1/me", NULL);
    expect_status(r, 200);
    assert_string_equal(jstr(&r, "email"), u.email);
    assert_true(json_is_true(json_object_get(r.j, "email_verified")));
    assert_true(json_is_false(json_object_get(r.j, "totp_enrolled")));
    assert_true(strncmp(jstr(&r, "id"), "usr_", 4) == 0);
    resp_free(&r);
    r = call(f, &u.who, "GET", "/v1/sessions", NULL);
    expect_error(r, 403, "mfa_required");
    resp_free(&r);
    r = call(f, &u.who, "GET", "/v1/devices", NULL);
    expect_error(r, 403, "mfa_required");
    resp_free(&r);

    enrol_totp(f, &u);
    char enrol_token[64], enrol_session[64];
    snprintf(enrol_token, sizeof enrol_token, "%s", u.token);
    snprintf(enrol_session, sizeof enrol_session, "%s", u.session_id);

    /* sign in on the same phone: challenge + signature + password + TOTP */
    login_ok(f, &u, NULL);
    r = call(f, &u.who, "GET", "/v1/me", NULL);
    expect_status(r, 200);
    assert_true(json_is_true(json_object_get(r.j, "totp_enrolled")));
    assert_int_equal(json_integer_value(json_object_get(r.j, "recovery_codes_left")), 10);
    assert_non_null(jstr(&r, "created_at"));
    resp_free(&r);

    /* two sessions: the enrolment one and this one (current) */
    r = call(f, &u.who, "GET", "/v1/sessions", NULL);
    expect_status(r, 200);
    json_t *list = json_object_get(r.j, "sessions");
    assert_true(json_array_size(list) >= 2);
    size_t i;
    json_t *s;
    int current = 0, found_enrol = 0;
    json_array_foreach(list, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        if (json_is_true(json_object_get(s, "current"))) {
            current++;
            assert_string_equal(id, u.session_id);
        }
        if (strcmp(id, enrol_session) == 0)
            found_enrol = 1;
        assert_string_equal(json_string_value(json_object_get(s, "device_id")), u.device_id);
        assert_non_null(json_object_get(s, "last_seen_at"));
    }
    assert_int_equal(current, 1);
    assert_int_equal(found_enrol, 1);
    resp_free(&r);

    r = call(f, &u.who, "GET", "/v1/devices", NULL);
    expect_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "devices")), 1);
    resp_free(&r);

    /* revoke the enrolment session: its token stops working at once */
    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%s", enrol_session);
    r = call(f, &u.who, "DELETE", path, NULL);
    expect_status(r, 204);
    resp_free(&r);
    struct who old = u.who;
    old.token = enrol_token;
    r = call(f, &old, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    /* and the revoked token's use is in the log: someone may have kept it */
    char *log = tu_slurp(f->logpath, NULL);
    assert_non_null(log);
    char want[160];
    snprintf(want, sizeof want, "\"session_revoked_token_used\",\"session\":\"%s\"", enrol_session);
    assert_non_null(strstr(log, want));
    free(log);
    /* revoking it again, or a session that is not ours: not found */
    r = call(f, &u.who, "DELETE", path, NULL);
    expect_error(r, 404, "not_found");
    resp_free(&r);

    /* a fresh second-factor check */
    mfa_verify(f, &u);

    /* sign out everywhere: this session too */
    r = call(f, &u.who, "DELETE", "/v1/sessions", NULL);
    expect_status(r, 204);
    resp_free(&r);
    r = call(f, &u.who, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
}

static void test_no_session_is_unauthenticated(void **state)
{
    struct fx *f = *state;
    struct who w = new_source(f);
    struct resp r = call(f, &w, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    w.token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    w.device_id = "dev_0000000000001";
    r = call(f, &w, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    w.token = "not a token\"";
    r = call(f, &w, "GET", "/v1/sessions", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
}

/* ---- the attacker's side ------------------------------------------------- */

static void test_password_alone_refused(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "pwonly");
    /* the right password, the right device, no second factor */
    struct resp r = login(f, &u, &(struct login_opts){0});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    /* a wrong code */
    r = login(f, &u, &(struct login_opts){.totp = "000000"});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    /* the right code with a bad signature */
    char code[8];
    totp_next(&u, code);
    r = login(f, &u, &(struct login_opts){.totp = code, .bad_signature = true});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
}

static void test_totp_code_reuse_refused(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "replay");
    login_ok(f, &u, NULL);
    char code[8];
    totp_last(&u, code);
    /* the code just used, replayed at once (same step) */
    struct resp r = login(f, &u, &(struct login_opts){.totp = code});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    /* nor does it pass a second-factor check */
    r = call(f, &u.who, "POST", "/v1/mfa/verify", json_pack("{s:s}", "totp_code", code));
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
    /* a recovery code works once, then never again */
    r = login(f, &u, &(struct login_opts){.recovery = u.recovery[0]});
    expect_status(r, 200);
    remember(f, jstr(&r, "session_token"));
    resp_free(&r);
    r = login(f, &u, &(struct login_opts){.recovery = u.recovery[0]});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
}

static void test_lockout_after_ten_failures(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "lockout");
    size_t before = mail_count_to(f, u.email);
    remember(f, "wrong-password-guess-1");
    for (int i = 0; i < 10; i++) {
        /* spread over two addresses: the lock is per account */
        if (i == 5)
            u.who = new_source(f);
        struct resp r = login(f, &u, &(struct login_opts){.password = "wrong-password-guess-1"});
        expect_error(r, 401, "invalid_credentials");
        resp_free(&r);
    }
    /* now even the right password and a right code are refused */
    char code[8];
    totp_next(&u, code);
    struct resp r = login(f, &u, &(struct login_opts){.totp = code});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    /* and the owner was told (by the mail thread: login answers first) */
    assert_true(mail_wait_count(f, u.email, before + 1) > before);
    char *notice = mail_find(f, u.email, "lock");
    if (notice == NULL)
        fail_msg("no lock-out notice in %s's mailbox", u.email);
    free(notice);
}

/* A thief with the unlocked phone: a full session with a fresh second
 * factor, but not the password.  Guessing it at POST /v1/password counts
 * as failed logins: the 10th locks the account and mails the owner, and
 * then the right password is refused there and at login. */
static void test_password_guessing_in_a_stolen_session_locks_out(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "pwguess");
    login_ok(f, &u, NULL);
    size_t before = mail_count_to(f, u.email);
    remember(f, NEW_PASSWORD);
    for (int i = 0; i < 10; i++) {
        char guess[64];
        snprintf(guess, sizeof guess, "guessed-passphrase-%d", i);
        struct resp r = call(f, &u.who, "POST", "/v1/password",
                             json_pack("{s:s, s:s}", "current_password", guess, "new_password", NEW_PASSWORD));
        expect_error(r, 401, "invalid_credentials");
        resp_free(&r);
    }
    struct resp r = call(f, &u.who, "POST", "/v1/password",
                         json_pack("{s:s, s:s}", "current_password", u.password, "new_password", NEW_PASSWORD));
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    char code[8];
    totp_next(&u, code);
    r = login(f, &u, &(struct login_opts){.totp = code});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    assert_true(mail_wait_count(f, u.email, before + 1) > before);
    char *notice = mail_find(f, u.email, "signed-in session");
    if (notice == NULL)
        fail_msg("no lock-out notice in %s's mailbox", u.email);
    free(notice);
}

static void test_reset_rejects_extra_fields_and_sends_nothing(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "victim");
    size_t before = mail_count_to(f, NULL);
    static const char *extra[] = {"send_to", "email2", "cc", "to"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        struct who w = new_source(f);
        json_t *body = json_pack("{s:s}", "email", u.email);
        json_object_set_new(body, extra[i], json_string("attacker@evil.example"));
        struct resp r = call(f, &w, "POST", "/v1/password-reset", body);
        expect_error(r, 400, "unknown_param");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "param")), extra[i]);
        resp_free(&r);
    }
    /* an unknown key so long that the param quoting it is cut inside a
     * character: still 400 unknown_param, not a 500 */
    char key[160];
    memset(key, 'a', 126);
    snprintf(key + 126, sizeof key - 126, "\xc3\xa9");
    struct who w = new_source(f);
    json_t *body = json_pack("{s:s}", "email", u.email);
    json_object_set_new(body, key, json_integer(1));
    struct resp r = call(f, &w, "POST", "/v1/password-reset", body);
    expect_error(r, 400, "unknown_param");
    resp_free(&r);
    /* an e-mail that is not a string, or two of them, is no way round it */
    w = new_source(f);
    r = call(f, &w, "POST", "/v1/password-reset", json_pack("{s:[s,s]}", "email", u.email, "attacker@evil.example"));
    expect_status(r, 400);
    resp_free(&r);
    usleep(200000); /* a mail sent in the background would have landed by now */
    assert_int_equal(mail_count_to(f, NULL), before);
    assert_int_equal(mail_count_to(f, "attacker@evil.example"), 0);
}

static void test_reset_flow(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "reset");
    login_ok(f, &u, NULL);
    struct who session = u.who;

    /* the request names the address in another case: the mail still goes
     * to the verified address on file, and only there */
    char shouted[128];
    snprintf(shouted, sizeof shouted, "%s", u.email);
    for (char *c = shouted; *c && *c != '@'; c++)
        *c = (char)toupper((unsigned char)*c);
    size_t before = mail_count_to(f, u.email), all_before = mail_count_to(f, NULL);
    struct who w = new_source(f);
    struct resp r = call(f, &w, "POST", "/v1/password-reset", json_pack("{s:s}", "email", shouted));
    expect_status(r, 202);
    assert_string_equal(jstr(&r, "status"), "reset_sent_if_account_exists");
    resp_free(&r);
    assert_int_equal(mail_wait_count(f, u.email, before + 1), before + 1);
    usleep(200000); /* time for a stray second mail to land, if there were one */
    assert_int_equal(mail_count_to(f, NULL), all_before + 1);
    char *mail = mail_find(f, u.email, "reset token");
    assert_non_null(mail);
    char token[44];
    assert_true(find_token(mail, token));
    free(mail);
    remember(f, token);

    /* without the second factor: refused, the token survives */
    r = call(f, &w, "POST", "/v1/password-reset/complete",
             json_pack("{s:s, s:s}", "token", token, "new_password", NEW_PASSWORD));
    expect_status(r, 400);
    resp_free(&r);
    r = call(f, &w, "POST", "/v1/password-reset/complete",
             json_pack("{s:s, s:s, s:s}", "token", token, "new_password", NEW_PASSWORD, "totp_code", "000000"));
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
    /* a wrong token */
    char code[8];
    totp_next(&u, code);
    r = call(f, &w, "POST", "/v1/password-reset/complete",
             json_pack("{s:s, s:s, s:s}", "token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "new_password",
                       NEW_PASSWORD, "totp_code", code));
    expect_error(r, 400, "invalid_token");
    resp_free(&r);
    /* the real thing */
    remember(f, NEW_PASSWORD);
    totp_next(&u, code);
    r = call(f, &w, "POST", "/v1/password-reset/complete",
             json_pack("{s:s, s:s, s:s}", "token", token, "new_password", NEW_PASSWORD, "totp_code", code));
    expect_status(r, 204);
    resp_free(&r);
    /* once only */
    remember(f, "another-long-passphrase-5");
    totp_next(&u, code);
    r = call(f, &w, "POST", "/v1/password-reset/complete",
             json_pack("{s:s, s:s, s:s}", "token", token, "new_password", "another-long-passphrase-5", "totp_code",
                       code));
    expect_error(r, 400, "invalid_token");
    resp_free(&r);
    /* every session ended; the old password is dead, the new one works */
    r = call(f, &session, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    r = login(f, &u, &(struct login_opts){.recovery = u.recovery[1]});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    snprintf(u.password, sizeof u.password, "%s", NEW_PASSWORD);
    login_ok(f, &u, NULL);
}

static void test_unknown_and_known_email_look_the_same(void **state)
{
    struct fx *f = *state;
    struct user u, ghost;
    enrolled_user(f, &u, "known");
    user_new(f, &ghost, "ghost");
    ghost.who = u.who;

    /* login: unknown address vs known address with a wrong password */
    char code[8];
    totp_next(&u, code);
    remember(f, "not-the-password-at-all");
    struct resp known = login(f, &u, &(struct login_opts){.password = "not-the-password-at-all", .totp = code});
    struct resp unknown = login(f, &ghost, &(struct login_opts){.totp = code});
    expect_error(known, 401, "invalid_credentials");
    assert_int_equal(unknown.status, known.status);
    assert_string_equal(unknown.raw, known.raw);
    resp_free(&known);
    resp_free(&unknown);

    /* password reset */
    size_t before = mail_count_to(f, u.email);
    known = call(f, &u.who, "POST", "/v1/password-reset", json_pack("{s:s}", "email", u.email));
    unknown = call(f, &u.who, "POST", "/v1/password-reset", json_pack("{s:s}", "email", ghost.email));
    expect_status(known, 202);
    assert_int_equal(unknown.status, known.status);
    assert_string_equal(unknown.raw, known.raw);
    resp_free(&known);
    resp_free(&unknown);
    assert_int_equal(mail_wait_count(f, u.email, before + 1), before + 1); /* mailed after the answer */
    assert_int_equal(mail_count_to(f, ghost.email), 0);

    /* registration of a taken address: the same 202, and the owner is told */
    remember(f, "a-different-long-passphrase-8");
    before = mail_count_to(f, u.email);
    known = call(f, &u.who, "POST", "/v1/registrations",
                 json_pack("{s:s, s:s}", "email", u.email, "password", "a-different-long-passphrase-8"));
    unknown = call(f, &u.who, "POST", "/v1/registrations",
                   json_pack("{s:s, s:s}", "email", ghost.email, "password", ghost.password));
    expect_status(known, 202);
    assert_int_equal(unknown.status, known.status);
    assert_string_equal(unknown.raw, known.raw);
    resp_free(&known);
    resp_free(&unknown);
    assert_int_equal(mail_count_to(f, u.email), before + 1);
}

/* POST /v1/registrations; the 202 body. */
static void register_only(struct fx *f, const struct user *u)
{
    remember(f, u->password);
    struct resp r = call(f, &u->who, "POST", "/v1/registrations",
                         json_pack("{s:s, s:s}", "email", u->email, "password", u->password));
    expect_status(r, 202);
    resp_free(&r);
}

static void test_verify_needs_device_proof_and_password(void **state)
{
    struct fx *f = *state;
    struct user u, ghost;
    struct device other;
    char code[8], ch[128], sig[128];
    user_new(f, &u, "proof");
    device_new(&other, "someone else's phone");
    register_only(f, &u);
    newest_code(f, &u, code);

    /* The old body, without a proof of the device key: refused outright. */
    struct resp r = call(f, &u.who, "POST", "/v1/registrations/verify",
                         json_pack("{s:s, s:s, s:s, s:o}", "email", u.email, "password", u.password, "code", code,
                                   "device", device_json(&u.dev)));
    expect_error(r, 400, "missing_param");
    resp_free(&r);

    /* Signed by another key than the one enrolled: like a wrong code. */
    device_proof(f, &u.who, &other, false, ch, sig);
    struct resp first = verify_raw(f, &u, u.password, code, &u.dev, ch, sig);
    expect_error(first, 400, "invalid_code");
    /* A corrupted signature. */
    device_proof(f, &u.who, &u.dev, true, ch, sig);
    r = verify_raw(f, &u, u.password, code, &u.dev, ch, sig);
    expect_error(r, 400, "invalid_code");
    assert_string_equal(r.raw, first.raw);
    resp_free(&r);
    /* A good proof with a wrong password ... */
    remember(f, "not-the-password-at-all");
    device_proof(f, &u.who, &u.dev, false, ch, sig);
    r = verify_raw(f, &u, "not-the-password-at-all", code, &u.dev, ch, sig);
    expect_error(r, 400, "invalid_code");
    assert_string_equal(r.raw, first.raw);
    resp_free(&r);
    /* ... cannot be replayed with the right one: the challenge is spent. */
    r = verify_raw(f, &u, u.password, code, &u.dev, ch, sig);
    expect_error(r, 400, "invalid_code");
    assert_string_equal(r.raw, first.raw);
    resp_free(&r);

    /* An address without an account: the same status and body. */
    user_new(f, &ghost, "ghost");
    ghost.who = u.who;
    r = verify(f, &ghost, code);
    assert_int_equal(r.status, first.status);
    assert_string_equal(r.raw, first.raw);
    resp_free(&r);
    resp_free(&first);

    /* Four failures cost four of the code's five tries; the fifth
     * attempt, all right, enrols the device that signed. */
    r = verify(f, &u, code);
    take_enrol_session(f, &u, &r);
    r = call(f, &u.who, "GET", "/v1/devices", NULL);
    expect_error(r, 403, "mfa_required"); /* an enrol session, on u.dev */
    resp_free(&r);
}

static void test_squatter_cannot_choose_the_password(void **state)
{
    struct fx *f = *state;
    struct user v, s;
    char code[8];
    user_new(f, &v, "victim");
    user_new(f, &s, "squatter");
    snprintf(s.email, sizeof s.email, "%s", v.email);
    snprintf(s.password, sizeof s.password, "squatter-owns-this-pass-42");
    register_only(f, &v);
    /* The squatter registers the victim's pending address again: the new
     * code goes to the victim, the password is now the squatter's. */
    register_only(f, &s);
    newest_code(f, &v, code);
    struct resp r = verify(f, &v, code);
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
    /* Registering again puts the victim's password back; the new code
     * verifies it. */
    register_only(f, &v);
    newest_code(f, &v, code);
    r = verify(f, &v, code);
    take_enrol_session(f, &v, &r);
    enrol_totp(f, &v);
    login_ok(f, &v, NULL);
    char totp[8];
    totp_next(&v, totp);
    r = login(f, &v, &(struct login_opts){.password = s.password, .totp = totp});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
}

static void test_resends_are_budgeted(void **state)
{
    struct fx *f = *state;
    struct user u;
    char code[8], wrong[8];
    user_new(f, &u, "budget");
    register_only(f, &u);
    assert_int_equal(mail_count_to(f, u.email), 1);
    struct resp first = {0};
    for (size_t i = 2; i <= 6; i++) {
        struct resp r = call(f, &u.who, "POST", "/v1/registrations/resend", json_pack("{s:s}", "email", u.email));
        expect_status(r, 202);
        if (first.raw == NULL)
            first = r;
        else {
            assert_string_equal(r.raw, first.raw);
            resp_free(&r);
        }
        if (i <= 5)
            assert_int_equal(mail_wait_count(f, u.email, i), i);
    }
    resp_free(&first);
    /* The 6th resend of the day answered the same, but mailed nothing
     * (waited for as long as the mail of a real one could take); nor does
     * registering again. */
    assert_int_equal(mail_wait_count(f, u.email, 6), 5);
    register_only(f, &u);
    assert_int_equal(mail_count_to(f, u.email), 5);

    /* The newest code has its 5 tries and no more. */
    u.who = new_source(f);
    newest_code(f, &u, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    for (int i = 0; i < 5; i++) {
        struct resp r = verify(f, &u, wrong);
        expect_error(r, 400, "invalid_code");
        resp_free(&r);
    }
    struct resp r = verify(f, &u, code);
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
}

static void test_unfinished_enrolment_can_be_resumed(void **state)
{
    struct fx *f = *state;
    struct user u;
    char code[8], lost_token[64], lost_device[64];
    user_new(f, &u, "resume");
    register_and_verify(f, &u);
    /* The phone is reset before TOTP is enrolled: the enrol session and
     * the device key are gone. */
    snprintf(lost_token, sizeof lost_token, "%s", u.token);
    snprintf(lost_device, sizeof lost_device, "%s", u.device_id);
    device_new(&u.dev, "reset phone");
    size_t before = mail_count_to(f, u.email);
    struct resp r = call(f, &u.who, "POST", "/v1/registrations/resend", json_pack("{s:s}", "email", u.email));
    expect_status(r, 202);
    resp_free(&r);
    assert_int_equal(mail_wait_count(f, u.email, before + 1), before + 1);
    newest_code(f, &u, code);
    r = verify(f, &u, code);
    take_enrol_session(f, &u, &r);
    /* The lost session has ended. */
    struct who lost = {0};
    snprintf(lost.source, sizeof lost.source, "%s", u.who.source);
    lost.token = lost_token;
    lost.device_id = lost_device;
    r = call(f, &lost, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    enrol_totp(f, &u);
    login_ok(f, &u, NULL);

    /* Enrolled: no more codes, and verification refuses as for any wrong
     * code. */
    before = mail_count_to(f, u.email);
    r = call(f, &u.who, "POST", "/v1/registrations/resend", json_pack("{s:s}", "email", u.email));
    expect_status(r, 202);
    resp_free(&r);
    assert_int_equal(mail_wait_count(f, u.email, before + 1), before);
    r = verify(f, &u, code);
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
}

static void test_session_bound_to_its_device(void **state)
{
    struct fx *f = *state;
    struct user u;
    enrolled_user(f, &u, "twodev");
    login_ok(f, &u, NULL);
    char token_a[64], dev_a[64];
    snprintf(token_a, sizeof token_a, "%s", u.token);
    snprintf(dev_a, sizeof dev_a, "%s", u.device_id);

    /* a second phone signs in: a new device, and the customer is told */
    size_t before = mail_count_to(f, u.email);
    struct device b;
    device_new(&b, "second phone");
    char code[8];
    totp_next(&u, code);
    struct resp r = login(f, &u, &(struct login_opts){.totp = code, .dev = &b});
    expect_status(r, 200);
    assert_true(json_is_true(json_object_get(r.j, "new_device")));
    char dev_b[64], token_b[64];
    snprintf(dev_b, sizeof dev_b, "%s", jstr(&r, "device_id"));
    snprintf(token_b, sizeof token_b, "%s", jstr(&r, "session_token"));
    assert_string_not_equal(dev_a, dev_b);
    remember(f, token_b);
    resp_free(&r);
    assert_true(mail_wait_count(f, u.email, before + 1) > before);

    /* A's token presented as device B: refused, and A's session is over
     * (whoever holds the token is not A's app) ... */
    struct who stolen = u.who;
    stolen.token = token_a;
    stolen.device_id = dev_b;
    r = call(f, &stolen, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    /* ... so neither no device id nor A's own id brings it back */
    stolen.device_id = NULL;
    r = call(f, &stolen, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    stolen.device_id = dev_a;
    r = call(f, &stolen, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    /* B's session was not involved and still works */
    snprintf(u.token, sizeof u.token, "%s", token_b);
    snprintf(u.device_id, sizeof u.device_id, "%s", dev_b);
    use_session(&u);
    r = call(f, &u.who, "GET", "/v1/me", NULL);
    expect_status(r, 200);
    resp_free(&r);

    /* removing device A needs a fresh second-factor check ... */
    char path[128];
    snprintf(path, sizeof path, "/v1/devices/%s", dev_a);
    /* (login counted as one: wait it out is too slow, so check the rule
     * through a recovery-code request made on a session whose check is
     * stale is left to the domain tests; here: after a check it works) */
    mfa_verify(f, &u);
    r = call(f, &u.who, "DELETE", path, NULL);
    expect_status(r, 204);
    resp_free(&r);
    r = call(f, &u.who, "GET", "/v1/devices", NULL);
    expect_status(r, 200);
    assert_int_equal(json_array_size(json_object_get(r.j, "devices")), 1);
    resp_free(&r);
}

static void test_unknown_fields_refused_everywhere(void **state)
{
    struct fx *f = *state;
    struct who w = new_source(f);
    static const char *paths[] = {"/v1/registrations", "/v1/registrations/resend", "/v1/registrations/verify",
                                  "/v1/login/challenge", "/v1/login", "/v1/password-reset/complete"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct resp r = call(f, &w, "POST", paths[i], json_pack("{s:s}", "zzz_extra", "x"));
        expect_error(r, 400, "unknown_param");
        resp_free(&r);
    }
}

static void test_rate_limit(void **state)
{
    struct fx *f = *state;
    struct who w = {0};
    snprintf(w.source, sizeof w.source, "127.0.0.251");
    int ok = 0, limited = 0;
    for (int i = 0; i < 40 && limited == 0; i++) {
        struct resp r = call(f, &w, "POST", "/v1/login/challenge", json_object());
        if (r.status == 200) {
            ok++;
        } else {
            expect_error(r, 429, "rate_limited");
            assert_true(atoi(r.retry_after) >= 1);
            limited++;
        }
        resp_free(&r);
    }
    assert_int_equal(limited, 1);
    assert_true(ok >= 20 && ok <= 22);
    /* other endpoints from the same address share the bucket */
    struct resp r = call(f, &w, "POST", "/v1/password-reset", json_pack("{s:s}", "email", "x@example.com"));
    expect_error(r, 429, "rate_limited");
    resp_free(&r);
    /* another client is unaffected */
    struct who other = new_source(f);
    r = call(f, &other, "POST", "/v1/login/challenge", json_object());
    expect_status(r, 200);
    resp_free(&r);
}

/* POST /v1/email and /v1/email/confirm.  A stale second factor (403
 * fresh_mfa_required) needs 300 s of waiting here; test_auth_email.c
 * checks it with an injected clock. */
static void test_email_change(void **state)
{
    struct fx *f = *state;
    struct user u, enrol;

    /* an enrol session may not */
    user_new(f, &enrol, "enrolonly");
    register_and_verify(f, &enrol);
    struct resp r = call(f, &enrol.who, "POST", "/v1/email", json_pack("{s:s}", "new_email", "x@example.org"));
    expect_error(r, 403, "mfa_required");
    resp_free(&r);

    enrolled_user(f, &u, "mover"); /* its session is full, the TOTP check fresh */
    struct who other = u.who;      /* keep the enrolment session */
    char other_token[64], other_dev[64];
    snprintf(other_token, sizeof other_token, "%s", u.token);
    snprintf(other_dev, sizeof other_dev, "%s", u.device_id);
    other.token = other_token;
    other.device_id = other_dev;
    login_ok(f, &u, NULL);

    char old[128], new_addr[128], shouted[128];
    snprintf(old, sizeof old, "%s", u.email);
    snprintf(new_addr, sizeof new_addr, "moved-%.100s", u.email);
    snprintf(shouted, sizeof shouted, "MOVED-%.100s", u.email);
    size_t before_old = mail_count_to(f, old);

    /* extra fields and non-addresses are refused, and nothing is sent */
    r = call(f, &u.who, "POST", "/v1/email",
             json_pack("{s:s, s:s}", "new_email", new_addr, "send_to", "attacker@evil.example"));
    expect_error(r, 400, "unknown_param");
    resp_free(&r);
    r = call(f, &u.who, "POST", "/v1/email", json_pack("{s:s}", "new_email", "not an address"));
    expect_error(r, 400, "invalid_param");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.j, "error"), "param")), "new_email");
    resp_free(&r);

    /* ask: 202, the code goes to the new address, a notice to the old */
    r = call(f, &u.who, "POST", "/v1/email", json_pack("{s:s}", "new_email", shouted));
    expect_status(r, 202);
    assert_string_equal(jstr(&r, "status"), "verification_sent");
    resp_free(&r);
    assert_int_equal(mail_wait_count(f, new_addr, 1), 1);
    assert_int_equal(mail_wait_count(f, old, before_old + 1), before_old + 1);
    char *mail = mail_find(f, new_addr, "confirm");
    assert_non_null(mail);
    char code[8];
    assert_true(find_digits(mail, 6, code));
    free(mail);
    remember(f, code);
    mail = mail_find(f, old, "was requested");
    assert_non_null(mail);
    assert_non_null(strstr(inbox_body(mail), new_addr));
    assert_null(strstr(inbox_body(mail), code));
    free(mail);
    assert_int_equal(mail_count_to(f, "attacker@evil.example"), 0);

    /* a wrong code, then the right one from the signed-in customer */
    char wrong[8];
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
    r = call(f, &u.who, "POST", "/v1/email/confirm", json_pack("{s:s}", "code", wrong));
    expect_error(r, 400, "invalid_code");
    resp_free(&r);
    r = call(f, &u.who, "POST", "/v1/email/confirm", json_pack("{s:s}", "code", code));
    expect_status(r, 200);
    assert_string_equal(jstr(&r, "email"), new_addr);
    assert_true(strncmp(jstr(&r, "id"), "usr_", 4) == 0);
    resp_free(&r);
    r = call(f, &u.who, "POST", "/v1/email/confirm", json_pack("{s:s}", "code", code));
    expect_error(r, 400, "invalid_code"); /* once only */
    resp_free(&r);

    /* the other session ended, this one goes on with the new address */
    r = call(f, &other, "GET", "/v1/me", NULL);
    expect_error(r, 401, "unauthenticated");
    resp_free(&r);
    r = call(f, &u.who, "GET", "/v1/me", NULL);
    expect_status(r, 200);
    assert_string_equal(jstr(&r, "email"), new_addr);
    resp_free(&r);
    /* the old address is told (the real owner learns of a takeover) */
    mail = mail_find(f, old, "was changed");
    assert_non_null(mail);
    assert_non_null(strstr(inbox_body(mail), new_addr));
    free(mail);

    /* the old address no longer signs in; the new one does */
    r = login(f, &u, &(struct login_opts){.recovery = u.recovery[0]});
    expect_error(r, 401, "invalid_credentials");
    resp_free(&r);
    snprintf(u.email, sizeof u.email, "%.120s", new_addr);
    login_ok(f, &u, NULL);
}

/* ---- afterwards: no secret anywhere -------------------------------------- */

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    size_t nl = strlen(needle);
    bool numeric = strspn(needle, "0123456789") == nl;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(fp);
    bool found = false;
    for (size_t i = 0; !found && len >= nl && i <= len - nl; i++) {
        if (memcmp(buf + i, needle, nl) != 0)
            continue;
        /* a 6-digit code inside a longer number (a timestamp) is not it */
        if (numeric && ((i > 0 && isdigit((unsigned char)buf[i - 1])) ||
                        (i + nl < len && isdigit((unsigned char)buf[i + nl]))))
            continue;
        found = true;
    }
    free(buf);
    return found;
}

/* Every regular file under dir except the subtree `skip`. */
static void scan_tree(struct fx *f, const char *dir, const char *skip, int *leaks)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (skip && strcmp(path, skip) == 0)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            scan_tree(f, path, skip, leaks);
            continue;
        }
        for (size_t i = 0; i < f->nsecrets; i++)
            if (file_contains(path, f->secrets[i])) {
                print_error("secret #%zu (%zu chars) found in %s\n", i, strlen(f->secrets[i]), path);
                (*leaks)++;
            }
    }
    closedir(d);
}

static void test_no_secret_at_rest_or_in_the_log(void **state)
{
    struct fx *f = *state;
    assert_true(f->nsecrets > 20);
    /* stop first: the WAL is checkpointed and every log line written */
    assert_int_equal(server_stop(f), 0);
    char mail[700];
    snprintf(mail, sizeof mail, "%s/mail", f->data);
    int leaks = 0;
    scan_tree(f, f->data, mail, &leaks);
    for (size_t i = 0; i < f->nsecrets; i++)
        if (file_contains(f->logpath, f->secrets[i])) {
            print_error("secret #%zu found in the server log\n", i);
            leaks++;
        }
    assert_int_equal(leaks, 0);

    /* and the books still balance */
    char kessai[1024], cmd[2400];
    const char *k = getenv("KESSAI");
    if (k && *k) {
        snprintf(kessai, sizeof kessai, "%s", k);
    } else {
        snprintf(kessai, sizeof kessai, "%s", kessaid_path());
        size_t l = strlen(kessai);
        assert_true(l > 1 && kessai[l - 1] == 'd');
        kessai[l - 1] = '\0'; /* …/kessaid -> …/kessai */
    }
    snprintf(cmd, sizeof cmd, "'%s' --data-dir '%s' ledger verify >/dev/null 2>&1", kessai, f->data);
    assert_int_equal(system(cmd), 0);
    /* and every security event of the run, appended by kessaid's many
     * connections, is one intact audit chain */
    snprintf(cmd, sizeof cmd, "'%s' --data-dir '%s' audit verify >/dev/null 2>&1", kessai, f->data);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    if (sodium_init() < 0 || oath_init() != OATH_OK)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_no_session_is_unauthenticated),
        cmocka_unit_test(test_password_alone_refused),
        cmocka_unit_test(test_totp_code_reuse_refused),
        cmocka_unit_test(test_lockout_after_ten_failures),
        cmocka_unit_test(test_password_guessing_in_a_stolen_session_locks_out),
        cmocka_unit_test(test_reset_rejects_extra_fields_and_sends_nothing),
        cmocka_unit_test(test_reset_flow),
        cmocka_unit_test(test_unknown_and_known_email_look_the_same),
        cmocka_unit_test(test_verify_needs_device_proof_and_password),
        cmocka_unit_test(test_squatter_cannot_choose_the_password),
        cmocka_unit_test(test_resends_are_budgeted),
        cmocka_unit_test(test_unfinished_enrolment_can_be_resumed),
        cmocka_unit_test(test_session_bound_to_its_device),
        cmocka_unit_test(test_unknown_fields_refused_everywhere),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_email_change),
        /* last: it stops the server */
        cmocka_unit_test(test_no_secret_at_rest_or_in_the_log),
    };
    int failed = cmocka_run_group_tests_name("api_auth", tests, fx_up, fx_down);
    oath_done();
    curl_global_cleanup();
    return failed;
}
