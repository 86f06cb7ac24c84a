#include "notify/outbox.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/log.h"

/* Delivered per round trip to the store; more wait for the next round. */
#define DELIVER_BATCH 256

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static void outbox_ad(char *buf, size_t n, const char *ref) { snprintf(buf, n, "outbox:%s", ref); }

enum err notify_enqueue(struct store *st, const uint8_t master_key[MASTERKEY_BYTES], int64_t now, const char *to,
                        const char *subject, const char *body)
{
    size_t lt = strlen(to), ls = strlen(subject), lb = strlen(body);
    if (lt == 0 || lt > NOTIFY_TO_MAX || ls > NOTIFY_SUBJECT_MAX || lb > NOTIFY_BODY_MAX || has_control(to) ||
        has_control(subject))
        return ERR_INVALID_PARAM;
    struct outbox_msg *m = calloc(1, sizeof *m);
    uint8_t *plain = malloc(lt + ls + lb + 3);
    enum err e = ERR_NOMEM;
    if (m == NULL || plain == NULL)
        goto cleanup;
    size_t len = 0;
    memcpy(plain, to, lt + 1);
    len += lt + 1;
    memcpy(plain + len, subject, ls + 1);
    len += ls + 1;
    memcpy(plain + len, body, lb + 1);
    len += lb + 1;
    /* The time first (6 bytes, big-endian ms), then 10 random bytes: refs
     * still never collide, and the unique index on ref takes each new one
     * at its end instead of on a random page of its B-tree. */
    uint8_t ref[NOTIFY_REF_LEN / 2];
    for (int i = 0; i < 6; i++)
        ref[i] = (uint8_t)((uint64_t)now >> (8 * (5 - i)));
    randombytes_buf(ref + 6, sizeof ref - 6);
    sodium_bin2hex(m->ref, sizeof m->ref, ref, sizeof ref);
    char ad[64];
    outbox_ad(ad, sizeof ad, m->ref);
    masterkey_seal(master_key, plain, len, ad, m->sealed);
    m->sealed_len = len + MASTERKEY_SEAL_OVERHEAD;
    m->created_ms = now;
    e = st->ops->outbox_insert(st, m);
    sodium_memzero(plain, len);
cleanup:
    free(plain);
    free(m);
    return e;
}

/* Open m into *plain (malloc'd: the caller wipes and frees it, also on
 * failure) and point out's parts into it. */
static enum err open_msg(const uint8_t master_key[MASTERKEY_BYTES], const struct outbox_msg *m, char **plain,
                         struct notify_message *out)
{
    *plain = NULL;
    if (m->sealed_len <= MASTERKEY_SEAL_OVERHEAD)
        return ERR_INTERNAL;
    size_t len = m->sealed_len - MASTERKEY_SEAL_OVERHEAD;
    char *p = calloc(1, len + 1);
    if (p == NULL)
        return ERR_NOMEM;
    *plain = p;
    char ad[64];
    outbox_ad(ad, sizeof ad, m->ref);
    if (masterkey_open(master_key, m->sealed, m->sealed_len, ad, (uint8_t *)p) != ERR_OK)
        return ERR_INTERNAL; /* wrong master key or a tampered row */
    /* to '\0' subject '\0' body '\0', as notify_enqueue wrote it. */
    const char *to = p, *end = p + len;
    const char *subject = to + strlen(to) + 1;
    const char *body = subject < end ? subject + strlen(subject) + 1 : end;
    if (body >= end)
        return ERR_INTERNAL;
    *out = (struct notify_message){m->ref, to, subject, body};
    return ERR_OK;
}

/* plain as open_msg made it for m (it holds NULs: wipe by length). */
static void free_plain(char *plain, const struct outbox_msg *m)
{
    if (plain) {
        sodium_memzero(plain, m->sealed_len - MASTERKEY_SEAL_OVERHEAD + 1);
        free(plain);
    }
}

/* One failed attempt, logged (never the content) so that a stuck message
 * shows: its ref is the message's Message-ID, and how long it
 * has been queued tells a passing hiccup from a message that never goes.
 * A message given up is an error: somebody was not told something. */
static void log_failure(const struct outbox_msg *m, enum err e, int64_t now, bool dead, int64_t next_ms)
{
    if (dead)
        log_event(LOG_ERROR, "outbox_message_dead",
                  json_pack("{s:s, s:s, s:i, s:I}", "ref", m->ref, "code", err_symbol(e), "attempts", m->attempts + 1,
                            "queued_ms", (json_int_t)(now - m->created_ms)));
    else
        log_event(LOG_WARN, "outbox_message_failed",
                  json_pack("{s:s, s:s, s:i, s:I, s:I}", "ref", m->ref, "code", err_symbol(e), "attempts",
                            m->attempts + 1, "queued_ms", (json_int_t)(now - m->created_ms), "retry_in_ms",
                            (json_int_t)(next_ms - now)));
}

struct failed_attempt {
    int64_t id;
    int attempts;
    int64_t next_ms, failed_ms;
};

