/* cli.h: the kessai command line, for operators, support and finance.
 *
 *   kessai [--data-dir DIR] COMMAND [ARGS...]
 *
 * src/cmd/kessai.c is only main(); everything else lives here, in
 * libkessai.a, one job per file:
 *
 *   cli.c           entry point: global options, dispatch, help
 *   commands.c      THE command table: words, options, help text, run function
 *   args.c          parsing a command's arguments against its table row
 *   output.c        messages (usage errors, failures) and JSON output
 *   datadir.c       the data directory: the store and the master key
 *   record.c        the audit entries of the admin commands' changes
 *   list.c          the paginated lister every `list` command uses
 *   ledger_cmd.c    ledger verify
 *   merchant_cmd.c  admin merchant / admin store
 *   store_qr_cmd.c  admin store qr (the store's EMVCo QR payload and its SVG)
 *   terminal_cmd.c  admin terminal
 *   webhook_cmd.c   admin webhook (a merchant's signed webhooks)
 *   staff_cmd.c     admin staff (and its alias admin create-staff)
 *   killswitch_cmd.c  admin killswitch (operator switches)
 *   customer_cmd.c  admin customer freeze / unfreeze
 *   audit_cmd.c     audit verify / audit search (the tamper-evident audit log)
 *   password_input.c  reading a new password from standard input or a tty
 *   bench_*.c       bench charges (the load generator; bench.h)
 *   simulate_cmd.c  simulate (traffic and attack replay; src/sim/sim.h)
 *
 * Every command is one row of cli_commands: parsing, help and usage errors
 * are driven by that table, so a new command is a row and a function.
 *
 * Exit status: 0 success; 1 the command ran and failed (not found, storage
 * error, ledger or audit-log violations, a wrong code); 2 usage error (unknown command or
 * option, a malformed or out-of-range value, a weak password), in which case
 * nothing was written.
 *
 * The CLI opens DIR/kessai.db as its own SQLite connection, so it is safe
 * while kessaid serves the same directory (WAL; the store waits on a busy
 * lock instead of failing).  Output is meant for people by default and for
 * scripts with --json (one JSON object on one line of stdout).  No secret is
 * ever printed except, once, a new terminal's HMAC secret (`admin terminal
 * create`), a new webhook's signing secret (`admin webhook add`) and a new
 * staff account's TOTP enrolment URI (`admin staff create`).  Passwords are never printed, echoed or logged.
 *
 * Every function below that returns int returns an exit status
 * (CLI_EXIT_*); one that fails has already said why on stderr, so its
 * caller just passes the status on.
 */
#ifndef KESSAI_CLI_CLI_H
#define KESSAI_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util/err.h"
#include "util/masterkey.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

#define CLI_MAX_WORDS 3
#define CLI_MAX_OPTS 10
#define CLI_NAME_BUF 64 /* "admin terminal create" and the like */

/* ------------------------------------------------------------ entry point */

/* Make the process safe to run as a CLI before anything opens a file: fill
 * closed standard descriptors with /dev/null, umask 077, quiet logging.
 * Call first thing in main(), then sodium_init() and oath_init(). */
void cli_init_process(void);

/* Run one command line (argv[0] is the program name); returns the exit status. */
int cli_main(int argc, char **argv);

/* ------------------------------------------------------- the command table */

struct cli_opt {
    const char *name; /* "--name" */
    const char *arg;  /* metavariable, or NULL for a flag */
    const char *help;
    int required;
};

struct cli_ctx;
struct sockaddr_in;

struct cli_cmd {
    const char *words[CLI_MAX_WORDS]; /* NULL-terminated when shorter */
    const char *positional;           /* metavariable of the one positional argument, or NULL */
    const char *summary;              /* one line, for lists of commands */
    const char *details;              /* paragraph(s) for COMMAND --help */
    struct cli_opt opts[CLI_MAX_OPTS];
    int (*run)(struct cli_ctx *x);
};

/* A paragraph shown by `kessai WORDS --help` above the group's commands;
 * groups without one show only their commands. */
struct cli_group {
    const char *words[CLI_MAX_WORDS];
    const char *details;
};

extern const struct cli_cmd cli_commands[];
extern const size_t cli_ncommands;
extern const struct cli_group cli_groups[];
extern const size_t cli_ngroups;

