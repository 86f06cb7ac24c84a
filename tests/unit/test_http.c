/* test_http.c: the HTTP framework (src/http) seen from a real client.
 *
 * A server runs in-process on 127.0.0.1 with a test route table; libcurl
 * talks to it over TCP, so every check is what a client would see: status,
 * headers, JSON bodies, and that suspended requests come back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "http/metrics.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "http/suspend.h"
#include "util/json.h"
#include "util/wipe.h"

#define MAX_BODY 4096
#define QMAX 4096

/* ---- the test application ---------------------------------------------- */

struct app {
    atomic_int echo_calls;
    struct http_metrics *metrics;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* requests waiting for the completer thread (GET /async) */
    struct http_request *queue[QMAX];
    size_t qhead, qtail;
    bool quit;
    pthread_t completer;
    /* the request parked by GET /park, completed by the test itself */
    struct http_request *parked;
};

static enum http_verdict h_hello(struct http_request *req, void *app)
{
    (void)app;
    return http_reply_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static enum http_verdict h_echo(struct http_request *req, void *app)
{
    struct app *a = app;
    atomic_fetch_add(&a->echo_calls, 1);
    const char *name = NULL;
    const char *bad = NULL;
    struct json_field spec[] = {{.name = "name", .type = JF_STRING, .target = &name, .max_len = MAX_BODY}};
    enum err e = json_parse_fields(http_request_json(req), spec, 1, false, &bad);
    if (e != ERR_OK)
        return http_reply_error(req, e, bad);
    size_t len = 0;
    http_request_body(req, &len);
    return http_reply_json(req, 200, json_pack("{s:s, s:i}", "name", name, "bytes", (int)len));
}

static enum http_verdict h_item_get(struct http_request *req, void *app)
{
    (void)app;
    return http_reply_json(req, 200, json_pack("{s:s}", "id", http_request_param(req, "id")));
}

static enum http_verdict h_item_delete(struct http_request *req, void *app)
{
    (void)app;
    return http_reply_json(req, 200, json_pack("{s:s}", "deleted", http_request_param(req, "id")));
}

static enum http_verdict h_item_special(struct http_request *req, void *app)
{
    (void)app;
    return http_reply_json(req, 200, json_pack("{s:b}", "special", 1));
}

static enum http_verdict h_async(struct http_request *req, void *app)
{
    struct app *a = app;
    pthread_mutex_lock(&a->mu);
    if (a->qtail - a->qhead == QMAX) {
        pthread_mutex_unlock(&a->mu);
        return http_reply_error(req, ERR_RATE_LIMITED, NULL);
    }
    a->queue[a->qtail++ % QMAX] = req;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return HTTP_SUSPENDED;
}

/* Completes before returning HTTP_SUSPENDED: the completion races ahead of
 * the suspension, which the framework must handle. */
static enum http_verdict h_inline(struct http_request *req, void *app)
{
    (void)app;
    http_complete_json(req, 202, json_pack("{s:b}", "inline", 1));
    return HTTP_SUSPENDED;
}

static enum http_verdict h_park(struct http_request *req, void *app)
{
    struct app *a = app;
    pthread_mutex_lock(&a->mu);
    a->parked = req;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return HTTP_SUSPENDED;
}

static enum http_verdict h_noreply(struct http_request *req, void *app)
{
    (void)req;
    (void)app;
    return HTTP_REPLIED; /* a bug: claims a reply it never stored */
}

/* The peer's address, and a 429 with Retry-After set the way handlers do. */
static enum http_verdict h_whoami(struct http_request *req, void *app)
{
    (void)app;
    if (http_reply_retry_after(req, 7) != ERR_OK)
        return http_reply_error(req, ERR_INTERNAL, NULL);
    json_t *body = http_error_json(ERR_RATE_LIMITED, NULL);
    json_object_set_new(body, "addr", json_string(http_request_client_addr(req)));
    return http_reply_json(req, 429, body);
}

static enum http_verdict h_metrics(struct http_request *req, void *app)
{
    struct app *a = app;
    size_t len = 0;
    char *text = http_metrics_render(a->metrics, &len);
    if (text == NULL)
        return http_reply_error(req, ERR_NOMEM, NULL);
    enum http_verdict v = http_reply_text(req, 200, HTTP_METRICS_CONTENT_TYPE, text, len);
    free(text);
    return v;
}

static const struct http_route routes[] = {
    {"GET", "/hello", h_hello, 0},
    {"POST", "/echo", h_echo, HTTP_ROUTE_JSON_BODY},
    {"GET", "/items/special", h_item_special, 0},
    {"GET", "/items/{id}", h_item_get, 0},
    {"DELETE", "/items/{id}", h_item_delete, 0},
    {"GET", "/async/{n}", h_async, 0},
    {"GET", "/inline", h_inline, 0},
    {"GET", "/park", h_park, 0},
    {"GET", "/noreply", h_noreply, 0},
    {"GET", "/metrics", h_metrics, 0},
    {"GET", "/whoami", h_whoami, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static void *completer_main(void *arg)
{
    struct app *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->qhead == a->qtail && !a->quit)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->qhead == a->qtail)
            break;
        struct http_request *req = a->queue[a->qhead++ % QMAX];
        pthread_mutex_unlock(&a->mu);
        http_complete_json(req, 200, json_pack("{s:s}", "async", http_request_param(req, "n")));
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

struct fixture {
    struct app app;
    struct http_server *srv;
    char base[64];
};

static struct http_server_config test_config(uint16_t port)
{
    return (struct http_server_config){
        .host = "127.0.0.1",
        .port = port,
        .threads = 2,
        .max_body_bytes = MAX_BODY,
        .max_connections = 512,
        .max_connections_per_ip = 512,
        .connection_timeout_s = 10,
        .header_memory_bytes = 32 * 1024,
    };
}

static int fixture_up(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->app.mu, NULL);
    pthread_cond_init(&f->app.cv, NULL);
    f->app.metrics = http_metrics_new(routes, NROUTES);
    assert_non_null(f->app.metrics);
    assert_int_equal(pthread_create(&f->app.completer, NULL, completer_main, &f->app), 0);
    struct http_server_config cfg = test_config(0);
    char errbuf[HTTP_ERRBUF] = "";
    enum err e = http_server_start(&cfg, routes, NROUTES, &f->app, f->app.metrics, &f->srv, errbuf);
    if (e != ERR_OK)
        fail_msg("server did not start: %s", errbuf);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)http_server_port(f->srv));
    *state = f;
    return 0;
}

