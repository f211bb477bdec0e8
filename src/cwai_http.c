/*
 * Common request/response helpers of the sans-I/O core (see cwai_http.h).
 */
#include "cwai_http.h"
#include "cwai_json.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *up_names[CWAI_UP__COUNT] = {
    "llm", "embeddings", "vector", "erp", "chatwoot"
};

const char *
cwai_upstream_name(cwai_upstream_t up)
{
    if ((int) up < 0 || up >= CWAI_UP__COUNT) {
        return "?";
    }
    return up_names[up];
}

void
cwai_http_req_init(cwai_http_req_t *r, cwai_upstream_t up, const char *method)
{
    memset(r, 0, sizeof(*r));
    r->upstream = up;
    r->method = method ? method : "GET";
}

static void
wipe_free(char *s)
{
    if (s) {
        volatile char  *p = s;

        while (*p) {
            *p++ = '\0';
        }
        free(s);
    }
}

void
cwai_http_req_free(cwai_http_req_t *r)
{
    size_t  i;

    if (r == NULL) {
        return;
    }
    free(r->path);
    free(r->body);
    for (i = 0; i < r->nheaders && i < CWAI_HTTP_MAX_HEADERS; i++) {
        free(r->headers[i].name);
        if (r->headers[i].secret) {
            wipe_free(r->headers[i].value);
        } else {
            free(r->headers[i].value);
        }
    }
    free(r->cache_key);
    memset(r, 0, sizeof(*r));
}

int
cwai_http_req_set_path(cwai_http_req_t *r, const char *fmt, ...)
{
    va_list  ap;
    int      n;
    char    *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -1;
    }
    p = malloc((size_t) n + 1);
    if (p == NULL) {
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    free(r->path);
    r->path = p;
    return 0;
}

int
cwai_http_req_set_json(cwai_http_req_t *r, const json_t *body)
{
    char    *s;
    size_t   len;

    if (body == NULL) {
        return -1;
    }
    s = cwai_json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9), &len);
    if (s == NULL) {
        return -1;
    }
    free(r->body);
    r->body = s;
    r->body_len = len;
    r->content_type = "application/json";
    return 0;
}

int
cwai_http_req_add_header(cwai_http_req_t *r, const char *name,
    const char *value, int secret)
{
    cwai_header_t  *h;

    if (r->nheaders >= CWAI_HTTP_MAX_HEADERS || name == NULL || value == NULL) {
        return -1;
    }
    /* a header value must not smuggle a line break */
    if (strpbrk(value, "\r\n") != NULL || strpbrk(name, "\r\n: ") != NULL) {
        return -1;
    }
    h = &r->headers[r->nheaders];
    h->name = strdup(name);
    h->value = strdup(value);
    if (h->name == NULL || h->value == NULL) {
        free(h->name);
        free(h->value);
        h->name = h->value = NULL;
        return -1;
    }
    h->secret = secret;
    r->nheaders++;
    return 0;
}

