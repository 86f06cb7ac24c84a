/* test_pos_sign.c: POS request signatures (pos/sign.h) on a real SQLite
 * store: the worked example of docs/pos-signing.md byte for byte, strict
 * parsing of the header, and every way a forged, stale or replayed request
 * is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "merchant/merchant.h"
#include "merchant/terminal.h"
#include "pos/sign.h"
#include "testutil.h"

/* The worked example of docs/pos-signing.md. */
#define EX_SECRET "3f8a9c1de27b4056a1c3e5f7092b4d6e8fa0c2e4167b39d5f0a2c4e6081b3d5f"
#define EX_KEY_ID "tk_7m3k9q2x5c8v1b4n6h0j2f5d9g"
#define EX_TS 1767225600
#define EX_NONCE "n7Yq2vK9pL4sX8wR"
#define EX_BODY "{\"code\":\"402718359604728155\",\"amount\":5000}"
#define EX_PATH "/pos/v1/cash-topups"
#define EX_BODY_SHA "410779836e1999c0a36b3481e857b7596f6cad6d820afd6069d092032aec895a"
#define EX_SIG "ddc5d3cf71239d2ffbc61241540b20341b7ff63a6715741a14105148af33b2ce"

#define NOW_MS 1767225600123LL
#define PATH "/pos/v1/cash-topups"
#define BODY "{\"code\":\"402718359604728155\",\"amount\":1000}"

struct fx {
    char *dir;
    struct store *st;
    uint8_t key[MASTERKEY_BYTES];
    struct merchant_terminal term;
    uint8_t secret[TERMINAL_SECRET_BYTES];
};

static void make_terminal(struct fx *f, struct merchant_terminal *t, uint8_t secret[TERMINAL_SECRET_BYTES])
{
    struct merchant m;
    struct merchant_store s;
    assert_int_equal(merchant_create(f->st, "Kessai Mart", &m), ERR_OK);
    assert_int_equal(merchant_store_create(f->st, m.id, "Tokyo Station", "1-9-1 Marunouchi, Chiyoda-ku, Tokyo",
                                           35681236, 139767125, "convenience", &s),
                     ERR_OK);
    char hex[TERMINAL_SECRET_HEX_BUF];
    assert_int_equal(terminal_create(f->st, f->key, s.id, t, hex), ERR_OK);
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(secret, TERMINAL_SECRET_BYTES, hex, strlen(hex), NULL, &n, NULL), 0);
    assert_int_equal(n, TERMINAL_SECRET_BYTES);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    f->st = tu_open_store(f->dir);
    char path[600];
    tu_path(path, sizeof path, f->dir, "master.key");
    assert_int_equal(masterkey_load_or_create(path, f->key), ERR_OK);
    make_terminal(f, &f->term, f->secret);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The header a terminal sends for this request. */