static int fixture_down(void **state)
{
    struct fixture *f = *state;
    http_server_stop(f->srv, 1000); /* NULL when a test stopped it already */
    pthread_mutex_lock(&f->app.mu);
    f->app.quit = true;
    pthread_cond_signal(&f->app.cv);
    pthread_mutex_unlock(&f->app.mu);
    pthread_join(f->app.completer, NULL);
    http_metrics_free(f->app.metrics);
    pthread_cond_destroy(&f->app.cv);
    pthread_mutex_destroy(&f->app.mu);
    free(f);
    return 0;
}

/* ---- the client -------------------------------------------------------- */

struct resp {
    CURLcode rc;
    long status;
    char *body;
    size_t len;
    char request_id[64];
    char allow[128];
    char content_type[128];
    char cache_control[64];
    char nosniff[64];
    char retry_after[32];
};

struct req_opts {
    const char *method;
    const char *content_type; /* NULL: no Content-Type header */
    const char *body;
    size_t body_len;
    bool chunked;      /* send the body with Transfer-Encoding: chunked */
    bool expect;       /* send Expect: 100-continue */
    const char *source; /* local address to connect from, or NULL */
    long timeout_ms;   /* 0: none */
    int slow_ms;       /* chunked only: pause between 512-byte pieces */
    CURL *curl;        /* reuse (keep-alive) or NULL */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    char *grown = realloc(r->body, r->len + size * n + 1);
    if (grown == NULL)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, p, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static void keep_header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    while (*v == ' ')
        v++;
    size_t vl = len - (size_t)(v - line);
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    snprintf(out, outlen, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    keep_header(p, len, "Request-Id", r->request_id, sizeof r->request_id);
    keep_header(p, len, "Allow", r->allow, sizeof r->allow);
    keep_header(p, len, "Content-Type", r->content_type, sizeof r->content_type);
    keep_header(p, len, "Cache-Control", r->cache_control, sizeof r->cache_control);
    keep_header(p, len, "X-Content-Type-Options", r->nosniff, sizeof r->nosniff);
    keep_header(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    return len;
}

struct upload {
    const char *data;
    size_t len, off;
    int slow_ms;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t want = size * n;
    if (u->slow_ms && u->off > 0)
        usleep((useconds_t)u->slow_ms * 1000);
    if (u->slow_ms && want > 512)
        want = 512;
    if (want > u->len - u->off)
        want = u->len - u->off;
    memcpy(buf, u->data + u->off, want);
    u->off += want;
    return want;
}

static struct resp request(const char *url, const struct req_opts *o)
{
    struct resp r = {0};
    CURL *c = o->curl ? o->curl : curl_easy_init();
    assert_non_null(c);
    struct curl_slist *hdrs = NULL;
    char ct[160];
    if (o->content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", o->content_type);
        hdrs = curl_slist_append(hdrs, ct);
    } else if (o->body) {
        hdrs = curl_slist_append(hdrs, "Content-Type:"); /* curl would add a form type */
    }
    hdrs = curl_slist_append(hdrs, o->expect ? "Expect: 100-continue" : "Expect:");
    struct upload up = {o->body, o->body_len, 0, o->slow_ms};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 20000L);
    if (o->source)
        curl_easy_setopt(c, CURLOPT_INTERFACE, o->source);
    if (o->body && o->chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (o->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
    const char *method = o->method ? o->method : "GET";
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || o->body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    r.rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hdrs);
    if (o->curl)
        curl_easy_reset(c);
    else
        curl_easy_cleanup(c);
    return r;
}

static struct resp get(struct fixture *f, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    return request(url, &(struct req_opts){.method = "GET"});
}

static struct resp send_req(struct fixture *f, const char *path, struct req_opts o)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    return request(url, &o);
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* The body's error.code, or "" if the body is not an error object. */
static void error_code(const struct resp *r, char *code, size_t n, char *param, size_t pn)
{
    code[0] = '\0';
    if (param)
        param[0] = '\0';
    json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
    json_t *err = json_object_get(j, "error");
    const char *c = json_string_value(json_object_get(err, "code"));
    const char *p = json_string_value(json_object_get(err, "param"));
    if (c)
        snprintf(code, n, "%s", c);
    if (param && p)
        snprintf(param, pn, "%s", p);
    json_decref(j);
}

static void assert_error(const struct resp *r, long status, const char *code)
{
    char got[64];
    error_code(r, got, sizeof got, NULL, 0);
    assert_int_equal(r->rc, CURLE_OK);
    assert_int_equal(r->status, status);
    assert_string_equal(got, code);
    assert_string_equal(r->content_type, "application/json");
    assert_true(strncmp(r->request_id, "req_", 4) == 0);
}

static char *json_body_of_size(size_t size)
{
    /* {"name":"xxx…"} of exactly size bytes */
    char *b = malloc(size + 1);
    assert_non_null(b);
    memset(b, 'x', size);
    memcpy(b, "{\"name\":\"", 9);
    memcpy(b + size - 2, "\"}", 2);
    b[size] = '\0';
    return b;
}

/* ---- routing and errors ------------------------------------------------ */

static void test_not_found_is_json_error(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/nope");
    assert_error(&r, 404, "not_found");
    assert_string_equal(r.cache_control, "no-store");
    assert_string_equal(r.nosniff, "nosniff");
    assert_non_null(strstr(r.body, "\"message\":\"No such resource.\""));
    assert_null(strstr(r.body, "\"param\""));
    resp_free(&r);
    /* exact matching: no trailing-slash or prefix leniency */
    r = get(f, "/hello/");
    assert_error(&r, 404, "not_found");
    resp_free(&r);
    /* an encoded NUL must not truncate the path into another route */
    r = get(f, "/hello%00/secret");
    assert_error(&r, 404, "not_found");
    resp_free(&r);
    r = get(f, "/items/a%00b"); /* left encoded: the handler sees all of it */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":\"a%00b\"}");
    resp_free(&r);
    r = get(f, "/h%65llo"); /* ordinary escapes still decode */
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct resp r = send_req(f, "/hello", (struct req_opts){.method = "DELETE"});
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "GET");
    resp_free(&r);
    r = send_req(f, "/items/abc", (struct req_opts){.method = "PUT"});
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "GET, DELETE");
    resp_free(&r);
}

