/* test_durability.c: "ok" means on disk.
 *
 * A child process streams transfers through the group-commit writer and
 * reports each one its callback acknowledged, down a pipe.  The parent kills
 * it with SIGKILL mid-stream, reopens the store and checks that every
 * acknowledged transfer is there and the ledger verifies.  (SIGKILL does not
 * lose the OS page cache, so this proves the writer never acknowledges before
 * its commit; power loss is SQLite's synchronous=FULL's job.)
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "testutil.h"

#define ACKS_BEFORE_KILL 3000
#define MAX_ACKS 200000

struct child {
    int fd;
    sem_t window;
};

static void acked(void *ctx, const struct ledger_result *r)
{
    struct child *c = ctx;
    if (r->err == ERR_OK) {
        char line[LEDGER_KEY_MAX + 2];
        int n = snprintf(line, sizeof line, "%s\n", r->xfers[0].key);
        /* under PIPE_BUF: atomic, and in the pipe the moment write returns */
        if (write(c->fd, line, (size_t)n) != n)
            _exit(3);
    }
    sem_post(&c->window);
}

static void child_main(const char *dir, int fd, int64_t from, const int64_t *to)
{
    struct child c = {.fd = fd};
    sem_init(&c.window, 0, 512);
    struct ledger_writer *w = NULL;
    struct ledger_writer_opts o = {.batch_max = 128};
    if (ledger_writer_start(tu_open_store(dir), &o, &w) != ERR_OK)
        _exit(2);
    for (long n = 0;; n++) {
        sem_wait(&c.window);
        struct ledger_transfer t = {.debit_account = from, .credit_account = to[n % 4], .amount = 1 + n % 7};
        snprintf(t.key, sizeof t.key, "d-%ld", n);
        snprintf(t.kind, sizeof t.kind, "test");
        if (ledger_writer_submit(w, &t, 1, acked, &c) != ERR_OK)
            _exit(4);
    }
}

static void acknowledged_transfers_survive_sigkill(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    struct store *st = tu_open_store(dir);
    assert_int_equal(ledger_init(st), ERR_OK);
    int64_t from, to[4];
    assert_int_equal(ledger_system_account(st, "cash_at_stores", &from), ERR_OK);
    for (int i = 0; i < 4; i++) {
        char owner[32];
        snprintf(owner, sizeof owner, "usr_d%d", i);
        assert_int_equal(ledger_account_create(st, owner, "wallet", LEDGER_ACCT_DEBITS_LE_CREDITS, &to[i]), ERR_OK);
    }
    store_close(st);

    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_main(dir, p[1], from, to);
        _exit(1);
    }
    close(p[1]);

    /* Collect acknowledgements; kill as soon as enough have arrived, while
     * the child is still mid-stream. */
    char **keys = calloc(MAX_ACKS, sizeof *keys);
    size_t nkeys = 0, have = 0;
    char buf[8192], line[LEDGER_KEY_MAX + 2];
    size_t ll = 0;
    int killed = 0;
    for (;;) {
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n') {
                line[ll] = '\0';
                if (nkeys < MAX_ACKS)
                    keys[nkeys++] = strdup(line);
                ll = 0;
            } else if (ll < sizeof line - 1) {
                line[ll++] = buf[i];
            }
        }
        have = nkeys;
        if (!killed && have >= ACKS_BEFORE_KILL) {
            kill(pid, SIGKILL);
            killed = 1;
        }
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(p[0]);
    assert_true(nkeys >= ACKS_BEFORE_KILL);

    st = tu_open_store(dir);
    for (size_t i = 0; i < nkeys; i++) {
        struct ledger_transfer t;
        if (st->ops->transfer_get_by_key(st, keys[i], &t) != ERR_OK)
            fail_msg("acknowledged transfer %s is missing after the crash", keys[i]);
        free(keys[i]);
    }
    free(keys);
    struct ledger_verify_report rep;
    assert_int_equal(ledger_verify(st, stderr, &rep), ERR_OK);
    assert_int_equal(rep.violations, 0);
    assert_true(rep.transfers >= nkeys);
    store_close(st);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acknowledged_transfers_survive_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
