#include "cwai_sig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

static const char  hexdigits[] = "0123456789abcdef";

const char *
cwai_sig_result_name(cwai_sig_result_t r)
{
    switch (r) {
    case CWAI_SIG_OK:        return "ok";
    case CWAI_SIG_MISSING:   return "missing_signature";
    case CWAI_SIG_MALFORMED: return "malformed_signature";
    case CWAI_SIG_STALE:     return "stale_timestamp";
    case CWAI_SIG_MISMATCH:  return "bad_signature";
    }
    return "unknown";
}

int
cwai_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void
cwai_sig_compute(const void *secret, size_t secret_len, const char *ts,
    size_t ts_len, const void *body, size_t body_len, char hex_out[64])
{
    unsigned char  mac[EVP_MAX_MD_SIZE];
    size_t         mac_len = sizeof(mac), i;
    int            ok;
    EVP_PKEY      *key;
    EVP_MD_CTX    *md;

    /* EVP_DigestSign with an HMAC key: neither deprecated in OpenSSL 3 nor
     * missing in 1.1.1, and it hashes ts "." body without copying them. */
    key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, secret, secret_len);
    md = EVP_MD_CTX_new();
    ok = key != NULL && md != NULL
         && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1
         && EVP_DigestSignUpdate(md, ts, ts_len) == 1
         && EVP_DigestSignUpdate(md, ".", 1) == 1
         && EVP_DigestSignUpdate(md, body, body_len) == 1
         && EVP_DigestSignFinal(md, mac, &mac_len) == 1
         && mac_len == 32;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);

    if (!ok) {
        /* an impossible signature: never equal to a 64-hex header */
        memset(hex_out, 'x', 64);
        return;
    }
    for (i = 0; i < 32; i++) {
        hex_out[2 * i] = hexdigits[mac[i] >> 4];
        hex_out[2 * i + 1] = hexdigits[mac[i] & 0x0f];
    }
}

static int
parse_ts(const char *ts, size_t len, int64_t *out)
{
    int64_t  v = 0;
    size_t   i;

    if (len == 0 || len > 15) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (ts[i] < '0' || ts[i] > '9') {
            return 0;
        }
        v = v * 10 + (ts[i] - '0');
    }
    *out = v;
    return 1;
}

cwai_sig_result_t
cwai_sig_verify(const void *secret, size_t secret_len, const char *ts,
    size_t ts_len, const char *sig, size_t sig_len, const void *body,
    size_t body_len, int64_t now, int64_t max_skew)
{
    char     want[64], got[64];
    int64_t  t, age;
    size_t   i;

    if (sig == NULL || ts == NULL || sig_len == 0 || ts_len == 0) {
        return CWAI_SIG_MISSING;
    }
    if (sig_len != 7 + 64 || memcmp(sig, "sha256=", 7) != 0) {
        return CWAI_SIG_MALFORMED;
    }
    /* accept uppercase hex from other signers; Chatwoot sends lowercase */
    for (i = 0; i < 64; i++) {
        char c = sig[7 + i];
        if (c >= 'A' && c <= 'F') {
            c = (char) (c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return CWAI_SIG_MALFORMED;
        }
        got[i] = c;
    }
    if (!parse_ts(ts, ts_len, &t)) {
        return CWAI_SIG_MALFORMED;
    }
    if (max_skew > 0) {
        age = now - t;
        if (age > max_skew || age < -max_skew) {
            return CWAI_SIG_STALE;
        }
    }
    cwai_sig_compute(secret, secret_len, ts, ts_len, body, body_len, want);
    return cwai_ct_equal(want, got, 64) ? CWAI_SIG_OK : CWAI_SIG_MISMATCH;
}