static void test_path_params_and_precedence(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/items/abc-1");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":\"abc-1\"}");
    resp_free(&r);
    r = send_req(f, "/items/zz", (struct req_opts){.method = "DELETE"});
    assert_string_equal(r.body, "{\"deleted\":\"zz\"}");
    resp_free(&r);
    r = get(f, "/items/special"); /* the literal route is listed first */
    assert_string_equal(r.body, "{\"special\":true}");
    resp_free(&r);
    r = get(f, "/items/");
    assert_error(&r, 404, "not_found");
    resp_free(&r);
    r = get(f, "/items/a/b");
    assert_error(&r, 404, "not_found");
    resp_free(&r);
}

static void test_head_uses_get_route(void **state)
{
    struct fixture *f = *state;
    struct resp r = send_req(f, "/hello", (struct req_opts){.method = "HEAD"});
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_true(strncmp(r.request_id, "req_", 4) == 0);
    resp_free(&r);
}

static void test_request_ids_distinct(void **state)
{
    struct fixture *f = *state;
    struct resp a = get(f, "/hello"), b = get(f, "/hello"), c = get(f, "/nope");
    assert_int_equal(strlen(a.request_id), 4 + 26);
    assert_string_not_equal(a.request_id, b.request_id);
    assert_string_not_equal(b.request_id, c.request_id);
    assert_string_not_equal(a.request_id, c.request_id);
    resp_free(&a);
    resp_free(&b);
    resp_free(&c);
}

