/*
 * ngx_chatwootai core: loading domains (layers, extends, merge), lookups,
 * dates and money.  The schema itself is in cwai_domain_conv.c.
 */
#include "cwai_domain_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EXTENDS_DEPTH  8

/* ---- loading ----------------------------------------------------------------- */

typedef struct {
    cwai_arena_t   *tmp;
    cwai_err_t     *err;
    cwai_ynode_t   *merged;
    const char     *loaded[CWAI_DOMAIN_MAX_LAYERS];    /* identities */
    const char     *names[CWAI_DOMAIN_MAX_LAYERS];     /* as shown in errors */
    size_t          nloaded;
    const char     *chain[MAX_EXTENDS_DEPTH + 1];
    size_t          depth;
} loader_t;

static const char *
identity(cwai_arena_t *a, const char *path)
{
    char        *real = realpath(path, NULL);
    const char  *id;

    if (real == NULL) {
        return cwai_arena_strdup(a, path);
    }
    id = cwai_arena_strdup(a, real);
    free(real);
    return id;
}

static char *
read_file(cwai_arena_t *a, const char *path, size_t *len, const cwai_ynode_t *from,
    cwai_err_t *err)
{
    FILE    *f;
    long     n;
    char    *buf;
    size_t   got;

    f = fopen(path, "rb");
    if (f == NULL) {
        goto fail;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        goto fail;
    }
    if (n > CWAI_DOMAIN_MAX_FILE) {
        fclose(f);
        if (from) {
            cwai_yerr(err, "domain_io", from, "%s: larger than %d bytes", path,
                      CWAI_DOMAIN_MAX_FILE);
        } else {
            cwai_err_set(err, "domain_io", "%s: larger than %d bytes", path,
                         CWAI_DOMAIN_MAX_FILE);
        }
        return NULL;
    }
    buf = cwai_arena_alloc(a, (size_t) n + 1);
    got = fread(buf, 1, (size_t) n, f);
    if (ferror(f) || got != (size_t) n) {
        fclose(f);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t) n;
    return buf;

fail:
    if (from) {
        cwai_yerr(err, "domain_io", from, "extends: cannot read \"%s\": %s", path,
                  strerror(errno));
    } else {
        cwai_err_set(err, "domain_io", "%s: cannot read: %s", path, strerror(errno));
    }
    return NULL;
}

static const char *
resolve(cwai_arena_t *a, const char *from_file, const char *rel)
{
    const char  *slash;

    if (rel[0] == '/') {
        return cwai_arena_strdup(a, rel);
    }
    slash = strrchr(from_file, '/');
    if (slash == NULL) {
        return cwai_arena_strdup(a, rel);
    }
    return cwai_arena_printf(a, "%.*s/%s", (int) (slash - from_file), from_file, rel);
}

static int load_layer(loader_t *l, const char *name, const char *data, size_t len,
    const cwai_ynode_t *from);

