/* test_openapi.c: docs/openapi.yaml describes exactly the routes kessaid
 * serves.  The route table (src/api/routes.c) is the truth; every (path,
 * method) in it must be documented, and every documented one must exist, so
 * the document cannot drift as endpoints are added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"

#define MAX_OPS 512

struct op {
    char path[256];
    char method[16]; /* upper case */
};

static char *read_doc(void)
{
    const char *root = getenv("KESSAI_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/openapi.yaml", root && *root ? root : ".");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (set KESSAI_ROOT to the repository)", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The operations under `paths:`: a path is a 2-space-indented key starting
 * with '/', a method a 4-space-indented HTTP verb key below it. */
static size_t documented_ops(char *doc, struct op *ops)
{
    static const char *verbs[] = {"get", "put", "post", "delete", "patch", "head", "options"};
    size_t n = 0;
    int in_paths = 0;
    char cur[256] = "";
    for (char *line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] != ' ' && line[0] != '#') {
            in_paths = strncmp(line, "paths:", 6) == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0 && line[strlen(line) - 1] == ':') {
            snprintf(cur, sizeof cur, "%.*s", (int)strlen(line) - 3, line + 2);
            continue;
        }
        if (strncmp(line, "    ", 4) != 0 || line[4] == ' ' || cur[0] == '\0')
            continue;
        for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
            size_t vl = strlen(verbs[v]);
            if (strncmp(line + 4, verbs[v], vl) == 0 && line[4 + vl] == ':' && n < MAX_OPS) {
                snprintf(ops[n].path, sizeof ops[n].path, "%s", cur);
                for (size_t i = 0; i <= vl; i++)
                    ops[n].method[i] = (char)(verbs[v][i] >= 'a' ? verbs[v][i] - 32 : verbs[v][i]);
                n++;
            }
        }
    }
    return n;
}

static void every_route_is_documented_and_nothing_else(void **state)
{
    (void)state;
    static struct op ops[MAX_OPS];
    size_t nops = documented_ops(read_doc(), ops);
    size_t nroutes = 0;
    const struct http_route *routes = api_routes(&nroutes);
    assert_true(nops > 0 && nroutes > 0);
    for (size_t i = 0; i < nroutes; i++) {
        size_t j = 0;
        while (j < nops && !(strcmp(ops[j].path, routes[i].pattern) == 0 && strcmp(ops[j].method, routes[i].method) == 0))
            j++;
        if (j == nops)
            fail_msg("%s %s is served but not in docs/openapi.yaml", routes[i].method, routes[i].pattern);
    }
    for (size_t j = 0; j < nops; j++) {
        size_t i = 0;
        while (i < nroutes && !(strcmp(ops[j].path, routes[i].pattern) == 0 && strcmp(ops[j].method, routes[i].method) == 0))
            i++;
        if (i == nroutes)
            fail_msg("%s %s is documented but kessaid does not serve it", ops[j].method, ops[j].path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