const char *
cwai_http_req_header(const cwai_http_req_t *r, const char *name)
{
    size_t  i;

    for (i = 0; i < r->nheaders && i < CWAI_HTTP_MAX_HEADERS; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static uint64_t
hash_field(uint64_t h, const char *s, size_t len)
{
    uint64_t  n = len;

    h = cwai_hash64_more(h, &n, sizeof(n));
    return len ? cwai_hash64_more(h, s, len) : h;
}

char *
cwai_http_cache_key(const char *tenant, const char *kind, const char *model,
    const char *input, size_t input_len)
{
    uint64_t  h = CWAI_HASH64_INIT;
    char     *key;
    size_t    n;

    h = hash_field(h, tenant ? tenant : "", tenant ? strlen(tenant) : 0);
    h = hash_field(h, kind ? kind : "", kind ? strlen(kind) : 0);
    h = hash_field(h, model ? model : "", model ? strlen(model) : 0);
    h = hash_field(h, input ? input : "", input ? input_len : 0);
    kind = kind ? kind : "";
    n = strlen(kind) + 32;
    key = malloc(n);
    if (key) {
        snprintf(key, n, "cwai:%.16s:%016llx", kind, (unsigned long long) h);
    }
    return key;
}

int
cwai_http_req_set_cache(cwai_http_req_t *r, uint32_t ttl_ms, const char *tenant,
    const char *kind, const char *model, const char *input, size_t input_len)
{
    char  *k;

    if (ttl_ms == 0) {
        return 0;
    }
    k = cwai_http_cache_key(tenant, kind, model, input, input_len);
    if (k == NULL) {
        return -1;
    }
    free(r->cache_key);
    r->cache_key = k;
    r->cache_ttl_ms = ttl_ms;
    return 0;
}

/* ---- errors ------------------------------------------------------------- */

void
cwai_uperr_clear(cwai_uperr_t *e)
{
    if (e) {
        memset(e, 0, sizeof(*e));
    }
}

void
cwai_uperr_set(cwai_uperr_t *e, cwai_uperr_class_t cls, int status,
    const char *code, const char *fmt, ...)
{
    va_list  ap;
    char     buf[sizeof(e->message)];

    if (e == NULL) {
        return;
    }
    memset(e, 0, sizeof(*e));
    e->cls = cls;
    e->status = status;
    cwai_http_copy_text(e->code, sizeof(e->code), code ? code : "error",
                        code ? strlen(code) : 5);
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        cwai_http_copy_text(e->message, sizeof(e->message), buf, strlen(buf));
    }
}

const char *
cwai_uperr_class_name(cwai_uperr_class_t c)
{
    switch (c) {
    case CWAI_UPERR_NONE:  return "none";
    case CWAI_UPERR_RETRY: return "retry";
    default:               return "fatal";
    }
}

cwai_uperr_class_t
cwai_http_status_class(int status)
{
    if (status >= 200 && status < 300) {
        return CWAI_UPERR_NONE;
    }
    if (status == 0 || status == 408 || status == 409 || status == 425
        || status == 429 || (status >= 500 && status < 600))
    {
        return CWAI_UPERR_RETRY;
    }
    return CWAI_UPERR_FATAL;
}

int
cwai_http_precheck(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    if (resp == NULL || resp->status == 0) {
        cwai_uperr_set(err, CWAI_UPERR_RETRY, 0, "no_response",
                       "no response from the upstream");
        return -1;
    }
    if (resp->status < 100 || resp->status > 599) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "bad_status",
                       "invalid HTTP status %d", resp->status);
        return -1;
    }
    if (!resp->complete) {
        cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "truncated",
                       "truncated response body (%zu bytes)", resp->len);
        return -1;
    }
    if (resp->len > CWAI_HTTP_MAX_BODY) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "body_too_large",
                       "response body of %zu bytes", resp->len);
        return -1;
    }
    if (resp->len > 0 && resp->body == NULL) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "missing body");
        return -1;
    }
    return 0;
}

json_t *
cwai_http_json(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    json_error_t  je;
    json_t       *j;

    if (resp->len == 0 || resp->body == NULL) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "empty body");
        return NULL;
    }
    j = cwai_json_loadb(resp->body, resp->len, JSON_DECODE_ANY, &je);
    if (j == NULL) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "invalid JSON at byte %d: %s", je.position, je.text);
    }
    return j;
}

/* ---- retry hints ---------------------------------------------------------- */

static uint32_t
sat_ms(double ms)
{
    if (!(ms >= 0)) {
        return 0;
    }
    if (ms >= (double) UINT32_MAX) {
        return UINT32_MAX;
    }
    return (uint32_t) (ms + 0.5);
}

