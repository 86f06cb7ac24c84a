/* totp.h: time-based one-time passwords (RFC 6238) on liboath.
 *
 * 30-second steps, 6 digits, HMAC-SHA1 (what every authenticator app
 * implements), accepted one step either side for clock drift.  A code is
 * accepted at most once: callers store the step of the last accepted code
 * and pass it back, and a code from that step or an earlier one is refused.
 * Seeds are 20 random bytes; callers keep them sealed at rest
 * (util/masterkey.h).  The process must have called oath_init() once.
 */
#ifndef KESSAI_AUTH_TOTP_H
#define KESSAI_AUTH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/email.h"
#include "util/err.h"

#define TOTP_SEED_BYTES 20
#define TOTP_STEP_SECONDS 30
#define TOTP_DIGITS 6
/* The URI's worst case: every byte of the issuer (twice) and of the
 * account (an e-mail address, up to EMAIL_MAX) percent-encoded as 3 bytes,
 * the base32 secret, and the format's own text (under 96 bytes). */
#define TOTP_ISSUER_MAX 32
#define TOTP_ACCOUNT_MAX EMAIL_MAX
#define TOTP_SECRET_B32_LEN ((TOTP_SEED_BYTES * 8 + 4) / 5)
#define TOTP_URI_MAX (96 + 2 * 3 * TOTP_ISSUER_MAX + 3 * TOTP_ACCOUNT_MAX + TOTP_SECRET_B32_LEN + 1)

void totp_new_seed(uint8_t seed[TOTP_SEED_BYTES]);
/* otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&… for enrolment
 * (shown as text or QR).  Every issuer of at most TOTP_ISSUER_MAX bytes and
 * account of at most TOTP_ACCOUNT_MAX fits, whatever their characters;
 * ERR_INVALID_PARAM for longer ones. */
enum err totp_uri(const uint8_t seed[TOTP_SEED_BYTES], const char *issuer, const char *account,
                  char out[TOTP_URI_MAX]);
/* Check code at time now (Unix seconds).  On ERR_OK *step is the accepted
 * code's step, to be stored as the new last_step.  ERR_INVALID_CODE if the
 * code is malformed, wrong, outside ±1 step, or not newer than last_step. */
enum err totp_check(const uint8_t seed[TOTP_SEED_BYTES], const char *code, int64_t now, int64_t last_step,
                    int64_t *step);
/* The code for time now (the simulated phone, tests). */
enum err totp_code(const uint8_t seed[TOTP_SEED_BYTES], int64_t now, char out[TOTP_DIGITS + 1]);

#endif