static void test_handler_without_reply_gets_500(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/noreply");
    assert_error(&r, 500, "internal_error");
    resp_free(&r);
    r = get(f, "/hello"); /* and the server carries on */
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* ---- bodies ------------------------------------------------------------ */

static void test_json_body_reaches_handler(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"name\":\"tanaka\"}";
    struct resp r = send_req(f, "/echo", (struct req_opts){.method = "POST", .content_type = "application/json",
                                                           .body = body, .body_len = strlen(body)});
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"name\":\"tanaka\",\"bytes\":17}");
    resp_free(&r);
    /* parameters on the media type are fine */
    r = send_req(f, "/echo", (struct req_opts){.method = "POST", .content_type = "Application/JSON; charset=utf-8",
                                               .body = body, .body_len = strlen(body), .chunked = true});
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_handler_error_names_param(void **state)
{
    struct fixture *f = *state;
    struct resp r = send_req(f, "/echo", (struct req_opts){.method = "POST", .content_type = "application/json",
                                                           .body = "{}", .body_len = 2});
    char code[64], param[64];
    error_code(&r, code, sizeof code, param, sizeof param);
    assert_int_equal(r.status, 400);
    assert_string_equal(code, "missing_param");
    assert_string_equal(param, "name");
    resp_free(&r);
}

static void expect_refused(struct fixture *f, struct req_opts o, long status, const char *code)
{
    int before = atomic_load(&f->app.echo_calls);
    struct resp r = send_req(f, "/echo", o);
    assert_error(&r, status, code);
    assert_int_equal(atomic_load(&f->app.echo_calls), before); /* the handler never ran */
    resp_free(&r);
}

static void test_malformed_json_never_reaches_handler(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"{\"name\":", "[\"name\"]", "\"name\"", "{\"name\":\"a\"} trailing", "", "{\"name\":\"a\",}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(f,
                       (struct req_opts){.method = "POST", .content_type = "application/json", .body = bad[i],
                                         .body_len = strlen(bad[i])},
                       400, "malformed_json");
    /* valid JSON with a number past 64 bits: no value a field takes, but
     * not malformed either */
    const char *huge = "{\"name\":99999999999999999999}";
    expect_refused(f,
                   (struct req_opts){.method = "POST", .content_type = "application/json", .body = huge,
                                     .body_len = strlen(huge)},
                   400, "invalid_param");
}

static void test_duplicate_keys_rejected(void **state)
{
    struct fixture *f = *state;
    const char *dup = "{\"name\":\"a\",\"name\":\"b\"}";
    expect_refused(f,
                   (struct req_opts){.method = "POST", .content_type = "application/json", .body = dup,
                                     .body_len = strlen(dup)},
                   400, "malformed_json");
}

static void test_wrong_content_type_is_415(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"name\":\"a\"}";
    expect_refused(f,
                   (struct req_opts){.method = "POST", .content_type = "text/plain", .body = body,
                                     .body_len = strlen(body)},
                   415, "unsupported_media_type");
    expect_refused(f,
                   (struct req_opts){.method = "POST", .content_type = "application/jsonx", .body = body,
                                     .body_len = strlen(body)},
                   415, "unsupported_media_type");
    expect_refused(f, (struct req_opts){.method = "POST", .body = body, .body_len = strlen(body)}, 415,
                   "unsupported_media_type");
}

static void test_oversized_body_is_413(void **state)
{
    struct fixture *f = *state;
    char *big = json_body_of_size(MAX_BODY + 1);
    struct req_opts o = {.method = "POST", .content_type = "application/json", .body = big, .body_len = MAX_BODY + 1};
    expect_refused(f, o, 413, "payload_too_large"); /* by Content-Length, body sent at once */
    o.expect = true;
    expect_refused(f, o, 413, "payload_too_large"); /* by Content-Length, before the body */
    o.expect = false;
    o.chunked = true;
    expect_refused(f, o, 413, "payload_too_large"); /* found while streaming */
    free(big);
    big = json_body_of_size(3 * MAX_BODY);
    o.body = big;
    o.body_len = 3 * MAX_BODY;
    expect_refused(f, o, 413, "payload_too_large");
    /* Even on a route that does not exist: the limit comes first. */
    struct resp r = send_req(f, "/nope", o);
    assert_error(&r, 413, "payload_too_large");
    resp_free(&r);
    free(big);
}

/* Send text on a connection of its own and read until the server closes
 * it (or 5 s pass: a bound for a broken server, not a timing). */
