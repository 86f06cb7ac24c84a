#include "testutil.h"

#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "ledger/apply.h"
#include "ledger/ledger.h"

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/kessai-test.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void tu_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

void tu_path(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

void tu_capture_start(struct tu_capture *c, const char *dir)
{
    tu_path(c->path, sizeof c->path, dir, "log.txt");
    fflush(stderr);
    c->saved = dup(2);
    c->f = fopen(c->path, "w");
    assert_non_null(c->f);
    assert_true(c->saved >= 0 && dup2(fileno(c->f), 2) == 2);
}

char *tu_capture_stop(struct tu_capture *c)
{
    fflush(stderr);
    assert_int_equal(dup2(c->saved, 2), 2);
    close(c->saved);
    fclose(c->f);
    char *text = tu_slurp(c->path, NULL);
    assert_non_null(text);
    return text;
}

char *tu_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

char *tu_visa_pan(int n, char out[17])
{
    snprintf(out, 17, "457100%09d", n);
    int sum = 0;
    for (int i = 14; i >= 0; i--) {
        int d = out[i] - '0';
        if ((14 - i) % 2 == 0)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
    out[16] = '\0';
    return out;
}

void tu_master_key(const char *dir, uint8_t key[MASTERKEY_BYTES])
{
    char path[600];
    tu_path(path, sizeof path, dir, "master.key");
    assert_int_equal(masterkey_load_or_create(path, key), ERR_OK);
}

struct store *tu_open_store(const char *dir)
{
    char path[600];
    tu_path(path, sizeof path, dir, "kessai.db");
    struct store *st = NULL;
    assert_int_equal(store_open_sqlite(path, &st), ERR_OK);
    uint8_t key[MASTERKEY_BYTES];
    tu_master_key(dir, key);
    assert_int_equal(audit_attach(st, key), ERR_OK);
    sodium_memzero(key, sizeof key);
    return st;
}

void tu_sql(const char *dir, const char *fmt, ...)
{
    char path[600], *sql = NULL, *msg = NULL;
    tu_path(path, sizeof path, dir, "kessai.db");
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&sql, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
    free(sql);
}

void tu_rehash_transfer(const char *dir, int64_t id)
{
    struct store *st = tu_open_store(dir);
    struct ledger_transfer t;
    assert_int_equal(st->ops->transfer_get(st, id, &t), ERR_OK);
    store_close(st);
    uint8_t h[LEDGER_HASH_BYTES];
    ledger_request_hash(&t, h);
    char hex[2 * LEDGER_HASH_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    tu_sql(dir, "UPDATE transfers SET req_hash = x'%s' WHERE id = %" PRId64, hex, id);
}

char *tu_ledger_verify(struct store *st, struct ledger_verify_report *rep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(ledger_verify(st, out, rep), ERR_OK);
    fclose(out);
    fprintf(stderr, "%s", buf); /* the test's log shows what verify said */
    return buf;
}
