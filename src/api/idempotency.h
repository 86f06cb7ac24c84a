/* idempotency.h: reading the Idempotency-Key header of a money-moving POST.
 *
 * Every money-moving request carries a client-chosen key (DESIGN.md, API
 * conventions): the same key with the same request returns the first answer,
 * the same key with another request is idempotency_conflict.  This file only
 * reads and validates the header; the domain (topup.h, the POS charge) keeps
 * the key with what it did and compares requests.
 *
 * A valid key is what util/idem.h says (idem_key_valid, the one definition
 * the domain uses too): 1..IDEMPOTENCY_KEY_MAX printable ASCII characters
 * (0x21..0x7e: no spaces, no control characters).
 *
 * Handler thread only (it reads a header: http/request.h).  *key points into
 * the request and stays valid until the request completes; a caller that
 * hands work to another thread copies it into its job (a char
 * [IDEMPOTENCY_KEY_MAX + 1] buffer is always enough).
 */
#ifndef KESSAI_API_IDEMPOTENCY_H
#define KESSAI_API_IDEMPOTENCY_H

#include "util/err.h"
#include "util/idem.h"

struct http_request;

#define IDEMPOTENCY_HEADER "Idempotency-Key"
#define IDEMPOTENCY_KEY_MAX IDEM_KEY_MAX

/* ERR_OK and *key; ERR_MISSING_PARAM (param "Idempotency-Key") when the header
 * is absent; ERR_INVALID_PARAM (same param) when it is empty, longer than 64
 * or holds anything but printable non-space ASCII.  Reply with
 *     http_reply_error(req, e, IDEMPOTENCY_HEADER). */
enum err api_idempotency_key(struct http_request *req, const char **key);

#endif