static void header_for(char *buf, size_t n, const char *key_id, const uint8_t secret[TERMINAL_SECRET_BYTES],
                       const char *method, const char *path, int64_t ts, const char *nonce, const char *body)
{
    char sig[POS_SIG_HEX_LEN + 1];
    pos_sign(secret, method, path, ts, nonce, body, strlen(body), sig);
    snprintf(buf, n, POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=%s,sig=%s", key_id, (long long)ts, nonce, sig);
}

static enum err verify(struct fx *f, const char *method, const char *path, const char *body, const char *hdr,
                       const char **why)
{
    struct merchant_terminal t;
    memset(&t, 0, sizeof t);
    return pos_verify_why(f->st, f->key, method, path, body, strlen(body), hdr, NOW_MS, &t, why);
}

static char *read_doc(void)
{
    /* KESSAI_ROOT (scripts/check.sh sets it), else the source tree this
     * file was compiled from (its path ends in tests/unit/test_pos_sign.c). */
    char root[512];
    const char *env = getenv("KESSAI_ROOT");
    if (env && *env) {
        snprintf(root, sizeof root, "%s", env);
    } else {
        snprintf(root, sizeof root, "%s", __FILE__);
        char *cut = strstr(root, "tests/unit/test_pos_sign.c");
        if (cut)
            *cut = '\0';
        if (root[0] == '\0')
            snprintf(root, sizeof root, ".");
    }
    char path[700];
    snprintf(path, sizeof path, "%s/docs/pos-signing.md", root);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s (set KESSAI_ROOT to the repository)", path);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    fclose(fp);
    assert_true(n > 0);
    return buf;
}

static void doc_example_is_reproduced_byte_for_byte(void **state)
{
    (void)state;
    uint8_t secret[TERMINAL_SECRET_BYTES];
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(secret, sizeof secret, EX_SECRET, strlen(EX_SECRET), NULL, &n, NULL), 0);
    assert_int_equal(n, sizeof secret);

    uint8_t h[crypto_hash_sha256_BYTES];
    char hex[sizeof h * 2 + 1];
    crypto_hash_sha256(h, (const uint8_t *)EX_BODY, strlen(EX_BODY));
    assert_string_equal(sodium_bin2hex(hex, sizeof hex, h, sizeof h), EX_BODY_SHA);
    assert_int_equal(strlen(EX_BODY), 43);

    char sig[POS_SIG_HEX_LEN + 1];
    pos_sign(secret, "POST", EX_PATH, EX_TS, EX_NONCE, EX_BODY, strlen(EX_BODY), sig);
    assert_string_equal(sig, EX_SIG);
    /* The method is signed upper case whatever the caller's spelling. */
    pos_sign(secret, "post", EX_PATH, EX_TS, EX_NONCE, EX_BODY, strlen(EX_BODY), sig);
    assert_string_equal(sig, EX_SIG);

    /* The canonical string, computed independently: HMAC over it in one go. */
    const char canonical[] = POS_SIG_SCHEME "\nPOST\n" EX_PATH "\n1767225600\n" EX_NONCE "\n" EX_BODY_SHA;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, secret, sizeof secret);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)canonical, strlen(canonical));
    crypto_auth_hmacsha256_final(&st, mac);
    assert_string_equal(sodium_bin2hex(hex, sizeof hex, mac, sizeof mac), EX_SIG);

    /* What the document prints is what pos_sign computes. */
    char *doc = read_doc();
    char line[400];
    pos_sign(secret, "POST", EX_PATH, EX_TS, EX_NONCE, EX_BODY, strlen(EX_BODY), sig);
    snprintf(line, sizeof line, "signature: %s\n", sig);
    assert_non_null(strstr(doc, line));
    snprintf(line, sizeof line, "body sha-256: %s\n", EX_BODY_SHA);
    assert_non_null(strstr(doc, line));
    snprintf(line, sizeof line, "Authorization: " POS_SIG_SCHEME " key_id=%s,ts=%d,nonce=%s,sig=%s\n", EX_KEY_ID,
             EX_TS, EX_NONCE, sig);
    assert_non_null(strstr(doc, line));
    assert_non_null(strstr(doc, "secret:  " EX_SECRET "\n"));
    assert_non_null(strstr(doc, "body:    " EX_BODY "\n"));
    assert_non_null(strstr(doc, "\n    " EX_BODY "\n"));
    /* The canonical string as the document shows it (indented six lines). */
    assert_non_null(strstr(doc, "    KESSAI-HMAC-SHA256\n    POST\n    " EX_PATH "\n    1767225600\n    " EX_NONCE
                                "\n    " EX_BODY_SHA "\n"));
    /* And the shell snippet names the same inputs. */
    assert_non_null(strstr(doc, "SECRET=" EX_SECRET "\n"));
    assert_non_null(strstr(doc, "BODY='" EX_BODY "'\n"));
    free(doc);
}

static void empty_body_hashes_as_empty_string(void **state)
{
    (void)state;
    uint8_t secret[TERMINAL_SECRET_BYTES] = {1};
    char a[POS_SIG_HEX_LEN + 1], b[POS_SIG_HEX_LEN + 1];
    pos_sign(secret, "GET", "/pos/v1/x", 1, "0123456789abcdef", NULL, 0, a);
    pos_sign(secret, "GET", "/pos/v1/x", 1, "0123456789abcdef", "", 0, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), POS_SIG_HEX_LEN);
}

static void well_formed_header_parses(void **state)
{
    (void)state;
    struct pos_auth_header h;
    assert_int_equal(pos_auth_parse(POS_SIG_SCHEME " key_id=" EX_KEY_ID ",ts=1767225600,nonce=" EX_NONCE
                                                  ",sig=" EX_SIG,
                                    &h),
                     ERR_OK);
    assert_string_equal(h.key_id, EX_KEY_ID);
    assert_int_equal(h.ts, EX_TS);
    assert_string_equal(h.nonce, EX_NONCE);
    assert_string_equal(h.sig_hex, EX_SIG);
    /* Longest nonce, '-' and '_' allowed. */
    assert_int_equal(pos_auth_parse(POS_SIG_SCHEME " key_id=tk_a,ts=1,nonce=" "abcdefghij-_ABCDEFGHIJ0123456789"
                                                  "abcdefghij-_ABCDEFGHIJ0123456789,sig=" EX_SIG,
                                    &h),
                     ERR_OK);
    assert_int_equal(strlen(h.nonce), POS_NONCE_MAX);
}

