/* mailbox.c: the customers' mailboxes (sim.h).  kessaid's built-in sender
 * writes each delivery round as one mbox file in DATA_DIR/mail/new/
 * (notify/mailspool.h); a simulated phone reads its own customer's mail
 * there as a mail client would, splitting each file with mailspool_split
 * and moving the file to cur/ once read, so that new/ stays short however
 * long the run.  Messages are indexed in memory by recipient, each once:
 * delivery is at least once, and a round sent again lands in a second file
 * with the same Message-IDs. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "notify/mailspool.h"
#include "sim/sim.h"

void sim_mailbox_init(struct sim_mailbox *mb, const char *data_dir)
{
    memset(mb, 0, sizeof *mb);
    snprintf(mb->dir, sizeof mb->dir, "%s/mail", data_dir);
}

void sim_mailbox_free(struct sim_mailbox *mb)
{
    for (size_t i = 0; i < mb->n; i++) {
        free(mb->m[i]->to);
        free(mb->m[i]->subject);
        if (mb->m[i]->text)
            sodium_memzero(mb->m[i]->text, strlen(mb->m[i]->text));
        free(mb->m[i]->text);
        free(mb->m[i]);
    }
    free(mb->m);
    for (size_t i = 0; i < mb->cap_seen; i++)
        free(mb->seen[i]);
    free(mb->seen);
    memset(mb, 0, sizeof *mb);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + k + 1 > cap) {
            cap = (n + k + 1) * 2;
            char *p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        memcpy(buf + n, chunk, k);
        n += k;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static char *header(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p && *p != '\n'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl;
            size_t len = strcspn(v, "\n");
            char *out = strndup(v, len);
            return out;
        }
    return strdup("");
}

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Remember a message's Message-ID; false if it was seen before (kessaid
 * delivers at least once).  A message without one is always new. */
static bool first_sight(struct sim_mailbox *mb, const char *name)
{
    if (2 * (mb->nseen + 1) > mb->cap_seen) {
        size_t cap = mb->cap_seen ? mb->cap_seen * 2 : 1024;
        char **t = calloc(cap, sizeof *t);
        if (t == NULL)
            return true;
        for (size_t i = 0; i < mb->cap_seen; i++)
            if (mb->seen[i]) {
                size_t k = name_hash(mb->seen[i]) & (cap - 1);
                while (t[k])
                    k = (k + 1) & (cap - 1);
                t[k] = mb->seen[i];
            }
        free(mb->seen);
        mb->seen = t;
        mb->cap_seen = cap;
    }
    if (name[0] == '\0')
        return true;
    size_t k = name_hash(name) & (mb->cap_seen - 1);
    while (mb->seen[k]) {
        if (strcmp(mb->seen[k], name) == 0)
            return false;
        k = (k + 1) & (mb->cap_seen - 1);
    }
    mb->seen[k] = strdup(name);
    mb->nseen++;
    return true;
}

