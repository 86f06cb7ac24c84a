/* list.c: the one paginated lister behind every `list` command.
 *
 * Rows are written as they are read, a page of CLI_PAGE at a time, so memory
 * stays flat however many rows there are.  With --limit N one extra row is
 * fetched to tell whether a next page exists; its cursor is printed as
 * "next_after" (JSON) or a closing "(more: add --after ID)" line (text). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/ids.h"

int cli_list(struct cli_ctx *x, const struct cli_lister *l, int64_t filter, int64_t after, size_t limit)
{
    size_t bytes = l->size * (CLI_PAGE + 1);
    char *buf = malloc(bytes);
    if (buf == NULL)
        return cli_failure("out of memory");
    int rc = CLI_EXIT_OK;
    size_t shown = 0;
    int more = 0;
    int64_t last = 0;
    if (x->json)
        printf("{\"%s\":[", l->key);
    else
        l->header();
    for (;;) {
        size_t want = limit ? limit - shown + 1 : CLI_PAGE;
        if (want > CLI_PAGE)
            want = CLI_PAGE;
        size_t n = 0;
        enum err e = l->page(x, filter, after, want, buf, &n);
        if (e != ERR_OK) {
            rc = cli_failure("listing %s failed: %s", l->key, err_message(e));
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            const void *row = buf + i * l->size;
            if (limit && shown == limit) {
                more = 1;
                break;
            }
            if (x->json) {
                json_t *j = l->to_json(row);
                if (j == NULL) {
                    rc = cli_failure("out of memory");
                    goto cleanup;
                }
                if (shown)
                    fputc(',', stdout);
                json_dumpf(j, stdout, JSON_COMPACT);
                json_decref(j);
            } else {
                l->print(row);
            }
            shown++;
            last = l->id_of(row);
        }
        if (more || n < want)
            break;
        after = l->id_of(buf + (n - 1) * l->size);
    }
    char cursor[IDS_BUF];
    if (x->json && more)
        printf("],\"next_after\":\"%s\"}\n", ids_format(cursor, l->prefix, last));
    else if (x->json)
        printf("],\"next_after\":null}\n");
    else if (more)
        printf("(more: add --after %s)\n", ids_format(cursor, l->prefix, last));
cleanup:
    if (rc != CLI_EXIT_OK && x->json)
        printf("\n"); /* leave no half line on a terminal; the exit status says it failed */
    /* Rows may hold what is never shown (staff password hashes, sealed
     * seeds): leave no copy of them on the heap. */
    sodium_memzero(buf, bytes);
    free(buf);
    return rc;
}
