#include "auth/events.h"

#include "audit/audit.h"

static const char *const names[SEC__COUNT] = {
    [SEC_REGISTERED] = "registered",
    [SEC_EMAIL_VERIFIED] = "email_verified",
    [SEC_TOTP_ENROLLED] = "totp_enrolled",
    [SEC_RECOVERY_CODES_GENERATED] = "recovery_codes_generated",
    [SEC_LOGIN_SUCCEEDED] = "login_succeeded",
    [SEC_LOGIN_FAILED] = "login_failed",
    [SEC_ACCOUNT_LOCKED] = "account_locked",
    [SEC_NEW_DEVICE] = "new_device",
    [SEC_MFA_VERIFIED] = "mfa_verified",
    [SEC_MFA_FAILED] = "mfa_failed",
    [SEC_PASSWORD_CHANGED] = "password_changed",
    [SEC_RESET_REQUESTED] = "reset_requested",
    [SEC_RESET_COMPLETED] = "reset_completed",
    [SEC_SESSION_REVOKED] = "session_revoked",
    [SEC_DEVICE_REMOVED] = "device_removed",
    [SEC_SESSION_DEVICE_MISMATCH] = "session_device_mismatch",
    [SEC_CREDENTIAL_STUFFING_BLOCKED] = "credential_stuffing_blocked",
    [SEC_EMAIL_CHANGE_REQUESTED] = "email_change_requested",
    [SEC_EMAIL_CHANGED] = "email_changed",
    [SEC_EMAIL_VERIFY_FAILED] = "email_verify_failed",
    [SEC_CODE_BUDGET_EXHAUSTED] = "code_budget_exhausted",
    [SEC_PASSWORD_CHANGE_FAILED] = "password_change_failed",
    [SEC_CARD_LINK_STARTED] = "card_link_started",
    [SEC_CARD_LINKED] = "card_linked",
    [SEC_CARD_LINK_FAILED] = "card_link_failed",
    [SEC_CARD_REMOVED] = "card_removed",
    [SEC_CARD_TESTING_BLOCKED] = "card_testing_blocked",
    [SEC_TOPUP_REFUSED] = "topup_refused",
    [SEC_OFFLINE_KEY_ISSUED] = "offline_key_issued",
    [SEC_ACCOUNT_FROZEN] = "account_frozen",
    [SEC_ACCOUNT_UNFROZEN] = "account_unfrozen",
    [SEC_TERMINAL_FLAGGED] = "terminal_flagged",
    [SEC_LOGIN_MFA_FAILED] = "login_mfa_failed",
    [SEC_PAYMENT_REFUSED] = "payment_refused",
};

const char *sec_event_name(enum sec_event kind)
{
    return (unsigned)kind < SEC__COUNT && names[kind] ? names[kind] : "unknown";
}

enum err sec_event_record(struct store *st, int64_t now, int64_t customer_id, enum sec_event kind,
                          enum sec_outcome outcome, const char *client_addr, int64_t device_id, json_t *detail)
{
    char actor[IDS_BUF];
    return audit_record(st, now, audit_customer_actor(actor, customer_id), customer_id, sec_event_name(kind),
                        outcome == SEC_SUCCESS ? AUDIT_SUCCESS : AUDIT_FAILURE, client_addr, device_id, detail);
}
