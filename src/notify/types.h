/* types.h: the stored record of the outbox (notify/outbox.h). */
#ifndef KESSAI_NOTIFY_TYPES_H
#define KESSAI_NOTIFY_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "util/masterkey.h"

#define NOTIFY_TO_MAX 254
#define NOTIFY_SUBJECT_MAX 200
#define NOTIFY_BODY_MAX 3000
#define NOTIFY_REF_LEN 32 /* 16 bytes in hex (time, 80 random bits): unique, names the maildir file */
/* Sealed message: to '\0' subject '\0' body, sealed with the master key. */
#define NOTIFY_SEALED_MAX (NOTIFY_TO_MAX + NOTIFY_SUBJECT_MAX + NOTIFY_BODY_MAX + 3 + MASTERKEY_SEAL_OVERHEAD)

struct outbox_msg {
    int64_t id;
    char ref[NOTIFY_REF_LEN + 1];
    uint8_t sealed[NOTIFY_SEALED_MAX];
    size_t sealed_len;
    int64_t created_ms;
    int64_t sent_ms; /* 0 until delivered */
};

#endif
