/* admin_handlers.h: the admin API, /admin/v1/ (docs/admin-api.md), for
 * operator staff (ops/staff.h, ops/staff_session.h).
 *
 * Every endpoint but sign-in needs "Authorization: Bearer <staff token>"
 * (401 unauthenticated otherwise, all alike) and names one staff_action:
 * a role that may not take it is 403 forbidden, recorded.  Every change is
 * recorded as a security event (staff_action) naming the staff member.
 */
#ifndef KESSAI_API_ADMIN_HANDLERS_H
#define KESSAI_API_ADMIN_HANDLERS_H

#include "http/router.h"

/* admin_sessions.c */
enum http_verdict api_admin_sessions_post(struct http_request *req, void *app);  /* sign in (SLOW) */
enum http_verdict api_admin_session_delete(struct http_request *req, void *app); /* sign out */
enum http_verdict api_admin_me_get(struct http_request *req, void *app);

/* admin_controls.c */
enum http_verdict api_admin_killswitches_get(struct http_request *req, void *app);
enum http_verdict api_admin_killswitch_put(struct http_request *req, void *app);
enum http_verdict api_admin_customer_freeze_post(struct http_request *req, void *app);
enum http_verdict api_admin_customer_unfreeze_post(struct http_request *req, void *app);
enum http_verdict api_admin_customer_sign_out_post(struct http_request *req, void *app);
enum http_verdict api_admin_customer_reset_mfa_post(struct http_request *req, void *app);

/* admin_audit.c */
enum http_verdict api_admin_audit_get(struct http_request *req, void *app);

/* admin_reversals.c */
enum http_verdict api_admin_reversals_post(struct http_request *req, void *app);
enum http_verdict api_admin_reversal_approve_post(struct http_request *req, void *app);
enum http_verdict api_admin_reversal_reject_post(struct http_request *req, void *app);
enum http_verdict api_admin_reversals_get(struct http_request *req, void *app);

/* admin_reviews.c: the review queue of held payments and transfers (wallet/review.h) */
enum http_verdict api_admin_reviews_get(struct http_request *req, void *app);
enum http_verdict api_admin_review_approve_post(struct http_request *req, void *app);
enum http_verdict api_admin_review_reject_post(struct http_request *req, void *app);

#endif
