/* routes.c: every URL kessaid serves, in one table (after GNU Taler's
 * exchange).  To find the code behind an endpoint, find its line here.
 * Order matters only where two patterns match the same path: the first
 * wins, so put literal segments before `{param}` ones. */
#include "api/admin_handlers.h"
#include "api/api.h"
#include "api/auth_handlers.h"
#include "api/health.h"
#include "api/pay_handlers.h"
#include "api/pos_handlers.h"
#include "api/wallet_handlers.h"

#define JSON HTTP_ROUTE_JSON_BODY

static const struct http_route routes[] = {
    /* operations */
    {"GET", "/healthz", api_health_get, 0},
    {"GET", "/metrics", api_metrics_get, 0},

    /* operator staff (docs/admin-api.md) */
    {"POST", "/admin/v1/sessions", api_admin_sessions_post, JSON},
    {"DELETE", "/admin/v1/sessions/current", api_admin_session_delete, 0},
    {"GET", "/admin/v1/me", api_admin_me_get, 0},
    {"GET", "/admin/v1/killswitches", api_admin_killswitches_get, 0},
    {"PUT", "/admin/v1/killswitches/{name}", api_admin_killswitch_put, JSON},
    {"POST", "/admin/v1/customers/{id}/freeze", api_admin_customer_freeze_post, JSON},
    {"POST", "/admin/v1/customers/{id}/unfreeze", api_admin_customer_unfreeze_post, JSON},
    {"POST", "/admin/v1/customers/{id}/sign-out", api_admin_customer_sign_out_post, JSON},
    {"POST", "/admin/v1/customers/{id}/reset-mfa", api_admin_customer_reset_mfa_post, JSON},
    {"GET", "/admin/v1/audit", api_admin_audit_get, 0},
    {"POST", "/admin/v1/reversals", api_admin_reversals_post, JSON},
    {"GET", "/admin/v1/reversals", api_admin_reversals_get, 0},
    {"POST", "/admin/v1/reversals/{id}/approve", api_admin_reversal_approve_post, JSON},
    {"POST", "/admin/v1/reversals/{id}/reject", api_admin_reversal_reject_post, JSON},
    {"GET", "/admin/v1/reviews", api_admin_reviews_get, 0},
    {"POST", "/admin/v1/reviews/{id}/approve", api_admin_review_approve_post, JSON},
    {"POST", "/admin/v1/reviews/{id}/reject", api_admin_review_reject_post, JSON},
    {"GET", "/admin/v1/disputes", api_admin_disputes_get, 0},
    {"GET", "/admin/v1/disputes/{id}", api_admin_dispute_get, 0},
    {"POST", "/admin/v1/disputes/{id}/reject", api_admin_dispute_reject_post, JSON},

    /* customer identity (docs/customer-auth.md) */
    {"POST", "/v1/registrations", api_registrations_post, JSON},
    {"POST", "/v1/registrations/resend", api_registrations_resend_post, JSON},
    {"POST", "/v1/registrations/verify", api_registrations_verify_post, JSON},
    {"POST", "/v1/mfa/totp", api_mfa_totp_post, JSON},
    {"POST", "/v1/mfa/totp/confirm", api_mfa_totp_confirm_post, JSON},
    {"POST", "/v1/mfa/recovery-codes", api_mfa_recovery_codes_post, JSON},
    {"POST", "/v1/mfa/verify", api_mfa_verify_post, JSON},
    {"POST", "/v1/login/challenge", api_login_challenge_post, JSON},
    {"POST", "/v1/login", api_login_post, JSON},
    {"GET", "/v1/me", api_me_get, 0},
    {"GET", "/v1/sessions", api_sessions_get, 0},
    {"DELETE", "/v1/sessions", api_sessions_delete, 0},
    {"DELETE", "/v1/sessions/{id}", api_session_delete, 0},
    {"GET", "/v1/devices", api_devices_get, 0},
    {"DELETE", "/v1/devices/{id}", api_device_delete, 0},
    {"POST", "/v1/password", api_password_post, JSON},
    {"POST", "/v1/password-reset", api_password_reset_post, JSON},
    {"POST", "/v1/password-reset/complete", api_password_reset_complete_post, JSON},
    {"POST", "/v1/email", api_email_post, JSON},
    {"POST", "/v1/email/confirm", api_email_confirm_post, JSON},

    /* cards (docs/cards-and-topups.md) */
    {"POST", "/v1/cards", api_cards_post, JSON},
    {"GET", "/v1/cards", api_cards_get, 0},
    {"POST", "/v1/cards/{id}/3ds", api_card_3ds_post, JSON},
    {"DELETE", "/v1/cards/{id}", api_card_delete, 0},

    /* top-ups and the wallet (docs/cards-and-topups.md) */
    {"POST", "/v1/topups", api_topups_post, JSON},
    {"GET", "/v1/topups", api_topups_get, 0},
    {"POST", "/v1/topups/{id}/3ds", api_topup_3ds_post, JSON},
    {"GET", "/v1/topups/{id}", api_topup_get, 0},
    {"POST", "/v1/topup-codes", api_topup_codes_post, JSON},
    {"GET", "/v1/wallet", api_wallet_get, 0},

    /* payment codes the register scans (docs/paycodes.md) */
    {"POST", "/v1/paycodes", api_paycodes_post, JSON},
    {"POST", "/v1/paycodes/offline-key", api_paycode_offline_key_post, JSON},

    /* paying a store by its QR, sending money to another customer (docs/store-qr.md) */
    {"POST", "/v1/payments", api_payments_post, JSON},
    {"POST", "/v1/transfers", api_transfers_post, JSON},

    /* a register's charge waiting for the customer's answer (docs/payments.md) */
    {"GET", "/v1/pending-charges", api_pending_charges_get, 0},
    {"POST", "/v1/pending-charges/{id}/approve", api_pending_charge_approve_post, JSON},
    {"POST", "/v1/pending-charges/{id}/decline", api_pending_charge_decline_post, JSON},

    /* freezing one's own account (docs/payments.md) */
    {"POST", "/v1/freeze", api_freeze_post, JSON},

    /* reporting a transaction as not one's own (docs/payments.md) */
    {"POST", "/v1/disputes", api_disputes_post, JSON},
    {"GET", "/v1/disputes", api_disputes_get, 0},
    {"GET", "/v1/disputes/{id}", api_dispute_get, 0},

    /* history and balance (docs/payments.md) */
    {"GET", "/v1/transactions", api_transactions_get, 0},
    {"GET", "/v1/events", api_events_get, HTTP_ROUTE_NO_HEAD},
    {"GET", "/v1/transactions/{id}", api_transaction_get, 0},
    {"GET", "/v1/balance", api_balance_get, 0},

    /* POS terminals, signed requests (docs/pos-signing.md) */
    {"POST", "/pos/v1/cash-topups", api_pos_cash_topups_post, JSON},
    {"POST", "/pos/v1/charges", api_pos_charges_post, JSON},
    {"GET", "/pos/v1/charges/{id}", api_pos_charge_get, 0},
    {"POST", "/pos/v1/charges/{id}/refunds", api_pos_charge_refunds_post, JSON},
    {"POST", "/pos/v1/charges/{id}/void", api_pos_charge_void_post, JSON},
    {"GET", "/pos/v1/payments", api_pos_payments_get, 0},
};

const struct http_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
