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
    /* 2 -> 3: customers and their authentication (docs/customer-auth.md).
     * Tokens, codes and challenges are keyed hashes (BLOBs); the TOTP seed
     * and outgoing mail are sealed with the master key. */
    "CREATE TABLE customers ("
    "  id INTEGER PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  email_verified INTEGER NOT NULL DEFAULT 0,"
    "  totp_enrolled INTEGER NOT NULL DEFAULT 0,"
    "  totp_sealed BLOB,"
    "  totp_pending INTEGER NOT NULL DEFAULT 0,"
    "  totp_pending_sealed BLOB,"
    "  totp_last_step INTEGER NOT NULL DEFAULT 0,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  locked_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  cooldown_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE email_codes ("
    "  customer_id INTEGER PRIMARY KEY REFERENCES customers (id),"
    "  code_hash BLOB NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  tries INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE recovery_codes ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  code_hash BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX recovery_codes_customer ON recovery_codes (customer_id, code_hash);"
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  public_key TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  new_until_ms INTEGER NOT NULL,"
    "  removed_ms INTEGER NOT NULL DEFAULT 0);"
    /* One active device per key and customer; also the list's index. */
    "CREATE UNIQUE INDEX devices_active ON devices (customer_id, public_key) WHERE removed_ms = 0;"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  device_id INTEGER NOT NULL REFERENCES devices (id),"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  scope INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  absolute_ms INTEGER NOT NULL,"
    "  mfa_at_ms INTEGER NOT NULL DEFAULT 0,"
    "  mfa_failures INTEGER NOT NULL DEFAULT 0,"
    "  revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_customer ON sessions (customer_id, revoked_ms);"
    "CREATE INDEX sessions_device ON sessions (device_id, revoked_ms);"
    "CREATE TABLE login_challenges ("
    "  challenge_hash BLOB PRIMARY KEY,"
    "  expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX login_challenges_expiry ON login_challenges (expires_ms);"
    "CREATE TABLE reset_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0,"
    "  tries INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX reset_tokens_customer ON reset_tokens (customer_id);"
    "CREATE TABLE auth_failures ("
    "  id INTEGER PRIMARY KEY,"
    "  source_kind INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  email_hash BLOB NOT NULL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX auth_failures_source ON auth_failures (source_kind, source, at_ms);"
    "CREATE INDEX auth_failures_age ON auth_failures (at_ms);"
    "CREATE TABLE source_blocks ("
    "  source_kind INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  until_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (source_kind, source)) WITHOUT ROWID;"
    "CREATE TABLE security_events ("
    "  id INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  customer_id INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  client_addr TEXT NOT NULL,"
    "  device_id INTEGER NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX security_events_customer ON security_events (customer_id, id);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  ref TEXT NOT NULL UNIQUE,"
    "  sealed BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_pending ON outbox (id) WHERE sent_ms = 0;",
    /* 3 -> 4: pending changes of a customer's address (auth/email_change.h).
     * A table of its own rather than columns of customers: the row is
     * deleted when used, voided or replaced, and customer_update (which
     * overwrites every column) cannot disturb it. */
    "CREATE TABLE email_changes ("
    "  customer_id INTEGER PRIMARY KEY REFERENCES customers (id),"
    "  new_email TEXT NOT NULL,"
    "  code_hash BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  tries INTEGER NOT NULL DEFAULT 0,"
    "  doomed INTEGER NOT NULL DEFAULT 0);",
    /* 4 -> 5: codes mailed per customer and purpose, so that asking for a
     * new code cannot buy unlimited guesses (auth/code_budget.h). */
    "CREATE TABLE code_issues ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  purpose TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX code_issues_customer ON code_issues (customer_id, purpose, at_ms);"
    "CREATE INDEX code_issues_age ON code_issues (at_ms);",
    /* 5 -> 6: cards, top-ups, cash top-up codes, operator switches, POS
     * nonces (issue 4).  No PAN or CVV column exists, by design. */
    "CREATE TABLE cards ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  status INTEGER NOT NULL,"
    "  token TEXT NOT NULL,"
    "  brand TEXT NOT NULL,"
    "  last4 TEXT NOT NULL,"
    "  exp_month INTEGER NOT NULL,"
    "  exp_year INTEGER NOT NULL,"
    "  fingerprint BLOB NOT NULL,"
    "  challenge_ref TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  linked_ms INTEGER NOT NULL DEFAULT 0,"
    "  removed_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX cards_customer ON cards (customer_id, status);"
    "CREATE INDEX cards_fingerprint ON cards (fingerprint);"
    "CREATE TABLE card_attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL,"
    "  device_id INTEGER NOT NULL,"
    "  client_addr TEXT NOT NULL,"
    "  outcome INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX card_attempts_customer ON card_attempts (customer_id, at_ms);"
    "CREATE INDEX card_attempts_device ON card_attempts (device_id, at_ms);"
    "CREATE INDEX card_attempts_addr ON card_attempts (client_addr, at_ms);"
    "CREATE INDEX card_attempts_age ON card_attempts (at_ms);"
    "CREATE TABLE topups ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  source INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL CHECK (amount > 0),"
    "  card_id INTEGER NOT NULL DEFAULT 0,"
    "  device_id INTEGER NOT NULL DEFAULT 0,"
    "  store_id INTEGER NOT NULL DEFAULT 0,"
    "  terminal_id INTEGER NOT NULL DEFAULT 0,"
    "  idem_scope TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  req_hash BLOB NOT NULL,"
    "  gateway_ref TEXT NOT NULL DEFAULT '',"
    "  challenge_ref TEXT NOT NULL DEFAULT '',"
    "  decline_code TEXT NOT NULL DEFAULT '',"
    "  captured INTEGER NOT NULL DEFAULT 0,"
    "  transfer_id INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  UNIQUE (idem_scope, idem_key));"
    "CREATE INDEX topups_customer ON topups (customer_id, created_ms);"
    "CREATE INDEX topups_unfinished ON topups (id) WHERE status IN (1, 3) OR (status = 4 AND captured = 0 AND source = 1);"
    "CREATE TABLE topup_codes ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  device_id INTEGER NOT NULL,"
    "  code_hash BLOB NOT NULL UNIQUE,"
    "  expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX topup_codes_expiry ON topup_codes (expires_ms);"
    "CREATE TABLE killswitches ("
    "  name TEXT PRIMARY KEY,"
    "  on_ INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  set_by TEXT NOT NULL,"
    "  set_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE pos_nonces ("
    "  key_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (key_id, nonce)) WITHOUT ROWID;"
    "CREATE INDEX pos_nonces_age ON pos_nonces (at_ms);",
    /* 6 -> 7: paying at the store (issue 5): one-time and offline payment
     * codes, payments (the ledger transfer's id is the payment's id),
     * spending counters for limits, account freezes, and the indexes that
     * list a wallet's transfers newest first. */
    "CREATE TABLE paycodes ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  device_id INTEGER NOT NULL REFERENCES devices (id),"
    "  code_hash BLOB NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX paycodes_expiry ON paycodes (expires_ms);"
    "CREATE TABLE offline_keys ("
    "  device_id INTEGER PRIMARY KEY REFERENCES devices (id),"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  offline_id INTEGER NOT NULL UNIQUE,"
    "  key_sealed BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE offline_code_uses ("
    "  device_id INTEGER NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, step)) WITHOUT ROWID;"
    "CREATE TABLE payments ("
    "  id INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  customer_id INTEGER NOT NULL,"
    "  device_id INTEGER NOT NULL DEFAULT 0,"
    "  merchant_id INTEGER NOT NULL DEFAULT 0,"
    "  store_id INTEGER NOT NULL DEFAULT 0,"
    "  terminal_id INTEGER NOT NULL DEFAULT 0,"
    "  counterparty_id INTEGER NOT NULL DEFAULT 0,"
    "  amount INTEGER NOT NULL CHECK (amount > 0),"
    "  refunded INTEGER NOT NULL DEFAULT 0,"
    "  voided INTEGER NOT NULL DEFAULT 0,"
    "  offline INTEGER NOT NULL DEFAULT 0,"
    "  items TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX payments_store ON payments (store_id, id);"
    "CREATE INDEX payments_customer ON payments (customer_id, id);"
    "CREATE TABLE spend_counters ("
    "  customer_id INTEGER NOT NULL,"
    "  period TEXT NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  PRIMARY KEY (customer_id, period)) WITHOUT ROWID;"
    "CREATE TABLE freezes ("
    "  customer_id INTEGER PRIMARY KEY REFERENCES customers (id),"
    "  frozen_ms INTEGER NOT NULL,"
    "  by_customer INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  set_by TEXT NOT NULL);"
    "CREATE INDEX transfers_debit ON transfers (debit_account, id);"
    "CREATE INDEX transfers_credit ON transfers (credit_account, id);",
    /* 7 -> 8: a wallet's history without per-account indexes.  The two of
     * migration 7 cost the ledger writer two random B-tree inserts per
     * transfer (60,000 -> 22,000 transfers/s in bench/ledger).  Instead each
     * account names its newest transfer and each transfer the previous one
     * of either account: the account row is rewritten by every transfer
     * anyway, and the transfer row is appended.  Existing rows are linked
     * here, while the old indexes can still help. */
    "ALTER TABLE accounts ADD COLUMN last_transfer INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE transfers ADD COLUMN debit_prev INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE transfers ADD COLUMN credit_prev INTEGER NOT NULL DEFAULT 0;"
    "CREATE TEMP TABLE chain AS"
    "  SELECT id, side, lag(id, 1, 0) OVER (PARTITION BY account ORDER BY id) AS prev FROM ("
    "    SELECT id, debit_account AS account, 0 AS side FROM transfers"
    "    UNION ALL SELECT id, credit_account, 1 FROM transfers);"
    "UPDATE transfers SET debit_prev = chain.prev FROM chain WHERE chain.id = transfers.id AND chain.side = 0;"
    "UPDATE transfers SET credit_prev = chain.prev FROM chain WHERE chain.id = transfers.id AND chain.side = 1;"
    "DROP TABLE temp.chain;"
    "UPDATE accounts SET last_transfer = last.id FROM ("
    "    SELECT account, max(id) AS id FROM ("
    "      SELECT id, debit_account AS account FROM transfers"
    "      UNION ALL SELECT id, credit_account FROM transfers) GROUP BY account) AS last"
    "  WHERE last.account = accounts.id;"
    "DROP INDEX transfers_debit;"
    "DROP INDEX transfers_credit;",
    /* 8 -> 9: payments_customer was written by every payment (a random
     * B-tree page each) and read by nothing: the history walks the ledger's
     * chain (migration 8), the limits read spend_counters. */
    "DROP INDEX payments_customer;",
    /* 9 -> 10: the audit log (docs/audit-log.md) is security_events with
     * who acted and a MAC chain (util/audit_mac.h): each entry's hash
     * covers its fields, its id and the previous entry's hash.  The key
     * is not known here, so the entries already written are chained by the
     * first connection given the key (sqlite_audit.c), once: the marker row
     * says up to which id; a database without entries needs none.  Their
     * actor stays '' (not recorded then).  Indexes for searching by actor,
     * action and time; by customer there is security_events_customer. */
    "ALTER TABLE security_events ADD COLUMN actor TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE security_events ADD COLUMN prev_hash BLOB;"
    "ALTER TABLE security_events ADD COLUMN hash BLOB;"
    "CREATE INDEX security_events_actor ON security_events (actor, id);"
    "CREATE INDEX security_events_kind ON security_events (kind, id);"
    "CREATE INDEX security_events_at ON security_events (at_ms);"
    "CREATE TABLE audit_backfill (upto INTEGER NOT NULL);"
    "INSERT INTO audit_backfill SELECT id FROM security_events ORDER BY id DESC LIMIT 1;",
    /* 10 -> 11: staff sessions for the admin API (ops/staff_session.h) and
     * failed staff sign-ins, counted for the lock-out. */
    "CREATE TABLE staff_sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  staff_id INTEGER NOT NULL REFERENCES staff (id),"
    "  created_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE staff_login_failures ("
    "  staff_id INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX staff_login_failures_staff ON staff_login_failures (staff_id, at_ms);",
    /* 11 -> 12: the risk engine's decisions (risk/risk.h), each with its
     * score and reasons (a JSON array), read back per customer, newest
     * first. */
    "CREATE TABLE risk_decisions ("
    "  id INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  customer_id INTEGER NOT NULL,"
    "  device_id INTEGER NOT NULL,"
    "  store_id INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  score INTEGER NOT NULL,"
    "  reasons TEXT NOT NULL,"
    "  ref TEXT NOT NULL);"
    "CREATE INDEX risk_decisions_customer ON risk_decisions (customer_id, id);",
    /* 12 -> 13: fraud reversals (ops/reversal.h): requested by one staff
     * member, executed at once or after a second one's approval; the
     * review queue reads the pending ones, and a payment's compensations
     * are summed (what remains to reverse). */
    "CREATE TABLE reversals ("
    "  id INTEGER PRIMARY KEY,"
    "  payment_id INTEGER NOT NULL,"
    "  customer_id INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  charge_store INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  requested_by INTEGER NOT NULL,"
    "  decided_by INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  decided_ms INTEGER NOT NULL DEFAULT 0,"
    "  transfer_id INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX reversals_status ON reversals (status, id);"
    "CREATE INDEX reversals_payment ON reversals (payment_id);",
    /* 13 -> 14: operations waiting before they move money
     * (wallet/pending_types.h): register charges the risk engine
     * challenged, until the customer answers or they expire, and
     * customer payments and transfers it held for staff review.  The key
     * is the payment's own ledger key: one row per request. */
    "CREATE TABLE pending_ops ("
    "  id INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  xfer_key TEXT NOT NULL UNIQUE,"
    "  customer_id INTEGER NOT NULL,"
    "  device_id INTEGER NOT NULL,"
    "  merchant_id INTEGER NOT NULL,"
    "  store_id INTEGER NOT NULL,"
    "  terminal_id INTEGER NOT NULL,"
    "  counterparty_id INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  offline INTEGER NOT NULL,"
    "  items TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  device_new INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  decided_ms INTEGER NOT NULL DEFAULT 0,"
    "  decided_by INTEGER NOT NULL DEFAULT 0,"
    "  payment_id INTEGER NOT NULL DEFAULT 0,"
    "  reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX pending_ops_customer ON pending_ops (customer_id, id);"
    "CREATE INDEX pending_ops_status ON pending_ops (status, id);",
    /* 14 -> 15: customers' fraud reports (ops/dispute.h): one per payment,
     * found again by the filing's idempotency key; a reversal names the
     * report it resolves. */
    "CREATE TABLE disputes ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL,"
    "  payment_id INTEGER NOT NULL UNIQUE,"
    "  amount INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  decided_by INTEGER NOT NULL DEFAULT 0,"
    "  decided_ms INTEGER NOT NULL DEFAULT 0,"
    "  note TEXT NOT NULL DEFAULT '',"
    "  reversal_id INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (customer_id, idem_key));"
    "CREATE INDEX disputes_customer ON disputes (customer_id, id);"
    "CREATE INDEX disputes_status ON disputes (status, id);"
    "ALTER TABLE reversals ADD COLUMN dispute_id INTEGER NOT NULL DEFAULT 0;",
    /* 15 -> 16: notifications (docs/notifications.md).  The outbox retries
     * with back-off (notify/retry.h): attempts so far, not before next_ms,
     * given up at failed_ms; the pending index holds only what is still
     * to go. */
    "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN next_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN failed_ms INTEGER NOT NULL DEFAULT 0;"
    "DROP INDEX outbox_pending;"
    "CREATE INDEX outbox_pending ON outbox (id) WHERE sent_ms = 0 AND failed_ms = 0;"
    /* Merchant webhooks (notify/webhook.h): endpoints with their secret
     * sealed under the master key, and one delivery per event and
     * endpoint, queued in the payment's transaction, retried like mail. */
    "CREATE TABLE webhook_endpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  merchant_id INTEGER NOT NULL REFERENCES merchants (id),"
    "  url TEXT NOT NULL,"
    "  events TEXT NOT NULL,"
    "  secret_sealed BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  removed_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, id);"
    "CREATE TABLE webhook_deliveries ("
    "  id INTEGER PRIMARY KEY,"
    "  endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),"
    "  event_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL DEFAULT 0,"
    "  sent_ms INTEGER NOT NULL DEFAULT 0,"
    "  failed_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_status INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (endpoint_id, event_id));"
    "CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (id) WHERE sent_ms = 0 AND failed_ms = 0;"
    /* Customers' live feed (notify/feed.h, GET /v1/events): each event
     * written in the transaction of what it announces, read by every node
     * after the last id it sent. */
    "CREATE TABLE customer_events ("
    "  id INTEGER PRIMARY KEY,"
    "  customer_id INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX customer_events_customer ON customer_events (customer_id, id);",
    /* 16 -> 17: what one staff member gave back alone in the last 24 h,
     * over every payment (ops/reversal.h, reversal_staff_unapproved_daily). */
    "CREATE INDEX reversals_staff ON reversals (requested_by, created_ms);",
    /* 17 -> 18: when a register last gave a payment's money back (refund
     * or void), on the payment's own clock, for the risk rule
     * refund_repeat_payer ("the store refunded this payer before");
     * existing reversals from their transfers. */
    "ALTER TABLE payments ADD COLUMN refunded_ms INTEGER NOT NULL DEFAULT 0;"
    "UPDATE payments SET refunded_ms = coalesce((SELECT max(t.created_ms) FROM transfers t "
    "  WHERE t.ref_id = payments.id AND t.kind IN ('refund', 'void')), 0) WHERE refunded > 0;",
    /* 18 -> 19: whether a sender paid a recipient before (risk,
     * p2p_new_payee: every transfer to a new account asks).  Partial, so
     * store payments (most rows) write nothing to it (see 8 -> 9); 3 is
     * PAYMENT_P2P, a literal so the planner can use it. */
    "CREATE INDEX payments_p2p_pair ON payments (customer_id, counterparty_id) WHERE kind = 3;",
    /* 19 -> 20: held payments and transfers lapse (wallet/review.h):
     * expires_ms, 0 for them until now, becomes the moment they lapse;
     * those already held get the default review_hold_expiry_s (24 h) from
     * when they were held.  The sweep finds lapsed ones by status and time. */
    "UPDATE pending_ops SET expires_ms = created_ms + 86400000 "
    "  WHERE status = 'held' AND expires_ms = 0;"
    "CREATE INDEX pending_ops_lapse ON pending_ops (status, expires_ms);",
    /* 20 -> 21: the payer's balance right after a payment, so that a retry
     * under its key answers the first receipt, not today's balance (which
     * would let a register read a past customer's wallet at will).  NULL
     * for payments made before. */
    "ALTER TABLE payments ADD COLUMN balance_after INTEGER;",
    /* 21 -> 22: the same for a top-up: a register retrying an old cash
     * top-up gets its receipt's balance, not the customer's wallet now. */
    "ALTER TABLE topups ADD COLUMN balance_after INTEGER;",
    /* 22 -> 23: the code that paid, as a tag (63 bits of its keyed hash),
     * on a register's payment and on a charge waiting for its customer: a
     * retry showing that code again is told from a register trying codes
     * under a key that paid (wallet/payment.c, same_charge).  0 before.
     * Offline keys by customer: revoking all of a customer's. */
    "ALTER TABLE payments ADD COLUMN code_tag INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE pending_ops ADD COLUMN code_tag INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX offline_keys_customer ON offline_keys (customer_id);",
    /* 23 -> 24: POS nonces are checked in memory (sqlite_pos.c), kept from
     * a log in the order written, so that each insert appends to the last
     * leaf instead of writing a random one of a unique index. */
    "CREATE TABLE pos_nonce_log ("
    "  seq INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  nonce TEXT NOT NULL);"
    "INSERT INTO pos_nonce_log (at_ms, key_id, nonce) SELECT at_ms, key_id, nonce FROM pos_nonces ORDER BY at_ms;"
    "DROP TABLE pos_nonces;",
    /* 24 -> 25: payment codes are found by their hash in memory
     * (sqlite_paycode.c), so the UNIQUE index on it goes, with the random
     * leaf it wrote for every code; no committed row's id is given again
     * (AUTOINCREMENT), so rows commit in id order. */
    "CREATE TABLE paycodes_new ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  customer_id INTEGER NOT NULL REFERENCES customers (id),"
    "  device_id INTEGER NOT NULL REFERENCES devices (id),"
    "  code_hash BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO paycodes_new SELECT id, customer_id, device_id, code_hash, created_ms, expires_ms, used_ms FROM paycodes;"
    "DROP TABLE paycodes;"
    "ALTER TABLE paycodes_new RENAME TO paycodes;"
    "CREATE INDEX paycodes_expiry ON paycodes (expires_ms);",
    /* 25 -> 26: a fraud reversal is requested under an Idempotency-Key
     * (ops/reversal.h): a retry by the same staff member finds its row
     * again and moves nothing; the unique index makes two racing retries
     * one row.  Rows from before have none (NULL, outside the index). */
    "ALTER TABLE reversals ADD COLUMN idem_key TEXT;"
    "CREATE UNIQUE INDEX reversals_key ON reversals (requested_by, idem_key)"
    "  WHERE idem_key IS NOT NULL;",
    /* 26 -> 27: a row per register refund or void, naming the register
     * that gave the money back and its store, which is not always the
     * payment's (any register of the merchant may refund any of its
     * payments).  The risk rule refund_repeat_payer asks "did THIS store
     * refund this payer before" by (customer_id, store_id); until now it
     * asked the payment's store (payments.refunded_ms, migration 18, no
     * longer written), so a clerk refunding an accomplice's payments made
     * at other branches was never "the same store again".  Existing
     * refunds and voids from their transfers: the register from the
     * ledger key ("refund:trm_<13 Crockford base32>:<key>", decoded
     * here), its store from terminals; the payment's store and terminal 0
     * when that register is gone. */
    "CREATE TABLE payment_refunds ("
    "  id INTEGER PRIMARY KEY," /* the reversal's transfer */
    "  payment_id INTEGER NOT NULL,"
    "  customer_id INTEGER NOT NULL,"
    "  store_id INTEGER NOT NULL,"
    "  terminal_id INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX payment_refunds_payer ON payment_refunds (customer_id, store_id, created_ms);"
    "WITH RECURSIVE trm (id, rest, v) AS ("
    "  SELECT id, substr(key, instr(key, ':trm_') + 5, 13), 0 FROM transfers"
    "    WHERE ref_id IS NOT NULL AND kind IN ('refund', 'void') AND instr(key, ':trm_') > 0"
    "  UNION ALL SELECT id, substr(rest, 2),"
    "    v * 32 + instr('0123456789abcdefghjkmnpqrstvwxyz', substr(rest, 1, 1)) - 1 FROM trm WHERE rest <> '')"
    "INSERT INTO payment_refunds (id, payment_id, customer_id, store_id, terminal_id, amount, created_ms)"
    "  SELECT t.id, p.id, p.customer_id, coalesce(r.store_id, p.store_id), coalesce(r.id, 0), t.amount,"
    "    t.created_ms FROM transfers t JOIN payments p ON p.id = t.ref_id"
    "    LEFT JOIN trm ON trm.id = t.id AND trm.rest = ''"
    "    LEFT JOIN terminals r ON r.id = trm.v"
    "    WHERE t.ref_id IS NOT NULL AND t.kind IN ('refund', 'void');",
};

const int sq_schema_version = (int)(sizeof sq_migrations / sizeof sq_migrations[0]);
