/* api_client.c: see api_client.h. */
#include "api_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liboath/oath.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"
#include "testutil.h"


/* ---- the server ---------------------------------------------------------- */

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

void ac_server_init(struct ac_server *s)
{
    memset(s, 0, sizeof *s);
    s->root = tu_tempdir();
    tu_path(s->data, sizeof s->data, s->root, "data");
    tu_path(s->logpath, sizeof s->logpath, s->root, "kessaid.log");
    s->next_source = 10;
}

void ac_server_start(struct ac_server *s, const char *const *env)
{
    assert_int_equal(s->pid, 0);
    uint16_t port = free_port();
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", (unsigned)port);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A test that fails mid-way exits without stopping its server:
         * the server goes with it instead of outliving the suite. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
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
        int fd = open(s->logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execl(kessaid_path(), "kessaid", "--data-dir", s->data, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 600; i++) {
        if (healthz(s->base) == 200)
            return;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            fail_msg("kessaid (%s) exited during start-up; see %s", kessaid_path(), s->logpath);
        }
        usleep(50000);
    }
    fail_msg("kessaid did not answer /healthz in time");
}

static int exit_status(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : -1; }

int ac_server_stop(struct ac_server *s)
{
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    int st = 0;
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    return exit_status(st);
}

int ac_server_wait_exit(struct ac_server *s, int timeout_ms)
{
    if (s->pid <= 0)
        return 0;
    int st = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return exit_status(st);
        }
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    return -2;
}

void ac_server_cleanup(struct ac_server *s)
{
    ac_server_stop(s);
    if (s->root) {
        if (getenv("KESSAI_KEEP_TEST_DIR") == NULL)
            tu_rmtree(s->root);
        else
            fprintf(stderr, "kept test dir %s\n", s->root);
        free(s->root);
        s->root = NULL;
    }
    for (size_t i = 0; i < s->nsecrets; i++)
        free(s->secrets[i]);
    s->nsecrets = 0;
}

int ac_cli(const struct ac_server *s, const char *args)
{
    char kessai[1024], cmd[4096];
    const char *k = getenv("KESSAI");
    if (k && *k) {
        snprintf(kessai, sizeof kessai, "%s", k);
    } else {
        snprintf(kessai, sizeof kessai, "%s", kessaid_path());
        size_t l = strlen(kessai);
        assert_true(l > 1 && kessai[l - 1] == 'd');
        kessai[l - 1] = '\0'; /* …/kessaid -> …/kessai */
    }
    snprintf(cmd, sizeof cmd, "'%s' --data-dir '%s' %s", kessai, s->data, args);
    int st = system(cmd);
    return exit_status(st);
}

/* ---- HTTP ----------------------------------------------------------------- */

struct ac_who ac_new_source(struct ac_server *s)
{
    struct ac_who w = {0};
    assert_true(s->next_source < 250);
    snprintf(w.source, sizeof w.source, "127.0.0.%d", s->next_source++);
    return w;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct ac_resp *r = ud;
    size_t have = r->raw ? strlen(r->raw) : 0;
    char *grown = realloc(r->raw, have + size * n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + have, p, size * n);
    grown[have + size * n] = '\0';
    r->raw = grown;
    return size * n;
}

static void header_value(const char *p, size_t len, const char *name, char *out, size_t outn)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
        return;
    const char *v = p + nl + 1;
    while (*v == ' ')
        v++;
    snprintf(out, outn, "%.*s", (int)strcspn(v, "\r\n"), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct ac_resp *r = ud;
    size_t len = size * n;
    header_value(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    header_value(p, len, "Idempotent-Replayed", r->idempotent_replayed, sizeof r->idempotent_replayed);
    header_value(p, len, "Location", r->location, sizeof r->location);
    return len;
}

void ac_resp_free(struct ac_resp *r)
{
    free(r->raw);
    json_decref(r->j);
    memset(r, 0, sizeof *r);
}

struct ac_resp ac_call_raw(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                           const char *const *headers, const char *body, bool allow_conn_error)
{
    struct ac_resp r = {0};
    char url[1024];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char line[512];
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (w && w->token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", w->token);
        h = curl_slist_append(h, line);
    }
    if (w && w->device_id) {
        snprintf(line, sizeof line, "Kessai-Device: %s", w->device_id);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
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
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(r.curl_error, sizeof r.curl_error, "%s", curl_easy_strerror(rc));
        r.status = 0;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK && !allow_conn_error) { /* fail_msg does not return: nothing left to free but the body */
        free(r.raw);
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    }
    if (r.raw && r.raw[0])
        r.j = json_loads(r.raw, 0, NULL);
    return r;
}

struct ac_resp ac_call(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                       json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct ac_resp r = ac_call_raw(s, w, method, path, NULL, text, false);
    free(text);
    return r;
}

struct ac_resp ac_call_idem(struct ac_server *s, const struct ac_who *w, const char *method, const char *path,
                            const char *key, json_t *body)
{
    char line[256];
    const char *headers[2] = {NULL, NULL};
    if (key) {
        snprintf(line, sizeof line, "Idempotency-Key: %s", key);
        headers[0] = line;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct ac_resp r = ac_call_raw(s, w, method, path, headers, text, false);
    free(text);
    return r;
}

const char *ac_str(const struct ac_resp *r, const char *key)
{
    return json_string_value(json_object_get(r->j, key));
}

const char *ac_err_code(const struct ac_resp *r)
{
    const char *c = json_string_value(json_object_get(json_object_get(r->j, "error"), "code"));
    return c ? c : "";
}

const char *ac_err_param(const struct ac_resp *r)
{
    const char *c = json_string_value(json_object_get(json_object_get(r->j, "error"), "param"));
    return c ? c : "";
}

size_t ac_log_count(const struct ac_server *s, const char *needle)
{
    FILE *fp = fopen(s->logpath, "r");
    assert_non_null(fp);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, needle))
            n++;
    fclose(fp);
    return n;
}

