#include "notify/mailspool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "util/log.h"

static enum err mkdir_p(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return ERR_OK;
    log_event(LOG_ERROR, "mailspool_error", json_pack("{s:s, s:s}", "path", path, "detail", strerror(errno)));
    return ERR_IO;
}

enum err mailspool_open(struct mailspool *m, const char *data_dir)
{
    char sub[PATH_MAX + 8];
    int w = snprintf(m->dir, sizeof m->dir, "%s/mail", data_dir);
    if (w < 0 || (size_t)w >= sizeof m->dir - 8)
        return ERR_INVALID_PARAM;
    enum err e = mkdir_p(m->dir);
    const char *subs[] = {"tmp", "new", "cur"};
    for (size_t i = 0; e == ERR_OK && i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", m->dir, subs[i]);
        e = mkdir_p(sub);
    }
    return e;
}

/* ---- writing a round ------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (b->len + n + 1 > cap)
            cap *= 2;
        /* not realloc: the old block holds messages, wipe it */
        char *p = malloc(cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->len);
            sodium_memzero(b->p, b->len);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* A line that would read as a message boundary: ">*From ". */
static bool from_line(const char *s)
{
    while (*s == '>')
        s++;
    return strncmp(s, "From ", 5) == 0;
}

/* The envelope line's date is the time the message was queued, read from
 * its ref (outbox refs start with 12 hex digits of Unix milliseconds), so
 * the same message always gets the same bytes. */
static void put_envelope(struct buf *b, const char *id)
{
    char hex[13] = {0}, date[64] = "Thu Jan  1 00:00:00 1970";
    memcpy(hex, id, strnlen(id, 12));
    char *end = NULL;
    long long ms = strlen(hex) == 12 ? strtoll(hex, &end, 16) : -1;
    if (ms >= 0 && end && *end == '\0') {
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    }
    puts_(b, "From kessai@kessai.invalid ");
    puts_(b, date);
    puts_(b, "\n");
}

static void put_message(struct buf *b, const struct notify_message *m)
{
    put_envelope(b, m->id);
    puts_(b, "To: ");
    puts_(b, m->to);
    puts_(b, "\nSubject: ");
    puts_(b, m->subject);
    /* Bodies carry store names and addresses in any script: say UTF-8, or
     * a mail reader guesses (and Japanese turns into mojibake).  The
     * Message-ID is the outbox ref, so a message delivered twice is
     * recognisably the same one. */
    puts_(b, "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
             "Content-Transfer-Encoding: 8bit\nMessage-ID: <");
    puts_(b, m->id);
    puts_(b, "@kessai.invalid>\n\n");
    for (const char *line = m->body; *line;) {
        size_t n = strcspn(line, "\n");
        if (from_line(line))
            puts_(b, ">");
        put(b, line, n);
        puts_(b, "\n");
        line += n + (line[n] == '\n');
    }
    if (m->body[0] == '\0')
        puts_(b, "\n");
    puts_(b, "\n"); /* mbox: a blank line before the next "From " */
}

static bool write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        len -= (size_t)w;
    }
    return true;
}

static bool sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* The whole round or nothing: a file that is not in new/ and synced was
 * not delivered, and every message of the round stays queued.  The name
 * is the first message's ref and a random part: two deliverers may send
 * rounds that start with the same message at the same time (outbox.c),
 * and neither may write into the other's file in tmp/ nor replace it in
 * new/ (the other round may hold messages this one does not). */
static enum err write_round(struct mailspool *m, const struct buf *b, const char *first_id)
{
    char tmp[PATH_MAX + 160], dst[PATH_MAX + 160], dnew[PATH_MAX + 8], rnd[17];
    uint8_t r[8];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(rnd, sizeof rnd, r, sizeof r);
    snprintf(tmp, sizeof tmp, "%s/tmp/%.64s-%s.mbox", m->dir, first_id, rnd);
    snprintf(dst, sizeof dst, "%s/new/%.64s-%s.mbox", m->dir, first_id, rnd);
    snprintf(dnew, sizeof dnew, "%s/new", m->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write_all(fd, b->p, b->len) && fdatasync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    ok = ok && rename(tmp, dst) == 0 && sync_dir(dnew);
    if (ok)
        return ERR_OK;
    log_event(LOG_ERROR, "mailspool_error", json_pack("{s:s, s:s}", "path", tmp, "detail", strerror(errno)));
    unlink(tmp);
    return ERR_IO;
}

static void mailspool_send(void *ctx, const struct notify_message *msgs, size_t n, enum err *result)
{
    struct buf b = {0};
    for (size_t i = 0; i < n; i++)
        put_message(&b, &msgs[i]);
    enum err e = b.failed ? ERR_NOMEM : write_round(ctx, &b, msgs[0].id);
    for (size_t i = 0; i < n; i++)
        result[i] = e;
    if (b.p) {
        sodium_memzero(b.p, b.len);
        free(b.p);
    }
}

struct notify_sender mailspool_sender(struct mailspool *m)
{
    return (struct notify_sender){mailspool_send, m};
}

/* ---- reading a file -------------------------------------------------------- */

/* One message's text from [p, end): quoting undone, the separating blank
 * line dropped. */
static char *unquote(const char *p, const char *end)
{
    if (end > p && end[-1] == '\n' && end - 1 > p && end[-2] == '\n')
        end--;
    char *out = malloc((size_t)(end - p) + 1), *o = out;
    if (out == NULL)
        return NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl + 1 : end;
        if (*p == '>' && from_line(p))
            p++;
        memcpy(o, p, (size_t)(stop - p));
        o += stop - p;
        p = stop;
    }
    *o = '\0';
    return out;
}

size_t mailspool_split(const char *text, char ***out)
{
    *out = NULL;
    if (strncmp(text, "From ", 5) != 0) {
        char **one = malloc(sizeof *one);
        if (one == NULL || (one[0] = strdup(text)) == NULL) {
            free(one);
            return 0;
        }
        *out = one;
        return 1;
    }
    size_t n = 0, cap = 0;
    char **msgs = NULL;
    const char *p = text;
    while (p && *p) {
        const char *start = strchr(p, '\n'); /* past the "From " line */
        if (start == NULL)
            break;
        start++;
        const char *next = strstr(start, "\nFrom ");
        const char *end = next ? next + 1 : start + strlen(start);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **t = realloc(msgs, cap * sizeof *t);
            if (t == NULL)
                goto oom;
            msgs = t;
        }
        if ((msgs[n] = unquote(start, end)) == NULL)
            goto oom;
        n++;
        p = next ? next + 1 : NULL;
    }
    *out = msgs;
    return n;
oom:
    mailspool_free(msgs, n);
    return 0;
}

void mailspool_free(char **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sodium_memzero(msgs[i], strlen(msgs[i]));
        free(msgs[i]);
    }
    free(msgs);
}