/* One command being run: its row, its parsed arguments and what it opened. */
struct cli_ctx {
    const struct cli_cmd *cmd;
    const char *val[CLI_MAX_OPTS]; /* option values, by index in cmd->opts; "" for a present flag */
    const char *pos;               /* the positional argument */
    const char *data_dir;
    int json;          /* --json was given */
    struct store *st;  /* opened by cli_open_store, closed by cli_main */
};

/* --------------------------------------------------------------- args.c */

/* "admin store create" into buf[n]. */
void cli_cmd_name(const struct cli_cmd *c, char *buf, size_t n);
/* Fill x->val / x->pos from argv (the words after the command's own);
 * usage error on anything the row does not allow. */
int cli_parse_args(struct cli_ctx *x, int argc, char **argv);
/* The value of option name ("" for a flag), or NULL when absent. */
const char *cli_opt(const struct cli_ctx *x, const char *name);
/* Parse public id s ("mer_…") of type prefix; usage error naming `what`. */
int cli_parse_id(const struct cli_ctx *x, const char *what, const char *s, const char *prefix, int64_t *out);
/* The same for an optional id option: *out stays 0 when it is absent. */
int cli_parse_opt_id(const struct cli_ctx *x, const char *name, const char *prefix, int64_t *out);
/* Optional whole-number option name in lo..hi into *out (def when absent);
 * usage error otherwise. */
int cli_parse_opt_int(const struct cli_ctx *x, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out);
/* --url "http://HOST:PORT" (HOST an IPv4 address or a name), nothing
 * after, into *addr.  Malformed: usage error.  A HOST that does not
 * resolve returns unresolved_exit (CLI_EXIT_USAGE or CLI_EXIT_FAIL, as
 * the command documents), having said why. */
int cli_parse_url(const struct cli_ctx *x, const char *url, int unresolved_exit, struct sockaddr_in *addr);
/* --limit N (1..CLI_LIST_LIMIT_MAX); *limit is 0 when absent (no limit). */
int cli_parse_limit(const struct cli_ctx *x, size_t *limit);

/* ------------------------------------------------------------- output.c */

/* "kessai: CMD: MESSAGE" and a --help hint on stderr; returns CLI_EXIT_USAGE.
 * c may be NULL for errors before a command is known. */