static void raw_exchange(struct fixture *f, const char *text, char *out, size_t max)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_server_port(f->srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_int_equal(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
    size_t len = 0;
    ssize_t n;
    while (len + 1 < max && (n = recv(fd, out + len, max - 1 - len, 0)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd);
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A body framed twice (Content-Length twice, or with Transfer-Encoding),
 * with a transfer coding MHD does not decode, or under a header name with
 * white space ("Content-Length : 2", which a lenient proxy reads as the
 * length), is how a request is smuggled past a proxy that reads the other
 * framing.  400 at once, naming what is wrong, and the connection closed,
 * so what follows never runs as a request of its own. */
static void test_a_body_framed_twice_is_refused_and_nothing_smuggled(void **state)
{
    struct fixture *f = *state;
    const struct {
        const char *text;
        const char *param;
    } attacks[] = {
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
         "Content-Length: 38\r\n\r\n{}GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "Content-Length"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n"
         "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "Content-Length"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n"
         "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "Transfer-Encoding"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n"
         "\r\n2\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "Transfer-Encoding"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: foo\r\n"
         "\r\n{}GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "Transfer-Encoding"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length : 2\r\n"
         "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
         "headers"},
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        char out[8192];
        raw_exchange(f, attacks[i].text, out, sizeof out);
        if (strncmp(out, "HTTP/1.1 400", 12) != 0 || !strstr(out, attacks[i].param))
            fail_msg("attack %zu: %.900s", i, out);
        assert_non_null(strstr(out, "\"invalid_param\""));
        assert_int_equal(count_of(out, "HTTP/1.1 "), 1); /* no answer to the smuggled GET */
    }
    /* one Content-Length, the ordinary case, still works on a kept-alive connection */
    char out[8192];
    raw_exchange(f,
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
                 "\r\n{\"name\":\"a\"}GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 200", 12), 0);
    assert_int_equal(count_of(out, "HTTP/1.1 200"), 2);
}

static void test_body_at_limit_accepted(void **state)
{
    struct fixture *f = *state;
    char *body = json_body_of_size(MAX_BODY);
    struct resp r = send_req(f, "/echo", (struct req_opts){.method = "POST", .content_type = "application/json",
                                                           .body = body, .body_len = MAX_BODY});
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"bytes\":4096"));
    resp_free(&r);
    r = send_req(f, "/echo", (struct req_opts){.method = "POST", .content_type = "application/json", .body = body,
                                               .body_len = MAX_BODY, .chunked = true});
    assert_int_equal(r.status, 200);
    resp_free(&r);
    free(body);
}

/* ---- suspend / resume -------------------------------------------------- */

static void test_suspended_request_completed_by_other_thread(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/async/42");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"async\":\"42\"}");
    assert_string_equal(r.content_type, "application/json");
    assert_true(strncmp(r.request_id, "req_", 4) == 0);
    resp_free(&r);
}

static void test_completed_before_handler_returned(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/inline");
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body, "{\"inline\":true}");
    resp_free(&r);
}

static struct http_request *wait_parked(struct app *a)
{
    pthread_mutex_lock(&a->mu);
    while (a->parked == NULL)
        pthread_cond_wait(&a->cv, &a->mu);
    struct http_request *req = a->parked;
    a->parked = NULL;
    pthread_mutex_unlock(&a->mu);
    return req;
}

static bool wait_inflight(struct http_server *srv, size_t want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (http_server_inflight(srv) == want)
            return true;
        usleep(10000);
    }
    return http_server_inflight(srv) == want;
}

static void test_client_gone_while_suspended(void **state)
{
    struct fixture *f = *state;
    struct resp r = send_req(f, "/park", (struct req_opts){.method = "GET", .timeout_ms = 300});
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT); /* the client gave up and closed */
    resp_free(&r);
    struct http_request *req = wait_parked(&f->app);
    assert_int_equal(http_server_inflight(f->srv), 1);
    /* Complete it after the disconnect, from this (non-server) thread. */
    http_complete_json(req, 200, json_pack("{s:s}", "late", "yes"));
    assert_true(wait_inflight(f->srv, 0, 5000));
    r = get(f, "/hello");
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* ---- concurrency ------------------------------------------------------- */

#define CLIENTS 4
#define PER_CLIENT 250

struct client_run {
    struct fixture *f;
    int ok;
};

