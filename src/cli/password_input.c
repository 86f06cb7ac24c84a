/* password_input.c: reading a new password, never from the command line.
 *
 * argv is readable by every user through ps and ends up in shell history,
 * so a password comes on standard input instead:
 *  - from a script: the first line, without its "\n" (or "\r\n");
 *  - from a person at a terminal: asked twice with echo off, so that a typo
 *    does not silently become the password and the screen never shows it.
 *
 * Bytes are read one at a time with read(2), not through stdio, so that no
 * copy is left behind in a FILE buffer and nothing after the first line is
 * consumed.  A line too long for the buffer is still read to its end: on a
 * terminal its rest would otherwise be read by the shell as a command, and
 * land in its history.
 *
 * While echo is off, SIGINT, SIGTERM, SIGHUP and SIGQUIT interrupt the read
 * (no SA_RESTART); the terminal is restored before the signal is raised
 * again with its previous disposition, so Ctrl-C never leaves a terminal
 * that does not echo.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password.h"
#include "cli/cli.h"

enum line { LINE_OK, LINE_TOO_LONG, LINE_NUL, LINE_ERROR, LINE_INTERRUPTED };

static volatile sig_atomic_t caught;

static void on_signal(int sig) { caught = sig; }

static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NQUIT (sizeof quit_signals / sizeof quit_signals[0])

/* One line of standard input into buf[n], NUL-terminated, without its line
 * ending.  End of input ends the line (so empty input is an empty line). */
static enum line read_line(char *buf, size_t n)
{
    enum line status = LINE_OK;
    size_t len = 0;
    char c = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR && !caught)
            continue;
        if (r < 0) {
            status = caught ? LINE_INTERRUPTED : LINE_ERROR;
            break;
        }
        if (r == 0 || c == '\n')
            break;
        if (c == '\0') {
            if (status == LINE_OK)
                status = LINE_NUL;
        } else if (len + 1 < n) {
            buf[len++] = c;
        } else if (status == LINE_OK) {
            status = LINE_TOO_LONG;
        }
    }
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    c = 0;
    return status;
}

/* Ask for the password twice with echo off; buf gets the first answer and
 * *same whether the second matched it. */
static enum line ask_twice(const char *who, char *buf, size_t n, int *same)
{
    char again[CLI_PASSWORD_BUF];
    struct termios saved, quiet;
    struct sigaction act, old[NQUIT];
    *same = 0;
    buf[0] = '\0';
    if (tcgetattr(STDIN_FILENO, &saved) != 0)
        return LINE_ERROR;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    act.sa_flags = 0; /* no SA_RESTART: a signal must end the read */
    caught = 0;
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &act, &old[i]);
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    enum line status = LINE_ERROR;
    /* TCSAFLUSH: whatever was typed before the prompt is not the password. */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
        fprintf(stderr, "Password for %s: ", who);
        fflush(stderr);
        status = read_line(buf, n);
        /* The Enter key was not echoed either; lines typed ahead are not
         * echoed at all, so say it here, once per line read. */
        fputc('\n', stderr);
        if (status != LINE_INTERRUPTED && status != LINE_ERROR) {
            fprintf(stderr, "Repeat the password: ");
            fflush(stderr);
            enum line second = read_line(again, sizeof again);
            fputc('\n', stderr);
            if (second == LINE_INTERRUPTED || second == LINE_ERROR)
                status = second;
            *same = strcmp(buf, again) == 0;
        }
        int read_errno = errno;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        errno = read_errno; /* for the caller's message */
    }
    sodium_memzero(again, sizeof again);
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &old[i], NULL);
    if (status == LINE_INTERRUPTED) {
        sodium_memzero(buf, n);
        raise(caught); /* with the caller's disposition: normally the end of us */
    }
    return status;
}

int cli_read_new_password(const struct cli_cmd *c, const char *who, char buf[CLI_PASSWORD_BUF])
{
    int same = 1;
    enum line status = isatty(STDIN_FILENO) ? ask_twice(who, buf, CLI_PASSWORD_BUF, &same)
                                            : read_line(buf, CLI_PASSWORD_BUF);
    switch (status) {
    case LINE_OK:
        break;
    case LINE_TOO_LONG:
        return cli_usage_error(c, "the password must be %d to %d characters long", AUTH_PASSWORD_MIN_CHARS,
                               AUTH_PASSWORD_MAX_CHARS);
    case LINE_NUL:
        return cli_usage_error(c, "the password must not contain a NUL byte");
    case LINE_INTERRUPTED:
        return cli_failure("interrupted");
    case LINE_ERROR:
        return cli_failure("cannot read the password from standard input: %s", strerror(errno));
    }
    if (buf[0] == '\0')
        return cli_usage_error(c, "no password: give it on the first line of standard input (on a terminal, "
                                  "type it when asked)");
    if (!same)
        return cli_usage_error(c, "the two passwords do not match");
    return CLI_EXIT_OK;
}