/* ---- the mailbox ----------------------------------------------------------- */

static bool mail_matches(const struct inbox_msg *m, const char *to, const char *needle)
{
    return (to == NULL || strcmp(m->to, to) == 0) && (needle == NULL || strcasestr(m->text, needle) != NULL);
}

char *ac_mail_find(const struct ac_server *s, const char *to, const char *needle)
{
    struct inbox box;
    inbox_load_data(&box, s->data);
    const struct inbox_msg *best = NULL;
    for (size_t i = 0; i < box.n; i++) /* oldest first: the last match is the newest */
        if (mail_matches(&box.m[i], to, needle))
            best = &box.m[i];
    char *copy = best ? strdup(best->text) : NULL;
    inbox_free(&box);
    return copy;
}

char *ac_mail_wait(const struct ac_server *s, const char *to, const char *needle)
{
    for (int i = 0; i < 100; i++) {
        char *m = ac_mail_find(s, to, needle);
        if (m)
            return m;
        usleep(50000);
    }
    fail_msg("no mail to %s containing \"%s\"", to ? to : "anyone", needle ? needle : "");
    return NULL;
}

size_t ac_mail_count(const struct ac_server *s, const char *to, const char *needle)
{
    struct inbox box;
    inbox_load_data(&box, s->data);
    size_t count = 0;
    for (size_t i = 0; i < box.n; i++)
        count += mail_matches(&box.m[i], to, needle);
    inbox_free(&box);
    return count;
}

void ac_mail_count_reaches(const struct ac_server *s, const char *to, const char *needle, size_t count)
{
    for (int i = 0; i < 200 && ac_mail_count(s, to, needle) < count; i++)
        usleep(50000);
    assert_int_equal(ac_mail_count(s, to, needle), count);
}

bool ac_find_digits(const char *mail, int digits, char *out)
{
    const char *body = inbox_body(mail);
    for (const char *p = body; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > body && isdigit((unsigned char)p[-1])))
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

/* ---- customers ------------------------------------------------------------ */