static void every_malformed_header_is_refused(void **state)
{
    (void)state;
#define K "key_id=" EX_KEY_ID
#define T "ts=1767225600"
#define N "nonce=" EX_NONCE
#define S "sig=" EX_SIG
    static const char *const bad[] = {
        "",
        " ",
        POS_SIG_SCHEME,
        POS_SIG_SCHEME " ",
        "Bearer " K "," T "," N "," S,
        "kessai-hmac-sha256 " K "," T "," N "," S,              /* scheme case */
        "KESSAI-HMAC-SHA1 " K "," T "," N "," S,                /* other scheme */
        POS_SIG_SCHEME "  " K "," T "," N "," S,                /* two spaces */
        POS_SIG_SCHEME "\t" K "," T "," N "," S,                /* tab */
        " " POS_SIG_SCHEME " " K "," T "," N "," S,             /* leading space */
        POS_SIG_SCHEME " " K "," T "," N "," S " ",             /* trailing space */
        POS_SIG_SCHEME " " K "," T "," N "," S "\n",            /* trailing newline */
        POS_SIG_SCHEME " " K "," T "," N "," S ",",             /* trailing comma */
        POS_SIG_SCHEME " " K "," T "," N "," S ",x=1",          /* extra field */
        POS_SIG_SCHEME " " K ", " T "," N "," S,                /* space after comma */
        POS_SIG_SCHEME " " T "," K "," N "," S,                 /* order */
        POS_SIG_SCHEME " " K "," N "," T "," S,                 /* order */
        POS_SIG_SCHEME " " K "," T "," S "," N,                 /* order */
        POS_SIG_SCHEME " " T "," N "," S,                       /* no key_id */
        POS_SIG_SCHEME " " K "," N "," S,                       /* no ts */
        POS_SIG_SCHEME " " K "," T "," S,                       /* no nonce */
        POS_SIG_SCHEME " " K "," T "," N,                       /* no sig */
        POS_SIG_SCHEME " " K "," K "," T "," N "," S,           /* duplicate */
        POS_SIG_SCHEME " " K ";" T ";" N ";" S,                 /* separator */
        POS_SIG_SCHEME " KEY_ID=" EX_KEY_ID "," T "," N "," S,  /* name case */
        POS_SIG_SCHEME " key_id =" EX_KEY_ID "," T "," N "," S, /* space before = */
        POS_SIG_SCHEME " key_id=\"" EX_KEY_ID "\"," T "," N "," S, /* quoted */
        POS_SIG_SCHEME " key_id=," T "," N "," S,               /* empty key id */
        POS_SIG_SCHEME " key_id=tk_0123456789012345678901234567890," T "," N "," S, /* 32 chars */
        POS_SIG_SCHEME " key_id=tk_a'--," T "," N "," S,        /* bad char */
        POS_SIG_SCHEME " key_id=tk_%41," T "," N "," S,         /* percent */
        POS_SIG_SCHEME " " K ",ts=," N "," S,                   /* empty ts */
        POS_SIG_SCHEME " " K ",ts=01767225600," N "," S,        /* leading zero */
        POS_SIG_SCHEME " " K ",ts=0," N "," S,                  /* zero */
        POS_SIG_SCHEME " " K ",ts=-1767225600," N "," S,        /* sign */
        POS_SIG_SCHEME " " K ",ts=+1767225600," N "," S,        /* sign */
        POS_SIG_SCHEME " " K ",ts=1767225600.5," N "," S,       /* fraction */
        POS_SIG_SCHEME " " K ",ts=1e9," N "," S,                /* exponent */
        POS_SIG_SCHEME " " K ",ts=0x6955b900," N "," S,         /* hex */
        POS_SIG_SCHEME " " K ",ts=9999999999999," N "," S,      /* 13 digits */
        POS_SIG_SCHEME " " K ",ts=99999999999999999999999," N "," S, /* overflow */
        POS_SIG_SCHEME " " K "," T ",nonce=," S,                /* empty nonce */
        POS_SIG_SCHEME " " K "," T ",nonce=n7Yq2vK9pL4sX8w," S, /* 15 chars */
        POS_SIG_SCHEME " " K "," T ",nonce=abcdefghij-_ABCDEFGHIJ0123456789abcdefghij-_ABCDEFGHIJ0123456789x,"
                       S,                                       /* 65 chars */
        POS_SIG_SCHEME " " K "," T ",nonce=n7Yq2vK9pL4sX8w=," S,  /* padding */
        POS_SIG_SCHEME " " K "," T ",nonce=n7Yq2vK9pL4sX8w/," S,  /* base64 char */
        POS_SIG_SCHEME " " K "," T ",nonce=n7Yq2vK9pL4 sX8wR," S, /* space */
        POS_SIG_SCHEME " " K "," T "," N ",sig=",                 /* empty sig */
        POS_SIG_SCHEME " " K "," T "," N ",sig=ddc5d3cf71239d2ffbc61241540b20341b7ff63a6715741a14105148af33b2c",
        POS_SIG_SCHEME " " K "," T "," N ",sig=ddc5d3cf71239d2ffbc61241540b20341b7ff63a6715741a14105148af33b2ce0",
        POS_SIG_SCHEME " " K "," T "," N ",sig=DDC5D3CF71239D2FFBC61241540B20341B7FF63A6715741A14105148AF33B2CE",
        POS_SIG_SCHEME " " K "," T "," N ",sig=gdc5d3cf71239d2ffbc61241540b20341b7ff63a6715741a14105148af33b2ce",
        POS_SIG_SCHEME " " K "," T "," N ",sig=3sUsz3EjnS/7xhJBVAsgNBt/9jpnFXQaFBBRSK8zss4=",
    };
#undef K
#undef T
#undef N
#undef S
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pos_auth_header h;
        if (pos_auth_parse(bad[i], &h) != ERR_INVALID_SIGNATURE)
            fail_msg("accepted: [%s]", bad[i]);
    }
    struct pos_auth_header h;
    assert_int_equal(pos_auth_parse(NULL, &h), ERR_INVALID_SIGNATURE);
    /* An embedded NUL ends the C string: what follows it is never seen, and
     * what precedes it is incomplete. */
    const char nul[] = POS_SIG_SCHEME " key_id=" EX_KEY_ID "\0,ts=1767225600";
    assert_int_equal(pos_auth_parse(nul, &h), ERR_INVALID_SIGNATURE);
}

