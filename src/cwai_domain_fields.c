/*
 * ngx_chatwootai core: typed readers for the fields of a domain file.
 * Each reader checks one value of a YAML mapping and reports a mistake
 * as "file:line:col: path: message".
 */
#include "cwai_domain_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E_SCHEMA  "domain_schema"

/* ---- paths and descriptions ---------------------------------------------- */

/* buf may be path itself */
const char *
cv_path(char *buf, const char *path, const char *key)
{
    char  tmp[CV_PATH];

    if (path == NULL || path[0] == '\0') {
        snprintf(tmp, CV_PATH, "%s", key);
    } else {
        snprintf(tmp, CV_PATH, "%s.%s", path, key);
    }
    memcpy(buf, tmp, CV_PATH);
    return buf;
}

const char *
cv_index(char *buf, const char *path, size_t i)
{
    char  tmp[CV_PATH];

    snprintf(tmp, CV_PATH, "%s[%zu]", path, i);
    memcpy(buf, tmp, CV_PATH);
    return buf;
}

const cwai_ynode_t *
cv_get(const cwai_ynode_t *map, const char *key)
{
    const cwai_ynode_t  *v = cwai_ymap_get(map, key);

    return (v == NULL || v->type == CWAI_YNULL) ? NULL : v;
}

static int
is_int_text(const char *s)
{
    if (*s == '-' || *s == '+') {
        s++;
    }
    if (!isdigit((unsigned char) *s)) {
        return 0;
    }
    while (isdigit((unsigned char) *s)) {
        s++;
    }
    return *s == '\0';
}

static int
is_float_text(const char *s)
{
    int  digits = 0;

    if (*s == '-' || *s == '+') {
        s++;
    }
    while (isdigit((unsigned char) *s)) {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char) *s)) {
            s++;
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') {
            s++;
        }
        if (!isdigit((unsigned char) *s)) {
            return 0;
        }
        while (isdigit((unsigned char) *s)) {
            s++;
        }
    }
    return *s == '\0';
}

static int
bool_text(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
        return 1;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
        return 0;
    }
    return -1;
}

const char *
cv_describe(const cwai_ynode_t *n, char *buf, size_t size)
{
    const char  *kind;

    switch (n->type) {
    case CWAI_YNULL:
        snprintf(buf, size, "nothing");
        return buf;
    case CWAI_YMAP:
        snprintf(buf, size, "a mapping");
        return buf;
    case CWAI_YSEQ:
        snprintf(buf, size, "a list");
        return buf;
    default:
        break;
    }
    if (n->quoted) {
        kind = "a string";
    } else if (is_int_text(n->str)) {
        kind = "an integer";
    } else if (is_float_text(n->str)) {
        kind = "a number";
    } else if (bool_text(n->str) >= 0) {
        kind = "a boolean";
    } else {
        kind = "a string";
    }
    if (n->len > 40) {
        snprintf(buf, size, "%s \"%.37s...\"", kind, n->str);
    } else {
        snprintf(buf, size, "%s \"%s\"", kind, n->str);
    }
    return buf;
}

static int
wrong_type(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    const char *expected)
{
    char  got[64];

    cwai_yerr(c->err, E_SCHEMA, n, "%s: expected %s, got %s", path, expected,
              cv_describe(n, got, sizeof(got)));
    return -1;
}

/* ---- suggestions ------------------------------------------------------------ */

/* optimal string alignment distance: edits and adjacent transpositions */
static size_t
distance(const char *a, const char *b)
{
    size_t  la = strlen(a), lb = strlen(b), i, j, v;
    size_t  m[33][33];

    if (la > 32 || lb > 32) {
        return 99;
    }
    for (i = 0; i <= la; i++) {
        m[i][0] = i;
    }
    for (j = 0; j <= lb; j++) {
        m[0][j] = j;
    }
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            v = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (m[i - 1][j] + 1 < v) {
                v = m[i - 1][j] + 1;
            }
            if (m[i][j - 1] + 1 < v) {
                v = m[i][j - 1] + 1;
            }
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && m[i - 2][j - 2] + 1 < v)
            {
                v = m[i - 2][j - 2] + 1;
            }
            m[i][j] = v;
        }
    }
    return m[la][lb];
}

