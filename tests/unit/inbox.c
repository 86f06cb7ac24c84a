#include "inbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ctype.h>
#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>

#include "notify/mailspool.h"
#include "testutil.h"

/* The value of header name (with its colon) into out, "" if absent. */
static void header(const char *text, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = text; p && *p && *p != '\n'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl;
            v += strspn(v, " ");
            snprintf(out, n, "%.*s", (int)strcspn(v, "\r\n"), v);
            return;
        }
}

static void describe(struct inbox_msg *m)
{
    char id[sizeof m->id + 2];
    header(m->text, "To:", m->to, sizeof m->to);
    for (char *c = m->to; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    header(m->text, "Subject:", m->subject, sizeof m->subject);
    header(m->text, "Message-ID:", id, sizeof id);
    const char *v = id[0] == '<' ? id + 1 : id;
    snprintf(m->id, sizeof m->id, "%.*s", (int)strcspn(v, ">"), v);
    char hex[13] = {0};
    char *end = NULL;
    memcpy(hex, m->id, strnlen(m->id, 12));
    long long ms = strlen(hex) == 12 ? strtoll(hex, &end, 16) : -1;
    m->queued_ms = end && *end == '\0' ? ms : -1;
}

static void add(struct inbox *box, size_t *cap, char *text, int64_t mtime_ns)
{
    if (box->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        box->m = realloc(box->m, *cap * sizeof *box->m);
        assert_non_null(box->m);
    }
    struct inbox_msg *m = &box->m[box->n];
    memset(m, 0, sizeof *m);
    m->text = text;
    m->mtime_ns = mtime_ns;
    m->seq = box->n++;
    describe(m);
}

static int by_age(const void *a, const void *b)
{
    const struct inbox_msg *x = a, *y = b;
    if (x->queued_ms != y->queued_ms)
        return x->queued_ms < y->queued_ms ? -1 : 1;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Is m's Message-ID among kept[0..n)?  (Quadratic: a test's mailbox is small.) */
static int seen_before(const struct inbox_msg *kept, size_t n, const struct inbox_msg *m)
{
    if (m->id[0] == '\0')
        return 0;
    for (size_t k = 0; k < n; k++)
        if (strcmp(kept[k].id, m->id) == 0)
            return 1;
    return 0;
}

void inbox_load(struct inbox *box, const char *dir)
{
    box->m = NULL;
    box->n = 0;
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        char *text = tu_slurp(path, NULL);
        if (text == NULL || stat(path, &st) != 0) {
            free(text); /* gone meanwhile (a reader moved it) */
            continue;
        }
        char **msgs = NULL;
        size_t n = mailspool_split(text, &msgs);
        assert_true(n > 0 || text[0] == '\0' || strncmp(text, "From ", 5) == 0);
        for (size_t i = 0; i < n; i++) {
            char *copy = strdup(msgs[i]);
            assert_non_null(copy);
            add(box, &cap, copy, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
        }
        mailspool_free(msgs, n);
        free(text);
    }
    closedir(d);
    if (box->n > 1)
        qsort(box->m, box->n, sizeof *box->m, by_age);
    size_t kept = 0;
    for (size_t i = 0; i < box->n; i++) {
        if (seen_before(box->m, kept, &box->m[i])) {
            free(box->m[i].text);
            box->m[i].text = NULL;
            continue;
        }
        box->m[kept++] = box->m[i];
    }
    box->n = kept;
}

void inbox_load_data(struct inbox *box, const char *data_dir)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/mail/new", data_dir);
    inbox_load(box, dir);
}

void inbox_free(struct inbox *box)
{
    for (size_t i = 0; i < box->n; i++)
        free(box->m[i].text);
    free(box->m);
    box->m = NULL;
    box->n = 0;
}

const char *inbox_body(const char *text)
{
    const char *b = strstr(text, "\n\n");
    const char *crlf = strstr(text, "\r\n\r\n");
    if (crlf && (b == NULL || crlf < b))
        return crlf + 4;
    return b ? b + 2 : text;
}