int
cwai_http_parse_duration_ms(const char *s, uint32_t *ms)
{
    double       total = 0, v, unit;
    const char  *p;
    char        *end;
    int          parts = 0;

    if (s == NULL) {
        return -1;
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    p = s;
    while (*p && *p != ' ' && *p != '\t') {
        if (!(isdigit((unsigned char) *p) || *p == '.')) {
            return -1;
        }
        errno = 0;
        v = strtod(p, &end);
        if (end == p || errno != 0 || !(v >= 0) || v > 1e12) {
            return -1;
        }
        p = end;
        if (*p == '\0' || *p == ' ' || *p == '\t') {
            if (parts > 0) {
                return -1;          /* "1m30" */
            }
            unit = 1000;            /* bare seconds */
        } else if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else if (p[0] == 'u' && p[1] == 's') {
            unit = 0.001;
            p += 2;
        } else if (p[0] == 'n' && p[1] == 's') {
            unit = 0.000001;
            p += 2;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else {
            return -1;
        }
        total += v * unit;
        parts++;
        if (parts > 8) {
            return -1;
        }
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (parts == 0 || *p != '\0') {
        return -1;
    }
    *ms = sat_ms(total);
    return 0;
}

static int
month_of(const char *m)
{
    static const char  *names = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int                 i;

    for (i = 0; i < 12; i++) {
        if (strncmp(names + i * 3, m, 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
parse_http_date(const char *s, int64_t *t)
{
    char           wd[4], mon[4], tz[4];
    cwai_utc_tm_t  tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wd, &tm.day, mon, &tm.year,
               &tm.hour, &tm.min, &tm.sec, tz) != 8
        || strcmp(tz, "GMT") != 0)
    {
        return -1;
    }
    tm.month = month_of(mon);
    if (tm.month == 0 || tm.day < 1 || tm.day > 31 || tm.year < 1970
        || tm.year > 9999 || tm.hour > 23 || tm.min > 59 || tm.sec > 60
        || tm.hour < 0 || tm.min < 0 || tm.sec < 0)
    {
        return -1;
    }
    *t = cwai_utc_mktime(&tm);
    return 0;
}

uint32_t
cwai_http_retry_after(const cwai_http_resp_t *resp)
{
    int64_t   now = resp ? resp->now : 0;
    uint32_t  ms;
    int64_t   t;
    char     *end;
    long long v;

    if (resp == NULL) {
        return 0;
    }
    if (resp->retry_after_ms) {
        errno = 0;
        v = strtoll(resp->retry_after_ms, &end, 10);
        if (errno == 0 && end != resp->retry_after_ms && *end == '\0' && v > 0) {
            return v > (long long) UINT32_MAX ? UINT32_MAX : (uint32_t) v;
        }
    }
    if (resp->retry_after) {
        if (cwai_http_parse_duration_ms(resp->retry_after, &ms) == 0
            && isdigit((unsigned char) resp->retry_after[0]))
        {
            return ms;
        }
        if (now > 0 && parse_http_date(resp->retry_after, &t) == 0) {
            if (t <= now) {
                return 0;
            }
            return (t - now) > (int64_t) (UINT32_MAX / 1000)
                   ? UINT32_MAX : (uint32_t) ((t - now) * 1000);
        }
    }
    if (resp->ratelimit_reset
        && cwai_http_parse_duration_ms(resp->ratelimit_reset, &ms) == 0)
    {
        return ms;
    }
    return 0;
}

int64_t
cwai_http_retry_delay(const cwai_uperr_t *e, unsigned attempt,
    unsigned max_retries, unsigned jitter_permille, uint32_t budget_ms)
{
    uint64_t  d;

    if (e == NULL || e->cls != CWAI_UPERR_RETRY) {
        return -1;
    }
    if (max_retries == 0) {
        max_retries = 2;
    }
    if (attempt >= max_retries) {
        return -1;
    }
    if (e->retry_after_ms > 0) {
        if (budget_ms > 0 && e->retry_after_ms > budget_ms) {
            return -1;
        }
        if (e->retry_after_ms <= 60000) {
            return e->retry_after_ms;
        }
    }
    d = 500ull << (attempt > 4 ? 4 : attempt);
    if (d > 8000) {
        d = 8000;
    }
    if (jitter_permille < 750) {
        jitter_permille = 750;
    }
    if (jitter_permille > 1000) {
        jitter_permille = 1000;
    }
    d = d * jitter_permille / 1000;
    if (budget_ms > 0 && d > budget_ms) {
        return -1;
    }
    return (int64_t) d;
}

/* ---- text ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    size_t  len, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return len;
}

void
cwai_http_copy_text(char *dst, size_t size, const char *src, size_t len)
{
    const unsigned char  *s = (const unsigned char *) src;
    size_t                i = 0, o = 0, k;

    if (size == 0) {
        return;
    }
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    while (i < len) {
        k = utf8_seq(s + i, len - i);
        if (k == 0) {               /* invalid byte: replace */
            if (o + 1 >= size) {
                break;
            }
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= size) {
            break;
        }
        if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f) && s[i] != '\n'
            && s[i] != '\t')
        {
            dst[o++] = ' ';
        } else {
            memcpy(dst + o, s + i, k);
            o += k;
        }
        i += k;
    }
    if (i < len && size >= 4) {
        /* cut: make room for "..." on a character boundary */
        while (o > 0 && o + 3 >= size) {
            o--;
            while (o > 0 && ((unsigned char) dst[o] & 0xc0) == 0x80) {
                o--;
            }
        }
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* ---- UTC calendar ---------------------------------------------------- */

int64_t
cwai_utc_days(int year, int month, int day)
{
    /* Howard Hinnant's days_from_civil */
    int64_t   y = (int64_t) year - (month <= 2);
    int64_t   era = (y >= 0 ? y : y - 399) / 400;
    unsigned  yoe = (unsigned) (y - era * 400);
    unsigned  doy = (unsigned) ((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5
                                + day - 1);
    unsigned  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}

int64_t
cwai_utc_mktime(const cwai_utc_tm_t *tm)
{
    return cwai_utc_days(tm->year, tm->month, tm->day) * 86400
           + tm->hour * 3600 + tm->min * 60 + tm->sec;
}

void
cwai_utc_split(int64_t t, cwai_utc_tm_t *tm)
{
    int64_t   days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t   secs = t - days * 86400;
    int64_t   z = days + 719468;
    int64_t   era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned  doe = (unsigned) (z - era * 146097);
    unsigned  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned  mp = (5 * doy + 2) / 153;
    unsigned  d = doy - (153 * mp + 2) / 5 + 1;
    unsigned  m = mp < 10 ? mp + 3 : mp - 9;

    tm->year = (int) ((int64_t) yoe + era * 400 + (m <= 2));
    tm->month = (int) m;
    tm->day = (int) d;
    tm->hour = (int) (secs / 3600);
    tm->min = (int) (secs % 3600 / 60);
    tm->sec = (int) (secs % 60);
    tm->wday = (int) (((days % 7) + 11) % 7);    /* 1970-01-01 was a Thursday */
}

static int
digits(const char *s, int n, int *out)
{
    int  v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
days_in_month(int y, int m)
{
    static const int  dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[m - 1];
}

int
cwai_utc_parse(const char *s, int64_t *t)
{
    cwai_utc_tm_t  tm;
    const char    *p;

    if (s == NULL) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    if (digits(s, 4, &tm.year) || s[4] != '-' || digits(s + 5, 2, &tm.month)
        || s[7] != '-' || digits(s + 8, 2, &tm.day))
    {
        return -1;
    }
    if (tm.month < 1 || tm.month > 12 || tm.day < 1
        || tm.day > days_in_month(tm.year, tm.month))
    {
        return -1;
    }
    p = s + 10;
    if (*p == ' ' || *p == 'T') {
        if (digits(p + 1, 2, &tm.hour) || p[3] != ':'
            || digits(p + 4, 2, &tm.min))
        {
            return -1;
        }
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &tm.sec)) {
                return -1;
            }
            p += 3;
        }
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char) *p)) {
                p++;
            }
        }
        if (*p == 'Z') {
            p++;
        }
        if (tm.hour > 23 || tm.min > 59 || tm.sec > 59) {
            return -1;
        }
    }
    if (*p != '\0') {
        return -1;
    }
    *t = cwai_utc_mktime(&tm);
    return 0;
}

int
cwai_http_fail(const cwai_http_resp_t *resp, cwai_uperr_t *err,
    const char *code, const char *message, size_t len)
{
    char                 cbuf[24];
    cwai_uperr_class_t   cls = cwai_http_status_class(resp->status);

    if (cls == CWAI_UPERR_NONE) {
        cls = CWAI_UPERR_FATAL;     /* a 2xx that a parser rejects */
    }
    if (code == NULL) {
        snprintf(cbuf, sizeof(cbuf), "http_%d", resp->status);
        code = cbuf;
    }
    cwai_uperr_set(err, cls, resp->status, code, NULL);
    if (err == NULL) {
        return -1;
    }
    if (message) {
        cwai_http_copy_text(err->message, sizeof(err->message), message, len);
    }
    if (resp->should_retry && resp->status != 0) {
        if (strcasecmp(resp->should_retry, "true") == 0) {
            err->cls = CWAI_UPERR_RETRY;
        } else if (strcasecmp(resp->should_retry, "false") == 0) {
            err->cls = CWAI_UPERR_FATAL;
        }
    }
    if (err->cls == CWAI_UPERR_RETRY) {
        err->retry_after_ms = cwai_http_retry_after(resp);
    }
    return -1;
}