const char *
cv_nearest(const char *s, const char *const *names)
{
    const char  *best = NULL;
    size_t       bestd = 99, d, limit;

    for (; *names; names++) {
        d = distance(s, *names);
        if (strlen(s) >= 4 && strlen(*names) >= 4
            && (strncmp(s, *names, strlen(s)) == 0 || strncmp(*names, s, strlen(*names)) == 0))
        {
            d = 1;              /* a prefix: "schedule" -> "scheduling" */
        }
        if (d < bestd) {
            bestd = d;
            best = *names;
        }
    }
    limit = strlen(s) / 3;
    if (limit < 1) {
        limit = 1;
    }
    if (limit > 3) {
        limit = 3;
    }
    return bestd <= limit ? best : NULL;
}

void
cv_join(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t  i, used = 0, len;

    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        len = strlen(names[i]);
        if (used + len + 6 >= size) {
            snprintf(buf + used, size - used, "%s...", i ? ", " : "");
            return;
        }
        used += (size_t) snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    }
}

/* ---- containers ------------------------------------------------------------ */

int
cv_map(cwai_conv_t *c, const cwai_ynode_t *n, const char *path,
    const char *const *allowed)
{
    size_t       i, count;
    const char  *near;
    char         list[200];

    if (n->type != CWAI_YMAP) {
        return wrong_type(c, n, path, "a mapping");
    }
    if (allowed == NULL) {
        return 0;
    }
    for (count = 0; allowed[count]; count++) {
        /* count */
    }
    for (i = 0; i < n->n; i++) {
        size_t  k;

        for (k = 0; k < count; k++) {
            if (strcmp(n->keys[i]->str, allowed[k]) == 0) {
                break;
            }
        }
        if (k < count) {
            continue;
        }
        near = cv_nearest(n->keys[i]->str, allowed);
        if (near && path[0]) {
            cwai_yerr(c->err, E_SCHEMA, n->keys[i], "unknown key \"%s\" in %s; did you mean \"%s\"?",
                      n->keys[i]->str, path, near);
        } else if (near) {
            cwai_yerr(c->err, E_SCHEMA, n->keys[i], "unknown section \"%s\"; did you mean \"%s\"?",
                      n->keys[i]->str, near);
        } else {
            cv_join(list, sizeof(list), allowed, count);
            if (path[0]) {
                cwai_yerr(c->err, E_SCHEMA, n->keys[i], "unknown key \"%s\" in %s (allowed: %s)",
                          n->keys[i]->str, path, list);
            } else {
                cwai_yerr(c->err, E_SCHEMA, n->keys[i], "unknown section \"%s\" (allowed: %s)",
                          n->keys[i]->str, list);
            }
        }
        return -1;
    }
    return 0;
}

int
cv_seq(cwai_conv_t *c, const cwai_ynode_t *n, const char *path)
{
    if (n->type != CWAI_YSEQ) {
        return wrong_type(c, n, path, "a list");
    }
    return 0;
}

int
cv_missing(cwai_conv_t *c, const cwai_ynode_t *map, const char *path,
    const char *key)
{
    if (path[0]) {
        cwai_yerr(c->err, E_SCHEMA, map, "%s: missing required key \"%s\"", path, key);
    } else {
        cwai_yerr(c->err, E_SCHEMA, map, "missing required section \"%s\"", key);
    }
    return -1;
}

static const cwai_ynode_t *
field(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int *rc)
{
    const cwai_ynode_t  *v = cv_get(map, key);

    *rc = 0;
    if (v == NULL && (flags & CV_REQ)) {
        *rc = cv_missing(c, map, path, key);
    }
    return v;
}

/* ---- scalars ----------------------------------------------------------------- */

