/* testutil.h: helpers shared by the unit tests (linked into every test). */
#ifndef KESSAI_TESTS_TESTUTIL_H
#define KESSAI_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"
#include "util/masterkey.h"

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees
 * the string and removes the tree with tu_rmtree. */
char *tu_tempdir(void);
void tu_rmtree(const char *dir);
/* path = dir + "/" + name in a static-free buffer the caller provides. */
void tu_path(char *buf, size_t n, const char *dir, const char *name);
/* The bytes of the file at path, NUL-terminated (*len counts them without
 * the NUL; len may be NULL), or NULL if it cannot be opened.  Caller frees. */
char *tu_slurp(const char *path, size_t *len);
/* stderr (the log) into dir/log.txt while a step runs: tu_capture_stop
 * puts stderr back and returns what was written (caller frees). */
struct tu_capture {
    int saved;
    FILE *f;
    char path[600];
};
void tu_capture_start(struct tu_capture *c, const char *dir);
char *tu_capture_stop(struct tu_capture *c);
/* A Luhn-valid 16-digit visa number "457100<n as 9 digits><check>" into
 * out (distinct cards for distinct n); returns out. */
char *tu_visa_pan(int n, char out[17]);
/* The master key at dir/master.key, created (0600) if missing, as kessaid
 * and the CLI do. */
void tu_master_key(const char *dir, uint8_t key[MASTERKEY_BYTES]);
/* Open a migrated SQLite store at dir/kessai.db with the audit log's key
 * of tu_master_key(dir) (audit/audit.h), or fail the test. */
struct store *tu_open_store(const char *dir);

/* Tampering, as someone with write access to the database file would:
 * run sql on dir/kessai.db through a connection of its own (printf-style),
 * or fail the test. */
void tu_sql(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Recompute transfer id's request hash from its stored fields and write it
 * back (the hash is unkeyed: anyone who edits a row can). */
void tu_rehash_transfer(const char *dir, int64_t id);
/* ledger_verify on st: its report in *rep and what it printed (caller
 * frees). */
struct ledger_verify_report;
char *tu_ledger_verify(struct store *st, struct ledger_verify_report *rep);

#endif
