/* auth_ctx.h: what every customer-authentication call needs.
 *
 * Domain code knows nothing of HTTP: the caller (src/api/, the tests) fills
 * one `struct auth_ctx` per request and passes it to the functions of
 * customer.h, mfa.h, device.h, session.h, login.h, reset.h, email_change.h and
 * password_change.h.
 *
 * Rules shared by every function taking a ctx (unless its header says
 * otherwise):
 *  - it runs its own transaction on ctx->st (begin .. commit, rollback on
 *    error), so the caller must not have one open; a failed login or a wrong
 *    code is still committed (counters, events) before the error returns;
 *  - mail it sends is queued in the outbox inside that transaction
 *    (notify/outbox.h) and, when ctx->mail is set, delivered right after the
 *    commit (a delivery failure is logged, never returned: the message stays
 *    queued for the next notify_deliver_pending); when ctx->mail is NULL,
 *    ctx->wake (if set) is called after the commit instead;
 *  - except the calls marked DEFERS MAIL in their headers: those that
 *    answer a caller who has not signed in (login, registration, code
 *    resend, e-mail verification, reset request) and a refused password
 *    change.  They never deliver inline, whatever ctx->mail, and call
 *    ctx->wake (if set) after the commit, so that a mail going out (the
 *    10th failure's lock-out notice, a code for an existing account)
 *    cannot make the answer slower and tell the caller something;
 *  - it returns ERR_OK or one of the codes its header lists, ERR_STORE,
 *    ERR_NOMEM or ERR_INTERNAL (wrong master key, tampered row);
 *  - output buffers are owned by the caller and zeroed on failure when they
 *    would have held a secret.
 * Functions marked SLOW run Argon2id (tens of milliseconds, 19 MiB); call
 * them on the password-hashing worker pool with that thread's own store
 * connection, never on a request thread.  All others are fast.
 */
#ifndef KESSAI_AUTH_AUTH_CTX_H
#define KESSAI_AUTH_AUTH_CTX_H

#include <stdint.h>

#include "ledger/writer.h"
#include "notify/deliverer.h"
#include "notify/sender.h"
#include "store/store.h"
#include "util/config.h"
#include "util/masterkey.h"

struct auth_ctx {
    struct store *st;                 /* this thread's connection, no transaction open */
    const uint8_t *master_key;        /* MASTERKEY_BYTES */
    const struct config *cfg;         /* session_idle_s, session_absolute_s, new_device_cooldown_s,
                                         reset_cooldown_s */
    const struct notify_sender *mail; /* NULL: leave queued mail for notify_deliver_pending */
    int64_t now;                      /* ms since the epoch; tests inject it */
    const char *client_addr;          /* textual IP address of the client, "" if unknown, never NULL */
    const struct notify_wake *wake;   /* NULL, or asks the background deliverer for a round
                                         (notify/deliverer.h) */
    struct ledger_writer *writer;     /* NULL, or carries a session's last-seen write in its
                                         group commit (session.h) */
    const char *request_id;           /* the request's id, for lines logged later on another thread
                                         (the ledger writer's); NULL if none */
};

#endif