int
cv_check_id(cwai_conv_t *c, const cwai_ynode_t *n, const char *path, unsigned flags)
{
    const unsigned char  *p = (const unsigned char *) n->str;

    if (flags & CV_SLUG) {
        if (!(islower(*p) || isdigit(*p))) {
            goto bad_slug;
        }
        for (; *p; p++) {
            if (!(islower(*p) || isdigit(*p) || *p == '_' || *p == '-')) {
                goto bad_slug;
            }
        }
        return 0;
    bad_slug:
        cwai_yerr(c->err, E_SCHEMA, n,
                  "%s: \"%s\" is not a valid name (lowercase letters, digits, _ and -)",
                  path, n->str);
        return -1;
    }
    if (flags & CV_ID) {
        if (!isalnum(*p)) {
            goto bad_id;
        }
        for (; *p; p++) {
            if (!(isalnum(*p) || *p == '_' || *p == '-' || *p == '.')) {
                goto bad_id;
            }
        }
        if (n->len > 64) {
            goto bad_id;
        }
        return 0;
    bad_id:
        cwai_yerr(c->err, E_SCHEMA, n,
                  "%s: \"%s\" is not a valid id (letters, digits, _ - and ., at most 64)",
                  path, n->str);
        return -1;
    }
    return 0;
}

int
cv_text(cwai_conv_t *c, const cwai_ynode_t *n, const char *path, const char *s)
{
    const char  *p, *q;

    for (p = s; *p; p++) {
        if (*p == '}') {
            cwai_yerr(c->err, E_SCHEMA, n, "%s: \"}\" without \"{\" (placeholders are {name})",
                      path);
            return -1;
        }
        if (*p != '{') {
            continue;
        }
        q = p + 1;
        if (!(islower((unsigned char) *q) || *q == '_')) {
            goto bad;
        }
        while (islower((unsigned char) *q) || isdigit((unsigned char) *q) || *q == '_'
               || *q == '.')
        {
            q++;
        }
        if (*q != '}') {
            goto bad;
        }
        p = q;
        continue;
    bad:
        cwai_yerr(c->err, E_SCHEMA, n,
                  "%s: bad placeholder at \"%.20s\" (expected {name}: lowercase letters, digits, _ and .)",
                  path, p);
        return -1;
    }
    return 0;
}

static int
scalar_str(cwai_conv_t *c, const cwai_ynode_t *v, const char *path, unsigned flags,
    const char **out)
{
    if (v->type != CWAI_YSCALAR) {
        return wrong_type(c, v, path, "a string");
    }
    if ((flags & CV_NONEMPTY) && v->len == 0) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: must not be empty", path);
        return -1;
    }
    if ((flags & (CV_ID | CV_SLUG)) && cv_check_id(c, v, path, flags) != 0) {
        return -1;
    }
    if ((flags & CV_TEXT) && cv_text(c, v, path, v->str) != 0) {
        return -1;
    }
    *out = cwai_arena_strndup(c->a, v->str, v->len);
    return 0;
}

int
cv_str(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, const char **out)
{
    int                  rc;
    char                 p[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    return scalar_str(c, v, cv_path(p, path, key), flags, out);
}

int
cv_int(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int64_t min, int64_t max, int64_t *out)
{
    int                  rc;
    char                 p[CV_PATH];
    long long            x;
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR || v->quoted || !is_int_text(v->str)) {
        return wrong_type(c, v, p, "an integer");
    }
    errno = 0;
    x = strtoll(v->str, NULL, 10);
    if (errno != 0 || x < min || x > max) {
        if (max == INT64_MAX) {
            cwai_yerr(c->err, E_SCHEMA, v, "%s: %s is out of range (must be at least %lld)",
                      p, v->str, (long long) min);
        } else {
            cwai_yerr(c->err, E_SCHEMA, v, "%s: %s is out of range (%lld to %lld)",
                      p, v->str, (long long) min, (long long) max);
        }
        return -1;
    }
    *out = x;
    return 0;
}

int
cv_intv(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int min, int max, int *out)
{
    int64_t  x;

    if (cv_get(map, key) == NULL) {
        return cv_int(c, map, path, key, flags, min, max, &x);
    }
    if (cv_int(c, map, path, key, flags, min, max, &x) != 0) {
        return -1;
    }
    *out = (int) x;
    return 0;
}

/* "12", "12.5", "12.50" -> 1200, 1250, 1250; more than 2 decimals: -2 */
static int
parse_cents(const char *s, int64_t *cents)
{
    int64_t  whole = 0, frac = 0;
    int      neg = 0, nfrac = 0;

    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (!isdigit((unsigned char) *s) && *s != '.') {
        return -1;
    }
    for (; isdigit((unsigned char) *s); s++) {
        if (whole > 10000000000LL) {
            return -1;
        }
        whole = whole * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char) *s); s++) {
            if (++nfrac > 2) {
                if (*s != '0') {
                    return -2;
                }
                continue;
            }
            frac = frac * 10 + (*s - '0');
        }
        if (nfrac == 1) {
            frac *= 10;
        }
    }
    if (*s != '\0') {
        return -1;
    }
    *cents = (whole * 100 + frac) * (neg ? -1 : 1);
    return 0;
}

