/* cli.c: the entry point of the kessai command line: global options,
 * finding the command in cli_commands, help, and running it.
 *
 *   argv --global options--> words --find_command--> row of cli_commands
 *        --cli_parse_args--> struct cli_ctx --row.run--> exit status
 *
 * Help is never an error: `kessai --help`, `kessai GROUP --help` and
 * `kessai COMMAND --help` print to stdout and exit 0.  A bare group
 * ("kessai admin store") prints its commands to stderr and exits 2. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/log.h"

void cli_init_process(void)
{
    /* Started with stdin, stdout or stderr closed, our next open() (the
     * master key, say) would take that number and printf would write into
     * it.  Fill the gaps with /dev/null opened read-only, so that output to
     * them fails loudly instead (and a terminal's secret that reached nobody
     * gets revoked). */
    int fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd <= 2)
        ;
    if (fd > 2)
        close(fd);
    /* The database and the master key hold secrets: nothing we create is
     * for group or others, whatever the caller's umask. */
    umask(077);
    log_set_level(LOG_WARN);
}

/* ------------------------------------------------------------------- help */

/* Does row/group `words` start with the depth words of prefix? */
static int words_match(const char *const *words, char **prefix, int depth)
{
    for (int d = 0; d < depth; d++)
        if (d >= CLI_MAX_WORDS || words[d] == NULL || strcmp(words[d], prefix[d]) != 0)
            return 0;
    return 1;
}

static void print_command_list(FILE *f, char **prefix, int depth)
{
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        if (!words_match(c->words, prefix, depth))
            continue;
        char name[CLI_NAME_BUF];
        cli_cmd_name(c, name, sizeof name);
        fprintf(f, "  %-24s %s\n", name, c->summary);
    }
}

static void print_main_help(FILE *f)
{
    fprintf(f, "usage: kessai [--data-dir DIR] COMMAND [ARGS...]\n"
               "\n"
               "Administration, ledger and audit-log checks for a kessai data directory.\n"
               "Safe to run while kessaid serves the same directory.\n"
               "\n"
               "Commands:\n");
    print_command_list(f, NULL, 0);
    fprintf(f, "\n"
               "Options:\n"
               "  --data-dir DIR   the data directory, holding kessai.db and master.key\n"
               "                   (default: $KESSAI_DATA_DIR if set, else ./var)\n"
               "  -h, --help       this help; 'kessai COMMAND --help' for a command's own\n"
               "\n"
               "Exit status: 0 success, 1 failure (not found, storage error, ledger or\n"
               "audit-log violations), 2 usage error (nothing was changed).\n");
}

static void print_group_help(FILE *f, char **words, int depth)
{
    fprintf(f, "usage: kessai [--data-dir DIR]");
    for (int d = 0; d < depth; d++)
        fprintf(f, " %s", words[d]);
    fprintf(f, " COMMAND [ARGS...]\n\n");
    for (size_t i = 0; i < cli_ngroups; i++) {
        const struct cli_group *g = &cli_groups[i];
        int n = 0;
        while (n < CLI_MAX_WORDS && g->words[n])
            n++;
        if (n == depth && words_match(g->words, words, depth))
            fprintf(f, "%s\n\n", g->details);
    }
    fprintf(f, "Commands:\n");
    print_command_list(f, words, depth);
    fprintf(f, "\nRun 'kessai COMMAND --help' for a command's options.\n");
}