static void signed_request_verifies_once(void **state)
{
    struct fx *f = *state;
    char hdr[300];
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, NOW_MS / 1000, "nonce-0000000001", BODY);
    struct merchant_terminal t;
    memset(&t, 0, sizeof t);
    const char *why = "unset";
    assert_int_equal(pos_verify_why(f->st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, NOW_MS, &t, &why),
                     ERR_OK);
    assert_null(why);
    assert_int_equal(t.id, f->term.id);
    assert_int_equal(t.store_id, f->term.store_id);
    assert_string_equal(t.key_id, f->term.key_id);

    /* The very same request again: a replay. */
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "replayed_nonce");
    /* Even re-signed with a new ts (an attacker with the secret would not
     * need to replay; a confused terminal retrying must pick a new nonce). */
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, NOW_MS / 1000 + 1, "nonce-0000000001",
               BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "replayed_nonce");
    /* A new nonce passes. */
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, NOW_MS / 1000, "nonce-0000000002", BODY);
    assert_int_equal(pos_verify(f->st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, NOW_MS, &t), ERR_OK);
}

static void nonces_belong_to_their_terminal(void **state)
{
    struct fx *f = *state;
    struct merchant_terminal other;
    uint8_t other_secret[TERMINAL_SECRET_BYTES];
    make_terminal(f, &other, other_secret);
    char hdr[300];
    const char *why;
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, NOW_MS / 1000, "shared-nonce-0001", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
    header_for(hdr, sizeof hdr, other.key_id, other_secret, "POST", PATH, NOW_MS / 1000, "shared-nonce-0001", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
    /* One terminal's secret does not sign for another's key id. */
    header_for(hdr, sizeof hdr, other.key_id, f->secret, "POST", PATH, NOW_MS / 1000, "shared-nonce-0002", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "bad_signature");
}

static void tampered_requests_are_refused(void **state)
{
    struct fx *f = *state;
    const char *why;
    char hdr[300];
    int64_t ts = NOW_MS / 1000;

    /* Wrong secret. */
    uint8_t wrong[TERMINAL_SECRET_BYTES];
    memcpy(wrong, f->secret, sizeof wrong);
    wrong[0] ^= 1;
    header_for(hdr, sizeof hdr, f->term.key_id, wrong, "POST", PATH, ts, "tamper-nonce-0001", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "bad_signature");

    /* Signed for one request, sent with another: body, path, method. */
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts, "tamper-nonce-0002", BODY);
    const char *more = "{\"code\":\"402718359604728155\",\"amount\":9000}";
    assert_int_equal(verify(f, "POST", PATH, more, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "bad_signature");
    assert_int_equal(verify(f, "POST", PATH, BODY " ", hdr, &why), ERR_INVALID_SIGNATURE);
    assert_int_equal(verify(f, "POST", PATH, "", hdr, &why), ERR_INVALID_SIGNATURE);
    assert_int_equal(verify(f, "POST", "/pos/v1/refunds", BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_int_equal(verify(f, "POST", PATH "/", BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_int_equal(verify(f, "PUT", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "bad_signature");

    /* A header whose ts or nonce was changed after signing. */
    char sig[POS_SIG_HEX_LEN + 1];
    pos_sign(f->secret, "POST", PATH, ts, "tamper-nonce-0003", BODY, strlen(BODY), sig);
    snprintf(hdr, sizeof hdr, POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=tamper-nonce-0003,sig=%s", f->term.key_id,
             (long long)ts - 1, sig);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    snprintf(hdr, sizeof hdr, POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=tamper-nonce-0004,sig=%s", f->term.key_id,
             (long long)ts, sig);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "bad_signature");
}

static void timestamps_outside_the_window_are_refused(void **state)
{
    struct fx *f = *state;
    const char *why;
    char hdr[300];
    int64_t now_s = NOW_MS / 1000;

    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, now_s - 301, "window-nonce-0001", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "stale_timestamp");
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, now_s + 301, "window-nonce-0002", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "future_timestamp");
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, 1, "window-nonce-0003", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);

    /* The edges of the window pass. */
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, now_s - 300, "window-nonce-0004", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, now_s + 300, "window-nonce-0005", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
}

static void replay_is_refused_for_as_long_as_its_ts_is_valid(void **state)
{
    struct fx *f = *state;
    char hdr[300];
    struct merchant_terminal t;
    const char *why;
    /* Signed 300 s in the future (the terminal's clock runs fast), accepted
     * now; replayed 600 s later its ts is still within the window, and the
     * nonce must still be remembered. */
    int64_t ts = NOW_MS / 1000 + 300;
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts, "late-replay-00001", BODY);
    assert_int_equal(pos_verify(f->st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, NOW_MS, &t), ERR_OK);
    /* The last millisecond at which ts is still valid: the second after
     * now_s + 600.  Another request then purges old nonces first. */
    const int64_t last = (NOW_MS / 1000 + 601) * 1000 - 1;
    char other[300];
    header_for(other, sizeof other, f->term.key_id, f->secret, "POST", PATH, ts, "late-replay-00002", BODY);
    assert_int_equal(pos_verify(f->st, f->key, "POST", PATH, BODY, strlen(BODY), other, last, &t),
                     ERR_OK);
    assert_int_equal(
        pos_verify_why(f->st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, last, &t, &why),
        ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "replayed_nonce");
    /* Later still the ts itself is stale. */
    assert_int_equal(
        pos_verify_why(f->st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, last + 1, &t, &why),
        ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "stale_timestamp");
}

static void unknown_and_revoked_terminals_are_refused(void **state)
{
    struct fx *f = *state;
    const char *why;
    char hdr[300];
    int64_t ts = NOW_MS / 1000;

    header_for(hdr, sizeof hdr, "tk_00000000000000000000000000", f->secret, "POST", PATH, ts, "unknown-nonce-001",
               BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "unknown_terminal");

    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts, "revoked-nonce-001", BODY);
    assert_int_equal(terminal_revoke(f->st, f->term.id), ERR_OK);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "revoked_terminal");

    assert_int_equal(verify(f, "POST", PATH, BODY, NULL, &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "missing_header");
    assert_int_equal(verify(f, "POST", PATH, BODY, "Bearer abc", &why), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "malformed_header");
}