int cli_usage_error(const struct cli_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "kessai: MESSAGE" on stderr; returns CLI_EXIT_FAIL. */
int cli_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report domain error e about the object named `what` (a public id, an
 * e-mail address or an action); "not found" errors say just that. */
int cli_fail_err(enum err e, const char *what);
/* Print v on one line of stdout and release it; NULL means out of memory. */
int cli_print_json(json_t *v);

/* ------------------------------------------------------------ datadir.c */

/* DIR/name into buf[n] (cli_main has checked that DIR leaves room). */
void cli_data_path(const struct cli_ctx *x, const char *name, char *buf, size_t n);
/* Open DIR/kessai.db into x->st, creating DIR (0700) and the database
 * unless must_exist: commands that only read refuse to conjure up an empty
 * database from a mistyped directory. */
int cli_open_store(struct cli_ctx *x, int must_exist);
/* The same for commands that only read (verify, search): an existing
 * database opened read-only (store_open_sqlite_readonly), never created,
 * migrated or written. */
int cli_open_store_readonly(struct cli_ctx *x);
/* Read DIR/master.key, creating it (0600) if missing, as kessaid does.
 * The caller wipes key with sodium_memzero when done. */
int cli_load_master_key(struct cli_ctx *x, uint8_t key[MASTERKEY_BYTES]);
/* Give x->st (open) the audit log's key, from DIR/master.key (created if
 * missing): what every command that changes something does before it
 * changes it, since each change appends an entry (audit/audit.h). */
int cli_attach_audit_key(struct cli_ctx *x);

/* ------------------------------------------------------------ record.c */

/* A change and its audit entry in one transaction:
 *   e = cli_change_begin(x);
 *   if (e == ERR_OK) e = terminal_revoke(x->st, id);
 *   e = cli_change_end(x, e, "terminal_revoked", 0, detail);
 * cli_change_end appends the entry (actor "admin-cli", the operator's login
 * name added to detail as "operator") when e is ERR_OK, then commits, or
 * rolls back when anything failed; it returns the first failure.  detail
 * (may be NULL) is stolen either way. */
enum err cli_change_begin(struct cli_ctx *x);
enum err cli_change_end(struct cli_ctx *x, enum err e, const char *action, int64_t customer_id, json_t *detail);
/* The entry alone, in its own statement, for a change that ran its own
 * transaction (store create). */
enum err cli_record(struct cli_ctx *x, const char *action, int64_t customer_id, json_t *detail);

/* --------------------------------------------------------------- list.c */

#define CLI_PAGE 100 /* rows fetched per store call when listing */
#define CLI_LIST_LIMIT_MAX 10000

/* One kind of row that `list` commands page through. */
struct cli_lister {
    const char *key;      /* JSON array name: "merchants" */
    const char *prefix;   /* id prefix, for the next_after cursor */
    void (*header)(void); /* text mode column titles */
    size_t size;          /* bytes per row */
    enum err (*page)(struct cli_ctx *x, int64_t filter, int64_t after, size_t max, void *out, size_t *n);
    int64_t (*id_of)(const void *row);
    json_t *(*to_json)(const void *row);
    void (*print)(const void *row);
};

/* Stream every row (or `limit` rows, 0 for all) after id `after` to stdout,
 * as text or (x->json) as {"KEY":[…],"next_after":…}.  filter is passed to
 * l->page unchanged (a merchant or store id, or 0). */
int cli_list(struct cli_ctx *x, const struct cli_lister *l, int64_t filter, int64_t after, size_t limit);

/* --------------------------------------------------- password_input.c */

/* Room for the longest password the policy allows (128 code points of up
 * to 4 bytes of UTF-8) and its terminating NUL. */
#define CLI_PASSWORD_BUF 513

/* Read a new password for account `who`: from a terminal, asked twice
 * without echo (prompts on stderr), both must match; otherwise the first
 * line of standard input, without its line ending.  Usage error when it is
 * empty, too long or holds a NUL byte.  The caller wipes buf. */
int cli_read_new_password(const struct cli_cmd *c, const char *who, char buf[CLI_PASSWORD_BUF]);

/* Who is switching or freezing, as recorded: "cli:" + $USER if it is a
 * plain login name, else "cli:uid<N>" (killswitch_cmd.c). */
void cli_operator_name(char out[64]);

/* ------------------------------------------------------------- commands */

int cli_run_ledger_verify(struct cli_ctx *x);
int cli_run_merchant_create(struct cli_ctx *x);
int cli_run_merchant_list(struct cli_ctx *x);
int cli_run_store_create(struct cli_ctx *x);
int cli_run_store_list(struct cli_ctx *x);
int cli_run_store_activate(struct cli_ctx *x);
int cli_run_store_deactivate(struct cli_ctx *x);
int cli_run_store_qr(struct cli_ctx *x);
int cli_run_terminal_create(struct cli_ctx *x);
int cli_run_terminal_list(struct cli_ctx *x);
int cli_run_terminal_revoke(struct cli_ctx *x);
int cli_run_webhook_add(struct cli_ctx *x);
int cli_run_webhook_list(struct cli_ctx *x);
int cli_run_webhook_remove(struct cli_ctx *x);
int cli_run_staff_create(struct cli_ctx *x);
int cli_run_staff_confirm(struct cli_ctx *x);
int cli_run_staff_list(struct cli_ctx *x);
int cli_run_staff_disable(struct cli_ctx *x);
int cli_run_staff_enable(struct cli_ctx *x);
int cli_run_killswitch_on(struct cli_ctx *x);
int cli_run_killswitch_off(struct cli_ctx *x);
int cli_run_killswitch_list(struct cli_ctx *x);
int cli_run_bench_charges(struct cli_ctx *x);
int cli_run_simulate(struct cli_ctx *x);
int cli_run_customer_freeze(struct cli_ctx *x);
int cli_run_customer_unfreeze(struct cli_ctx *x);
int cli_run_audit_verify(struct cli_ctx *x);
int cli_run_audit_backfill(struct cli_ctx *x);
int cli_run_audit_search(struct cli_ctx *x);

#endif
