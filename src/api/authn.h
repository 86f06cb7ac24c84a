/* authn.h: who is calling, for the customer endpoints that need a session.
 *
 * A request proves its session with two headers:
 *     Authorization: Bearer <43-char token>
 *     Kessai-Device: dev_…
 * and the session must be bound to that device (auth/session.h).  Anything
 * missing, malformed, unknown, expired or revoked is 401 unauthenticated,
 * all alike, so a client learns nothing about which part was wrong; a live
 * token with another device id, or none, is also revoked on the spot
 * (session_authenticate), since the app always names its own device.  Then
 * the endpoint's need is checked: an enrol session where a full one is
 * needed is 403 mfa_required; a full session whose last second-factor check
 * is older than 300 s where a fresh one is needed is 403 fresh_mfa_required.
 *
 * Headers are read on the handler thread (request.h), so this runs in the
 * handler, never in a completer.  Tokens are never logged.
 */
#ifndef KESSAI_API_AUTHN_H
#define KESSAI_API_AUTHN_H

#include "auth/auth_ctx.h"
#include "auth/session.h"
#include "util/err.h"

struct http_request;

/* The token of an Authorization header "Bearer <token>" (scheme
 * case-insensitive, RFC 7235; exactly one base64url token), or NULL.  Also
 * the admin API's (admin_authn.h). */
const char *api_bearer_token(const char *authorization);

/* ERR_OK and *out, or ERR_UNAUTHENTICATED, ERR_MFA_REQUIRED,
 * ERR_FRESH_MFA_REQUIRED, ERR_STORE… for the caller to reply with. */
enum err api_authenticate(struct http_request *req, const struct auth_ctx *a, enum session_need need,
                          struct auth_session *out);

#endif
