/*
 * Chatwoot webhook authentication (Chatwoot >= 4.12 account webhooks,
 * >= 4.13 agent bots and API inboxes):
 *   X-Chatwoot-Timestamp: <unix seconds>
 *   X-Chatwoot-Signature: sha256=<hex(HMAC-SHA256(secret, ts "." raw_body))>
 */
#ifndef CWAI_SIG_H
#define CWAI_SIG_H

#include "cwai_common.h"

typedef enum {
    CWAI_SIG_OK = 0,
    CWAI_SIG_MISSING,           /* no signature or no timestamp header */
    CWAI_SIG_MALFORMED,         /* not "sha256=<64 hex>", or a bad timestamp */
    CWAI_SIG_STALE,             /* timestamp outside the allowed skew */
    CWAI_SIG_MISMATCH           /* well-formed but wrong */
} cwai_sig_result_t;

/* Stable reason names used in JSON errors and metrics. */
const char *cwai_sig_result_name(cwai_sig_result_t r);

/* Constant-time comparison of n bytes; 1 when equal. */
int cwai_ct_equal(const void *a, const void *b, size_t n);

/* hex_out gets 64 lowercase hex characters (no terminator). */
void cwai_sig_compute(const void *secret, size_t secret_len,
    const char *ts, size_t ts_len, const void *body, size_t body_len,
    char hex_out[64]);

/*
 * Verifies a request. sig/ts may be NULL when the header was absent.
 * now and max_skew are in seconds; max_skew <= 0 disables the age check.
 */
cwai_sig_result_t cwai_sig_verify(const void *secret, size_t secret_len,
    const char *ts, size_t ts_len, const char *sig, size_t sig_len,
    const void *body, size_t body_len, int64_t now, int64_t max_skew);

#endif
