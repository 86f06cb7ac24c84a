/* wallet_fixture.h: what the wallet tests set up the same way (header-only,
 * on top of auth_fixture.h): the ledger on the fixture's store with its
 * writer on a second connection, the test card processor on the fixture's
 * clock, and the search for what the customer typed in the files at rest. */
#ifndef KESSAI_TESTS_WALLET_FIXTURE_H
#define KESSAI_TESTS_WALLET_FIXTURE_H

#include "auth_fixture.h"
#include "ledger/ledger.h"
#include "ledger/writer.h"
#include "wallet/gateway_test.h"
#include "wallet/wallet_ctx.h"

/* The ledger's accounts on f->st and its writer (batches of 64) on a
 * connection of its own. */
static inline void wf_ledger_start(struct af *f, struct ledger_writer **writer)
{
    assert_int_equal(ledger_init(f->st), ERR_OK);
    struct store *ws = tu_open_store(f->dir);
    struct ledger_writer_opts o = {.batch_max = 64};
    assert_int_equal(ledger_writer_start(ws, &o, writer), ERR_OK);
}

/* Stop the writer; the books balance after every scenario. */
static inline void wf_ledger_stop(struct af *f, struct ledger_writer *writer)
{
    ledger_writer_stop(writer);
    struct ledger_verify_report rep;
    assert_int_equal(ledger_verify(f->st, stderr, &rep), ERR_OK);
    assert_int_equal(rep.violations, 0);
}

static inline int64_t wf_clock(void *ctx)
{
    return ((struct af *)ctx)->now;
}

/* The test processor with its vault at f->dir/gateway.db, on f's clock. */
static inline void wf_gateway_open(struct af *f, struct gateway **gw)
{
    char path[600];
    tu_path(path, sizeof path, f->dir, "gateway.db");
    assert_int_equal(gateway_test_open_clock(path, wf_clock, f, gw), ERR_OK);
}

/* None of the n strings typed occurs (af_occurs) in the file at path (a
 * missing file holds nothing); a failure names the file as label. */
static inline void wf_assert_absent(const char *path, const char *label, char *const *typed, int n)
{
    size_t len = 0;
    char *buf = tu_slurp(path, &len);
    if (buf == NULL)
        return;
    for (int i = 0; i < n; i++)
        if (af_occurs(buf, len, typed[i]))
            fail_msg("%s found in %s", typed[i], label);
    free(buf);
}

/* The context of the next call, at f->now, into *w: f's auth context with
 * the given writer and gateway (either may be NULL). */
static inline const struct wallet_ctx *wf_ctx(struct wallet_ctx *w, struct af *f, struct ledger_writer *writer,
                                              struct gateway *gw)
{
    *w = (struct wallet_ctx){.a = *af_ctx(f), .gw = gw, .writer = writer};
    return w;
}

#endif
