#include "auth/password.h"

#include <ctype.h>
#include <pthread.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define OPSLIMIT 2
#define MEMLIMIT (19u * 1024 * 1024)

/* cracklib, under libpwquality, keeps static state while it reads its
 * dictionary: checks must not run concurrently. */
static pthread_mutex_t cracklib_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* The "core" of a password: lower-cased, digits and symbols stripped from
 * both ends, and a repeated chunk reduced to one ("Password1234!" and
 * "passwordpassword" both give "password").  cracklib judges whole strings,
 * so common words dressed up this way would otherwise pass. */
static void password_core(const char *pw, char *core, size_t n)
{
    size_t len = strlen(pw), b = 0, e = len;
    while (b < e && ((unsigned char)pw[b] < 0x80 && !isalpha((unsigned char)pw[b])))
        b++;
    while (e > b && ((unsigned char)pw[e - 1] < 0x80 && !isalpha((unsigned char)pw[e - 1])))
        e--;
    size_t m = e - b < n - 1 ? e - b : n - 1;
    for (size_t i = 0; i < m; i++)
        core[i] = (char)tolower((unsigned char)pw[b + i]);
    core[m] = '\0';
    for (size_t k = 1; k <= m / 2; k++) {
        if (m % k)
            continue;
        size_t i = k;
        while (i < m && core[i] == core[i % k])
            i++;
        if (i == m) {
            core[k] = '\0';
            break;
        }
    }
}

static int pwq_check(pwquality_settings_t *pwq, const char *pw, const char *user, char *reason, size_t n)
{
    void *aux = NULL;
    pthread_mutex_lock(&cracklib_lock);
    int rc = pwquality_check(pwq, pw, NULL, user, &aux);
    pthread_mutex_unlock(&cracklib_lock);
    if (rc < 0) {
        char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
        const char *msg = pwquality_strerror(buf, sizeof buf, rc, aux);
        snprintf(reason, n, "%s", msg ? msg : "the password is too easy to guess");
    }
    return rc;
}

enum err auth_password_policy(const char *password, const char *user, char *reason, size_t n)
{
    size_t chars = utf8_chars(password);
    if (chars < AUTH_PASSWORD_MIN_CHARS || chars > AUTH_PASSWORD_MAX_CHARS) {
        snprintf(reason, n, "the password must be %d to %d characters long", AUTH_PASSWORD_MIN_CHARS,
                 AUTH_PASSWORD_MAX_CHARS);
        return ERR_WEAK_PASSWORD;
    }
    pwquality_settings_t *pwq = pwquality_default_settings();
    if (pwq == NULL)
        return ERR_NOMEM;
    /* Length is ours (in characters); no composition rules (no credits, no
     * classes, no repeat limits); keep the dictionary and user checks. */
    static const int settings[][2] = {
        {PWQ_SETTING_MIN_LENGTH, 6},     {PWQ_SETTING_DIG_CREDIT, 0},       {PWQ_SETTING_UP_CREDIT, 0},
        {PWQ_SETTING_LOW_CREDIT, 0},     {PWQ_SETTING_OTH_CREDIT, 0},       {PWQ_SETTING_MIN_CLASS, 0},
        {PWQ_SETTING_MAX_REPEAT, 0},     {PWQ_SETTING_MAX_CLASS_REPEAT, 0}, {PWQ_SETTING_MAX_SEQUENCE, 0},
        {PWQ_SETTING_DICT_CHECK, 1},     {PWQ_SETTING_USER_CHECK, 1},       {PWQ_SETTING_GECOS_CHECK, 0},
        {PWQ_SETTING_USER_SUBSTR, 4},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        pwquality_set_int_value(pwq, settings[i][0], settings[i][1]);
    /* For an e-mail address, the mailbox name is what people put in passwords. */
    char name[256] = "";
    if (user) {
        snprintf(name, sizeof name, "%s", user);
        char *at = strchr(name, '@');
        if (at)
            *at = '\0';
        user = name;
    }
    int rc = pwq_check(pwq, password, user, reason, n);
    if (rc >= 0) {
        char core[4 * AUTH_PASSWORD_MAX_CHARS + 1];
        password_core(password, core, sizeof core);
        /* Cores shorter than cracklib's minimum say nothing either way. */
        if (strlen(core) >= 6 && strcmp(core, password) != 0 && pwq_check(pwq, core, user, reason, n) < 0) {
            snprintf(reason, n, "the password is a common word or name with digits, symbols or repeats added");
            rc = PWQ_ERROR_CRACKLIB_CHECK;
        }
    }
    pwquality_free_settings(pwq);
    if (rc >= 0)
        return ERR_OK;
    return rc == PWQ_ERROR_MEM_ALLOC ? ERR_NOMEM : ERR_WEAK_PASSWORD;
}

enum err auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_MAX])
{
    _Static_assert(AUTH_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "hash buffer");
    if (crypto_pwhash_str_alg(out, password, strlen(password), OPSLIMIT, MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ERR_NOMEM;
    return ERR_OK;
}

/* Must keep OPSLIMIT and MEMLIMIT above (m=19456 KiB, t=2). */
const char AUTH_PASSWORD_DUMMY_HASH[] =
    "$argon2id$v=19$m=19456,t=2,p=1$sW6R3gkav1dYFelZRZrO1Q$fBztqbNfv2XJKPjEJaBwe0fZKs1RNm+UQX7SQtRJryk";

bool auth_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