static void print_command_help(const struct cli_cmd *c)
{
    char name[CLI_NAME_BUF];
    cli_cmd_name(c, name, sizeof name);
    printf("usage: kessai [--data-dir DIR] %s", name);
    for (int k = 0; k < CLI_MAX_OPTS && c->opts[k].name; k++) {
        const struct cli_opt *o = &c->opts[k];
        printf(o->required ? " %s%s%s" : " [%s%s%s]", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    }
    if (c->positional)
        printf(" %s", c->positional);
    printf("\n\n%s\n", c->details);
    if (c->opts[0].name) {
        printf("\nOptions:\n");
        for (int k = 0; k < CLI_MAX_OPTS && c->opts[k].name; k++) {
            const struct cli_opt *o = &c->opts[k];
            char lhs[40];
            snprintf(lhs, sizeof lhs, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
            printf("  %-16s %s%s\n", lhs, o->help, o->required ? " (required)" : "");
        }
    }
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------- dispatch */

/* The command whose words begin argv, or NULL; *depth gets how many leading
 * words name at least one command (for group help and error messages). */
static const struct cli_cmd *find_command(int argc, char **argv, int *depth)
{
    *depth = 0;
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_cmd *c = &cli_commands[i];
        int d = 0;
        while (d < CLI_MAX_WORDS && c->words[d] && d < argc && strcmp(c->words[d], argv[d]) == 0)
            d++;
        if (d > *depth)
            *depth = d;
        if (d == CLI_MAX_WORDS || c->words[d] == NULL)
            return c;
    }
    return NULL;
}

/* Global options before the command; *used gets how many argv entries
 * they took.  Returns -1 to go on, else the exit status to stop with. */
static int global_options(struct cli_ctx *x, int argc, char **argv, int *used)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_main_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc && argv[i + 1][0]) {
            x->data_dir = argv[++i];
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0 && argv[i][11]) {
            x->data_dir = argv[i] + 11;
        } else if (strcmp(argv[i], "--data-dir") == 0 || strcmp(argv[i], "--data-dir=") == 0) {
            return cli_usage_error(NULL, "--data-dir needs a directory");
        } else {
            return cli_usage_error(NULL, "unknown option '%s'", argv[i]);
        }
    }
    *used = i;
    return -1;
}

int cli_main(int argc, char **argv)
{
    struct cli_ctx x = {0};
    x.data_dir = getenv("KESSAI_DATA_DIR");
    if (x.data_dir == NULL || *x.data_dir == '\0')
        x.data_dir = "./var";

    int used = 0;
    int rc = global_options(&x, argc, argv, &used);
    if (rc >= 0)
        return rc;
    argc -= used;
    argv += used;
    if (argc == 0) {
        fprintf(stderr, "kessai: missing command\n\n");
        print_main_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "help") == 0) {
        print_main_help(stdout);
        return CLI_EXIT_OK;
    }

    int depth = 0;
    x.cmd = find_command(argc, argv, &depth);
    if (x.cmd == NULL) {
        if (depth > 0 && (depth == argc || wants_help(argc - depth, argv + depth))) {
            /* "kessai admin store --help" or just "kessai admin store" */
            int asked = depth < argc;
            print_group_help(asked ? stdout : stderr, argv, depth);
            return asked ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
        fprintf(stderr, "kessai: unknown command '");
        for (int d = 0; d <= depth && d < argc; d++)
            fprintf(stderr, "%s%s", d ? " " : "", argv[d]);
        fprintf(stderr, "'\nTry 'kessai --help'.\n");
        return CLI_EXIT_USAGE;
    }
    int nwords = 0;
    while (nwords < CLI_MAX_WORDS && x.cmd->words[nwords])
        nwords++;
    if (wants_help(argc - nwords, argv + nwords)) {
        print_command_help(x.cmd);
        return CLI_EXIT_OK;
    }
    rc = cli_parse_args(&x, argc - nwords, argv + nwords);
    /* Room for "/kessai.db" and friends after it in a PATH_MAX buffer. */
    if (rc == CLI_EXIT_OK && strlen(x.data_dir) > PATH_MAX - 64)
        rc = cli_usage_error(x.cmd, "--data-dir: path too long");
    if (rc == CLI_EXIT_OK)
        rc = x.cmd->run(&x);
    store_close(x.st);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = cli_failure("cannot write output: %s", strerror(errno));
    return rc;
}
