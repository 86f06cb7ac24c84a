/* paycode_internal.h: what the payment-code files share (paycode.c: the
 * one-time codes and dispatch; paycode_offline.c: offline keys and codes).
 * Not for use outside src/wallet/paycode*.c. */
#ifndef KESSAI_WALLET_PAYCODE_INTERNAL_H
#define KESSAI_WALLET_PAYCODE_INTERNAL_H

#include <stdint.h>

#include "wallet/paycode.h"

/* Fill hit's device fields from the device and its customer (reads):
 * ERR_INVALID_CODE unless the device exists, belongs to customer_id and is
 * active; device_new when it, or the account after a reset, cools down. */
enum err paycode_hit_device(const struct wallet_ctx *w, int64_t customer_id, int64_t device_id,
                            struct paycode_hit *hit);

/* paycode_resolve for a code with the offline prefix (already checked:
 * 18 digits, Luhn-valid). */
enum err paycode_resolve_offline(const struct wallet_ctx *w, const char *code, struct paycode_hit *hit);

#endif