void ac_device_new(struct ac_device *d, const char *name)
{
    crypto_sign_keypair(d->pk, d->sk);
    sodium_bin2base64(d->pk_b64, sizeof d->pk_b64, d->pk, sizeof d->pk, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(d->name, sizeof d->name, "%s", name);
}

static json_t *device_json(const struct ac_device *d)
{
    return json_pack("{s:s, s:s}", "public_key", d->pk_b64, "name", d->name);
}

void ac_user_new(struct ac_server *s, struct ac_user *u, const char *tag)
{
    memset(u, 0, sizeof *u);
    char rnd[9];
    uint8_t b[4];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(rnd, sizeof rnd, b, sizeof b);
    /* "." is in no test password: the policy refuses a password that shares
     * 4 characters with the mailbox name (random hex could make "t-91"). */
    snprintf(u->email, sizeof u->email, "%.60s.%s@example.com", tag, rnd);
    snprintf(u->password, sizeof u->password, "%s", AC_PASSWORD);
    ac_device_new(&u->dev, "test phone");
    u->who = ac_new_source(s);
}

static void use_session(struct ac_user *u)
{
    u->who.token = u->token;
    u->who.device_id = u->device_id;
}

/* POST /v1/login/challenge from u's address and sign it with d. */
static void device_proof(struct ac_server *s, const struct ac_user *u, const struct ac_device *d,
                         char challenge[128], char sig_b64[128])
{
    struct ac_who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", u->who.source);
    struct ac_resp r = ac_call(s, &anon, "POST", "/v1/login/challenge", json_object());
    AC_EXPECT_STATUS(r, 200);
    snprintf(challenge, 128, "%s", ac_str(&r, "challenge"));
    ac_resp_free(&r);
    char msg[256];
    snprintf(msg, sizeof msg, "kessai-login-v1:%s", challenge);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), d->sk);
    sodium_bin2base64(sig_b64, 128, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void take_session(struct ac_server *s, struct ac_user *u, struct ac_resp *r)
{
    assert_int_equal(strlen(ac_str(r, "session_token")), 43);
    snprintf(u->token, sizeof u->token, "%s", ac_str(r, "session_token"));
    snprintf(u->session_id, sizeof u->session_id, "%s", ac_str(r, "session_id"));
    snprintf(u->device_id, sizeof u->device_id, "%s", ac_str(r, "device_id"));
    ac_remember(s, u->token);
    use_session(u);
}

void ac_seed_from_uri(struct ac_server *s, struct ac_user *u, const char *uri)
{
    assert_non_null(uri);
    assert_true(strncmp(uri, "otpauth://totp/", 15) == 0);
    const char *p = strstr(uri, "secret=");
    assert_non_null(p);
    p += 7;
    size_t len = strcspn(p, "&");
    char b32[128];
    snprintf(b32, sizeof b32, "%.*s", (int)len, p);
    ac_remember(s, b32);
    char *raw = NULL;
    size_t rawlen = 0;
    assert_int_equal(oath_base32_decode(b32, len, &raw, &rawlen), OATH_OK);
    assert_int_equal(rawlen, TOTP_SEED_BYTES);
    memcpy(u->seed, raw, TOTP_SEED_BYTES);
    free(raw);
    u->has_seed = true;
    u->last_step = 0;
}

void ac_user_enrolled(struct ac_server *s, struct ac_user *u, const char *tag)
{
    ac_user_new(s, u, tag);
    ac_remember(s, u->password);
    struct ac_resp r = ac_call(s, &u->who, "POST", "/v1/registrations",
                               json_pack("{s:s, s:s}", "email", u->email, "password", u->password));
    AC_EXPECT_STATUS(r, 202);
    ac_resp_free(&r);

    char *mail = ac_mail_wait(s, u->email, "verification code");
    char code[8];
    assert_true(ac_find_digits(mail, 6, code));
    free(mail);
    ac_remember(s, code);

    char challenge[128], sig[128];
    device_proof(s, u, &u->dev, challenge, sig);
    struct ac_who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", u->who.source);
    r = ac_call(s, &anon, "POST", "/v1/registrations/verify",
                json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "email", u->email, "password", u->password, "code",
                          code, "device", device_json(&u->dev), "challenge", challenge, "signature", sig));
    AC_EXPECT_STATUS(r, 201);
    take_session(s, u, &r);
    ac_resp_free(&r);

    r = ac_call(s, &u->who, "POST", "/v1/mfa/totp", json_object());
    AC_EXPECT_STATUS(r, 200);
    ac_seed_from_uri(s, u, ac_str(&r, "otpauth_uri"));
    ac_resp_free(&r);

    char totp[8];
    ac_totp_next(u, totp);
    r = ac_call(s, &u->who, "POST", "/v1/mfa/totp/confirm", json_pack("{s:s}", "code", totp));
    AC_EXPECT_STATUS(r, 200);
    json_t *codes = json_object_get(r.j, "recovery_codes");
    for (size_t i = 0; i < json_array_size(codes); i++)
        ac_remember(s, json_string_value(json_array_get(codes, i)));
    /* a confirmation may hand out a new full session (or keep this one) */
    if (ac_str(&r, "session_token"))
        take_session(s, u, &r);
    ac_resp_free(&r);

    r = ac_call(s, &u->who, "GET", "/v1/me", NULL);
    AC_EXPECT_STATUS(r, 200);
    snprintf(u->customer_id, sizeof u->customer_id, "%s", ac_str(&r, "id"));
    ac_resp_free(&r);
}

