/* inbox.h: the customers' mailbox as the tests read it (linked into every
 * test binary, so every name starts with inbox_).
 *
 * kessai's built-in sender writes one mbox file per delivery round into
 * DATA_DIR/mail/new (notify/mailspool.h); a message may be in two files
 * (delivery is at least once).  inbox_load reads every file there with
 * mailspool_split, the one parser of spool files, and gives each message
 * once (by Message-ID), oldest first.  Fails the test on out of memory.
 */
#ifndef KESSAI_TESTS_INBOX_H
#define KESSAI_TESTS_INBOX_H

#include <stddef.h>
#include <stdint.h>

struct inbox_msg {
    char *text;        /* headers, blank line, body (quoting undone) */
    char id[80];       /* the Message-ID without <> ("" if none) */
    char to[300];      /* the To: address, lower-cased ("" if none) */
    char subject[256]; /* ("" if none) */
    int64_t queued_ms; /* from the Message-ID (the outbox ref starts with it); -1 if none */
    int64_t mtime_ns;  /* of the file it came from */
    size_t seq;        /* read order: files in directory order, messages in file order */
};

struct inbox {
    struct inbox_msg *m;
    size_t n;
};

/* Every message in the files of dir (a spool's new/), each Message-ID once,
 * oldest first: by queue time, then by file age, then by place in its file.
 * A missing dir is an empty inbox. */
void inbox_load(struct inbox *box, const char *dir);
/* DATA_DIR/mail/new of a data directory. */
void inbox_load_data(struct inbox *box, const char *data_dir);
void inbox_free(struct inbox *box);
/* What follows the blank line after the headers (text itself if none). */
const char *inbox_body(const char *text);

#endif