/* Mark what was sent and record each failed attempt, in one transaction. */
static enum err record_round(struct store *st, const int64_t *ok_ids, size_t ok, const struct failed_attempt *fails,
                             size_t nfails, int64_t now)
{
    enum err c = st->ops->begin(st);
    for (size_t i = 0; c == ERR_OK && i < ok; i++) {
        c = st->ops->outbox_mark_sent(st, ok_ids[i], now);
        if (c == ERR_NOT_FOUND)
            c = ERR_OK; /* another deliverer marked it first */
    }
    for (size_t i = 0; c == ERR_OK && i < nfails; i++) {
        c = st->ops->outbox_mark_failed(st, fails[i].id, fails[i].attempts, fails[i].next_ms, fails[i].failed_ms);
        if (c == ERR_NOT_FOUND)
            c = ERR_OK; /* another deliverer sent it meanwhile */
    }
    if (c == ERR_OK)
        c = st->ops->commit(st);
    if (c != ERR_OK)
        st->ops->rollback(st);
    return c;
}

/* m's attempt failed with d: its next try (or its end) into f, logged;
 * *first keeps the round's first failure. */
static void fail(struct failed_attempt *f, const struct outbox_msg *m, enum err d, const struct notify_retry *retry,
                 int64_t now, enum err *first)
{
    f->id = m->id;
    f->attempts = m->attempts + 1;
    bool dead = notify_retry_dead(retry, f->attempts, m->created_ms, now);
    f->next_ms = now + notify_retry_delay(retry, f->attempts);
    f->failed_ms = dead ? (now > 0 ? now : 1) : 0;
    log_failure(m, d, now, dead, f->next_ms);
    if (*first == ERR_OK)
        *first = d;
}

enum err notify_deliver_pending(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, int64_t now, size_t *delivered)
{
    const struct notify_retry r = NOTIFY_RETRY_DEFAULT;
    return notify_deliver_pending_retry(st, master_key, sender, &r, now, delivered);
}

enum err notify_deliver_pending_retry(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                      const struct notify_sender *sender, const struct notify_retry *retry,
                                      int64_t now, size_t *delivered)
{
    struct outbox_msg *batch = calloc(DELIVER_BATCH, sizeof *batch);
    int64_t *ok_ids = calloc(DELIVER_BATCH, sizeof *ok_ids);
    struct failed_attempt *fails = calloc(DELIVER_BATCH, sizeof *fails);
    char **plain = calloc(DELIVER_BATCH, sizeof *plain);
    struct notify_message *msgs = calloc(DELIVER_BATCH, sizeof *msgs);
    size_t *of = calloc(DELIVER_BATCH, sizeof *of); /* msgs[k] is batch[of[k]] */
    enum err *result = calloc(DELIVER_BATCH, sizeof *result);
    size_t sent = 0, n = 0;
    enum err e = batch && ok_ids && fails && plain && msgs && of && result ? ERR_OK : ERR_NOMEM, failed = ERR_OK;
    /* Sending happens outside any transaction: a sender that syncs files
     * must never hold the write lock that every payment's commit needs.
     * Two deliverers (two nodes, or a request delivering its own mail
     * while the mail thread runs) may therefore send a message twice; the
     * sender is idempotent per id (sender.h), so that is harmless.  Only
     * recording the round takes the lock, briefly, after the sender made
     * it durable.  A message that fails waits out its back-off (retry.h)
     * and the walk goes on past it (after), so one undeliverable message
     * never holds back the rest. */
    int64_t after = 0;
    for (bool more = e == ERR_OK; more;) {
        size_t ok = 0, nfails = 0, nmsgs = 0;
        e = st->ops->outbox_pending(st, after, now, DELIVER_BATCH, batch, &n);
        for (size_t i = 0; e == ERR_OK && i < n; i++) {
            after = batch[i].id;
            result[nmsgs] = open_msg(master_key, &batch[i], &plain[i], &msgs[nmsgs]);
            of[nmsgs] = i;
            if (result[nmsgs] == ERR_OK)
                nmsgs++;
            else
                fail(&fails[nfails++], &batch[i], result[nmsgs], retry, now, &failed);
        }
        if (nmsgs > 0)
            sender->send(sender->ctx, msgs, nmsgs, result);
        for (size_t k = 0; k < nmsgs; k++) {
            const struct outbox_msg *m = &batch[of[k]];
            if (result[k] == ERR_OK)
                ok_ids[ok++] = m->id;
            else
                fail(&fails[nfails++], m, result[k], retry, now, &failed);
        }
        for (size_t i = 0; i < n; i++) {
            free_plain(plain[i], &batch[i]);
            plain[i] = NULL;
        }
        if (ok > 0 || nfails > 0) {
            /* Record what was sent even when reading failed midway: those
             * messages were handed over. */
            enum err c = record_round(st, ok_ids, ok, fails, nfails, now);
            if (c != ERR_OK) {
                if (e == ERR_OK)
                    e = c;
            } else {
                sent += ok;
            }
        }
        more = e == ERR_OK && n == DELIVER_BATCH;
    }
    if (e == ERR_OK)
        e = failed;
    if (e != ERR_OK)
        log_event(LOG_WARN, "outbox_delivery_failed", json_pack("{s:s}", "code", err_symbol(e)));
    if (delivered)
        *delivered = sent;
    free(batch);
    free(ok_ids);
    free(fails);
    free(plain);
    free(msgs);
    free(of);
    free(result);
    return e;
}
