/* admin_authn.h: who is calling the admin API, and may they.
 *
 * "Authorization: Bearer <token>" of a staff session (ops/staff_session.h);
 * anything missing, malformed, unknown, expired or revoked is 401
 * unauthenticated.  Then the role must allow the endpoint's action: 403
 * forbidden otherwise, recorded as a failed audit entry of that action (a
 * support agent trying to undo a freeze is worth knowing about).  Runs on the handler
 * thread (headers are read there).
 */
#ifndef KESSAI_API_ADMIN_AUTHN_H
#define KESSAI_API_ADMIN_AUTHN_H

#include <stdbool.h>

#include <jansson.h>

#include "auth/auth_ctx.h"
#include "ops/staff_session.h"

struct http_request;
struct api_ctx;

/* ERR_OK and *out, or the error to reply with. */
enum err api_admin_authenticate(struct http_request *req, const struct auth_ctx *a, enum staff_action action,
                                const char *action_name, struct staff_session *out);

/* The request's staff member, allowed to take action (recorded as
 * action_name when refused): true with a and s ready (a->st from ctx's
 * pool: the caller releases it), false with the error reply stored and
 * nothing held. */
bool api_admin_staff(struct http_request *req, struct api_ctx *ctx, enum staff_action action,
                     const char *action_name, struct auth_ctx *a, struct staff_session *s);

/* Record what the staff member did (or tried) as an audit entry whose
 * actor is the staff id (audit/audit.h), about customer_id (0: none).
 * detail (may be NULL) is stolen. */
enum err api_admin_record(const struct auth_ctx *a, const struct staff_session *s, int64_t customer_id,
                          const char *action, bool ok, json_t *detail);

#endif