static void nonce_is_not_burnt_by_a_bad_signature(void **state)
{
    struct fx *f = *state;
    const char *why;
    char hdr[300];
    int64_t ts = NOW_MS / 1000;
    /* An attacker who saw a nonce (or guesses the terminal's next one)
     * sends garbage with it first: the terminal's real request must still
     * pass, and nothing was written for the garbage. */
    char forged[300];
    snprintf(forged, sizeof forged, POS_SIG_SCHEME " key_id=%s,ts=%lld,nonce=burn-attempt-0001,sig=%s",
             f->term.key_id, (long long)ts, EX_SIG);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(verify(f, "POST", PATH, BODY, forged, &why), ERR_INVALID_SIGNATURE);
        assert_string_equal(why, "bad_signature");
    }
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts, "burn-attempt-0001", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
    /* A stale or unknown-terminal request does not record its nonce either. */
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts - 400, "burn-attempt-0002", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_INVALID_SIGNATURE);
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, ts, "burn-attempt-0002", BODY);
    assert_int_equal(verify(f, "POST", PATH, BODY, hdr, &why), ERR_OK);
}

/* The nonce record itself (what a charge calls inside its transaction). */
static enum err record(struct store *st, const char *nonce, int64_t now_ms)
{
    return pos_nonce_record(st, "tk_7m3k9q2x5c8v1b4n6h0j2f5d9g", nonce, now_ms);
}

