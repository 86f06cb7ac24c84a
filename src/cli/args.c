/* args.c: a command's arguments, checked against its row of cli_commands.
 *
 * Options may come in any order, as "--opt value" or "--opt=value"; a flag
 * takes no value; each option at most once; --data-dir is accepted after the
 * command too.  Anything the row does not name is a usage error, so a typo
 * never silently becomes a default. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/ids.h"

void cli_cmd_name(const struct cli_cmd *c, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < CLI_MAX_WORDS && c->words[i]; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", i ? " " : "", c->words[i]);
    }
}

static int opt_index(const struct cli_cmd *c, const char *name)
{
    for (int i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            return i;
    return -1;
}

const char *cli_opt(const struct cli_ctx *x, const char *name)
{
    int i = opt_index(x->cmd, name);
    return i >= 0 ? x->val[i] : NULL;
}

int cli_parse_id(const struct cli_ctx *x, const char *what, const char *s, const char *prefix, int64_t *out)
{
    if (ids_parse(s, prefix, out) != ERR_OK)
        return cli_usage_error(x->cmd, "%s: '%s' is not a valid id (expected %s_ and 13 characters)", what, s,
                               prefix);
    return CLI_EXIT_OK;
}

int cli_parse_opt_id(const struct cli_ctx *x, const char *name, const char *prefix, int64_t *out)
{
    const char *v = cli_opt(x, name);
    *out = 0;
    return v ? cli_parse_id(x, name, v, prefix, out) : CLI_EXIT_OK;
}

int cli_parse_limit(const struct cli_ctx *x, size_t *limit)
{
    const char *v = cli_opt(x, "--limit");
    *limit = 0;
    if (v == NULL)
        return CLI_EXIT_OK;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > CLI_LIST_LIMIT_MAX)
        return cli_usage_error(x->cmd, "--limit: expected a whole number from 1 to %d, not '%s'", CLI_LIST_LIMIT_MAX,
                               v);
    *limit = (size_t)n;
    return CLI_EXIT_OK;
}

int cli_parse_args(struct cli_ctx *x, int argc, char **argv)
{
    const struct cli_cmd *c = x->cmd;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (c->positional == NULL || x->pos != NULL)
                return cli_usage_error(c, "unexpected argument '%s'", a);
            x->pos = a;
            continue;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name)
            return cli_usage_error(c, "unknown option '%s'", a);
        memcpy(name, a, len);
        name[len] = '\0';
        if (strcmp(name, "--data-dir") == 0) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL || *v == '\0')
                return cli_usage_error(c, "--data-dir needs a directory");
            x->data_dir = v;
            continue;
        }
        int k = opt_index(c, name);
        if (k < 0)
            return cli_usage_error(c, "unknown option '%s'", name);
        if (x->val[k] != NULL)
            return cli_usage_error(c, "option %s given twice", name);
        if (c->opts[k].arg == NULL) {
            if (eq)
                return cli_usage_error(c, "option %s takes no value", name);
            x->val[k] = "";
        } else if (eq) {
            x->val[k] = eq + 1;
        } else if (i + 1 < argc) {
            x->val[k] = argv[++i];
        } else {
            return cli_usage_error(c, "option %s needs a value (%s)", name, c->opts[k].arg);
        }
    }
    for (int k = 0; k < CLI_MAX_OPTS && c->opts[k].name; k++)
        if (c->opts[k].required && x->val[k] == NULL)
            return cli_usage_error(c, "missing required option %s %s", c->opts[k].name, c->opts[k].arg);
    if (c->positional && x->pos == NULL)
        return cli_usage_error(c, "missing %s", c->positional);
    x->json = opt_index(c, "--json") >= 0 && cli_opt(x, "--json") != NULL;
    return CLI_EXIT_OK;
}

int cli_parse_opt_int(const struct cli_ctx *x, const char *name, int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    const char *v = cli_opt(x, name);
    *out = def;
    if (v == NULL)
        return CLI_EXIT_OK;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi)
        return cli_usage_error(x->cmd, "%s must be a whole number from %" PRId64 " to %" PRId64, name, lo, hi);
    *out = n;
    return CLI_EXIT_OK;
}

int cli_parse_url(const struct cli_ctx *x, const char *url, int unresolved_exit, struct sockaddr_in *addr)
{
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    const char *colon = p ? strchr(p, ':') : NULL;
    char host[256];
    size_t hlen = colon ? (size_t)(colon - p) : 0, digits = colon ? strspn(colon + 1, "0123456789") : 0;
    /* The port as plain digits: sscanf's %u took "+80", " 80" and wrapped "-1". */
    unsigned port = digits >= 1 && digits <= 5 && colon[1 + digits] == '\0' ? (unsigned)atoi(colon + 1) : 0;
    if (hlen == 0 || hlen >= sizeof host || memchr(p, '/', hlen) != NULL || port == 0 || port > 65535)
        return cli_usage_error(x->cmd, "--url must look like http://127.0.0.1:8080 (no path, no TLS)");
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        if (res)
            freeaddrinfo(res);
        return unresolved_exit == CLI_EXIT_USAGE ? cli_usage_error(x->cmd, "--url: cannot resolve %s", host)
                                                 : cli_failure("--url: cannot resolve %s", host);
    }
    *addr = *(struct sockaddr_in *)res->ai_addr;
    addr->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return CLI_EXIT_OK;
}
