/*
 * The sans-I/O HTTP vocabulary shared by every upstream of the core.
 *
 * The core never performs I/O. A builder (cwai_openai.h, cwai_qdrant.h,
 * cwai_odoo.h, cwai_chatwoot.h) fills a cwai_http_req_t; the nginx adapter
 * performs it as a subrequest to the internal location
 *     <prefix of the upstream><req.path>     e.g. /_cwai/openai/v1/chat/completions
 * where the operator configured proxy_pass, TLS, keepalive, timeouts and the
 * static auth headers (proxy_set_header ...). The adapter then fills a
 * cwai_http_resp_t with what came back and hands it to the matching parser,
 * which returns a typed result or a classified cwai_uperr_t (retry / fatal).
 *
 * Ownership: every char * in cwai_http_req_t is malloc'd and owned by the
 * request (cwai_http_req_free); const char * members point to static strings.
 * A cwai_http_resp_t only borrows the caller's memory.
 */
#ifndef CWAI_HTTP_H
#define CWAI_HTTP_H

#include "cwai_common.h"

#include <jansson.h>

/* The kinds of upstream; the adapter maps each to a location prefix. */
typedef enum {
    CWAI_UP_LLM = 0,        /* OpenAI-compatible chat completions */
    CWAI_UP_EMBEDDINGS,     /* OpenAI-compatible embeddings */
    CWAI_UP_VECTOR,         /* Qdrant */
    CWAI_UP_ERP,            /* Odoo */
    CWAI_UP_CHATWOOT,       /* Chatwoot REST API */
    CWAI_UP__COUNT
} cwai_upstream_t;

/* "llm", "embeddings", "vector", "erp", "chatwoot"; "?" when out of range. */
const char *cwai_upstream_name(cwai_upstream_t up);

#define CWAI_HTTP_MAX_HEADERS   4
/* Bodies larger than this are refused by the parsers (error "body_too_large"). */
#define CWAI_HTTP_MAX_BODY      (32u * 1024 * 1024)

typedef struct {
    char  *name;
    char  *value;
    int    secret;      /* 1: never log the value (API keys, tokens) */
} cwai_header_t;

typedef struct {
    cwai_upstream_t  upstream;
    const char      *method;        /* static: "GET", "POST", "PUT" */
    char            *path;          /* the peer's own path incl. query, e.g.
                                       "/collections/rules/points/query" */
    char            *body;          /* JSON text (NUL-terminated), or NULL */
    size_t           body_len;
    const char      *content_type;  /* static; set with the body */
    /* Only headers the request itself needs (per-tenant Odoo key, a
     * per-request Chatwoot token); static ones belong in the location. */
    cwai_header_t    headers[CWAI_HTTP_MAX_HEADERS];
    size_t           nheaders;
    char            *cache_key;     /* stable key, or NULL: never cache */
    uint32_t         cache_ttl_ms;
    uint32_t         timeout_ms;    /* 0: the location's own timeouts */
} cwai_http_req_t;

void  cwai_http_req_init(cwai_http_req_t *r, cwai_upstream_t up,
    const char *method);
/* Frees what the request owns (secret header values are wiped first) and
 * zeroes it; safe on a zeroed or already freed request. */
void  cwai_http_req_free(cwai_http_req_t *r);

