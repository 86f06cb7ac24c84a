/* smtp.h: the SMTP sender (libcurl), used by kessaid instead of the mail spool
 * when [mail] smtp_url is set (docs/notifications.md).
 *
 * One SMTP transaction per message: MAIL FROM smtp_from, RCPT TO the
 * customer, DATA with "Date", "From", "To", "Subject", "Message-ID:
 * <ref@kessai.invalid>" (the outbox ref: a message delivered twice is
 * recognisably the same one) and a UTF-8 text body, lines ending CRLF.  A
 * 2xx after DATA is a durable hand-over (the relay queued it), so the
 * message is sent once it is accepted.  TLS is required (smtps://, or STARTTLS on smtp://)
 * unless the server is on loopback (a local relay, the tests); the
 * password is sent only over TLS or to loopback, and never logged.
 */
#ifndef KESSAI_NOTIFY_SMTP_H
#define KESSAI_NOTIFY_SMTP_H

#include <stddef.h>

#include "notify/sender.h"
#include "util/err.h"

#define SMTP_STR 256

struct smtp {
    char url[SMTP_STR];  /* smtp://host[:port] or smtps://host[:port] */
    char from[SMTP_STR]; /* the envelope and header sender address */
    char user[SMTP_STR]; /* "" : no authentication */
    char password[SMTP_STR];
    int loopback; /* the server is 127.0.0.1, [::1] or localhost: TLS optional */
};

/* Check and copy the settings.  ERR_INVALID_PARAM if the URL is not smtp://
 * or smtps:// with a host, or from is empty or has a control character or
 * angle bracket. */
enum err smtp_open(struct smtp *s, const char *url, const char *from, const char *user, const char *password);
/* A sender through s (which must outlive it).  curl_global_init must have run. */
struct notify_sender smtp_sender(struct smtp *s);
/* The message as sent after DATA (for tests): headers and body with CRLF
 * line ends; date is the Date header's value.  Caller frees; NULL if out
 * of memory. */
char *smtp_format(const struct smtp *s, const char *id, const char *to, const char *subject, const char *body,
                  const char *date);

#endif