/* A charge refused after its nonce was recorded rolls back, and spends the
 * nonce again on its own (wallet/payment_core.c): what is undone must be
 * forgotten, what is committed never. */
static void a_nonce_goes_back_with_the_transaction_that_recorded_it(void **state)
{
    struct fx *f = *state;
    struct store *st = f->st;
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0001", NOW_MS), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0001", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(st->ops->rollback(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0001", NOW_MS), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0001", NOW_MS), ERR_INVALID_SIGNATURE);

    /* A savepoint rolled back takes its nonce and only its nonce; one
     * released goes with the transaction. */
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0002", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0003", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->rollback_savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0002", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0003", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0004", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->release_savepoint(st), ERR_OK);
    assert_int_equal(st->ops->release_savepoint(st), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0002", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(record(st, "undone-nonce-0003", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(record(st, "undone-nonce-0004", NOW_MS), ERR_INVALID_SIGNATURE);

    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0005", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->release_savepoint(st), ERR_OK);
    assert_int_equal(st->ops->rollback(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0005", NOW_MS), ERR_OK);

    /* A released savepoint's nonce belongs to what is around it: a
     * savepoint rolled back later, deeper, leaves it alone, and the
     * commit keeps it with the nonces before and after it. */
    assert_int_equal(st->ops->begin(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0006", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0007", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->release_savepoint(st), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(st->ops->savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0008", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->rollback_savepoint(st), ERR_OK);
    assert_int_equal(st->ops->release_savepoint(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0009", NOW_MS), ERR_OK);
    assert_int_equal(st->ops->commit(st), ERR_OK);
    assert_int_equal(record(st, "undone-nonce-0007", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(record(st, "undone-nonce-0008", NOW_MS), ERR_OK);
}

/* What the caller does for a request (a charge: the code, the balance)
 * happens after the signature is checked and before its nonce is spent:
 * a nonce this process holds already (recorded, committed or still in an
 * open transaction) is refused by the check itself, so a replay costs no
 * work.  One rolled back is free again, and one only another process holds
 * is left to the record, which stays the check. */
static void a_nonce_held_here_is_refused_before_any_work(void **state)
{
    struct fx *f = *state;
    struct merchant_terminal t;
    char hdr[300], nonce[POS_NONCE_MAX + 1];
    const char *why = "unset";
    header_for(hdr, sizeof hdr, f->term.key_id, f->secret, "POST", PATH, NOW_MS / 1000, "early-nonce-0001", BODY);
#define DEFERRED(st) pos_verify_deferred(st, f->key, "POST", PATH, BODY, strlen(BODY), hdr, NOW_MS, &t, nonce, &why)
    assert_int_equal(DEFERRED(f->st), ERR_OK); /* deferred: nothing spent yet */
    assert_int_equal(DEFERRED(f->st), ERR_OK);
    assert_string_equal(nonce, "early-nonce-0001");

    assert_int_equal(f->st->ops->begin(f->st), ERR_OK);
    assert_int_equal(pos_nonce_record(f->st, f->term.key_id, nonce, NOW_MS), ERR_OK);
    assert_int_equal(DEFERRED(f->st), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "replayed_nonce");
    assert_int_equal(f->st->ops->rollback(f->st), ERR_OK);
    assert_int_equal(DEFERRED(f->st), ERR_OK);
    assert_null(why);

    struct store *other = tu_open_store(f->dir);
    assert_int_equal(pos_nonce_record(f->st, f->term.key_id, nonce, NOW_MS), ERR_OK);
    assert_int_equal(DEFERRED(f->st), ERR_INVALID_SIGNATURE);
    assert_string_equal(why, "replayed_nonce");
    assert_int_equal(DEFERRED(other), ERR_OK); /* not learned there yet */
    assert_int_equal(pos_nonce_record(other, f->term.key_id, nonce, NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(DEFERRED(other), ERR_INVALID_SIGNATURE);
#undef DEFERRED
    store_close(other);
}

/* The nonces seen are kept in memory, per process: another connection (as
 * a second kessaid on the same file would be) and the store opened again
 * (kessaid restarted) must still refuse them, and a nonce rolled back on
 * one is free on the other.  Past the window they are forgotten. */
static void every_connection_and_a_reopened_store_see_a_nonce(void **state)
{
    struct fx *f = *state;
    struct store *other = tu_open_store(f->dir);
    assert_int_equal(record(f->st, "shared-seen-0001", NOW_MS), ERR_OK);
    assert_int_equal(record(other, "shared-seen-0001", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(record(other, "shared-seen-0002", NOW_MS + 1), ERR_OK);
    assert_int_equal(record(f->st, "shared-seen-0002", NOW_MS + 2), ERR_INVALID_SIGNATURE);
    assert_int_equal(f->st->ops->begin(f->st), ERR_OK);
    assert_int_equal(record(f->st, "shared-seen-0003", NOW_MS + 3), ERR_OK);
    assert_int_equal(f->st->ops->rollback(f->st), ERR_OK);
    assert_int_equal(record(other, "shared-seen-0003", NOW_MS + 4), ERR_OK);
    assert_int_equal(record(f->st, "shared-seen-0003", NOW_MS + 5), ERR_INVALID_SIGNATURE);
    store_close(other);

    other = tu_open_store(f->dir);
    for (int i = 1; i <= 3; i++) {
        char nonce[32];
        snprintf(nonce, sizeof nonce, "shared-seen-000%d", i);
        assert_int_equal(record(other, nonce, NOW_MS + 10), ERR_INVALID_SIGNATURE);
    }
    /* Still refused in the window's last second, forgotten well after it
     * (the window plus the grace, plus one bucket of the set). */
    const int64_t window_ms = (2 * POS_MAX_SKEW_S + POS_NONCE_GRACE_S) * 1000LL;
    assert_int_equal(record(other, "shared-seen-0001", NOW_MS + window_ms - 1000), ERR_INVALID_SIGNATURE);
    assert_int_equal(record(other, "shared-seen-0001", NOW_MS + window_ms + 2 * 60000), ERR_OK);
    store_close(other);
}

/* kessaid's connections share one set: what one of them leaves undone
 * (closed in the middle of a transaction) is free for the others, what it
 * committed is not; and each caller's window counts. */
static void connections_sharing_the_nonces(void **state)
{
    struct fx *f = *state;
    char path[600];
    tu_path(path, sizeof path, f->dir, "kessai.db");
    struct store_memory *shared = NULL;
    assert_int_equal(store_memory_new(&shared), ERR_OK);
    struct store *a = NULL, *b = NULL;
    assert_int_equal(store_open_sqlite_audited(path, NULL, shared, &a), ERR_OK);
    assert_int_equal(store_open_sqlite_audited(path, NULL, shared, &b), ERR_OK);
    assert_int_equal(record(a, "sharing-nonce-0001", NOW_MS), ERR_OK);
    assert_int_equal(record(b, "sharing-nonce-0001", NOW_MS), ERR_INVALID_SIGNATURE);
    assert_int_equal(a->ops->begin(a), ERR_OK);
    assert_int_equal(record(a, "sharing-nonce-0002", NOW_MS), ERR_OK);
    store_close(a);
    assert_int_equal(record(b, "sharing-nonce-0002", NOW_MS), ERR_OK);

    /* A window asked for is honoured, whatever the first caller asked. */
    const char *kid = "tk_7m3k9q2x5c8v1b4n6h0j2f5d9g";
    struct store *c = NULL;
    assert_int_equal(store_open_sqlite_audited(path, NULL, NULL, &c), ERR_OK);
    assert_int_equal(c->ops->pos_nonce_insert(c, kid, "window-nonce-0101", NOW_MS, NOW_MS - 60000), ERR_OK);
    assert_int_equal(c->ops->pos_nonce_insert(c, kid, "window-nonce-0101", NOW_MS + 300000, NOW_MS - 1),
                     ERR_CONFLICT);
    store_close(c);
    store_close(b);
    store_memory_free(shared);
}

/* kessaid reads the nonces of the window at start-up, outside any
 * transaction (the first request then holds no lock for long): only those
 * in the window, and those recorded after by another connection are still
 * caught up on. */
static void nonces_are_read_back_at_start_up(void **state)
{
    struct fx *f = *state;
    const int64_t window_ms = (2 * POS_MAX_SKEW_S + POS_NONCE_GRACE_S) * 1000LL;
    assert_int_equal(record(f->st, "startup-nonce-0000", NOW_MS - window_ms - 1000), ERR_OK);
    assert_int_equal(record(f->st, "startup-nonce-0001", NOW_MS - 1000), ERR_OK);
    assert_int_equal(record(f->st, "startup-nonce-0002", NOW_MS - 500), ERR_OK);

    struct store *b = tu_open_store(f->dir);
    size_t n = 99;
    assert_int_equal(b->ops->begin(b), ERR_OK);
    assert_int_equal(b->ops->pos_nonces_load(b, NOW_MS, NOW_MS - window_ms, &n), ERR_INVALID_PARAM);
    assert_int_equal(b->ops->rollback(b), ERR_OK);
    assert_int_equal(b->ops->pos_nonces_load(b, NOW_MS, NOW_MS - window_ms, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(pos_nonces_load(b, NOW_MS), ERR_OK); /* again: nothing new, nothing lost */
    assert_int_equal(record(f->st, "startup-nonce-0003", NOW_MS), ERR_OK);
    for (int i = 1; i <= 3; i++) {
        char nonce[32];
        snprintf(nonce, sizeof nonce, "startup-nonce-000%d", i);
        assert_int_equal(record(b, nonce, NOW_MS + 10), ERR_INVALID_SIGNATURE);
    }
    assert_int_equal(record(b, "startup-nonce-0000", NOW_MS + 10), ERR_OK); /* out of the window */
    store_close(b);
}

/* Clocks that disagree by minutes: a node whose clock runs 5 minutes
 * ahead, and a kessaid started before its clock was set (20 minutes
 * behind).  A nonce's time comes from whoever recorded it; each node must
 * still remember it for the whole window by its own clock. */
static void nodes_whose_clocks_disagree(void **state)
{
    struct fx *f = *state;
    const int64_t minute = 60000;
    struct store *slow = tu_open_store(f->dir);
    assert_int_equal(record(slow, "clock-nonce-0000", NOW_MS), ERR_OK);
    /* The fast node records at its NOW + 5 min... */
    assert_int_equal(record(f->st, "clock-nonce-0001", NOW_MS + 5 * minute), ERR_OK);
    /* ...the slow one reads it soon after, and the replay comes 13 minutes
     * later (its ts, NOW + 9 min, is valid on both clocks). */
    assert_int_equal(record(slow, "clock-nonce-0002", NOW_MS + 1000), ERR_OK);
    assert_int_equal(record(slow, "clock-nonce-0001", NOW_MS + 13 * minute), ERR_INVALID_SIGNATURE);
    store_close(slow);

    /* Started 20 minutes behind, then set right. */
    assert_int_equal(record(f->st, "clock-nonce-0003", NOW_MS + 13 * minute), ERR_OK);
    struct store *late = tu_open_store(f->dir);
    assert_int_equal(pos_nonces_load(late, NOW_MS - 7 * minute), ERR_OK);
    assert_int_equal(record(late, "clock-nonce-0003", NOW_MS + 14 * minute), ERR_INVALID_SIGNATURE);
    store_close(late);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_example_is_reproduced_byte_for_byte),
        cmocka_unit_test(empty_body_hashes_as_empty_string),
        cmocka_unit_test(well_formed_header_parses),
        cmocka_unit_test(every_malformed_header_is_refused),
        cmocka_unit_test_setup_teardown(signed_request_verifies_once, setup, teardown),
        cmocka_unit_test_setup_teardown(nonces_belong_to_their_terminal, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_requests_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(timestamps_outside_the_window_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_is_refused_for_as_long_as_its_ts_is_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_and_revoked_terminals_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(nonce_is_not_burnt_by_a_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(a_nonce_goes_back_with_the_transaction_that_recorded_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_nonce_held_here_is_refused_before_any_work, setup, teardown),
        cmocka_unit_test_setup_teardown(every_connection_and_a_reopened_store_see_a_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(connections_sharing_the_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(nonces_are_read_back_at_start_up, setup, teardown),
        cmocka_unit_test_setup_teardown(nodes_whose_clocks_disagree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
