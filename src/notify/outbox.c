#include "notify/outbox.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/log.h"

/* Delivered per round trip to the store; more wait for the next round. */
#define DELIVER_BATCH 16

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
    uint8_t ref[NOTIFY_REF_LEN / 2];
    randombytes_buf(ref, sizeof ref);
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

/* Open m and hand it to the sender. */
static enum err deliver_one(const uint8_t master_key[MASTERKEY_BYTES], const struct notify_sender *sender,
                            const struct outbox_msg *m)
{
    if (m->sealed_len <= MASTERKEY_SEAL_OVERHEAD)
        return ERR_INTERNAL;
    size_t len = m->sealed_len - MASTERKEY_SEAL_OVERHEAD;
    char *plain = malloc(len + 1);
    if (plain == NULL)
        return ERR_NOMEM;
    char ad[64];
    outbox_ad(ad, sizeof ad, m->ref);
    enum err e = masterkey_open(master_key, m->sealed, m->sealed_len, ad, (uint8_t *)plain);
    if (e != ERR_OK) {
        e = ERR_INTERNAL; /* wrong master key or a tampered row */
        goto cleanup;
    }
    plain[len] = '\0';
    /* to '\0' subject '\0' body '\0', as notify_enqueue wrote it. */
    const char *to = plain, *end = plain + len;
    const char *subject = to + strlen(to) + 1;
    const char *body = subject < end ? subject + strlen(subject) + 1 : end;
    if (body >= end) {
        e = ERR_INTERNAL;
        goto cleanup;
    }
    e = sender->send(sender->ctx, m->ref, to, subject, body);
cleanup:
    sodium_memzero(plain, len + 1);
    free(plain);
    return e;
}

/* One failed message, logged (never its content) so that a stuck message
 * shows: its ref names the maildir file it would become, and how long it
 * has been queued tells a passing hiccup from a message that never goes. */
static void log_failure(const struct outbox_msg *m, enum err e, int64_t now)
{
    log_event(LOG_WARN, "outbox_message_failed",
              json_pack("{s:s, s:s, s:I}", "ref", m->ref, "code", err_symbol(e), "queued_ms",
                        (json_int_t)(now - m->created_ms)));
}

enum err notify_deliver_pending(struct store *st, const uint8_t master_key[MASTERKEY_BYTES],
                                const struct notify_sender *sender, int64_t now, size_t *delivered)
{
    struct outbox_msg *batch = calloc(DELIVER_BATCH, sizeof *batch);
    size_t sent = 0, n = 0;
    enum err e = batch ? ERR_OK : ERR_NOMEM, failed = ERR_OK;
    /* A look without the write lock first: most rounds (the mail thread's
     * timer, a wake after a login that queued nothing) find nothing. */
    if (e == ERR_OK)
        e = st->ops->outbox_pending(st, 0, 1, batch, &n);
    /* One transaction per batch: it holds the write lock, so two
     * connections never deliver the same message twice (short of a crash
     * between send and commit: at-least-once, see sender.h).  A message
     * that fails stays queued and the walk goes on past it (after), so one
     * undeliverable message never holds back the rest. */
    int64_t after = 0;
    for (bool more = e == ERR_OK && n > 0; more;) {
        size_t ok = 0;
        if ((e = st->ops->begin(st)) != ERR_OK)
            break;
        e = st->ops->outbox_pending(st, after, DELIVER_BATCH, batch, &n);
        for (size_t i = 0; e == ERR_OK && i < n; i++) {
            after = batch[i].id;
            enum err d = deliver_one(master_key, sender, &batch[i]);
            if (d == ERR_OK) {
                e = st->ops->outbox_mark_sent(st, batch[i].id, now);
                ok += e == ERR_OK;
            } else {
                log_failure(&batch[i], d, now);
                if (failed == ERR_OK)
                    failed = d;
            }
        }
        /* Commit what was sent even when the store failed midway: those
         * files exist. */
        enum err c = st->ops->commit(st);
        if (c != ERR_OK) {
            st->ops->rollback(st);
            e = c;
        } else {
            sent += ok;
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
    return e;
}
