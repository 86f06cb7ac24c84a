#include "util/masterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

_Static_assert(NONCE + crypto_aead_xchacha20poly1305_ietf_ABYTES == MASTERKEY_SEAL_OVERHEAD, "overhead");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == MASTERKEY_BYTES, "key size");

static enum err create_key(const char *path, uint8_t key[MASTERKEY_BYTES])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return ERR_IO;
    randombytes_buf(key, MASTERKEY_BYTES);
    ssize_t w = write(fd, key, MASTERKEY_BYTES);
    int ok = (w == MASTERKEY_BYTES) && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
        unlink(path);
        sodium_memzero(key, MASTERKEY_BYTES);
        return ERR_IO;
    }
    return ERR_OK;
}

enum err masterkey_load_or_create(const char *path, uint8_t key[MASTERKEY_BYTES])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? create_key(path, key) : ERR_IO;
    struct stat st;
    enum err e = ERR_IO;
    if (fstat(fd, &st) == 0 && st.st_size == MASTERKEY_BYTES && (st.st_mode & 077) == 0 &&
        read(fd, key, MASTERKEY_BYTES) == MASTERKEY_BYTES)
        e = ERR_OK;
    close(fd);
    return e;
}

void masterkey_seal(const uint8_t key[MASTERKEY_BYTES], const uint8_t *plain, size_t len, const char *ad,
                    uint8_t *out)
{
    randombytes_buf(out, NONCE);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, NULL, plain, len, (const uint8_t *)ad,
                                               ad ? strlen(ad) : 0, NULL, out, key);
}

enum err masterkey_open(const uint8_t key[MASTERKEY_BYTES], const uint8_t *sealed, size_t sealed_len,
                        const char *ad, uint8_t *out)
{
    if (sealed_len < MASTERKEY_SEAL_OVERHEAD)
        return ERR_INVALID_PARAM;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, sealed + NONCE, sealed_len - NONCE,
                                                   (const uint8_t *)ad, ad ? strlen(ad) : 0, sealed, key) != 0)
        return ERR_INVALID_PARAM;
    return ERR_OK;
}