static void *client_main(void *arg)
{
    struct client_run *c = arg;
    CURL *curl = curl_easy_init(); /* one connection per client, kept alive */
    for (int i = 0; i < PER_CLIENT; i++) {
        char url[128], want[64];
        bool async = i % 2;
        snprintf(url, sizeof url, "%s%s/%d", c->f->base, async ? "/async" : "/items", i);
        snprintf(want, sizeof want, async ? "{\"async\":\"%d\"}" : "{\"id\":\"%d\"}", i);
        struct resp r = request(url, &(struct req_opts){.method = "GET", .curl = curl});
        if (r.rc == CURLE_OK && r.status == 200 && r.body && strcmp(r.body, want) == 0)
            c->ok++;
        resp_free(&r);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static void test_many_concurrent_requests_all_answered(void **state)
{
    struct fixture *f = *state;
    pthread_t t[CLIENTS];
    struct client_run runs[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        runs[i] = (struct client_run){f, 0};
        assert_int_equal(pthread_create(&t[i], NULL, client_main, &runs[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        total += runs[i].ok;
    }
    assert_int_equal(total, CLIENTS * PER_CLIENT);
    assert_true(wait_inflight(f->srv, 0, 5000));
}

/* ---- metrics ----------------------------------------------------------- */

static void assert_has_line(const char *text, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\n%s\n", line);
    if (strstr(text, want) == NULL)
        fail_msg("metrics lack the line: %s\n---\n%s", line, text);
}

static void test_metrics_count_requests_per_route(void **state)
{
    (void)state; /* a fresh server, so the counts start at zero */
    struct fixture *f = NULL;
    fixture_up((void **)&f);
    for (int i = 0; i < 3; i++) {
        struct resp r = get(f, "/hello");
        resp_free(&r);
    }
    struct resp r = get(f, "/items/7");
    resp_free(&r);
    r = get(f, "/nope");
    resp_free(&r);
    r = send_req(f, "/hello", (struct req_opts){.method = "POST", .body = "x", .body_len = 1});
    resp_free(&r);
    r = get(f, "/noreply");
    resp_free(&r);
    /* a ledger commit of 2 groups, 5 transfers, 3 ms */
    http_metrics_observe_commit(f->app.metrics, 2, 5, 3 * 1000 * 1000);
    /* A client may read its reply before the server has finished the
     * request (counted it): wait until none is left. */
    assert_true(wait_inflight(f->srv, 0, 5000));

    r = get(f, "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, HTTP_METRICS_CONTENT_TYPE);
    assert_has_line(r.body, "# TYPE kessai_http_requests_total counter");
    assert_has_line(r.body, "kessai_http_requests_total{method=\"GET\",route=\"/hello\",code=\"2xx\"} 3");
    assert_has_line(r.body, "kessai_http_requests_total{method=\"GET\",route=\"/items/{id}\",code=\"2xx\"} 1");
    assert_has_line(r.body, "kessai_http_requests_total{method=\"any\",route=\"unmatched\",code=\"4xx\"} 2");
    assert_has_line(r.body, "kessai_http_requests_total{method=\"GET\",route=\"/noreply\",code=\"5xx\"} 1");
    assert_has_line(r.body, "kessai_http_request_duration_seconds_count{method=\"GET\",route=\"/hello\"} 3");
    assert_has_line(r.body,
                    "kessai_http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\",le=\"+Inf\"} 3");
    /* the /metrics request itself is the one in flight */
    assert_has_line(r.body, "kessai_http_requests_in_flight 1");
    assert_has_line(r.body, "kessai_ledger_commit_batch_transfers_bucket{le=\"2\"} 0");
    assert_has_line(r.body, "kessai_ledger_commit_batch_transfers_bucket{le=\"5\"} 1");
    assert_has_line(r.body, "kessai_ledger_commit_batch_transfers_sum 5");
    assert_has_line(r.body, "kessai_ledger_commit_groups_total 2");
    assert_has_line(r.body, "kessai_ledger_commit_duration_seconds_bucket{le=\"0.0025\"} 0");
    assert_has_line(r.body, "kessai_ledger_commit_duration_seconds_bucket{le=\"0.005\"} 1");
    /* no raw path ever becomes a label */
    assert_null(strstr(r.body, "/items/7"));
    assert_null(strstr(r.body, "/nope"));
    resp_free(&r);
    fixture_down((void **)&f);
}

/* ---- start and stop ---------------------------------------------------- */

static void test_port_in_use_is_a_clear_error(void **state)
{
    struct fixture *f = *state;
    struct http_server_config cfg = test_config(http_server_port(f->srv));
    struct http_server *second = NULL;
    char errbuf[HTTP_ERRBUF] = "";
    assert_int_equal(http_server_start(&cfg, routes, NROUTES, &f->app, NULL, &second, errbuf), ERR_IO);
    assert_null(second);
    assert_non_null(strstr(errbuf, "cannot listen on 127.0.0.1:"));
    assert_non_null(strstr(errbuf, "in use"));
    /* the first server is unaffected */
    struct resp r = get(f, "/hello");
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_bad_route_table_refused(void **state)
{
    (void)state;
    static const struct http_route bad[] = {{"GET", "/x/{id", h_hello, 0}};
    struct http_server_config cfg = test_config(0);
    struct http_server *srv = NULL;
    char errbuf[HTTP_ERRBUF] = "";
    assert_int_equal(http_server_start(&cfg, bad, 1, NULL, NULL, &srv, errbuf), ERR_INVALID_PARAM);
    assert_non_null(strstr(errbuf, "/x/{id"));
}

struct bg_request {
    pthread_t t;
    char url[128];
    struct req_opts o;
    struct resp r;
};

static void *bg_main(void *arg)
{
    struct bg_request *b = arg;
    b->r = request(b->url, &b->o);
    return NULL;
}

static void test_stop_answers_suspended_requests(void **state)
{
    (void)state;
    struct fixture *f = NULL;
    fixture_up((void **)&f);
    struct bg_request b = {.o = {.method = "GET"}};
    snprintf(b.url, sizeof b.url, "%s/park", f->base);
    assert_int_equal(pthread_create(&b.t, NULL, bg_main, &b), 0);
    struct http_request *req = wait_parked(&f->app);

    /* Its completer never comes in time: stop answers it for them. */
    size_t left = http_server_stop(f->srv, 200);
    f->srv = NULL;
    assert_int_equal(left, 1);
    pthread_join(b.t, NULL);
    assert_error(&b.r, 503, "shutting_down");
    resp_free(&b.r);
    /* The completer arrives late: harmless, and frees the request. */
    http_complete_json(req, 200, json_pack("{s:s}", "late", "yes"));
    fixture_down((void **)&f);
}

static void test_stop_lets_in_flight_requests_finish(void **state)
{
    (void)state;
    struct fixture *f = NULL;
    fixture_up((void **)&f);
    char *body = json_body_of_size(3000);
    /* A slow upload: 512-byte pieces every 100 ms, ~600 ms in all. */
    struct bg_request b = {.o = {.method = "POST", .content_type = "application/json", .body = body,
                                 .body_len = 3000, .chunked = true, .slow_ms = 100}};
    snprintf(b.url, sizeof b.url, "%s/echo", f->base);
    assert_int_equal(pthread_create(&b.t, NULL, bg_main, &b), 0);
    assert_true(wait_inflight(f->srv, 1, 5000));
    size_t left = http_server_stop(f->srv, 5000);
    f->srv = NULL;
    assert_int_equal(left, 0);
    pthread_join(b.t, NULL);
    assert_int_equal(b.r.rc, CURLE_OK);
    assert_int_equal(b.r.status, 200);
    assert_non_null(strstr(b.r.body, "\"bytes\":3000"));
    resp_free(&b.r);
    free(body);
    fixture_down((void **)&f);
}

/* ---- the router on its own --------------------------------------------- */

static void test_client_address_and_retry_after(void **state)
{
    struct fixture *f = *state;
    struct resp r = get(f, "/whoami");
    assert_error(&r, 429, "rate_limited");
    assert_string_equal(r.retry_after, "7");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "addr")), "127.0.0.1");
    json_decref(j);
    resp_free(&r);
    /* All of 127/8 is loopback on Linux: another source is another client. */
    r = send_req(f, "/whoami", (struct req_opts){.method = "GET", .source = "127.0.0.9"});
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "addr")), "127.0.0.9");
    json_decref(j);
    resp_free(&r);
}

static void test_router_rules(void **state)
{
    (void)state;
    struct http_match m;
    char allow[HTTP_ALLOW_MAX];
    assert_int_equal(http_route_match(routes, NROUTES, "GET", "/items/special", &m, allow), ERR_OK);
    assert_int_equal(m.index, 2);
    assert_int_equal(http_route_match(routes, NROUTES, "GET", "/items/x1", &m, allow), ERR_OK);
    assert_int_equal(m.index, 3);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].value_len, 2);
    assert_memory_equal(m.params[0].value, "x1", 2);
    assert_int_equal(http_route_match(routes, NROUTES, "HEAD", "/hello", &m, allow), ERR_OK);
    assert_int_equal(http_route_match(routes, NROUTES, "POST", "/items/special", &m, allow),
                     ERR_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, DELETE"); /* GET once, though two routes match */
    assert_int_equal(http_route_match(routes, NROUTES, "GET", "", &m, allow), ERR_NOT_FOUND);
    assert_int_equal(http_route_match(routes, NROUTES, "GET", "hello", &m, allow), ERR_NOT_FOUND);
    assert_int_equal(http_route_match(routes, NROUTES, "GET", "//hello", &m, allow), ERR_NOT_FOUND);
    /* a streamed GET serves no HEAD (it would open a stream for a reply
     * that has no body) */
    static const struct http_route streamed[] = {{"GET", "/feed", h_hello, HTTP_ROUTE_NO_HEAD}};
    assert_int_equal(http_route_match(streamed, 1, "GET", "/feed", &m, allow), ERR_OK);
    assert_int_equal(http_route_match(streamed, 1, "HEAD", "/feed", &m, allow), ERR_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET");

    size_t bad = 0;
    assert_int_equal(http_routes_check(routes, NROUTES, &bad), ERR_OK);
    static const struct http_route broken[] = {
        {"GET", "/ok", h_hello, 0}, {"GET", "/a/{b}/{c}/{d}/{e}/{f}", h_hello, 0}};
    assert_int_equal(http_routes_check(broken, 2, &bad), ERR_INVALID_PARAM);
    assert_int_equal(bad, 1);
    static const struct http_route no_slash[] = {{"GET", "x", h_hello, 0}};
    assert_int_equal(http_routes_check(no_slash, 1, &bad), ERR_INVALID_PARAM);
}

/* ---- secrets in bodies are wiped --------------------------------------- */

/* Bodies carry passwords, codes and session tokens.  Under AddressSanitizer
 * a free hook sees every block as it is freed: none freed by a server
 * thread may still hold the secret sent or answered (the request body
 * buffer, at every size and on the 413 path, the reply body, the JSON trees
 * and json_dumps' buffers).  The server gets more header memory than 32 KiB,
 * so MHD keeps its connection buffers in pages of its own (mmap), not in
 * the heap: every heap block that is left is the framework's. */
#define SECRET "s3cret-0f9b2c-passphrase"

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static atomic_bool watching;
static pthread_t client_thread;
static atomic_int unwiped;

static void malloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
}

