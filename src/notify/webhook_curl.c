/* webhook_curl.c: the libcurl poster of webhooks (webhook.h). */
#include <curl/curl.h>
#include <stdio.h>

#include "notify/webhook.h"

/* Per attempt: a receiver slower than this counts as down and is retried
 * with back-off; the deliverer thread is never stuck on one for long. */
#define POST_TIMEOUT_MS 10000L
#define CONNECT_TIMEOUT_MS 5000L

/* The answer's body is not read: only its status counts. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return size * n;
}

static enum err curl_post(void *ctx, const char *url, const char *signature, const char *event_id, const char *body,
                          int *status)
{
    (void)ctx;
    *status = 0;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ERR_NOMEM;
    char sig_line[WEBHOOK_SIGNATURE_BUF + 32], id_line[WEBHOOK_EVENT_ID_MAX + 32];
    snprintf(sig_line, sizeof sig_line, "Kessai-Signature: %s", signature);
    snprintf(id_line, sizeof id_line, "Kessai-Event-Id: %s", event_id);
    struct curl_slist *h = NULL, *h2;
    const char *lines[] = {"Content-Type: application/json", "User-Agent: kessai-webhooks/1", "Expect:", sig_line,
                           id_line};
    enum err e = ERR_OK;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        h2 = curl_slist_append(h, lines[i]);
        if (h2 == NULL) {
            e = ERR_NOMEM;
            goto cleanup;
        }
        h = h2;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is not a delivery */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, POST_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        e = ERR_IO; /* no answer: refused, timed out, TLS failed */
        goto cleanup;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    e = code >= 200 && code < 300 ? ERR_OK : ERR_GATEWAY;
cleanup:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return e;
}

struct webhook_poster webhook_curl_poster(void) { return (struct webhook_poster){curl_post, NULL}; }
