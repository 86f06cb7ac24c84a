/* auth_common.h: what the customer-auth handlers (auth_*.c) share.
 *
 * Every handler follows the same phases:
 *
 *   LIMIT  (unauthenticated endpoints and /v1/mfa/verify) api_rate_limit
 *   AUTH   (session endpoints)                            api_authenticate (authn.h)
 *   PARSE  the body against a spec, unknown fields refused api_parse
 *   ACT    fast: the domain call here, on a pool connection (api_with_store)
 *          slow: a job on the worker pool (jobs.h), HTTP_SUSPENDED
 *   REPLY  JSON built here; times ISO 8601, ids with their prefix
 *
 * Nothing here logs a request body: bodies carry passwords and codes.
 */
#ifndef KESSAI_API_AUTH_COMMON_H
#define KESSAI_API_AUTH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
#include "auth/auth_ctx.h"
#include "auth/customer.h"
#include "auth/session.h"
#include "http/router.h"
#include "util/json.h"

struct http_request;

/* Take a token from the client address's bucket.  false: a 429
 * rate_limited reply with Retry-After is stored; return HTTP_REPLIED. */
bool api_rate_limit(struct http_request *req, struct api_ctx *ctx);

/* Parse obj (the request body, or a nested object of it: prefix names it
 * for error params, e.g. "device") with reject_unknown.  On error the reply
 * (400 naming the field, "device.name" for a nested one) is stored and
 * false returned. */
bool api_parse(struct http_request *req, json_t *obj, const struct json_field *spec, size_t n, const char *prefix);

/* The domain's per-call context for this request on st, at the wall clock. */
void api_auth_ctx(struct auth_ctx *a, const struct api_ctx *ctx, struct store *st, const struct http_request *req);

/* "2026-11-26T23:03:00.123Z" as a JSON string (NULL on allocation failure). */
json_t *api_time_json(int64_t ms);
/* "<prefix>_…" as a JSON string. */
json_t *api_id_json(const char *prefix, int64_t id);

/* A grant as the reply body: {session_token, session_id, scope, device_id,
 * expires_at} and, for login, new_device.  The token is a secret: the body
 * goes to the client and nowhere else. */
json_t *api_grant_json(const struct auth_grant *g, bool with_new_device);

/* A profile as the reply body of GET /v1/me and POST /v1/email/confirm:
 * {id, email, email_verified, totp_enrolled, recovery_codes_left,
 * created_at}; NULL on allocation failure. */
json_t *api_profile_json(const struct customer_profile *p);

/* The 400 weak_password error body with the policy's reason added to the
 * error object ("reason": "…"; never contains the password). */
json_t *api_weak_password_json(const char *reason);

/* Exactly one of two optional second factors: ERR_OK, or the reply stored
 * (400 missing_param "totp_code" when neither, 400 invalid_param
 * "recovery_code" when both) and false. */
bool api_one_factor(struct http_request *req, const char *totp_code, const char *recovery_code);

/* For a body of only {email} whose answer must not depend on the outcome
 * (password-reset request, code resend): rate-limit, parse, reply 202
 * {"status": status} at once and run fn(a, email) on a worker afterwards
 * (api_background_submit in jobs.h), so timing reveals no account either. */
typedef enum err (*api_email_work_fn)(const struct auth_ctx *a, const char *email);
enum http_verdict api_email_then_work(struct http_request *req, struct api_ctx *ctx, api_email_work_fn fn,
                                      const char *status);

#endif