int
cv_money(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int64_t *cents)
{
    int                  rc;
    char                 p[CV_PATH];
    int64_t              x;
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR || v->quoted
        || !(is_int_text(v->str) || is_float_text(v->str)))
    {
        if (v->type == CWAI_YSCALAR && strchr(v->str, ',')) {
            char  got[64];

            cwai_yerr(c->err, E_SCHEMA, v,
                      "%s: expected an amount such as 69.90 (a dot for decimals), got %s",
                      p, cv_describe(v, got, sizeof(got)));
            return -1;
        }
        return wrong_type(c, v, p, "an amount (a number such as 69.90)");
    }
    rc = parse_cents(v->str, &x);
    if (rc == -2) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: %s has more than 2 decimal places", p, v->str);
        return -1;
    }
    if (rc != 0) {
        return wrong_type(c, v, p, "an amount (a number such as 69.90)");
    }
    if (x < 0) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: %s must not be negative", p, v->str);
        return -1;
    }
    *cents = x;
    return 0;
}

int
cv_number(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, double min, double max, double *out)
{
    int                  rc;
    char                 p[CV_PATH];
    double               x;
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR || v->quoted
        || !(is_int_text(v->str) || is_float_text(v->str)))
    {
        return wrong_type(c, v, p, "a number");
    }
    x = strtod(v->str, NULL);
    if (!(x >= min && x <= max)) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: %s is out of range (%g to %g)", p, v->str, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int
cv_bool(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int *out)
{
    int                  rc, b;
    char                 p[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR || v->quoted || (b = bool_text(v->str)) < 0) {
        return wrong_type(c, v, p, "true or false");
    }
    *out = b;
    return 0;
}

int
cv_date(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, cwai_date_t *out)
{
    int                  rc;
    char                 p[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR) {
        return wrong_type(c, v, p, "a date (YYYY-MM-DD)");
    }
    if (cwai_date_parse(v->str, out) != 0) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: bad date \"%s\" (expected a real date as YYYY-MM-DD)",
                  p, v->str);
        return -1;
    }
    return 0;
}

int
cv_time(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, int *out)
{
    int                  rc;
    char                 p[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSCALAR) {
        return wrong_type(c, v, p, "a time (HH:MM)");
    }
    if (cwai_time_parse(v->str, out) != 0) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: bad time \"%s\" (expected HH:MM, 00:00 to 24:00)",
                  p, v->str);
        return -1;
    }
    return 0;
}

int
cv_enum(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, const char *const *names, int *out)
{
    int                  rc, i;
    char                 p[CV_PATH], list[200];
    const char          *near;
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    for (i = 0; names[i]; i++) {
        /* count */
    }
    cv_join(list, sizeof(list), names, (size_t) i);
    if (v->type != CWAI_YSCALAR) {
        char  exp[220];

        snprintf(exp, sizeof(exp), "one of %s", list);
        return wrong_type(c, v, p, exp);
    }
    for (i = 0; names[i]; i++) {
        if (strcmp(v->str, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    near = cv_nearest(v->str, names);
    if (near) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: unknown value \"%s\"; did you mean \"%s\"?",
                  p, v->str, near);
    } else {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: unknown value \"%s\" (expected one of %s)",
                  p, v->str, list);
    }
    return -1;
}

int
cv_strs(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, cwai_strs_t *out)
{
    int                  rc;
    size_t               i;
    char                 p[CV_PATH], pi[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (v->type != CWAI_YSEQ) {
        return wrong_type(c, v, p, "a list");
    }
    if ((flags & CV_NONEMPTY) && v->n == 0) {
        cwai_yerr(c->err, E_SCHEMA, v, "%s: must not be an empty list", p);
        return -1;
    }
    out->v = cwai_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(char *));
    out->n = 0;
    for (i = 0; i < v->n; i++) {
        cv_index(pi, p, i);
        if (scalar_str(c, v->vals[i], pi, flags | CV_NONEMPTY, &out->v[i]) != 0) {
            return -1;
        }
        out->n++;
    }
    return 0;
}

