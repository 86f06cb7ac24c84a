#include "notify/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/log.h"

static enum err mkdir_p(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return ERR_OK;
    log_event(LOG_ERROR, "maildir_error", json_pack("{s:s, s:s}", "path", path, "detail", strerror(errno)));
    return ERR_IO;
}

enum err maildir_open(struct maildir *m, const char *data_dir)
{
    char sub[PATH_MAX + 8];
    int w = snprintf(m->dir, sizeof m->dir, "%s/mail", data_dir);
    if (w < 0 || (size_t)w >= sizeof m->dir - 8)
        return ERR_INVALID_PARAM;
    enum err e = mkdir_p(m->dir);
    const char *subs[] = {"tmp", "new", "cur"};
    for (size_t i = 0; e == ERR_OK && i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", m->dir, subs[i]);
        e = mkdir_p(sub);
    }
    return e;
}

static enum err write_all(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ERR_IO;
        s += w;
        len -= (size_t)w;
    }
    return ERR_OK;
}

/* tmp/ -> rename into new/: a reader sees the whole message or none of it.
 * Durability comes once per batch from maildir_flush (syncfs), not per
 * message: the outbox marks a batch sent only after the flush, and a
 * message lost to a crash before it is simply delivered again (same id,
 * same file). */
static enum err maildir_send(void *ctx, const char *id, const char *to, const char *subject, const char *body)
{
    struct maildir *m = ctx;
    char tmp[PATH_MAX + 128], dst[PATH_MAX + 128];
    /* The id is the outbox ref (hex): the same message overwrites itself
     * if it is ever delivered twice. */
    snprintf(tmp, sizeof tmp, "%s/tmp/%s.kessai", m->dir, id);
    snprintf(dst, sizeof dst, "%s/new/%s.kessai", m->dir, id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    enum err e = write_all(fd, "To: ");
    if (e == ERR_OK)
        e = write_all(fd, to);
    if (e == ERR_OK)
        e = write_all(fd, "\nSubject: ");
    if (e == ERR_OK)
        e = write_all(fd, subject);
    /* Bodies carry store names and addresses in any script: say UTF-8, or
     * a mail reader guesses (and Japanese turns into mojibake).  The
     * Message-ID is the outbox ref, so a message delivered twice is
     * recognisably the same one. */
    if (e == ERR_OK)
        e = write_all(fd, "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
                          "Content-Transfer-Encoding: 8bit\nMessage-ID: <");
    if (e == ERR_OK)
        e = write_all(fd, id);
    if (e == ERR_OK)
        e = write_all(fd, "@kessai.invalid>\n\n");
    if (e == ERR_OK)
        e = write_all(fd, body);
    if (e == ERR_OK)
        e = write_all(fd, "\n");
    if (close(fd) != 0 && e == ERR_OK)
        e = ERR_IO;
    if (e != ERR_OK || rename(tmp, dst) != 0)
        goto fail;
    return ERR_OK;
fail:
    log_event(LOG_ERROR, "maildir_error", json_pack("{s:s, s:s}", "path", tmp, "detail", strerror(errno)));
    unlink(tmp);
    return ERR_IO;
}

/* One sync of the file system holding the maildir: every file written and
 * renamed since, and the directory entries, reach the disk. */
static enum err maildir_flush(void *ctx)
{
    struct maildir *m = ctx;
    int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ERR_IO;
    int rc = syncfs(dfd);
    close(dfd);
    if (rc != 0) {
        log_event(LOG_ERROR, "maildir_error", json_pack("{s:s, s:s}", "path", m->dir, "detail", strerror(errno)));
        return ERR_IO;
    }
    return ERR_OK;
}

struct notify_sender maildir_sender(struct maildir *m)
{
    return (struct notify_sender){maildir_send, m, maildir_flush};
}