/* Helpers for builders. All return 0, or -1 on allocation failure/overflow. */
int   cwai_http_req_set_path(cwai_http_req_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Serialises body compactly (raw UTF-8; reals with 9 significant digits)
 * and sets content_type to "application/json". */
int   cwai_http_req_set_json(cwai_http_req_t *r, const json_t *body);
int   cwai_http_req_add_header(cwai_http_req_t *r, const char *name,
    const char *value, int secret);
/* Value of a request header (case-insensitive name), or NULL. */
const char *cwai_http_req_header(const cwai_http_req_t *r, const char *name);
/* cache_key = cwai_http_cache_key(...), cache_ttl_ms = ttl_ms (ttl 0: no-op). */
int   cwai_http_req_set_cache(cwai_http_req_t *r, uint32_t ttl_ms,
    const char *tenant, const char *kind, const char *model,
    const char *input, size_t input_len);

/*
 * "cwai:<kind>:<16 hex>" where the hex is a 64-bit FNV-1a over the
 * length-prefixed fields (tenant, kind, model, input): stable across
 * processes, builds and reloads. NULL fields count as empty. malloc'd.
 */
char *cwai_http_cache_key(const char *tenant, const char *kind,
    const char *model, const char *input, size_t input_len);

/* What came back. Header values are NUL-terminated copies or NULL. */
typedef struct {
    int          status;            /* HTTP status; 0: no response at all
                                       (connect error, timeout, reset) */
    const char  *body;
    size_t       len;
    int          complete;          /* 0: truncated (upstream closed early,
                                       buffer limit) */
    const char  *content_type;      /* Content-Type or NULL */
    const char  *retry_after;       /* Retry-After: seconds or HTTP-date */
    const char  *retry_after_ms;    /* retry-after-ms (OpenAI, non-standard) */
    const char  *ratelimit_reset;   /* x-ratelimit-reset-requests or -tokens
                                       (OpenAI durations "6m0s", "264ms");
                                       pass the larger, or either */
    const char  *should_retry;      /* x-should-retry: "true" | "false" */
    int64_t      now;               /* unix seconds at arrival; 0: unknown
                                       (an HTTP-date Retry-After is ignored) */
} cwai_http_resp_t;

typedef enum {
    CWAI_UPERR_NONE = 0,
    CWAI_UPERR_RETRY,       /* 408/409/429 rate limit, 5xx, no response,
                               truncated body: try again (see retry_after_ms) */
    CWAI_UPERR_FATAL        /* other 4xx, insufficient_quota, bad key,
                               malformed or hostile body: do not retry */
} cwai_uperr_class_t;

/* A classified upstream failure. Strings are bounded copies, safe to log:
 * they never contain request headers, keys or tokens. */
typedef struct {
    cwai_uperr_class_t  cls;
    int                 status;         /* HTTP status (0: none) */
    char                code[96];       /* machine code: "rate_limit_exceeded",
                                           "insufficient_quota", "no_response",
                                           "truncated", "malformed_body",
                                           "http_404", Odoo's exception name... */
    char                message[256];   /* upstream's message, shortened */
    uint32_t            retry_after_ms; /* server's hint; 0: none */
} cwai_uperr_t;

void cwai_uperr_clear(cwai_uperr_t *e);
void cwai_uperr_set(cwai_uperr_t *e, cwai_uperr_class_t cls, int status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "retry" / "fatal" / "none". */
const char *cwai_uperr_class_name(cwai_uperr_class_t c);

/*
 * The common first step of every parser: status 0 -> RETRY "no_response";
 * !complete -> RETRY "truncated"; len > CWAI_HTTP_MAX_BODY -> FATAL
 * "body_too_large". Returns 0 when the body may be read, -1 with err set.
 */
int  cwai_http_precheck(const cwai_http_resp_t *resp, cwai_uperr_t *err);

/* By status alone: 2xx NONE; 408, 409, 425, 429, 5xx, 0 RETRY; else FATAL. */
cwai_uperr_class_t cwai_http_status_class(int status);

/* Parses the body as JSON (any top-level value). NULL + err FATAL
 * "malformed_body" on a syntax error or an empty body. */
json_t *cwai_http_json(const cwai_http_resp_t *resp, cwai_uperr_t *err);

/*
 * A duration of OpenAI's rate-limit headers ("20ms", "1s", "6m0s",
 * "1h2m3.5s", "0.5s") or a bare number of seconds ("2", "1.5").
 * Returns 0 and *ms (saturated at UINT32_MAX), or -1.
 */
int  cwai_http_parse_duration_ms(const char *s, uint32_t *ms);

/*
 * The server's retry hint in ms: retry-after-ms, else Retry-After (seconds
 * or an IMF-fixdate relative to resp->now), else the rate-limit reset
 * duration; 0 when none (or unparseable).
 */
uint32_t cwai_http_retry_after(const cwai_http_resp_t *resp);

/*
 * The generic classification of a non-2xx reply, for parsers: class by
 * status (cwai_http_status_class), code "http_<status>", message = the
 * given text, retry_after_ms from the headers; x-should-retry overrides
 * the class. Always returns -1 (so parsers can "return cwai_http_fail(...)").
 */
int cwai_http_fail(const cwai_http_resp_t *resp, cwai_uperr_t *err,
    const char *code, const char *message, size_t len);

/*
 * The retry policy of the protocol notes (openai-python's defaults):
 * at most max_retries (2 when 0) retries; the server's hint when
 * 0 < hint <= 60 s; otherwise 500 ms * 2^attempt capped at 8 s, times a
 * jitter factor jitter_permille/1000 in [750, 1000] (pass a random value;
 * the core has no random source). attempt counts from 0 (first retry).
 * Returns the delay in ms, or -1: do not retry (fatal class, too many
 * attempts, or a hint longer than budget_ms when budget_ms > 0).
 */
int64_t cwai_http_retry_delay(const cwai_uperr_t *e, unsigned attempt,
    unsigned max_retries, unsigned jitter_permille, uint32_t budget_ms);

/* UTC calendar arithmetic (proleptic Gregorian, no time zone database). */
typedef struct {
    int  year, month, day;          /* month 1..12, day 1..31 */
    int  hour, min, sec;
    int  wday;                      /* 0 = Sunday (cwai_utc_split only) */
} cwai_utc_tm_t;

int64_t cwai_utc_days(int year, int month, int day);   /* days since 1970-01-01 */
int64_t cwai_utc_mktime(const cwai_utc_tm_t *tm);       /* ignores wday */
void    cwai_utc_split(int64_t t, cwai_utc_tm_t *tm);
/* "YYYY-MM-DD HH:MM:SS" (Odoo) or "YYYY-MM-DDTHH:MM:SS[.fff][Z]" -> unix
 * seconds; "YYYY-MM-DD" alone gives midnight. Fields range-checked. 0 or -1. */
int     cwai_utc_parse(const char *s, int64_t *t);

/* Bounded copy into dst[size] that never cuts a UTF-8 sequence and maps
 * control characters (except \n, \t) to spaces; "..." marks a cut. */
void cwai_http_copy_text(char *dst, size_t size, const char *src, size_t len);

#endif
