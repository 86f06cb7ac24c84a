/* sender.h: how a message leaves the outbox.
 *
 * A sender is a function pointer and its context (maildir.h is the built-in
 * one; SMTP can be another).  send() must be idempotent per id: the outbox
 * delivers at least once, so after a crash between delivery and marking the
 * row sent, the same id may come again.
 */
#ifndef KESSAI_NOTIFY_SENDER_H
#define KESSAI_NOTIFY_SENDER_H

#include "util/err.h"

struct notify_sender {
    /* id: unique per message (the outbox ref).  ERR_OK once the message is
     * durably handed over; any error leaves it queued. */
    enum err (*send)(void *ctx, const char *id, const char *to, const char *subject, const char *body);
    void *ctx;
    /* May be NULL.  Make every message send() accepted since the last flush
     * durable; the outbox calls it once per batch before it marks the batch
     * sent, so a sender can pay for one sync per batch instead of one per
     * message.  An error leaves the whole batch queued. */
    enum err (*flush)(void *ctx);
};

#endif
