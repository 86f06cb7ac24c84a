/* sender.h: how messages leave the outbox.
 *
 * A sender is a function pointer and its context (mailspool.h is the
 * built-in one, smtp.h the other).  The outbox hands it each delivery
 * round's messages at once, so a sender can pay once per round for what
 * is costly (a file, a sync) instead of once per message.  send() must be
 * idempotent per id: the outbox delivers at least once, so after a crash
 * between delivery and marking a message sent, the same id may come again.
 */
#ifndef KESSAI_NOTIFY_SENDER_H
#define KESSAI_NOTIFY_SENDER_H

#include <stddef.h>

#include "util/err.h"

/* id: unique per message (the outbox ref, hex; it starts with the time
 * the message was queued).  to and subject hold no control character. */
struct notify_message {
    const char *id, *to, *subject, *body;
};

struct notify_sender {
    /* Hand over msgs[0..n) (n >= 1, oldest first); result[i] is ERR_OK
     * once msgs[i] is durably handed over, else why not (it stays queued
     * and is tried again).  Called by one thread at a time per round, but
     * rounds of different threads may overlap: keep no per-round state
     * in ctx. */
    void (*send)(void *ctx, const struct notify_message *msgs, size_t n, enum err *result);
    void *ctx;
};

#endif
