#include "notify/smtp.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "util/log.h"

/* One message may take this long end to end; a stuck relay counts as down
 * and the outbox retries with back-off. */
#define SMTP_TIMEOUT_MS 30000L

static bool bad_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
            return true;
    return false;
}

static bool copy(char dst[SMTP_STR], const char *src)
{
    size_t n = strlen(src ? src : "");
    if (n >= SMTP_STR)
        return false;
    memcpy(dst, src ? src : "", n + 1);
    return true;
}

enum err smtp_open(struct smtp *s, const char *url, const char *from, const char *user, const char *password)
{
    memset(s, 0, sizeof *s);
    bool smtps = strncasecmp(url, "smtps://", 8) == 0;
    if (!smtps && strncasecmp(url, "smtp://", 7) != 0)
        return ERR_INVALID_PARAM;
    const char *host = url + (smtps ? 8 : 7);
    size_t hlen = strcspn(host, ":/");
    if (host[0] == '[')
        hlen = strcspn(host, "]") + 1;
    if (hlen == 0 || bad_text(url) || strchr(url, ' ') || strchr(host, '@'))
        return ERR_INVALID_PARAM;
    if (from == NULL || from[0] == '\0' || bad_text(from) || strchr(from, '@') == NULL)
        return ERR_INVALID_PARAM;
    if (!copy(s->url, url) || !copy(s->from, from) || !copy(s->user, user) || !copy(s->password, password))
        return ERR_INVALID_PARAM;
    s->loopback = (hlen == 9 && strncasecmp(host, "127.0.0.1", 9) == 0) ||
                  (hlen == 9 && strncasecmp(host, "localhost", 9) == 0) || (hlen == 5 && strncmp(host, "[::1]", 5) == 0);
    return ERR_OK;
}

/* Append s to the buffer, turning each "\n" into CRLF. */
static void put(char **p, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            *(*p)++ = '\r';
        *(*p)++ = *s;
    }
}

char *smtp_format(const struct smtp *s, const char *id, const char *to, const char *subject, const char *body,
                  const char *date)
{
    size_t cap = 2 * (strlen(s->from) + strlen(id) + strlen(to) + strlen(subject) + strlen(body) + strlen(date)) + 512;
    char *out = malloc(cap), *p = out;
    if (out == NULL)
        return NULL;
    put(&p, "Date: ");
    put(&p, date);
    put(&p, "\nFrom: <");
    put(&p, s->from);
    put(&p, ">\nTo: <");
    put(&p, to);
    put(&p, ">\nSubject: ");
    put(&p, subject);
    put(&p, "\nMessage-ID: <");
    put(&p, id);
    put(&p, "@kessai.invalid>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
            "Content-Transfer-Encoding: 8bit\n\n");
    put(&p, body);
    put(&p, "\n");
    *p = '\0';
    return out;
}

struct reader {
    const char *p;
    size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *ctx)
{
    struct reader *r = ctx;
    size_t k = size * n < r->left ? size * n : r->left;
    memcpy(buf, r->p, k);
    r->p += k;
    r->left -= k;
    return k;
}

static enum err smtp_send_one(struct smtp *s, const char *id, const char *to, const char *subject, const char *body)
{
    char date[64], from[SMTP_STR + 2], rcpt[300];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char *msg = smtp_format(s, id, to, subject, body, date);
    CURL *c = curl_easy_init();
    struct curl_slist *rcpts = NULL;
    enum err e = ERR_NOMEM;
    snprintf(from, sizeof from, "<%s>", s->from);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    if (msg == NULL || c == NULL || (rcpts = curl_slist_append(NULL, rcpt)) == NULL)
        goto cleanup;
    struct reader r = {msg, strlen(msg)};
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, s->loopback ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &r);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, SMTP_TIMEOUT_MS);
    if (s->user[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        e = ERR_OK;
    } else {
        /* curl's own words, never the message or the password */
        log_event(LOG_WARN, "smtp_failed", json_pack("{s:s, s:s}", "ref", id, "detail", curl_easy_strerror(rc)));
        e = ERR_IO;
    }
cleanup:
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
    if (msg) {
        sodium_memzero(msg, strlen(msg));
        free(msg);
    }
    return e;
}

/* One transaction per message: the relay accepts or refuses each on its
 * own, and one refused address must not hold back the others. */
static void smtp_send(void *ctx, const struct notify_message *msgs, size_t n, enum err *result)
{
    for (size_t i = 0; i < n; i++)
        result[i] = smtp_send_one(ctx, msgs[i].id, msgs[i].to, msgs[i].subject, msgs[i].body);
}

struct notify_sender smtp_sender(struct smtp *s) { return (struct notify_sender){smtp_send, s}; }
