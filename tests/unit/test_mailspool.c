/* test_mailspool.c: the built-in mail sender (notify/mailspool.h) as the
 * customer's mail reader sees it: a delivery round is one mbox file in
 * DATA_DIR/mail/new that mailspool_split gives back message by message,
 * exactly; a failed write delivers nothing of the round and the next round
 * delivers all of it; a round sent twice is two files, never one replacing
 * the other; old one-message files still read; hostile file text neither
 * crashes the parser nor leaks (ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/mailspool.h"
#include "notify/outbox.h"
#include "testutil.h"
#include "util/timeutil.h"

#define MAX_FILES 16

struct spool {
    char *dir; /* the data directory */
    struct mailspool m;
    struct notify_sender s;
};

static void spool_open(struct spool *sp)
{
    sp->dir = tu_tempdir();
    assert_int_equal(mailspool_open(&sp->m, sp->dir), ERR_OK);
    sp->s = mailspool_sender(&sp->m);
}

static void spool_close(struct spool *sp)
{
    tu_rmtree(sp->dir);
    free(sp->dir);
}

/* The files in the spool's sub (new, tmp), sorted by name; how many. */
static size_t files(const struct spool *sp, const char *sub, char names[MAX_FILES][300])
{
    char dir[sizeof sp->m.dir + 8];
    snprintf(dir, sizeof dir, "%s/%s", sp->m.dir, sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_true(n < MAX_FILES);
        snprintf(names[n++], 300, "%s", e->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of names */
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char t[300];
            memcpy(t, names[k], 300);
            memcpy(names[k], names[k - 1], 300);
            memcpy(names[k - 1], t, 300);
        }
    return n;
}

/* The text of new/name. */
static char *read_new(const struct spool *sp, const char *name)
{
    char path[sizeof sp->m.dir + 320];
    snprintf(path, sizeof path, "%s/new/%s", sp->m.dir, name);
    char *text = tu_slurp(path, NULL);
    assert_non_null(text);
    return text;
}

/* What a reader gets back for a message: headers, blank line, body. */
static void expected(char *out, size_t n, const struct notify_message *m)
{
    snprintf(out, n,
             "To: %s\nSubject: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
             "Content-Transfer-Encoding: 8bit\nMessage-ID: <%s@kessai.invalid>\n\n%s\n",
             m->to, m->subject, m->id, m->body);
}

static void send_ok(struct spool *sp, const struct notify_message *msgs, size_t n)
{
    enum err result[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        result[i] = ERR_INTERNAL;
    sp->s.send(sp->s.ctx, msgs, n, result);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(result[i], ERR_OK);
}

static const struct notify_message ROUND[] = {
    {"0190a1b2c3d4aaaaaaaaaaaaaaaaaaaa", "aiko@example.com", "You paid with your kessai wallet",
     "You paid 480 yen at \xe3\x83\xad\xe3\x83\xbc\xe3\x82\xbd\xe3\x83\xb3 Shibuya.\nYour balance is 520 yen."},
    {"0190a1b2c3d5bbbbbbbbbbbbbbbbbbbb", "ken@example.jp", "Your kessai verification code",
     "Your verification code is: 123456"},
    {"0190a1b2c3d6cccccccccccccccccccc", "aiko@example.com", "New sign-in to your kessai account",
     "A new phone signed in.\n\nIf it was not you, reset your password."},
};

/* text (a spool file) holds exactly msgs[0..n), as a mail reader sees them. */
static void splits_back(const char *text, const struct notify_message *msgs, size_t n)
{
    char **got = NULL;
    size_t k = mailspool_split(text, &got);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++) {
        char want[1024];
        expected(want, sizeof want, &msgs[i]);
        assert_string_equal(got[i], want);
    }
    mailspool_free(got, k);
}

/* A round of three messages is one file, named for its first message; a
 * mail reader sees a mbox ("From " line first) and mailspool_split gives
 * each message back exactly: address, subject, UTF-8 declared, the outbox
 * ref as Message-ID, the body. */
static void a_round_is_one_mbox_file_that_splits_back_exactly(void **state)
{
    (void)state;
    struct spool sp;
    spool_open(&sp);
    send_ok(&sp, ROUND, 3);
    char names[MAX_FILES][300];
    char none[MAX_FILES][300];
    assert_int_equal(files(&sp, "tmp", none), 0);
    assert_int_equal(files(&sp, "new", names), 1);
    assert_int_equal(strncmp(names[0], ROUND[0].id, strlen(ROUND[0].id)), 0);
    assert_non_null(strstr(names[0], ".mbox"));
    char *text = read_new(&sp, names[0]);
    /* the envelope's date is the queue time in the ref (0x0190a1b2c3d4 ms) */
    const char *envelope = "From kessai@kessai.invalid Thu Jul 11 12:09:25 2024\n";
    assert_int_equal(strncmp(text, envelope, strlen(envelope)), 0);
    splits_back(text, ROUND, 3);
    free(text);
    spool_close(&sp);
}

/* A body line that reads like a message boundary is quoted in the file
 * (mboxrd: one more '>'), so it does not cut the message in two, and
 * comes back unquoted. */
static void from_lines_in_a_body_survive_the_round_trip(void **state)
{
    (void)state;
    struct spool sp;
    spool_open(&sp);
    const struct notify_message msgs_in[] = {
        {"0190a1b2c3d7dddddddddddddddddddd", "aiko@example.com", "Notice",
         "From here\n>From there\n>>From everywhere\nFrom\nFromage is cheese\n\nFrom the store"},
        {"0190a1b2c3d8eeeeeeeeeeeeeeeeeeee", "ken@example.jp", "Next", "the next message"},
    };
    send_ok(&sp, msgs_in, 2);
    char names[MAX_FILES][300];
    assert_int_equal(files(&sp, "new", names), 1);
    char *text = read_new(&sp, names[0]);
    assert_non_null(strstr(text, "\n\n>From here\n>>From there\n>>>From everywhere\nFrom\nFromage is cheese\n\n>From the store\n"));
    splits_back(text, msgs_in, 2);
    free(text);
    spool_close(&sp);
}

static void enqueue(struct store *st, const uint8_t *mk, const char *to, const char *body)
{
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(notify_enqueue(st, mk, time_now_ms(), to, "Notice", body), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
}

/* Every message in new/, in file order. */
static size_t all_bodies(const struct spool *sp, char bodies[8][64])
{
    char names[MAX_FILES][300];
    size_t nf = files(sp, "new", names), k = 0;
    for (size_t f = 0; f < nf; f++) {
        char *text = read_new(sp, names[f]);
        char **msgs = NULL;
        size_t n = mailspool_split(text, &msgs);
        for (size_t i = 0; i < n; i++) {
            assert_true(k < 8);
            const char *b = strstr(msgs[i], "\n\n");
            assert_non_null(b);
            snprintf(bodies[k++], 64, "%s", b + 2);
        }
        mailspool_free(msgs, n);
        free(text);
    }
    return k;
}

/* The write of a round fails (where=tmp: its file cannot be created;
 * where=new: it cannot be moved into new/): no message of the round is in
 * the mailbox, all stay queued, nothing is left half-written in tmp/, and
 * the next round, once the disk is back, delivers all of them in one file. */
static void a_failed_write(const char *where)
{
    struct spool sp;
    spool_open(&sp);
    struct store *st = tu_open_store(sp.dir);
    uint8_t mk[MASTERKEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    enqueue(st, mk, "aiko@example.com", "one");
    enqueue(st, mk, "ken@example.jp", "two");
    enqueue(st, mk, "aiko@example.com", "three");
    char sub[sizeof sp.m.dir + 8];
    snprintf(sub, sizeof sub, "%s/%s", sp.m.dir, where);
    assert_int_equal(rmdir(sub), 0); /* as root, permissions would not stop a write */

    int64_t t = time_now_ms();
    size_t n = 99;
    assert_int_equal(notify_deliver_pending(st, mk, &sp.s, t, &n), ERR_IO);
    assert_int_equal(n, 0);
    char names[MAX_FILES][300], bodies[8][64];
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(files(&sp, "tmp", names), 0);
    assert_int_equal(all_bodies(&sp, bodies), 0);

    assert_int_equal(notify_deliver_pending(st, mk, &sp.s, t + 30000, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(files(&sp, "new", names), 1);
    assert_int_equal(all_bodies(&sp, bodies), 3);
    assert_string_equal(bodies[0], "one\n");
    assert_string_equal(bodies[1], "two\n");
    assert_string_equal(bodies[2], "three\n");
    assert_int_equal(notify_deliver_pending(st, mk, &sp.s, t + 60000, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(files(&sp, "new", names), 1);
    store_close(st);
    spool_close(&sp);
}

static void a_failed_write_leaves_the_whole_round_queued(void **state)
{
    (void)state;
    a_failed_write("tmp");
    a_failed_write("new");
}

/* Delivery is at least once: two deliverers may send rounds that start
 * with the same message.  Each is a file of its own; neither replaces the
 * other, so the message only the first round held is not lost. */
static void two_rounds_starting_alike_are_two_files(void **state)
{
    (void)state;
    struct spool sp;
    spool_open(&sp);
    const struct notify_message a[] = {ROUND[0], ROUND[2]}, b[] = {ROUND[0], ROUND[1]};
    send_ok(&sp, a, 2);
    send_ok(&sp, b, 2);
    char names[MAX_FILES][300], bodies[8][64];
    assert_int_equal(files(&sp, "new", names), 2);
    assert_int_equal(all_bodies(&sp, bodies), 4);
    bool saw[3] = {false};
    for (size_t i = 0; i < 4; i++)
        for (size_t r = 0; r < 3; r++)
            if (strncmp(bodies[i], ROUND[r].body, 20) == 0)
                saw[r] = true;
    assert_true(saw[0] && saw[1] && saw[2]);
    spool_close(&sp);
}

/* A file kessai wrote before the spool (one message, no "From " line) is
 * one message, as it is. */
static void an_old_one_message_file_splits_as_one_message(void **state)
{
    (void)state;
    const char *old = "To: aiko@example.com\nSubject: Your kessai verification code\nMessage-ID: "
                      "<0123abcd@kessai.invalid>\n\nYour verification code is: 123456\nFrom the kessai team\n";
    char **msgs = NULL;
    size_t n = mailspool_split(old, &msgs);
    assert_int_equal(n, 1);
    assert_string_equal(msgs[0], old);
    mailspool_free(msgs, n);
}

/* Text no kessai wrote: whatever comes out, the parser neither crashes
 * nor reads past the text nor leaks (ASan watches). */
static void hostile_spool_text_neither_crashes_nor_leaks(void **state)
{
    (void)state;
    const char *cases[] = {
        "", "From ", "From x", "From \n", "From a\nFrom b\nFrom c\n", "From a\nno blank lines\nFrom b\nx",
        "From a\n>From b\n>>>\n>", "From a\n\n\n\n", "\nFrom a\n", ">From a\n", "From a\n>From ", "From a\nx\n\n",
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char **msgs = NULL;
        size_t n = mailspool_split(cases[c], &msgs);
        assert_true(n <= strlen(cases[c]) + 1);
        assert_true((n == 0) == (msgs == NULL));
        for (size_t i = 0; i < n; i++)
            assert_true(strlen(msgs[i]) <= strlen(cases[c]));
        mailspool_free(msgs, n);
    }
    /* "From " with no newline: no message (and no crash) */
    char **msgs = NULL;
    assert_int_equal(mailspool_split("From ", &msgs), 0);
    assert_null(msgs);
    /* a huge number of "From " lines: every other one is a message's
     * envelope, the one after it its body */
    size_t lines = 200000;
    char *big = malloc(lines * 6 + 1);
    assert_non_null(big);
    for (size_t i = 0; i < lines; i++)
        memcpy(big + 6 * i, "From \n", 6);
    big[lines * 6] = '\0';
    size_t n = mailspool_split(big, &msgs);
    assert_int_equal(n, lines / 2);
    assert_string_equal(msgs[0], "From \n");
    mailspool_free(msgs, n);
    free(big);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_round_is_one_mbox_file_that_splits_back_exactly),
        cmocka_unit_test(from_lines_in_a_body_survive_the_round_trip),
        cmocka_unit_test(a_failed_write_leaves_the_whole_round_queued),
        cmocka_unit_test(two_rounds_starting_alike_are_two_files),
        cmocka_unit_test(an_old_one_message_file_splits_as_one_message),
        cmocka_unit_test(hostile_spool_text_neither_crashes_nor_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
