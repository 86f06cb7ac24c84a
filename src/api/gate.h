/* gate.h: an operator switch checked at the door of an endpoint.
 *
 * For operations that a switch stops whole (new registrations, new card
 * links: ops/killswitch.h), the check comes first, before any parsing of
 * credentials or work on the workers, so an operator stopping a flood
 * stops its cost too.  While the switch is on the answer is 503
 * service_suspended with the operator's reason.
 */
#ifndef KESSAI_API_GATE_H
#define KESSAI_API_GATE_H

#include <stdbool.h>

#include "api/api.h"

struct http_request;

/* true if switch `name` is off; false with the reply stored (503 with the
 * reason, or the store's error). */
bool api_gate(struct http_request *req, struct api_ctx *ctx, const char *name);

#endif