static int
load_extends(loader_t *l, const char *name, const cwai_ynode_t *root)
{
    const cwai_ynode_t  *ext = cv_get(root, "extends");
    const cwai_ynode_t  *one;
    size_t               i, n;
    char                 got[64];

    if (ext == NULL) {
        return 0;
    }
    if (ext->type != CWAI_YSCALAR && ext->type != CWAI_YSEQ) {
        cwai_yerr(l->err, "domain_schema", ext,
                  "extends: expected a file name or a list of file names, got %s",
                  cv_describe(ext, got, sizeof(got)));
        return -1;
    }
    n = ext->type == CWAI_YSEQ ? ext->n : 1;
    for (i = 0; i < n; i++) {
        one = ext->type == CWAI_YSEQ ? ext->vals[i] : ext;
        if (one->type != CWAI_YSCALAR || one->len == 0) {
            cwai_yerr(l->err, "domain_schema", one, "extends: expected a file name, got %s",
                      cv_describe(one, got, sizeof(got)));
            return -1;
        }
        if (load_layer(l, resolve(l->tmp, name, one->str), NULL, 0, one) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
load_layer(loader_t *l, const char *name, const char *data, size_t len,
    const cwai_ynode_t *from)
{
    const char    *id;
    cwai_ynode_t  *root;
    size_t         i;

    id = (data && from == NULL) ? cwai_arena_strdup(l->tmp, name) : identity(l->tmp, name);
    for (i = 0; i < l->depth; i++) {
        if (strcmp(l->chain[i], id) == 0) {
            cwai_yerr(l->err, "domain_schema", from, "extends: \"%s\" extends itself (a cycle)",
                      name);
            return -1;
        }
    }
    for (i = 0; i < l->nloaded; i++) {
        if (strcmp(l->loaded[i], id) == 0) {
            return 0;           /* already merged: each layer once */
        }
    }
    if (l->depth >= MAX_EXTENDS_DEPTH) {
        cwai_yerr(l->err, "domain_schema", from, "extends: more than %d levels",
                  MAX_EXTENDS_DEPTH);
        return -1;
    }
    if (data == NULL) {
        data = read_file(l->tmp, name, &len, from, l->err);
        if (data == NULL) {
            return -1;
        }
    }
    name = cwai_arena_strdup(l->tmp, name);
    if (cwai_yaml_parse(l->tmp, name, data, len, &root, l->err) != 0) {
        return -1;
    }

    l->chain[l->depth++] = id;
    if (load_extends(l, name, root) != 0) {
        return -1;
    }
    l->depth--;

    if (l->nloaded == CWAI_DOMAIN_MAX_LAYERS) {
        cwai_yerr(l->err, "domain_schema", root, "more than %d layers",
                  CWAI_DOMAIN_MAX_LAYERS);
        return -1;
    }
    l->merged = cwai_yaml_merge(l->tmp, l->merged, root, l->err);
    if (l->merged == NULL) {
        return -1;
    }
    l->loaded[l->nloaded] = id;
    l->names[l->nloaded++] = name;
    return 0;
}

static cwai_domain_t *
load(const cwai_domain_src_t *srcs, const char *const *paths, size_t n, cwai_err_t *err)
{
    loader_t        l;
    cwai_conv_t     c;
    cwai_domain_t  *d = NULL;
    size_t          i;
    int             rc = 0;

    if (n == 0) {
        cwai_err_set(err, "domain_io", "no domain file given");
        return NULL;
    }
    memset(&l, 0, sizeof(l));
    l.err = err;
    l.tmp = cwai_arena_new();
    if (l.tmp == NULL) {
        cwai_err_set(err, "domain_io", "out of memory");
        return NULL;
    }
    for (i = 0; i < n && rc == 0; i++) {
        if (srcs) {
            rc = load_layer(&l, srcs[i].name ? srcs[i].name : "(memory)",
                            srcs[i].data ? srcs[i].data : "", srcs[i].len, NULL);
        } else {
            rc = load_layer(&l, paths[i], NULL, 0, NULL);
        }
    }
    if (rc != 0) {
        goto done;
    }

    c.a = cwai_arena_new();
    if (c.a == NULL) {
        cwai_err_set(err, "domain_io", "out of memory");
        goto done;
    }
    c.err = err;
    c.d = cwai_arena_alloc(c.a, sizeof(cwai_domain_t));
    c.d->pool = c.a;
    if (cwai_domain_convert(&c, l.merged) != 0) {
        cwai_arena_free(c.a);
        goto done;
    }
    d = c.d;
    d->sources.v = cwai_arena_alloc(c.a, l.nloaded * sizeof(char *));
    for (i = 0; i < l.nloaded; i++) {
        d->sources.v[i] = cwai_arena_strdup(c.a, l.names[i]);
    }
    d->sources.n = l.nloaded;

done:
    cwai_arena_free(l.tmp);
    return d;
}

cwai_domain_t *
cwai_domain_load(const char *const *paths, size_t npaths, cwai_err_t *err)
{
    return load(NULL, paths, npaths, err);
}

cwai_domain_t *
cwai_domain_load_mem(const cwai_domain_src_t *srcs, size_t nsrcs, cwai_err_t *err)
{
    return load(srcs, NULL, nsrcs, err);
}

void
cwai_domain_free(cwai_domain_t *d)
{
    if (d) {
        cwai_arena_free(d->pool);   /* d itself lives in the arena */
    }
}

/* ---- lookups ------------------------------------------------------------------- */

#define FIND(arr, n, field, key)                                            \
    do {                                                                    \
        size_t  i_;                                                         \
        if (d == NULL || key == NULL) {                                     \
            return NULL;                                                    \
        }                                                                   \
        for (i_ = 0; i_ < (n); i_++) {                                      \
            if (strcmp((arr)[i_].field, key) == 0) {                        \
                return &(arr)[i_];                                          \
            }                                                               \
        }                                                                   \
        return NULL;                                                        \
    } while (0)

const cwai_product_t *
cwai_domain_product(const cwai_domain_t *d, const char *sku)
{
    FIND(d->products, d->nproducts, sku, sku);
}

const cwai_service_t *
cwai_domain_service(const cwai_domain_t *d, const char *id)
{
    FIND(d->services, d->nservices, id, id);
}

const cwai_professional_t *
cwai_domain_professional(const cwai_domain_t *d, const char *id)
{
    FIND(d->professionals, d->nprofessionals, id, id);
}

const cwai_rule_t *
cwai_domain_rule(const cwai_domain_t *d, const char *id)
{
    FIND(d->rules, d->nrules, id, id);
}

const cwai_faq_t *
cwai_domain_faq(const cwai_domain_t *d, const char *id)
{
    FIND(d->faqs, d->nfaqs, id, id);
}

const cwai_agent_t *
cwai_domain_agent(const cwai_domain_t *d, const char *id)
{
    FIND(d->agents, d->nagents, id, id);
}

const cwai_intent_t *
cwai_domain_intent(const cwai_domain_t *d, const char *id)
{
    FIND(d->intents, d->nintents, id, id);
}

const cwai_label_t *
cwai_domain_label(const cwai_domain_t *d, const char *name)
{
    FIND(d->labels, d->nlabels, name, name);
}

const cwai_channel_t *
cwai_domain_channel(const cwai_domain_t *d, const char *name)
{
    FIND(d->channels, d->nchannels, name, name);
}

const cwai_template_t *
cwai_domain_template(const cwai_domain_t *d, const char *key)
{
    FIND(d->templates, d->ntemplates, key, key);
}

const cwai_tool_t *
cwai_domain_tool(const cwai_domain_t *d, const char *name)
{
    FIND(d->tools, d->ntools, name, name);
}

const cwai_handoff_topic_t *
cwai_domain_handoff_topic(const cwai_domain_t *d, const char *id)
{
    FIND(d->handoff.topics, d->handoff.ntopics, id, id);
}

const cwai_holiday_t *
cwai_domain_holiday(const cwai_domain_t *d, cwai_date_t date)
{
    size_t  i;

    if (d == NULL) {
        return NULL;
    }
    for (i = 0; i < d->nholidays; i++) {
        if (cwai_date_cmp(d->holidays[i].date, date) == 0) {
            return &d->holidays[i];
        }
    }
    return NULL;
}

const cwai_kv_t *
cwai_kvs_get(const cwai_kvs_t *kvs, const char *key)
{
    size_t  i;

    if (kvs == NULL || key == NULL) {
        return NULL;
    }
    for (i = 0; i < kvs->n; i++) {
        if (strcmp(kvs->v[i].key, key) == 0) {
            return &kvs->v[i];
        }
    }
    return NULL;
}

/* "en-US" matches "en-US" best, then "en", then any "en-XX" */
static int
lang_match(const char *want, const char *have)
{
    size_t  pw, ph;

    if (strcasecmp(want, have) == 0) {
        return 3;
    }
    pw = strcspn(want, "-_");
    ph = strcspn(have, "-_");
    if (pw == ph && strncasecmp(want, have, pw) == 0) {
        return have[ph] == '\0' ? 2 : 1;
    }
    return 0;
}

static const cwai_phrases_t *
phrases_for(const cwai_domain_t *d, const char *lang)
{
    const cwai_phrases_t  *best = NULL;
    int                    score, best_score = 0;
    size_t                 i;

    if (lang == NULL) {
        return NULL;
    }
    for (i = 0; i < d->ni18n; i++) {
        score = lang_match(lang, d->i18n[i].lang);
        if (score > best_score) {
            best_score = score;
            best = &d->i18n[i];
        }
    }
    return best;
}

static const char *
phrase_field(const cwai_phrases_t *p, const char *key)
{
    if (p == NULL) {
        return NULL;
    }
    if (strcmp(key, "greeting") == 0) return p->greeting;
    if (strcmp(key, "farewell") == 0) return p->farewell;
    if (strcmp(key, "thanks") == 0) return p->thanks;
    if (strcmp(key, "handoff") == 0) return p->handoff;
    if (strcmp(key, "handoff_after_hours") == 0) return p->handoff_after_hours;
    if (strcmp(key, "fallback") == 0) return p->fallback;
    if (strcmp(key, "clarify") == 0) return p->clarify;
    if (strcmp(key, "out_of_hours") == 0) return p->out_of_hours;
    if (strcmp(key, "wait") == 0) return p->wait;
    if (strcmp(key, "closed_day") == 0) return p->closed_day;
    return NULL;
}

const char *
cwai_domain_phrase(const cwai_domain_t *d, const char *lang, const char *key)
{
    const char  *s;

    if (d == NULL || key == NULL) {
        return NULL;
    }
    s = phrase_field(phrases_for(d, lang), key);
    if (s == NULL) {
        s = phrase_field(phrases_for(d, d->language), key);
    }
    return s;
}

const char *
cwai_template_text(const cwai_template_t *t, const char *lang, const char *fallback_lang)
{
    const cwai_text_t  *best = NULL;
    int                 score, best_score = 0, pass;
    size_t              i;

    if (t == NULL || t->ntexts == 0) {
        return NULL;
    }
    for (pass = 0; pass < 2 && best == NULL; pass++) {
        const char  *want = pass == 0 ? lang : fallback_lang;

        if (want == NULL) {
            continue;
        }
        for (i = 0; i < t->ntexts; i++) {
            score = lang_match(want, t->texts[i].lang);
            if (score > best_score) {
                best_score = score;
                best = &t->texts[i];
            }
        }
    }
    return best ? best->text : t->texts[0].text;
}

int
cwai_domain_hours_on(const cwai_domain_t *d, cwai_date_t date, cwai_day_hours_t *out,
    const cwai_holiday_t **holiday)
{
    const cwai_holiday_t  *h = cwai_domain_holiday(d, date);

    if (holiday) {
        *holiday = h;
    }
    if (h) {
        if (h->closed) {
            memset(out, 0, sizeof(*out));
        } else {
            *out = h->hours;
        }
    } else {
        *out = d->hours.day[cwai_date_weekday(date)];
    }
    return out->n > 0;
}

int64_t
cwai_product_price_on(const cwai_product_t *p, cwai_date_t date)
{
    if (p->promo_price_cents >= 0
        && (p->promo_until.year == 0 || cwai_date_cmp(date, p->promo_until) <= 0))
    {
        return p->promo_price_cents;
    }
    return p->price_cents;
}

size_t
cwai_domain_format_money(const cwai_domain_t *d, int64_t cents, char *buf, size_t size)
{
    const char  *cur = d && d->currency ? d->currency : "BRL";
    const char  *sym = cur;
    int          en = d && d->language && strncasecmp(d->language, "en", 2) == 0;
    char         digits[32], grouped[48];
    uint64_t     v = cents < 0 ? (uint64_t) (-(cents + 1)) + 1 : (uint64_t) cents;
    size_t       nd, i, g = 0;
    int          n;

    if (strcmp(cur, "BRL") == 0) {
        sym = "R$";
    } else if (strcmp(cur, "USD") == 0) {
        sym = "US$";
    } else if (strcmp(cur, "EUR") == 0) {
        sym = "€";
    }
    snprintf(digits, sizeof(digits), "%llu", (unsigned long long) (v / 100));
    nd = strlen(digits);
    for (i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) {
            grouped[g++] = en ? ',' : '.';
        }
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    n = snprintf(buf, size, "%s%s %s%c%02u", cents < 0 ? "-" : "", sym, grouped,
                 en ? '.' : ',', (unsigned) (v % 100));
    if (n < 0) {
        return 0;
    }
    return size == 0 ? 0 : ((size_t) n < size ? (size_t) n : size - 1);
}

/* ---- dates --------------------------------------------------------------------- */

const char *const cwai_weekday_names[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
};

static int
days_in_month(int y, int m)
{
    static const int  dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[m - 1];
}

static int
digits(const char *s, size_t n, int *out)
{
    size_t  i;
    int     v = 0;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
cwai_date_parse(const char *s, cwai_date_t *out)
{
    int  y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-'
        || digits(s, 4, &y) != 0 || digits(s + 5, 2, &m) != 0 || digits(s + 8, 2, &d) != 0)
    {
        return -1;
    }
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        return -1;
    }
    out->year = y;
    out->month = m;
    out->day = d;
    return 0;
}

int
cwai_time_parse(const char *s, int *minutes)
{
    int  h, m;

    if (s == NULL || strlen(s) != 5 || s[2] != ':'
        || digits(s, 2, &h) != 0 || digits(s + 3, 2, &m) != 0)
    {
        return -1;
    }
    if (m > 59 || h > 24 || (h == 24 && m != 0)) {
        return -1;
    }
    *minutes = h * 60 + m;
    return 0;
}

int
cwai_date_cmp(cwai_date_t a, cwai_date_t b)
{
    long  x = (long) a.year * 10000 + a.month * 100 + a.day;
    long  y = (long) b.year * 10000 + b.month * 100 + b.day;

    return x < y ? -1 : x > y;
}

/* H. Hinnant's days_from_civil / civil_from_days */
int64_t
cwai_date_to_days(cwai_date_t date)
{
    int64_t   y = date.year - (date.month <= 2);
    int64_t   era = (y >= 0 ? y : y - 399) / 400;
    int64_t   yoe = y - era * 400;
    int64_t   mp = (date.month + 9) % 12;
    int64_t   doy = (153 * mp + 2) / 5 + date.day - 1;
    int64_t   doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

cwai_date_t
cwai_date_from_days(int64_t days)
{
    cwai_date_t  r;
    int64_t      z = days + 719468;
    int64_t      era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t      doe = z - era * 146097;
    int64_t      yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t      doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t      mp = (5 * doy + 2) / 153;
    int64_t      dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t      mm = mp < 10 ? mp + 3 : mp - 9;

    r.year = (int) (yoe + era * 400 + (mm <= 2));
    r.month = (int) mm;
    r.day = (int) dd;
    return r;
}

int
cwai_date_weekday(cwai_date_t date)
{
    int64_t  w = (cwai_date_to_days(date) + 4) % 7;     /* 1970-01-01: Thursday */

    return (int) (w < 0 ? w + 7 : w);
}
