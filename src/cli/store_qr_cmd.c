/* store_qr_cmd.c: `kessai admin store qr STORE_ID [--svg FILE]`: the
 * store's EMVCo QR payload (docs/store-qr.md), printed, and drawn as a QR
 * code in an SVG file for the sticker at the register.
 *
 * The payload names kessai and the store and nothing secret: it is meant
 * to be printed and stuck to a counter.  Printing it for an inactive store
 * works (stickers are made before a store opens) but says that payments by
 * it are refused until the store is activated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "merchant/merchant.h"
#include "util/ids.h"
#include "util/qr_svg.h"
#include "wallet/mpm.h"

/* Write text to path (created or replaced, mode 0644: a sticker, not a secret). */
static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return cli_failure("%s: %s", path, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            close(fd);
            return cli_failure("%s: %s", path, strerror(saved));
        }
        off += (size_t)n;
    }
    if (close(fd) != 0)
        return cli_failure("%s: %s", path, strerror(errno));
    return CLI_EXIT_OK;
}

int cli_run_store_qr(struct cli_ctx *x)
{
    int64_t id;
    int rc = cli_parse_id(x, x->cmd->positional, x->pos, MERCHANT_STORE_ID_PREFIX, &id);
    const char *svg_path = cli_opt(x, "--svg");
    if (rc == CLI_EXIT_OK && svg_path && svg_path[0] == '\0')
        return cli_usage_error(x->cmd, "--svg needs a file name");
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(x, 1);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct merchant_store s;
    enum err e = merchant_store_get(x->st, id, &s);
    char *payload = NULL;
    if (e == ERR_OK)
        e = mpm_store_payload(x->st, id, &payload);
    if (e != ERR_OK)
        return cli_fail_err(e, x->pos);
    if (svg_path) {
        char *svg = NULL;
        e = qr_svg(payload, &svg);
        if (e != ERR_OK) {
            free(payload);
            return cli_fail_err(e, "draw the QR code");
        }
        rc = write_file(svg_path, svg);
        free(svg);
        if (rc != CLI_EXIT_OK) {
            free(payload);
            return rc;
        }
    }
    if (!s.active)
        fprintf(stderr, "kessai: note: store %s is inactive: payments by this QR are refused until it is "
                        "activated\n",
                x->pos);
    if (x->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "store", x->pos, "name", s.name, "payload", payload, "active",
                              s.active != 0);
        if (j && svg_path)
            json_object_set_new(j, "svg", json_string(svg_path));
        free(payload);
        return cli_print_json(j);
    }
    printf("%s\n", payload);
    free(payload);
    return CLI_EXIT_OK;
}