static void free_hook(const volatile void *p)
{
    if (!atomic_load(&watching) || p == NULL || pthread_equal(pthread_self(), client_thread))
        return;
    const void *block = (const void *)p;
    if (memmem(block, __sanitizer_get_allocated_size(p), SECRET, sizeof SECRET - 1) != NULL)
        atomic_fetch_add(&unwiped, 1);
}
#endif

static enum http_verdict h_reveal(struct http_request *req, void *app)
{
    (void)app;
    const char *name = NULL, *bad = NULL;
    struct json_field spec[] = {{.name = "name", .type = JF_STRING, .target = &name, .max_len = MAX_BODY}};
    if (json_parse_fields(http_request_json(req), spec, 1, false, &bad) != ERR_OK)
        return http_reply_error(req, ERR_INVALID_PARAM, bad);
    /* completed the way worker jobs answer (suspend.c) */
    http_complete_json(req, 200, json_pack("{s:s}", "session_token", name));
    return HTTP_SUSPENDED;
}

static void test_bodies_are_wiped_before_they_are_freed(void **state)
{
    (void)state;
#if !defined(__SANITIZE_ADDRESS__)
    skip();
#else
    static const struct http_route wipe_routes[] = {
        {"POST", "/echo", h_echo, HTTP_ROUTE_JSON_BODY},
        {"POST", "/reveal", h_reveal, HTTP_ROUTE_JSON_BODY},
    };
    static bool installed;
    if (!installed)
        assert_int_not_equal(__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook), 0);
    installed = true;
    struct app app = {0};
    struct http_server *srv = NULL;
    struct http_server_config cfg = test_config(0);
    cfg.header_memory_bytes = 64 * 1024;
    char errbuf[HTTP_ERRBUF] = "", url[128];
    assert_int_equal(http_server_start(&cfg, wipe_routes, 2, &app, NULL, &srv, errbuf), ERR_OK);
    client_thread = pthread_self();
    atomic_store(&unwiped, 0);
    atomic_store(&watching, true);

    char small[128], grown[3000], big[MAX_BODY + 100];
    snprintf(small, sizeof small, "{\"name\":\"%s\"}", SECRET);
    /* chunked, so the buffer grows from its first size (no Content-Length) */
    snprintf(grown, sizeof grown, "{\"name\":\"%s%0*d\"}", SECRET, (int)(sizeof grown - sizeof SECRET - 20), 0);
    snprintf(big, sizeof big, "{\"name\":\"%s%0*d\"}", SECRET, (int)(sizeof big - sizeof SECRET - 20), 0);
    struct {
        const char *path, *body;
        bool chunked;
        long status;
    } cases[] = {
        {"/echo", small, false, 200},  {"/echo", grown, true, 200},  {"/reveal", small, false, 200},
        {"/reveal", grown, true, 200}, {"/echo", big, true, 413},    {"/echo", big, false, 413},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)http_server_port(srv), cases[i].path);
        struct resp r = request(url, &(struct req_opts){.method = "POST", .content_type = "application/json",
                                                        .body = cases[i].body, .body_len = strlen(cases[i].body),
                                                        .chunked = cases[i].chunked});
        assert_int_equal(r.status, cases[i].status);
        if (cases[i].status == 200 && strcmp(cases[i].path, "/reveal") == 0)
            assert_non_null(strstr(r.body, SECRET)); /* the client did get it */
        resp_free(&r);
    }
    http_server_stop(srv, 1000); /* every request and connection is freed by now */
    atomic_store(&watching, false);
    assert_int_equal(atomic_load(&unwiped), 0);