/* One message of a spool file into the index, unless it was seen before. */
static void index_message(struct sim_mailbox *mb, const char *msg)
{
    char *id = header(msg, "Message-ID: ");
    bool fresh = id && first_sight(mb, id);
    free(id);
    if (!fresh)
        return;
    if (mb->n == mb->cap) {
        size_t c2 = mb->cap ? mb->cap * 2 : 256;
        struct sim_mail **p = realloc(mb->m, c2 * sizeof *p);
        if (p == NULL)
            return;
        mb->m = p;
        mb->cap = c2;
    }
    struct sim_mail *m = calloc(1, sizeof *m);
    if (m == NULL)
        return;
    m->to = header(msg, "To: ");
    m->subject = header(msg, "Subject: ");
    m->text = strdup(msg);
    if (m->to == NULL || m->subject == NULL || m->text == NULL) {
        free(m->to);
        free(m->subject);
        free(m->text);
        free(m);
        return;
    }
    for (char *p = m->to; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    m->taken = false;
    mb->m[mb->n++] = m;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void poll_locked(struct sim_mailbox *mb);

void sim_mailbox_poll(struct sim_mailbox *mb)
{
    if (mb->lock)
        pthread_mutex_lock(mb->lock);
    poll_locked(mb);
    if (mb->lock)
        pthread_mutex_unlock(mb->lock);
}

static void poll_locked(struct sim_mailbox *mb)
{
    char dnew[700], dcur[700];
    snprintf(dnew, sizeof dnew, "%s/new", mb->dir);
    snprintf(dcur, sizeof dcur, "%s/cur", mb->dir);
    mkdir(dcur, 0700);
    DIR *d = opendir(dnew);
    if (d == NULL)
        return;
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(names, cap * sizeof *names);
            if (p == NULL)
                break;
            names = p;
        }
        if ((names[nn] = strdup(e->d_name)) != NULL)
            nn++;
    }
    closedir(d);
    /* Names start with the round's first outbox ref: sort for a fixed
     * order within one poll (and messages in file order). */
    if (nn > 1)
        qsort(names, nn, sizeof *names, cmp_name);
    for (size_t i = 0; i < nn; i++) {
        char from[1000], to[1000];
        snprintf(from, sizeof from, "%s/%s", dnew, names[i]);
        snprintf(to, sizeof to, "%s/%s:2,S", dcur, names[i]);
        free(names[i]);
        char *text = slurp(from);
        char **msgs = NULL;
        size_t n = text ? mailspool_split(text, &msgs) : 0;
        if (text)
            sodium_memzero(text, strlen(text));
        free(text);
        /* n == 0: out of memory (kessaid writes no file without a
         * message): the file stays in new/ for the next poll. */
        if (n == 0 || rename(from, to) != 0) {
            mailspool_free(msgs, n);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            index_message(mb, msgs[k]);
        mailspool_free(msgs, n);
    }
    free(names);
}

const struct sim_mail *sim_mailbox_take(struct sim_mailbox *mb, const char *to, const char *subject)
{
    /* Up to 30 s: on a loaded machine the mail thread may lag. */
    return sim_mailbox_take_within(mb, to, subject, 30000);
}

const struct sim_mail *sim_mailbox_take_within(struct sim_mailbox *mb, const char *to, const char *subject, int ms)
{
    for (int round = 0; round < ms / 10; round++) {
        if (mb->lock)
            pthread_mutex_lock(mb->lock);
        poll_locked(mb);
        struct sim_mail *found = NULL;
        for (size_t i = 0; i < mb->n && found == NULL; i++) {
            struct sim_mail *m = mb->m[i];
            if (!m->taken && strcmp(m->to, to) == 0 && strstr(m->subject, subject)) {
                m->taken = true;
                found = m;
            }
        }
        if (mb->lock)
            pthread_mutex_unlock(mb->lock);
        if (found)
            return found;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return NULL;
}

size_t sim_mailbox_count(struct sim_mailbox *mb, const char *to)
{
    size_t n = 0;
    for (size_t i = 0; i < mb->n; i++)
        n += strcmp(mb->m[i]->to, to) == 0;
    return n;
}

static const char *body_of(const struct sim_mail *m)
{
    const char *b = strstr(m->text, "\n\n");
    return b ? b + 2 : m->text;
}

bool sim_mail_digits(const struct sim_mail *m, int digits, char *out)
{
    for (const char *p = body_of(m); *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > m->text && isdigit((unsigned char)p[-1])))
            continue;
        int k = 0;
        while (isdigit((unsigned char)p[k]))
            k++;
        if (k == digits) {
            memcpy(out, p, (size_t)k);
            out[k] = '\0';
            return true;
        }
    }
    return false;
}

bool sim_mail_after(const struct sim_mail *m, const char *label, char *out, size_t n)
{
    const char *p = strstr(body_of(m), label);
    if (p == NULL)
        return false;
    p += strlen(label);
    size_t len = strcspn(p, "\n \r");
    if (len == 0 || len >= n)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}
