/* sqlite_schema.c: the SQLite schema as an ordered list of migrations.
 * Never edit a released migration; append a new one.  sqlite.c applies the
 * missing ones in a transaction each and records the version in
 * schema_version. */
#include "store/sqlite_internal.h"

const char *const sq_migrations[] = {
    /* 0 -> 1: ledger, merchants, stores, terminals */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  debits_posted INTEGER NOT NULL DEFAULT 0,"
    "  credits_posted INTEGER NOT NULL DEFAULT 0,"
    "  debits_pending INTEGER NOT NULL DEFAULT 0,"
    "  credits_pending INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  UNIQUE (owner, kind));"
    /* No foreign keys on transfers: the ledger checks both accounts before it
     * inserts, and two extra lookups per insert would slow the writer. */
    "CREATE TABLE transfers ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  debit_account INTEGER NOT NULL,"
    "  credit_account INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL CHECK (amount >= 0),"
    "  kind TEXT NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  pending_id INTEGER,"
    "  ref_id INTEGER,"
    "  state INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  metadata TEXT NOT NULL DEFAULT '',"
    "  req_hash BLOB NOT NULL);"
    "CREATE INDEX transfers_pending ON transfers (pending_id) WHERE pending_id IS NOT NULL;"
    "CREATE INDEX transfers_ref ON transfers (ref_id) WHERE ref_id IS NOT NULL;"
    "CREATE TABLE merchants ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE stores ("
    "  id INTEGER PRIMARY KEY,"
    "  merchant_id INTEGER NOT NULL REFERENCES merchants (id),"
    "  name TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  lat_e6 INTEGER NOT NULL,"
    "  lon_e6 INTEGER NOT NULL,"
    "  category TEXT NOT NULL,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  payable_account INTEGER NOT NULL REFERENCES accounts (id),"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX stores_merchant ON stores (merchant_id);"
    "CREATE TABLE terminals ("
    "  id INTEGER PRIMARY KEY,"
    "  store_id INTEGER NOT NULL REFERENCES stores (id),"
    "  key_id TEXT NOT NULL UNIQUE,"
    "  secret_sealed BLOB NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX terminals_store ON terminals (store_id);",
    /* 1 -> 2: staff accounts */
    "CREATE TABLE staff ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL,"
    "  totp_sealed BLOB NOT NULL,"
    "  totp_confirmed INTEGER NOT NULL DEFAULT 0,"
    "  totp_last_step INTEGER NOT NULL DEFAULT 0,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);",
};

const int sq_schema_version = (int)(sizeof sq_migrations / sizeof sq_migrations[0]);
