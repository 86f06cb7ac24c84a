/* err.c: the error table.  Order must follow enum err; a static assertion and a
 * unit test check that every code has an entry. */
#include "util/err.h"

#include <stddef.h>

struct err_entry {
    const char *symbol;
    int status;
    const char *message;
};

static const struct err_entry table[] = {
    [ERR_OK] = {"ok", 200, "OK."},
    [ERR_NOT_FOUND] = {"not_found", 404, "No such resource."},
    [ERR_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "This method is not allowed on this resource."},
    [ERR_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413, "The request body is too large."},
    [ERR_MALFORMED_JSON] = {"malformed_json", 400, "The request body is not valid JSON."},
    [ERR_INVALID_PARAM] = {"invalid_param", 400, "A parameter has an invalid value."},
    [ERR_MISSING_PARAM] = {"missing_param", 400, "A required parameter is missing."},
    [ERR_UNKNOWN_PARAM] = {"unknown_param", 400, "The request contains a parameter this endpoint does not accept."},
    [ERR_UNSUPPORTED_MEDIA_TYPE] = {"unsupported_media_type", 415, "The request body must be application/json."},
    [ERR_RATE_LIMITED] = {"rate_limited", 429, "Too many requests; retry later."},
    [ERR_AMOUNT_INVALID] = {"amount_invalid", 400, "The amount must be a positive whole number of yen within the allowed maximum."},
    [ERR_OVERFLOW] = {"amount_overflow", 422, "The operation would exceed the largest amount the ledger can hold."},
    [ERR_INSUFFICIENT_FUNDS] = {"insufficient_funds", 422, "The balance is too low for this operation."},
    [ERR_LIMIT_EXCEEDED] = {"limit_exceeded", 422, "The operation would exceed a limit on this account."},
    [ERR_ACCOUNT_NOT_FOUND] = {"account_not_found", 404, "No such ledger account."},
    [ERR_SAME_ACCOUNT] = {"same_account", 400, "A transfer needs two different accounts."},
    [ERR_TRANSFER_NOT_FOUND] = {"transfer_not_found", 404, "No such transfer."},
    [ERR_PENDING_NOT_FOUND] = {"pending_transfer_not_found", 404, "No such pending transfer."},
    [ERR_PENDING_ALREADY_RESOLVED] = {"pending_already_resolved", 409, "The pending transfer has already been posted or voided."},
    [ERR_REVERSAL_EXCEEDS_ORIGINAL] = {"reversal_exceeds_original", 422, "The amount exceeds what remains reversible on the original transfer."},
    [ERR_NOT_REVERSIBLE] = {"not_reversible", 422, "This transfer cannot be reversed."},
    [ERR_IDEMPOTENCY_CONFLICT] = {"idempotency_conflict", 409, "This idempotency key was already used with a different request."},
    [ERR_LINKED_TRANSFER_FAILED] = {"linked_transfer_failed", 422, "Another transfer in the same linked group failed; nothing was applied."},
    [ERR_MERCHANT_NOT_FOUND] = {"merchant_not_found", 404, "No such merchant."},
    [ERR_STORE_NOT_FOUND] = {"store_not_found", 404, "No such store."},
    [ERR_TERMINAL_NOT_FOUND] = {"terminal_not_found", 404, "No such terminal."},
    [ERR_CONFLICT] = {"conflict", 409, "The resource already exists or is in a conflicting state."},
    [ERR_STAFF_NOT_FOUND] = {"staff_not_found", 404, "No such staff member."},
    [ERR_WEAK_PASSWORD] = {"weak_password", 400, "The password is too short, too long, or too easy to guess."},
    [ERR_INVALID_CODE] = {"invalid_code", 400, "The code is wrong, expired or already used."},
    [ERR_INVALID_TOKEN] = {"invalid_token", 400, "The token is wrong, expired or already used."},
    [ERR_INVALID_CREDENTIALS] = {"invalid_credentials", 401, "The sign-in details are not correct."},
    [ERR_UNAUTHENTICATED] = {"unauthenticated", 401, "Sign in first: the session is missing, expired, revoked or from another device."},
    [ERR_MFA_REQUIRED] = {"mfa_required", 403, "Finish setting up the second factor first."},
    [ERR_FRESH_MFA_REQUIRED] = {"fresh_mfa_required", 403, "Confirm with your second factor again to do this."},
    [ERR_SIGN_IN_REQUIRED] = {"sign_in_required", 403,
                              "Sign in again, with your password and second factor, to do this."},
    [ERR_FORBIDDEN] = {"forbidden", 403, "You may not do this."},
    [ERR_CARD_NOT_FOUND] = {"card_not_found", 404, "No such card."},
    [ERR_CARD_NOT_ACTIVE] = {"card_not_active", 409, "The card is not ready for use: finish its 3-D Secure check, or link it again."},
    [ERR_CARD_DECLINED] = {"card_declined", 402, "The card was declined by its issuer."},
    [ERR_CARD_INSUFFICIENT_FUNDS] = {"card_insufficient_funds", 402, "The card's issuer declined: insufficient funds."},
    [ERR_CARD_EXPIRED] = {"expired_card", 402, "The card has expired."},
    [ERR_INCORRECT_CVC] = {"incorrect_cvc", 402, "The card's security code is incorrect."},
    [ERR_AUTHENTICATION_FAILED] = {"authentication_failed", 402, "The card issuer's 3-D Secure check failed."},
    [ERR_CARD_UNAVAILABLE] = {"card_unavailable", 409, "This card cannot be linked to this account."},
    [ERR_TOPUP_NOT_FOUND] = {"topup_not_found", 404, "No such top-up."},
    [ERR_IN_PROGRESS] = {"request_in_progress", 409, "A request with this idempotency key is still being processed; retry shortly."},
    [ERR_SUSPENDED] = {"service_suspended", 503, "This operation is suspended by the operator for now; everything else works."},
    [ERR_GATEWAY] = {"gateway_error", 502, "The card processor could not be reached; nothing was charged."},
    [ERR_INVALID_SIGNATURE] = {"invalid_signature", 401, "The request signature is missing, invalid, expired or replayed."},
    [ERR_ACCOUNT_FROZEN] = {"account_frozen", 403, "This account is frozen: it cannot pay, top up or send money until support unfreezes it."},
    [ERR_INVALID_QR] = {"invalid_qr", 400, "The QR code is not a valid kessai store code, or the store does not take payments."},
    [ERR_RECIPIENT_NOT_FOUND] = {"recipient_not_found", 404, "No customer can receive money at this address or id."},
    [ERR_PAYMENT_NOT_FOUND] = {"payment_not_found", 404, "No such payment."},
    /* Neither says which rule fired: that would teach a thief where the lines are. */
    [ERR_RISK_DENIED] = {"risk_denied", 403, "This operation was declined for your account's protection; nothing was moved."},
    /* 409: the request is fine, the account's state (under review) is what refuses it. */
    [ERR_RISK_HELD] = {"risk_held", 409, "This operation is held for review; nothing was moved. Please contact support."},
    [ERR_NOT_DISPUTABLE] = {"not_disputable", 422, "Only a payment or transfer you made can be reported, and not one already given back in full."},
    [ERR_ALREADY_DISPUTED] = {"already_disputed", 409, "This transaction has already been reported; see its report in your disputes."},
    [ERR_DISPUTE_WINDOW_CLOSED] = {"dispute_window_closed", 422, "This transaction is too old to be reported here; please contact support."},
    [ERR_SHUTTING_DOWN] = {"shutting_down", 503, "The server is shutting down; retry on another node or later."},
    [ERR_BUSY] = {"server_busy", 503, "The server is too busy to take this request now; retry shortly."},
    [ERR_STORE] = {"store_error", 500, "A storage error occurred; nothing was changed."},
    [ERR_IO] = {"io_error", 500, "An I/O error occurred."},
    [ERR_NOMEM] = {"out_of_memory", 503, "The server is out of memory; retry later."},
    [ERR_INTERNAL] = {"internal_error", 500, "An internal error occurred."},
    /* Only kessaid's start-up and the CLI see these: no client does. */
    [ERR_AUDIT_UNCHAINED] = {"audit_unchained", 500, "The audit log has entries from before its chain: check them, then chain them with 'kessai audit backfill'."},
    [ERR_SCHEMA_OLD] = {"schema_old", 500, "The database's schema is older than this kessai's; a read-only command does not upgrade it: start kessaid (or run a command that changes something) first, on a copy if it is evidence."},
};

_Static_assert(sizeof table / sizeof table[0] == ERR__COUNT, "err table must cover enum err");

static const struct err_entry *entry(enum err e)
{
    if ((int)e < 0 || e >= ERR__COUNT || table[e].symbol == NULL)
        return &table[ERR_INTERNAL];
    return &table[e];
}

const char *err_symbol(enum err e) { return entry(e)->symbol; }
int err_http_status(enum err e) { return entry(e)->status; }
const char *err_message(enum err e) { return entry(e)->message; }
