/* output.c: how the CLI speaks: usage errors, failures and JSON.
 *
 * Messages go to stderr and start with "kessai: " so that they stand out in
 * a script's log; results go to stdout and nowhere else.  Usage errors end
 * with a pointer to the command's --help, failures do not (the command was
 * right, the world was not). */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

int cli_usage_error(const struct cli_cmd *c, const char *fmt, ...)
{
    char name[CLI_NAME_BUF] = "";
    if (c)
        cli_cmd_name(c, name, sizeof name);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kessai: %s%s", name, name[0] ? ": " : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kessai %s%s--help'.\n", name, name[0] ? " " : "");
    return CLI_EXIT_USAGE;
}

int cli_failure(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kessai: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_fail_err(enum err e, const char *what)
{
    switch (e) {
    case ERR_MERCHANT_NOT_FOUND:
    case ERR_STORE_NOT_FOUND:
    case ERR_TERMINAL_NOT_FOUND:
    case ERR_STAFF_NOT_FOUND:
        return cli_failure("%s: not found", what);
    default:
        return cli_failure("%s: %s", what, err_message(e));
    }
}

int cli_print_json(json_t *v)
{
    if (v == NULL)
        return cli_failure("out of memory");
    int rc = json_dumpf(v, stdout, JSON_COMPACT);
    json_decref(v);
    fputc('\n', stdout);
    return rc == 0 ? CLI_EXIT_OK : cli_failure("cannot write output");
}
