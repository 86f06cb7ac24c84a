/* events.h: the customers' security events, entries of the audit log
 * (audit/audit.h, table security_events).
 *
 * One entry per security-relevant happening: time, customer (0 if unknown),
 * kind, outcome, client address, device (0 if none) and a detail JSON object
 * that must never contain a secret (no password, code, token, seed or
 * challenge; e-mail addresses only of the customer the row belongs to, or
 * one that customer typed: the address asked for in email_change_requested).
 * Rows are appended in the caller's transaction, so an event exists exactly
 * when the change it describes was committed.
 */
#ifndef KESSAI_AUTH_EVENTS_H
#define KESSAI_AUTH_EVENTS_H

#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "util/err.h"

enum sec_event {
    SEC_REGISTERED,
    SEC_EMAIL_VERIFIED,
    SEC_TOTP_ENROLLED,
    SEC_RECOVERY_CODES_GENERATED,
    SEC_LOGIN_SUCCEEDED,
    SEC_LOGIN_FAILED,
    SEC_ACCOUNT_LOCKED,
    SEC_NEW_DEVICE,
    SEC_MFA_VERIFIED,
    SEC_MFA_FAILED,
    SEC_PASSWORD_CHANGED,
    SEC_RESET_REQUESTED,
    SEC_RESET_COMPLETED,
    SEC_SESSION_REVOKED,
    SEC_DEVICE_REMOVED,
    SEC_SESSION_DEVICE_MISMATCH,
    SEC_CREDENTIAL_STUFFING_BLOCKED,
    SEC_EMAIL_CHANGE_REQUESTED,
    SEC_EMAIL_CHANGED,
    SEC_EMAIL_VERIFY_FAILED,
    SEC_CODE_BUDGET_EXHAUSTED,
    SEC_PASSWORD_CHANGE_FAILED,
    /* cards (wallet/card.h) */
    SEC_CARD_LINK_STARTED,
    SEC_CARD_LINKED,
    SEC_CARD_LINK_FAILED, /* detail: reason (an err symbol) */
    SEC_CARD_REMOVED,
    SEC_CARD_TESTING_BLOCKED, /* detail: source (card_customer, card_device, card_addr) */
    SEC_TOPUP_REFUSED,        /* a top-up stopped by a limit, a frozen account or a missing fresh second factor; detail: reason, amount */
    /* payment codes (wallet/paycode.h) */
    SEC_OFFLINE_KEY_ISSUED, /* a device got a new offline-code key; detail: offline_id */
    /* freezes and payments (ops/freeze.h, wallet/payment.h) */
    SEC_ACCOUNT_FROZEN,   /* detail: by ("customer" or "staff"), reason */
    SEC_ACCOUNT_UNFROZEN, /* detail: by, reason */
    SEC_TERMINAL_FLAGGED, /* customer_id 0: a terminal blocked for guessing codes; detail: terminal, distinct_codes */
    SEC_PAYMENT_REFUSED,  /* a register charge, store-QR payment or transfer refused before it moved money
                             (missing fresh second factor, frozen account, offline code over its limit, unknown
                             recipient, bad QR); detail: kind (cpm, mpm, p2p), reason, amount */
    SEC_LOGIN_MFA_FAILED, /* the right password, a wrong second factor (auth/login.h) */
    SEC__COUNT
};

enum sec_outcome { SEC_SUCCESS, SEC_FAILURE };

/* "registered", "login_failed", … (the contract's names).  Never NULL. */
const char *sec_event_name(enum sec_event kind);

/* Append one event in the caller's transaction: audit_record with the
 * actor audit_customer_actor(customer_id) ("usr_…", or "system" for 0).
 * detail (may be NULL) is stolen (json_decref'd here, also on error); one
 * longer than SEC_EVENT_DETAIL_MAX bytes is stored as "{}" rather than cut
 * mid-JSON.  Staff actions, whose actor is not the customer, call
 * audit_record themselves. */
enum err sec_event_record(struct store *st, int64_t now, int64_t customer_id, enum sec_event kind,
                          enum sec_outcome outcome, const char *client_addr, int64_t device_id, json_t *detail);

#endif
