/* auth_handlers.h: the customer identity endpoints (docs/customer-auth.md).
 *
 * One file per resource family; routes.c maps each URL to one of these.
 *
 *   auth_registrations.c   POST /v1/registrations, …/resend, …/verify
 *   auth_mfa.c             POST /v1/mfa/totp, …/totp/confirm, …/recovery-codes, …/verify
 *   auth_login.c           POST /v1/login/challenge, POST /v1/login
 *   auth_me.c              GET /v1/me
 *   auth_sessions.c        GET /v1/sessions, DELETE /v1/sessions, DELETE /v1/sessions/{id}
 *   auth_devices.c         GET /v1/devices, DELETE /v1/devices/{id}
 *   auth_password.c        POST /v1/password
 *   auth_password_reset.c  POST /v1/password-reset, …/complete
 *   auth_email.c           POST /v1/email, …/confirm
 */
#ifndef KESSAI_API_AUTH_HANDLERS_H
#define KESSAI_API_AUTH_HANDLERS_H

#include "http/router.h"

enum http_verdict api_registrations_post(struct http_request *req, void *app);
enum http_verdict api_registrations_resend_post(struct http_request *req, void *app);
enum http_verdict api_registrations_verify_post(struct http_request *req, void *app);

enum http_verdict api_mfa_totp_post(struct http_request *req, void *app);
enum http_verdict api_mfa_totp_confirm_post(struct http_request *req, void *app);
enum http_verdict api_mfa_recovery_codes_post(struct http_request *req, void *app);
enum http_verdict api_mfa_verify_post(struct http_request *req, void *app);

enum http_verdict api_login_challenge_post(struct http_request *req, void *app);
enum http_verdict api_login_post(struct http_request *req, void *app);

enum http_verdict api_me_get(struct http_request *req, void *app);

enum http_verdict api_sessions_get(struct http_request *req, void *app);
enum http_verdict api_sessions_delete(struct http_request *req, void *app);
enum http_verdict api_session_delete(struct http_request *req, void *app);

enum http_verdict api_devices_get(struct http_request *req, void *app);
enum http_verdict api_device_delete(struct http_request *req, void *app);

enum http_verdict api_password_post(struct http_request *req, void *app);

enum http_verdict api_password_reset_post(struct http_request *req, void *app);
enum http_verdict api_password_reset_complete_post(struct http_request *req, void *app);

enum http_verdict api_email_post(struct http_request *req, void *app);
enum http_verdict api_email_confirm_post(struct http_request *req, void *app);

#endif