static int
kv_scalar(cwai_conv_t *c, const cwai_ynode_t *v, const char *path, cwai_kv_t *kv)
{
    int64_t  cents;

    if (v->type != CWAI_YSCALAR) {
        return wrong_type(c, v, path, "a string, a number, true/false or a list of them");
    }
    kv->text = cwai_arena_strndup(c->a, v->str, v->len);
    kv->type = CWAI_VAL_STRING;
    if (v->quoted) {
        return 0;
    }
    if (is_int_text(v->str)) {
        errno = 0;
        kv->integer = strtoll(v->str, NULL, 10);
        if (errno != 0) {
            cwai_yerr(c->err, E_SCHEMA, v, "%s: %s is out of range", path, v->str);
            return -1;
        }
        kv->type = CWAI_VAL_INT;
        kv->number = (double) kv->integer;
        kv->cents = kv->integer * 100;
    } else if (is_float_text(v->str)) {
        kv->type = CWAI_VAL_NUMBER;
        kv->number = strtod(v->str, NULL);
        kv->integer = (int64_t) kv->number;
        if (parse_cents(v->str, &cents) == 0) {
            kv->cents = cents;
        } else {
            kv->cents = (int64_t) floor(kv->number * 100.0 + 0.5);
        }
    } else if (bool_text(v->str) >= 0) {
        kv->type = CWAI_VAL_BOOL;
        kv->integer = bool_text(v->str);
    }
    return 0;
}

int
cv_kvs(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, cwai_kvs_t *out)
{
    int                  rc;
    size_t               i, j;
    char                 p[CV_PATH], pk[CV_PATH], pi[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);
    const cwai_ynode_t  *val;
    const unsigned char *s;
    cwai_kv_t           *kv;

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (cv_map(c, v, p, NULL) != 0) {
        return -1;
    }
    out->v = cwai_arena_alloc(c->a, (v->n ? v->n : 1) * sizeof(cwai_kv_t));
    out->n = 0;
    for (i = 0; i < v->n; i++) {
        s = (const unsigned char *) v->keys[i]->str;
        cv_path(pk, p, (const char *) s);
        if (!islower(*s)) {
            goto bad_key;
        }
        for (; *s; s++) {
            if (!(islower(*s) || isdigit(*s) || *s == '_')) {
                goto bad_key;
            }
        }
        val = v->vals[i];
        if (val->type == CWAI_YNULL) {
            continue;
        }
        kv = &out->v[out->n];
        kv->key = cwai_arena_strdup(c->a, v->keys[i]->str);
        if (val->type == CWAI_YSEQ) {
            kv->type = CWAI_VAL_LIST;
            kv->items.v = cwai_arena_alloc(c->a, (val->n ? val->n : 1) * sizeof(char *));
            for (j = 0; j < val->n; j++) {
                cv_index(pi, pk, j);
                if (val->vals[j]->type != CWAI_YSCALAR) {
                    return wrong_type(c, val->vals[j], pi, "a string or a number");
                }
                kv->items.v[j] = cwai_arena_strndup(c->a, val->vals[j]->str, val->vals[j]->len);
            }
            kv->items.n = val->n;
        } else if (kv_scalar(c, val, pk, kv) != 0) {
            return -1;
        }
        out->n++;
        continue;
    bad_key:
        cwai_yerr(c->err, E_SCHEMA, v->keys[i],
                  "%s: \"%s\" is not a valid name (lowercase letters, digits and _, starting with a letter)",
                  p, v->keys[i]->str);
        return -1;
    }
    return 0;
}

/* ---- hours ----------------------------------------------------------------- */

static const char *const weekday_keys[] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", NULL
};

