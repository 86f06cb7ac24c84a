/* gateway_test.h: the test processor with an injected clock (tests only).
 *
 * gateway_test_open() reads the wall clock; tests that need to move time
 * (challenge expiry, a card expiring between linking and paying) open the
 * processor through this constructor instead.  now_ms(ctx) returns
 * milliseconds since the Unix epoch and is called with the processor's lock
 * held, from whatever thread calls an op; ctx must outlive the gateway.
 * Production code never includes this header.
 */
#ifndef KESSAI_WALLET_GATEWAY_TEST_H
#define KESSAI_WALLET_GATEWAY_TEST_H

#include <stdint.h>

#include "wallet/gateway.h"

enum err gateway_test_open_clock(const char *path, int64_t (*now_ms)(void *ctx), void *ctx, struct gateway **out);

#endif