#endif
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    wipe_json_allocations(); /* as kessaid does first thing */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_not_found_is_json_error),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_path_params_and_precedence),
        cmocka_unit_test(test_head_uses_get_route),
        cmocka_unit_test(test_request_ids_distinct),
        cmocka_unit_test(test_handler_without_reply_gets_500),
        cmocka_unit_test(test_json_body_reaches_handler),
        cmocka_unit_test(test_handler_error_names_param),
        cmocka_unit_test(test_malformed_json_never_reaches_handler),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test(test_wrong_content_type_is_415),
        cmocka_unit_test(test_oversized_body_is_413),
        cmocka_unit_test(test_body_at_limit_accepted),
        cmocka_unit_test(test_a_body_framed_twice_is_refused_and_nothing_smuggled),
        cmocka_unit_test(test_suspended_request_completed_by_other_thread),
        cmocka_unit_test(test_completed_before_handler_returned),
        cmocka_unit_test(test_client_gone_while_suspended),
        cmocka_unit_test(test_many_concurrent_requests_all_answered),
        cmocka_unit_test(test_port_in_use_is_a_clear_error),
        cmocka_unit_test(test_bad_route_table_refused),
        cmocka_unit_test(test_metrics_count_requests_per_route),
        cmocka_unit_test(test_stop_answers_suspended_requests),
        cmocka_unit_test(test_stop_lets_in_flight_requests_finish),
        cmocka_unit_test(test_router_rules),
        cmocka_unit_test(test_client_address_and_retry_after),
        cmocka_unit_test(test_bodies_are_wiped_before_they_are_freed),
    };
    int failed = cmocka_run_group_tests_name("http", shared, fixture_up, fixture_down);
    curl_global_cleanup();
    return failed;
}
