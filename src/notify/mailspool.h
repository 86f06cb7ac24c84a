/* mailspool.h: the built-in sender: the customers' mailbox, one file per
 * delivery round.
 *
 * DATA_DIR/mail/{tmp,new,cur}/.  A round's messages (sender.h) become one
 * file, new/<ref of its first message>-<16 random hex>.mbox (the random
 * part keeps two rounds that start alike apart), in mboxrd format: each message
 * starts with a "From " line; a body line that starts with ">*From " gets
 * one more '>'.  It is written to tmp/, fdatasync'd, renamed into new/ and
 * the directory fsync'd, so a reader never sees a partial file and the
 * round is durable before the outbox marks it sent.  One file per round
 * rather than one per message: creating a file costs the file system more
 * than writing a few kilobytes into it (bench/README.md).  A round sent
 * again after a crash makes a second file: readers that must see each
 * message once go by its Message-ID.
 *
 * A message: "To: …\nSubject: …\n" (both ASCII: the subjects are the
 * code's own), MIME headers declaring a UTF-8 text body, "Message-ID:
 * <ref@kessai.invalid>", a blank line, the body.  Any mbox reader opens a
 * file (`mutt -f FILE`); mailspool_split is the one our tests and the
 * simulator use.  The spool is "the customer's mailbox": messages are in
 * the clear there by design.
 */
#ifndef KESSAI_NOTIFY_MAILSPOOL_H
#define KESSAI_NOTIFY_MAILSPOOL_H

#include <limits.h>
#include <stddef.h>

#include "notify/sender.h"
#include "util/err.h"

struct mailspool {
    char dir[PATH_MAX]; /* DATA_DIR/mail */
};

/* Create DATA_DIR/mail and its three subdirectories (0700) if missing.
 * ERR_IO if they cannot be created; ERR_INVALID_PARAM if the path is too long. */
enum err mailspool_open(struct mailspool *m, const char *data_dir);
/* A sender writing into m (which must outlive it). */
struct notify_sender mailspool_sender(struct mailspool *m);

/* The messages of one spool file's text (NUL-terminated), in order, each
 * as a malloc'd string of its headers and body with the mboxrd quoting
 * undone and no "From " line; *out is a malloc'd array of them (NULL when
 * there are none).  A file that does not start with "From " is one message
 * (what kessai wrote before the spool, one file per message).  Returns how
 * many; 0 with *out NULL when out of memory. */
size_t mailspool_split(const char *text, char ***out);
/* Free what mailspool_split returned, wiping it (messages carry codes). */
void mailspool_free(char **msgs, size_t n);

#endif