void ac_totp_next(struct ac_user *u, char out[TOTP_DIGITS + 1])
{
    assert_true(u->has_seed);
    /* Steps must increase, and only the current step ±1 is accepted: pick
     * the smallest usable step after the last one (waiting for the clock
     * when all three are used up), clear of a boundary that could pass
     * while the request travels. */
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

void ac_mfa_verify(struct ac_server *s, struct ac_user *u)
{
    char code[8];
    ac_totp_next(u, code);
    struct ac_resp r = ac_call(s, &u->who, "POST", "/v1/mfa/verify", json_pack("{s:s}", "totp_code", code));
    AC_EXPECT_STATUS(r, 200);
    ac_resp_free(&r);
}

void ac_login(struct ac_server *s, struct ac_user *u, const struct ac_device *d)
{
    if (d)
        u->dev = *d;
    char challenge[128], sig[128], code[8];
    device_proof(s, u, &u->dev, challenge, sig);
    ac_totp_next(u, code);
    struct ac_who anon = {0};
    snprintf(anon.source, sizeof anon.source, "%s", u->who.source);
    struct ac_resp r = ac_call(s, &anon, "POST", "/v1/login",
                               json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "email", u->email, "password",
                                         u->password, "device", device_json(&u->dev), "challenge", challenge,
                                         "signature", sig, "totp_code", code));
    AC_EXPECT_STATUS(r, 200);
    take_session(s, u, &r);
    ac_resp_free(&r);
}

/* ---- secrets ---------------------------------------------------------------- */

void ac_remember(struct ac_server *s, const char *secret)
{
    assert_non_null(secret);
    assert_true(s->nsecrets < AC_MAX_SECRETS);
    s->secrets[s->nsecrets] = strdup(secret);
    assert_non_null(s->secrets[s->nsecrets]);
    s->nsecrets++;
}

bool ac_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    size_t nl = strlen(needle);
    bool numeric = nl > 0 && strspn(needle, "0123456789") == nl;
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
    for (size_t i = 0; !found && nl > 0 && len >= nl && i <= len - nl; i++) {
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

static void scan_tree(const struct ac_server *s, const char *dir, const char *skip, int *leaks)
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
            scan_tree(s, path, skip, leaks);
            continue;
        }
        for (size_t i = 0; i < s->nsecrets; i++)
            if (ac_file_contains(path, s->secrets[i])) {
                print_error("secret #%zu (%zu chars) found in %s\n", i, strlen(s->secrets[i]), path);
                (*leaks)++;
            }
    }
    closedir(d);
}

void ac_assert_no_secrets(const struct ac_server *s)
{
    char mail[700];
    snprintf(mail, sizeof mail, "%s/mail", s->data);
    int leaks = 0;
    scan_tree(s, s->data, mail, &leaks);
    for (size_t i = 0; i < s->nsecrets; i++)
        if (ac_file_contains(s->logpath, s->secrets[i])) {
            print_error("secret #%zu found in the server log\n", i);
            leaks++;
        }
    assert_int_equal(leaks, 0);
}

json_t *ac_cli_json(const struct ac_server *s, const char *args)
{
    char out[700], cmd[1400];
    tu_path(out, sizeof out, s->root, "cli.json");
    snprintf(cmd, sizeof cmd, "%s --json >'%s'", args, out);
    assert_int_equal(ac_cli(s, cmd), 0);
    json_error_t err;
    json_t *j = json_load_file(out, 0, &err);
    if (j == NULL)
        fail_msg("kessai %s: no JSON (%s)", args, err.text);
    remove(out);
    return j;
}

void ac_assert_audit_intact(const struct ac_server *s)
{
    char db[700], out[700], cmd[800];
    tu_path(db, sizeof db, s->data, "kessai.db");
    if (access(db, F_OK) != 0)
        return;
    tu_path(out, sizeof out, s->root, "audit-verify.out");
    snprintf(cmd, sizeof cmd, "audit verify >'%s' 2>&1", out);
    int rc = ac_cli(s, cmd);
    if (rc != 0) {
        char *text = tu_slurp(out, NULL);
        fail_msg("kessai audit verify exited with %d:\n%s", rc, text ? text : "");
    }
    remove(out);
}

void ac_make_terminal(struct ac_server *s, const char *store_id, struct ac_terminal *t)
{
    char args[200];
    snprintf(args, sizeof args, "admin terminal create --store %s", store_id);
    json_t *j = ac_cli_json(s, args);
    snprintf(t->id, sizeof t->id, "%s", json_string_value(json_object_get(j, "id")));
    snprintf(t->key_id, sizeof t->key_id, "%s", json_string_value(json_object_get(j, "key_id")));
    const char *hex = json_string_value(json_object_get(j, "secret"));
    assert_non_null(hex);
    ac_remember(s, hex);
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(t->secret, sizeof t->secret, hex, strlen(hex), NULL, &n, NULL), 0);
    assert_int_equal(n, sizeof t->secret);
    json_decref(j);
}
