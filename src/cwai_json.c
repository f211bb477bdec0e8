#include "cwai_json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char    *b;
    size_t   len, cap;
    int      fail;
} out_t;

static int
grow(out_t *o, size_t more)
{
    size_t  cap;
    char   *nb;

    if (o->fail) {
        return -1;
    }
    if (o->len + more + 1 <= o->cap) {
        return 0;
    }
    cap = o->cap ? o->cap : 1024;
    while (cap < o->len + more + 1) {
        cap *= 2;
    }
    nb = realloc(o->b, cap);
    if (nb == NULL) {
        o->fail = 1;
        return -1;
    }
    o->b = nb;
    o->cap = cap;
    return 0;
}

static void
put(out_t *o, const char *s, size_t n)
{
    if (grow(o, n) == 0) {
        memcpy(o->b + o->len, s, n);
        o->len += n;
    }
}

static void
putc1(out_t *o, char c)
{
    if (grow(o, 1) == 0) {
        o->b[o->len++] = c;
    }
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if it is
 * not one: jansson's utf8_check_first/utf8_check_full rules (no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char  u = s[0];
    size_t         k, i;
    uint32_t       v;

    if (u >= 0xC2 && u <= 0xDF) {
        k = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        k = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        k = 4;
        v = u & 0x07;
    } else {
        return 0;
    }
    if (k > n) {
        return 0;
    }
    for (i = 1; i < k; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)
        || (k == 3 && v < 0x800) || (k == 4 && v < 0x10000))
    {
        return 0;
    }
    return k;
}

/* jansson's dump_string() without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH:
 * '"', '\\' and control characters escaped, the rest copied as is. */
static void
put_string(out_t *o, const char *str, size_t len)
{
    const unsigned char  *s = (const unsigned char *) str, *end = s + len;
    const unsigned char  *run = s;
    char                  esc[8];
    size_t                k;

    putc1(o, '"');
    while (s < end) {
        unsigned char  c = *s;

        if (c >= 0x80) {
            k = utf8_seq(s, (size_t) (end - s));
            if (k == 0) {
                o->fail = 1;
                return;
            }
            s += k;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            s++;
            continue;
        }
        put(o, (const char *) run, (size_t) (s - run));
        switch (c) {
        case '"':  put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        case '\b': put(o, "\\b", 2); break;
        case '\f': put(o, "\\f", 2); break;
        case '\n': put(o, "\\n", 2); break;
        case '\r': put(o, "\\r", 2); break;
        case '\t': put(o, "\\t", 2); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04X", (unsigned) c);
            put(o, esc, 6);
        }
        s++;
        run = s;
    }
    put(o, (const char *) run, (size_t) (s - run));
    putc1(o, '"');
}

static void
put_value(out_t *o, const json_t *j, size_t flags)
{
    char         num[32];
    int          n;
    size_t       i;
    const char  *key;
    json_t      *v;
    void        *it;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        putc1(o, '{');
        for (it = json_object_iter((json_t *) j), i = 0; it != NULL && !o->fail;
             it = json_object_iter_next((json_t *) j, it), i++)
        {
            key = json_object_iter_key(it);
            if (i) {
                putc1(o, ',');
            }
            put_string(o, key, json_object_iter_key_len(it));
            putc1(o, ':');
            put_value(o, json_object_iter_value(it), flags);
        }
        putc1(o, '}');
        break;
    case JSON_ARRAY:
        putc1(o, '[');
        for (i = 0; i < json_array_size(j) && !o->fail; i++) {
            if (i) {
                putc1(o, ',');
            }
            v = json_array_get(j, i);
            put_value(o, v, flags);
        }
        putc1(o, ']');
        break;
    case JSON_STRING:
        put_string(o, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        put(o, num, (size_t) n);
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    default: {
        /* reals are rare here: jansson's own formatting, exactly */
        char  *s = json_dumps(j, flags | JSON_ENCODE_ANY);

        if (s == NULL) {
            o->fail = 1;
            return;
        }
        put(o, s, strlen(s));
        free(s);
    }
    }
}

char *
cwai_json_dumps(const json_t *j, size_t flags, size_t *len)
{
    out_t  o;
    char  *s;

    if ((flags & ~(size_t) (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(31)))
        || !(flags & JSON_COMPACT) || !(json_is_object(j) || json_is_array(j)))
    {
        s = json_dumps(j, flags);
        if (s != NULL && len != NULL) {
            *len = strlen(s);
        }
        return s;
    }
    memset(&o, 0, sizeof(o));
    put_value(&o, j, flags);
    if (o.fail || grow(&o, 0) != 0) {
        free(o.b);
        return NULL;
    }
    o.b[o.len] = '\0';
    if (len != NULL) {
        *len = o.len;
    }
    return o.b;
}


/* ---- reading -------------------------------------------------------------- */

/* deeper documents go to jansson (its own limit is 2048) */
#define RD_MAX_DEPTH  256