int
cv_weekday(const char *s)
{
    int  i;

    for (i = 0; i < 7; i++) {
        if (strcmp(s, weekday_keys[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int
parse_interval(const char *s, cwai_interval_t *iv)
{
    char        a[16], b[16];
    const char *dash;
    size_t      la, lb;

    while (*s == ' ') {
        s++;
    }
    dash = strchr(s, '-');
    if (dash == NULL) {
        return -1;
    }
    la = (size_t) (dash - s);
    while (la && s[la - 1] == ' ') {
        la--;
    }
    dash++;
    while (*dash == ' ') {
        dash++;
    }
    lb = strlen(dash);
    while (lb && dash[lb - 1] == ' ') {
        lb--;
    }
    if (la == 0 || la >= sizeof(a) || lb == 0 || lb >= sizeof(b)) {
        return -1;
    }
    memcpy(a, s, la);
    a[la] = '\0';
    memcpy(b, dash, lb);
    b[lb] = '\0';
    if (cwai_time_parse(a, &iv->open) != 0 || cwai_time_parse(b, &iv->close) != 0) {
        return -1;
    }
    return 0;
}

static int
one_interval(cwai_conv_t *c, const cwai_ynode_t *n, const char *path, cwai_day_hours_t *out)
{
    cwai_interval_t  iv;
    size_t           i;

    if (n->type != CWAI_YSCALAR) {
        return wrong_type(c, n, path, "a time range \"HH:MM-HH:MM\"");
    }
    if (parse_interval(n->str, &iv) != 0) {
        cwai_yerr(c->err, E_SCHEMA, n,
                  "%s: bad time range \"%s\" (expected HH:MM-HH:MM, 00:00 to 24:00)",
                  path, n->str);
        return -1;
    }
    if (iv.open >= iv.close) {
        cwai_yerr(c->err, E_SCHEMA, n, "%s: \"%s\" closes before it opens", path, n->str);
        return -1;
    }
    if (out->n == CWAI_DAY_MAX_INTERVALS) {
        cwai_yerr(c->err, E_SCHEMA, n, "%s: at most %d time ranges a day", path,
                  CWAI_DAY_MAX_INTERVALS);
        return -1;
    }
    for (i = 0; i < out->n; i++) {
        if (iv.open < out->iv[i].close && out->iv[i].open < iv.close) {
            cwai_yerr(c->err, E_SCHEMA, n, "%s: \"%s\" overlaps another range of the same day",
                      path, n->str);
            return -1;
        }
    }
    /* insert sorted */
    i = out->n;
    while (i > 0 && out->iv[i - 1].open > iv.open) {
        out->iv[i] = out->iv[i - 1];
        i--;
    }
    out->iv[i] = iv;
    out->n++;
    return 0;
}

int
cv_day_hours(cwai_conv_t *c, const cwai_ynode_t *n, const char *path, int allow_closed,
    cwai_day_hours_t *out)
{
    size_t  i;
    char    pi[CV_PATH];

    memset(out, 0, sizeof(*out));
    if (n->type == CWAI_YSCALAR && strcmp(n->str, "closed") == 0) {
        if (!allow_closed) {
            cwai_yerr(c->err, E_SCHEMA, n, "%s: expected time ranges, not \"closed\"", path);
            return -1;
        }
        return 0;
    }
    if (n->type == CWAI_YSEQ) {
        if (n->n == 0) {
            cwai_yerr(c->err, E_SCHEMA, n, "%s: empty list (write \"closed\" for a closed day)",
                      path);
            return -1;
        }
        for (i = 0; i < n->n; i++) {
            if (one_interval(c, n->vals[i], cv_index(pi, path, i), out) != 0) {
                return -1;
            }
        }
        return 0;
    }
    return one_interval(c, n, path, out);
}

int
cv_week(cwai_conv_t *c, const cwai_ynode_t *map, const char *path, const char *key,
    unsigned flags, cwai_week_t *out)
{
    int                  rc, wd;
    size_t               i;
    char                 p[CV_PATH], pd[CV_PATH];
    const cwai_ynode_t  *v = field(c, map, path, key, flags, &rc);

    if (v == NULL) {
        return rc;
    }
    cv_path(p, path, key);
    if (cv_map(c, v, p, weekday_keys) != 0) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->set = 1;
    for (i = 0; i < v->n; i++) {
        if (v->vals[i]->type == CWAI_YNULL) {
            continue;
        }
        wd = cv_weekday(v->keys[i]->str);
        if (cv_day_hours(c, v->vals[i], cv_path(pd, p, v->keys[i]->str), 1, &out->day[wd]) != 0) {
            return -1;
        }
    }
    return 0;
}
