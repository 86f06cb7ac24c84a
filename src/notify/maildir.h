/* maildir.h: the built-in sender: one file per message in maildir layout.
 *
 * DATA_DIR/mail/{tmp,new,cur}/; a message is written to tmp/ and renamed
 * into new/, so a reader never sees a partial file; the flush (one syncfs
 * per delivered batch) makes the batch durable before the outbox marks it
 * sent.  Content: "To: …\nSubject: …\n" (both ASCII: the subjects are the
 * code's own), MIME headers declaring a UTF-8 text body, "Message-ID:
 * <ref@kessai.invalid>", a blank line, the body.  The maildir is "the
 * customer's mailbox": messages are in the clear there by design.
 */
#ifndef KESSAI_NOTIFY_MAILDIR_H
#define KESSAI_NOTIFY_MAILDIR_H

#include <limits.h>

#include "notify/sender.h"
#include "util/err.h"

struct maildir {
    char dir[PATH_MAX]; /* DATA_DIR/mail */
};

/* Create DATA_DIR/mail and its three subdirectories (0700) if missing.
 * ERR_IO if they cannot be created; ERR_INVALID_PARAM if the path is too long. */
enum err maildir_open(struct maildir *m, const char *data_dir);
/* A sender writing into m (which must outlive it). */
struct notify_sender maildir_sender(struct maildir *m);

#endif