typedef struct {
    const unsigned char  *p, *end;
    size_t                flags;
    unsigned              depth;
    char                 *tmp;          /* strings with escapes, decoded */
    size_t                tmpcap;
} rd_t;

static json_t *rd_value(rd_t *r);

static void
rd_ws(rd_t *r)
{
    while (r->p < r->end
           && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
    {
        r->p++;
    }
}

static int
hex4(const unsigned char *q, uint32_t *v)
{
    size_t  i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        unsigned char  c = q[i];

        *v <<= 4;
        if (c >= '0' && c <= '9') {
            *v |= (uint32_t) (c - '0');
        } else if (c >= 'a' && c <= 'f') {
            *v |= (uint32_t) (c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            *v |= (uint32_t) (c - 'A' + 10);
        } else {
            return -1;
        }
    }
    return 0;
}

/* A string's text after its opening quote: *s and *n point into the input
 * when it has no escapes, else into r->tmp (valid until the next string). */
static int
rd_string(rd_t *r, const char **s, size_t *n)
{
    const unsigned char  *start = r->p, *q = r->p;
    size_t                k, len;
    uint32_t              cp, lo;

    while (q < r->end) {
        unsigned char  c = *q;

        if (c == '"') {
            *s = (const char *) start;
            *n = (size_t) (q - start);
            r->p = q + 1;
            return 0;
        }
        if (c == '\\') {
            break;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c >= 0x80) {
            k = utf8_seq(q, (size_t) (r->end - q));
            if (k == 0) {
                return -1;
            }
            q += k;
        } else {
            q++;
        }
    }
    if (q >= r->end) {
        return -1;
    }
    /* escapes: decoded text is never longer than its JSON form */
    if (r->tmpcap < (size_t) (r->end - start) + 1) {
        char  *t = realloc(r->tmp, (size_t) (r->end - start) + 1);

        if (t == NULL) {
            return -1;
        }
        r->tmp = t;
        r->tmpcap = (size_t) (r->end - start) + 1;
    }
    len = (size_t) (q - start);
    memcpy(r->tmp, start, len);
    while (q < r->end) {
        unsigned char  c = *q;

        if (c == '"') {
            *s = r->tmp;
            *n = len;
            r->p = q + 1;
            return 0;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c >= 0x80) {
            k = utf8_seq(q, (size_t) (r->end - q));
            if (k == 0) {
                return -1;
            }
            memcpy(r->tmp + len, q, k);
            len += k;
            q += k;
            continue;
        }
        if (c != '\\') {
            r->tmp[len++] = (char) c;
            q++;
            continue;
        }
        if (++q >= r->end) {
            return -1;
        }
        switch (*q) {
        case '"': case '\\': case '/': r->tmp[len++] = (char) *q; break;
        case 'b': r->tmp[len++] = '\b'; break;
        case 'f': r->tmp[len++] = '\f'; break;
        case 'n': r->tmp[len++] = '\n'; break;
        case 'r': r->tmp[len++] = '\r'; break;
        case 't': r->tmp[len++] = '\t'; break;
        case 'u':
            if (r->end - q < 5 || hex4(q + 1, &cp) != 0) {
                return -1;
            }
            q += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (r->end - q < 7 || q[1] != '\\' || q[2] != 'u'
                    || hex4(q + 3, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                {
                    return -1;
                }
                q += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
                return -1;      /* a lone surrogate, or NUL: jansson says why */
            }
            if (cp < 0x80) {
                r->tmp[len++] = (char) cp;
            } else if (cp < 0x800) {
                r->tmp[len++] = (char) (0xC0 | (cp >> 6));
                r->tmp[len++] = (char) (0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                r->tmp[len++] = (char) (0xE0 | (cp >> 12));
                r->tmp[len++] = (char) (0x80 | ((cp >> 6) & 0x3F));
                r->tmp[len++] = (char) (0x80 | (cp & 0x3F));
            } else {
                r->tmp[len++] = (char) (0xF0 | (cp >> 18));
                r->tmp[len++] = (char) (0x80 | ((cp >> 12) & 0x3F));
                r->tmp[len++] = (char) (0x80 | ((cp >> 6) & 0x3F));
                r->tmp[len++] = (char) (0x80 | (cp & 0x3F));
            }
            break;
        default:
            return -1;
        }
        q++;
    }
    return -1;
}

#define RD_DIGIT(q)  ((q) < r->end && *(q) >= '0' && *(q) <= '9')

/* jansson's number grammar; the value from strtoll/strtod as jansson's */
static json_t *
rd_number(rd_t *r)
{
    const unsigned char  *q = r->p;
    char                  buf[64], *e;
    size_t                len;
    int                   real = 0;
    long long             iv;
    double                dv;
    struct lconv         *lc;

    if (q < r->end && *q == '-') {
        q++;
    }
    if (q < r->end && *q == '0') {
        q++;
        if (RD_DIGIT(q)) {
            return NULL;
        }
    } else if (RD_DIGIT(q)) {
        while (RD_DIGIT(q)) {
            q++;
        }
    } else {
        return NULL;
    }
    if (q < r->end && *q == '.') {
        q++;
        if (!RD_DIGIT(q)) {
            return NULL;
        }
        while (RD_DIGIT(q)) {
            q++;
        }
        real = 1;
    }
    if (q < r->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < r->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (!RD_DIGIT(q)) {
            return NULL;
        }
        while (RD_DIGIT(q)) {
            q++;
        }
        real = 1;
    }
    len = (size_t) (q - r->p);
    if (len >= sizeof(buf)) {
        return NULL;
    }
    memcpy(buf, r->p, len);
    buf[len] = '\0';
    errno = 0;
    if (!real) {
        iv = strtoll(buf, &e, 10);
        if (errno == ERANGE || e != buf + len) {
            return NULL;
        }
        r->p = q;
        return json_integer((json_int_t) iv);
    }
    /* jansson swaps in the locale's decimal point: only plain '.' here */
    lc = localeconv();
    if (lc == NULL || lc->decimal_point == NULL || strcmp(lc->decimal_point, ".") != 0) {
        return NULL;
    }
    dv = strtod(buf, &e);
    if (e != buf + len || ((dv == HUGE_VAL || dv == -HUGE_VAL) && errno == ERANGE)) {
        return NULL;
    }
    r->p = q;
    return json_real(dv);
}

static json_t *
rd_literal(rd_t *r, const char *word, size_t n, json_t *v)
{
    const unsigned char  *q = r->p + n;

    if ((size_t) (r->end - r->p) < n || memcmp(r->p, word, n) != 0
        || (q < r->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))))
    {
        return NULL;
    }
    r->p = q;
    return v;
}

static json_t *
rd_object(rd_t *r)
{
    json_t      *o = json_object(), *v;
    const char  *k;
    char        *kcopy;
    size_t       klen;

    if (o == NULL) {
        return NULL;
    }
    rd_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        if (r->p >= r->end || *r->p != '"') {
            goto fail;
        }
        r->p++;
        if (rd_string(r, &k, &klen) != 0) {
            goto fail;
        }
        /* a decoded key lives in r->tmp, which the value may reuse */
        kcopy = NULL;
        if (k == r->tmp) {
            kcopy = malloc(klen + 1);
            if (kcopy == NULL) {
                goto fail;
            }
            memcpy(kcopy, k, klen);
            k = kcopy;
        }
        if ((r->flags & JSON_REJECT_DUPLICATES) && json_object_getn(o, k, klen)) {
            free(kcopy);
            goto fail;
        }
        rd_ws(r);
        if (r->p >= r->end || *r->p != ':') {
            free(kcopy);
            goto fail;
        }
        r->p++;
        rd_ws(r);
        v = rd_value(r);
        if (v == NULL || json_object_setn_new_nocheck(o, k, klen, v) != 0) {
            free(kcopy);
            goto fail;
        }
        free(kcopy);
        rd_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            rd_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *
rd_array(rd_t *r)
{
    json_t  *a = json_array(), *v;

    if (a == NULL) {
        return NULL;
    }
    rd_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        v = rd_value(r);
        if (v == NULL || json_array_append_new(a, v) != 0) {
            break;
        }
        rd_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            rd_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static json_t *
rd_value(rd_t *r)
{
    const char  *s;
    size_t       n;
    json_t      *v;

    if (r->p >= r->end) {
        return NULL;
    }
    switch (*r->p) {
    case '{':
    case '[':
        if (++r->depth > RD_MAX_DEPTH) {
            return NULL;
        }
        r->p++;
        v = r->p[-1] == '{' ? rd_object(r) : rd_array(r);
        r->depth--;
        return v;
    case '"':
        r->p++;
        return rd_string(r, &s, &n) == 0 ? json_stringn_nocheck(s, n) : NULL;
    case 't':
        return rd_literal(r, "true", 4, json_true());
    case 'f':
        return rd_literal(r, "false", 5, json_false());
    case 'n':
        return rd_literal(r, "null", 4, json_null());
    default:
        return rd_number(r);
    }
}

json_t *
cwai_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    rd_t     r;
    json_t  *j = NULL;

    if (buf != NULL && !(flags & ~(size_t) (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES))) {
        memset(&r, 0, sizeof(r));
        r.p = (const unsigned char *) buf;
        r.end = r.p + len;
        r.flags = flags;
        rd_ws(&r);
        if (r.p < r.end && ((flags & JSON_DECODE_ANY) || *r.p == '{' || *r.p == '[')) {
            j = rd_value(&r);
            rd_ws(&r);
            if (j != NULL && r.p != r.end) {
                json_decref(j);
                j = NULL;
            }
        }
        free(r.tmp);
    }
    if (j == NULL) {
        return json_loadb(buf, len, flags, error);
    }
    if (error != NULL) {
        /* what json_loadb leaves in it on success */
        memset(error, 0, sizeof(*error));
        error->line = -1;
        error->column = -1;
        snprintf(error->source, sizeof(error->source), "%s", "<buffer>");
    }
    return j;
}
