/*
 * Answer composer. See cwai_compose.h.
 */
#include "cwai_compose.h"
#include "cwai_router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string builder ------------------------------------------------------- */

typedef struct {
    char    *p;
    size_t   len, cap;
    int      oom;
} sb_t;

static void
sb_addn(sb_t *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t  nc = b->cap ? b->cap * 2 : 512;
        char   *np;

        while (nc < b->len + n + 1) {
            nc *= 2;
        }
        np = realloc(b->p, nc);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_add(sb_t *b, const char *s)
{
    if (s) {
        sb_addn(b, s, strlen(s));
    }
}

static void
sb_addf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_addf(sb_t *b, const char *fmt, ...)
{
    char     buf[1024];
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        sb_addn(b, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
    }
}

/* Starts a new sentence: a space unless at the start or after a newline. */
static void
sb_sep(sb_t *b)
{
    if (b->len > 0 && b->p[b->len - 1] != ' ' && b->p[b->len - 1] != '\n') {
        sb_addn(b, " ", 1);
    }
}

/* ---- composition state ------------------------------------------------------ */

typedef struct {
    cwai_ctx_t     *c;
    cwai_answer_t  *out;
    sb_t            sb;
    int             answered;
} comp_t;

typedef struct {
    const char  *k;
    const char  *v;
} var_t;

static const char *
L(const cwai_ctx_t *c, const char *pt, const char *en, const char *es)
{
    int  f = cwai_lang_family(c->lang);

    return f == 1 ? en : f == 2 ? es : pt;
}

/* pt-BR article for a product or service name: "o"/"a" ("O"/"A"). */
static const char *
art(const cwai_ctx_t *c, const char *name, int upper)
{
    int  f = cwai_pt_feminine(name);

    (void) c;
    return upper ? (f ? "A" : "O") : (f ? "a" : "o");
}

static void
add_source(comp_t *k, const char *id)
{
    size_t  i;

    if (id == NULL) {
        return;
    }
    for (i = 0; i < k->out->nsources; i++) {
        if (strcmp(k->out->sources[i], id) == 0) {
            return;
        }
    }
    if (k->out->nsources < CWAI_ANSWER_MAX_SOURCES) {
        k->out->sources[k->out->nsources++] = id;
    }
}

static void
money(const cwai_ctx_t *c, int64_t cents, char *buf, size_t size)
{
    cwai_domain_format_money(c->d, cents, buf, size);
}

/* A figure's value as text: money with 2 decimals, else as written. */
static void
figure_text(const cwai_ctx_t *c, const cwai_kv_t *kv, char *buf, size_t size)
{
    if ((kv->type == CWAI_VAL_NUMBER) && kv->text && strchr(kv->text, '.')) {
        money(c, kv->cents, buf, size);
    } else if (kv->text) {
        snprintf(buf, size, "%s", kv->text);
    } else {
        snprintf(buf, size, "%lld", (long long) kv->integer);
    }
}

static const cwai_kv_t *
fig(comp_t *k, const char *key, int cite)
{
    const cwai_rule_t  *r = NULL;
    const cwai_kv_t    *kv = cwai_figure(k->c->d, key, &r);

    if (kv && cite && r) {
        add_source(k, r->id);
    }
    return kv;
}

/* Expands {placeholders}; -1 if one is unknown (the caller then uses its
 * own wording). */
static int
expand(comp_t *k, const char *tmpl, const var_t *vars, size_t nvars, sb_t *out)
{
    const cwai_ctx_t  *c = k->c;
    const char        *p = tmpl, *e;
    char               name[64], buf[96];
    size_t             i, n;

    while (*p) {
        if (*p != '{' || (e = strchr(p, '}')) == NULL) {
            sb_addn(out, p, 1);
            p++;
            continue;
        }
        n = (size_t) (e - p - 1);
        if (n == 0 || n >= sizeof(name)) {
            return -1;
        }
        memcpy(name, p + 1, n);
        name[n] = '\0';
        for (i = 0; i < nvars; i++) {
            if (strcmp(vars[i].k, name) == 0) {
                break;
            }
        }
        if (i < nvars) {
            const char  *val = vars[i].v;
            size_t       vl;

            if (val == NULL) {
                return -1;
            }
            /* "O {product}" for "Máscara ...": "A Máscara ..." */
            if (strcmp(name, "product") == 0 && cwai_lang_family(c->lang) == 0
                && cwai_pt_feminine(val) && out->len >= 2 && out->p[out->len - 1] == ' '
                && (out->p[out->len - 2] == 'o' || out->p[out->len - 2] == 'O')
                && (out->len == 2 || out->p[out->len - 3] == ' ' || out->p[out->len - 3] == 'd'
                    || out->p[out->len - 3] == 'n'))
            {
                out->p[out->len - 2] = out->p[out->len - 2] == 'o' ? 'a' : 'A';
            }
            vl = strlen(val);
            /* no ".." when the value ends a sentence the template also ends */
            if (vl > 0 && val[vl - 1] == '.' && e[1] == '.') {
                vl--;
            }
            sb_addn(out, val, vl);
        } else if (strcmp(name, "persona") == 0 && c->d->persona.name) {
            sb_add(out, c->d->persona.name);
        } else if (strcmp(name, "store") == 0 && c->d->name) {
            sb_add(out, c->d->name);
        } else if (strcmp(name, "address") == 0 && c->d->contact.address) {
            sb_add(out, c->d->contact.address);
        } else if (strncmp(name, "figure.", 7) == 0) {
            const cwai_kv_t  *kv = fig(k, name + 7, 1);

            if (kv == NULL) {
                return -1;
            }
            figure_text(c, kv, buf, sizeof(buf));
            sb_add(out, buf);
        } else {
            return -1;
        }
        p = e + 1;
    }
    return out->oom ? -1 : 0;
}

/* Appends the domain template key (in the reply language) with vars;
 * 0 on success, -1 when absent or a placeholder is unknown. */
static int
tmpl(comp_t *k, const char *key, const var_t *vars, size_t nvars)
{
    const cwai_template_t  *t = cwai_domain_template(k->c->d, key);
    const char             *text;
    sb_t                    tmp;

    if (t == NULL) {
        return -1;
    }
    text = cwai_template_text(t, k->c->lang, k->c->d->language);
    if (text == NULL) {
        return -1;
    }
    memset(&tmp, 0, sizeof(tmp));
    if (expand(k, text, vars, nvars, &tmp) != 0) {
        free(tmp.p);
        return -1;
    }
    sb_sep(&k->sb);
    sb_add(&k->sb, tmp.p);
    free(tmp.p);
    return 0;
}

/* An i18n phrase with its few placeholders. */
static int
phrase(comp_t *k, const char *key, const var_t *vars, size_t nvars)
{
    const char  *text = cwai_domain_phrase(k->c->d, k->c->lang, key);
    sb_t         tmp;

    if (text == NULL) {
        return -1;
    }
    memset(&tmp, 0, sizeof(tmp));
    if (expand(k, text, vars, nvars, &tmp) != 0) {
        free(tmp.p);
        return -1;
    }
    sb_sep(&k->sb);
    sb_add(&k->sb, tmp.p);
    free(tmp.p);
    return 0;
}

static void
say(comp_t *k, const char *s)
{
    sb_sep(&k->sb);
    sb_add(&k->sb, s);
}

static int64_t
round_div(int64_t num, int64_t den)
{
    /* half-up for non-negative values */
    return (num * 2 + den) / (den * 2);
}

static cwai_date_t
today(const cwai_ctx_t *c)
{
    return c->now.date;
}

/* ---- the customer's loyalty tier ---------------------------------------------- */

static void
tier_key(const char *tier, char *buf, size_t size)
{
    size_t  n = cwai_text_fold(tier, strlen(tier), buf, size), i;

    for (i = 0; i < n; i++) {
        if (buf[i] == ' ' || buf[i] == '-') {
            buf[i] = '_';
        }
    }
}

static void
tier_name(const char *tier, char *buf, size_t size)
{
    snprintf(buf, size, "%s", tier);
    if (buf[0] >= 'a' && buf[0] <= 'z') {
        buf[0] = (char) (buf[0] - 32);
    }
}

/* "Como você é nível Ouro, tem 10% de desconto: fica R$ 135,00." */
static void
tier_discount(comp_t *k, int64_t cents)
{
    const cwai_ctx_t       *c = k->c;
    const cwai_customer_t  *cu = c->in->customer;
    const cwai_kv_t        *pct;
    char                    key[64], tk[32], tn[32], price[32];

    if (cu == NULL || cu->tier == NULL || cents <= 0) {
        return;
    }
    tier_key(cu->tier, tk, sizeof(tk));
    snprintf(key, sizeof(key), "%s_service_discount_percent", tk);
    pct = fig(k, key, 1);
    if (pct == NULL || pct->integer <= 0) {
        return;
    }
    tier_name(cu->tier, tn, sizeof(tn));
    money(c, round_div(cents * (100 - pct->integer), 100), price, sizeof(price));
    sb_sep(&k->sb);
    sb_addf(&k->sb, L(c, "Como você é nível %s, tem %lld%% de desconto: fica %s.",
                      "As a %s member you get %lld%% off: %s.", "Como eres nivel %s, tienes %lld%% de descuento: %s."),
            tn, (long long) pct->integer, price);
}

static void
fmt_int(int64_t v, const cwai_ctx_t *c, char *buf, size_t size)
{
    char    d[32];
    size_t  n, i, o = 0;

    n = (size_t) snprintf(d, sizeof(d), "%lld", (long long) (v < 0 ? -v : v));
    if (v < 0 && o + 1 < size) {
        buf[o++] = '-';
    }
    for (i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = cwai_lang_family(c->lang) == 1 ? ',' : '.';
        }
        buf[o++] = d[i];
    }
    buf[o] = '\0';
}

/* The balance, what it is worth and the next tier, from the rules' figures. */
static int
loyalty_balance(comp_t *k)
{
    const cwai_ctx_t       *c = k->c;
    const cwai_customer_t  *cu = c->in->customer;
    const cwai_kv_t        *unit = fig(k, "points_per_unit", 1), *val = fig(k, "unit_value", 1);
    const cwai_kv_t        *minr = fig(k, "redeem_min_points", 0);
    const cwai_domain_t    *d = c->d;
    char                    pts[32], worth[32], tn[64], nx[32], key[64];
    const char             *cur = NULL, *next = NULL;
    int64_t                 cur_min = -1, next_min = -1, usable = 0;
    size_t                  i, j;
    var_t                   v[3];

    if (cu == NULL || cu->points < 0) {
        return 0;
    }
    /* tiers: figures "<tier>_min_points" (not the redemption minimum) */
    for (i = 0; i < d->nrules; i++) {
        for (j = 0; j < d->rules[i].figures.n; j++) {
            const cwai_kv_t  *kv = &d->rules[i].figures.v[j];
            size_t            kl = strlen(kv->key);

            if (kl <= 11 || strcmp(kv->key + kl - 11, "_min_points") != 0
                || strncmp(kv->key, "redeem", 6) == 0 || kl - 11 >= sizeof(key))
            {
                continue;
            }
            if (kv->integer <= cu->points && kv->integer > cur_min) {
                cur_min = kv->integer;
                cur = kv->key;
            }
            if (kv->integer > cu->points && (next_min < 0 || kv->integer < next_min)) {
                next_min = kv->integer;
                next = kv->key;
            }
        }
    }
    if (unit && val && unit->integer > 0) {
        usable = cu->points / unit->integer * unit->integer;
        if (minr && usable < minr->integer) {
            usable = 0;
        }
        money(c, usable / unit->integer * val->cents, worth, sizeof(worth));
    } else {
        snprintf(worth, sizeof(worth), "-");
    }
    fmt_int(cu->points, c, pts, sizeof(pts));
    if (cu->tier) {
        tier_name(cu->tier, tn, sizeof(tn));
    } else if (cur) {
        snprintf(key, sizeof(key), "%.*s", (int) (strlen(cur) - 11), cur);
        tier_name(key, tn, sizeof(tn));
    } else {
        snprintf(tn, sizeof(tn), "%s", "-");
    }
    v[0] = (var_t) { "points", pts };
    v[1] = (var_t) { "tier", tn };
    v[2] = (var_t) { "points_value", worth };
    if (tmpl(k, "loyalty_balance", v, 3) != 0) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "Você tem %s pontos (nível %s), que valem %s em desconto.",
                          "You have %s points (%s tier), worth %s in discounts.",
                          "Tienes %s puntos (nivel %s), que valen %s de descuento."), pts, tn, worth);
    }
    if (usable > 0 && usable != cu->points) {
        fmt_int(usable, c, pts, sizeof(pts));
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "O resgate é em múltiplos de %lld: dá para usar até %s pontos.",
                          "Points are redeemed in multiples of %lld: you can use up to %s.",
                          "El canje es en múltiplos de %lld: puedes usar hasta %s puntos."),
                (long long) unit->integer, pts);
    }
    if (next) {
        snprintf(key, sizeof(key), "%.*s", (int) (strlen(next) - 11), next);
        tier_name(key, tn, sizeof(tn));
        fmt_int(next_min - cu->points, c, pts, sizeof(pts));
        fmt_int(next_min, c, nx, sizeof(nx));
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "Faltam %s pontos para o nível %s, que começa em %s pontos.",
                          "You need %s more points for %s, which starts at %s.",
                          "Te faltan %s puntos para el nivel %s, que empieza en %s."), pts, tn, nx);
    }
    k->answered = 1;
    return 1;
}

/* ---- products ------------------------------------------------------------- */

static int64_t
price_now(const cwai_ctx_t *c, int p)
{
    return cwai_product_price_on(&c->d->products[p], today(c));
}

static int
on_promo(const cwai_ctx_t *c, int p)
{
    const cwai_product_t  *pr = &c->d->products[p];

    return pr->promo_price_cents >= 0 && pr->promo_until.year
           && cwai_date_cmp(today(c), pr->promo_until) <= 0;
}

/* The best active, in-stock product like p (same category first). */
static int
alternative(comp_t *k, int p)
{
    const cwai_ctx_t      *c = k->c;
    const cwai_product_t  *pr = &c->d->products[p];
    cwai_ntext_t           t;
    cwai_hit_t             h[16];
    size_t                 n, i;
    int                    best = -1, pass;

    memset(&t, 0, sizeof(t));
    if (cwai_text_parse(&t, pr->name, strlen(pr->name)) != 0) {
        return -1;
    }
    {
        /* name + tags as the query */
        cwai_ntext_t        tags;
        const cwai_ntext_t *q[2];
        float               w[2] = { 1.0f, 1.0f };
        char                buf[512];
        size_t              len = 0;

        memset(&tags, 0, sizeof(tags));
        for (i = 0; i < pr->tags.n; i++) {
            size_t  l = strlen(pr->tags.v[i]);

            if (len + l + 2 < sizeof(buf)) {
                memcpy(buf + len, pr->tags.v[i], l);
                len += l;
                buf[len++] = ' ';
            }
        }
        if (cwai_text_parse(&tags, buf, len) != 0) {
            cwai_text_free(&t);
            return -1;
        }
        q[0] = &t;
        q[1] = &tags;
        n = cwai_index_search_multi(c->b->kix, q, w, 2, 1u << KX_PRODUCT, h, 16);
        cwai_text_free(&tags);
    }
    cwai_text_free(&t);
    for (pass = 0; pass < 2 && best < 0; pass++) {
        for (i = 0; i < n; i++) {
            int                    q = cwai_index_doc(c->b->kix, h[i].doc)->ref;
            const cwai_product_t  *a = &c->d->products[q];

            if (q == p || !a->active || a->stock == 0) {
                continue;
            }
            if (pass == 0 && (a->category == NULL || pr->category == NULL
                              || strcmp(a->category, pr->category) != 0))
            {
                continue;
            }
            best = q;
            break;
        }
    }
    return best;
}

/* One product's price, promotion, stock or discontinuation. */
static void
product_line(comp_t *k, int p)
{
    const cwai_ctx_t      *c = k->c;
    const cwai_product_t  *pr = &c->d->products[p];
    char                   price[32], list[32], promo[32], until[16], restock[16], stock[24];
    var_t                  v[8];
    int                    alt;

    add_source(k, pr->sku);
    money(c, price_now(c, p), price, sizeof(price));
    money(c, pr->price_cents, list, sizeof(list));
    v[0] = (var_t) { "product", pr->name };
    v[1] = (var_t) { "sku", pr->sku };
    v[2] = (var_t) { "price", price };
    v[3] = (var_t) { "list_price", list };
    snprintf(stock, sizeof(stock), "%lld", (long long) (pr->stock < 0 ? 0 : pr->stock));
    v[6] = (var_t) { "stock", stock };
    if (!pr->active) {
        v[4] = v[6];
        if (tmpl(k, "discontinued", v, 5) != 0) {
            sb_sep(&k->sb);
            if (cwai_lang_family(c->lang) == 0) {
                sb_addf(&k->sb, "%s %s saiu de linha e não está mais à venda.", art(c, pr->name, 1), pr->name);
            } else {
                sb_addf(&k->sb, L(c, "", "%s has been discontinued.", "%s fue descontinuado."), pr->name);
            }
        }
        alt = alternative(k, p);
        if (alt >= 0) {
            const cwai_product_t  *a = &c->d->products[alt];

            money(c, price_now(c, alt), price, sizeof(price));
            add_source(k, a->sku);
            sb_sep(&k->sb);
            if (cwai_lang_family(c->lang) == 0) {
                sb_addf(&k->sb, "Uma alternativa é %s %s (%s), por %s.", art(c, a->name, 0), a->name,
                        a->sku, price);
            } else {
                sb_addf(&k->sb, L(c, "", "An alternative is %s (%s), for %s.",
                                  "Una alternativa es %s (%s), por %s."), a->name, a->sku, price);
            }
        }
        k->answered = 1;
        return;
    }
    if (pr->stock == 0) {
        if (pr->restock_date.year) {
            cwai_fmt_ddmm(pr->restock_date, restock, sizeof(restock));
            v[4] = (var_t) { "restock_date", restock };
            v[5] = v[6];
            if (tmpl(k, "restock", v, 6) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "%s %s está esgotad%s, com previsão de reposição em %s.", art(c, pr->name, 1),
                        pr->name, art(c, pr->name, 0), restock);
            }
        } else if ((v[4] = v[6], tmpl(k, "out_of_stock", v, 5)) != 0) {
            sb_sep(&k->sb);
            sb_addf(&k->sb, "%s %s está esgotad%s no momento.", art(c, pr->name, 1), pr->name,
                    art(c, pr->name, 0));
        }
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "O preço é %s.", "The price is %s.", "El precio es %s."), price);
        alt = alternative(k, p);
        if (alt >= 0) {
            const cwai_product_t  *a = &c->d->products[alt];

            money(c, price_now(c, alt), price, sizeof(price));
            add_source(k, a->sku);
            sb_sep(&k->sb);
            if (cwai_lang_family(c->lang) == 0) {
                sb_addf(&k->sb, "Uma opção disponível agora é %s %s (%s), por %s.", art(c, a->name, 0),
                        a->name, a->sku, price);
            } else {
                sb_addf(&k->sb, L(c, "", "Available now: %s (%s), for %s.",
                                  "Disponible ahora: %s (%s), por %s."), a->name, a->sku, price);
            }
        }
        k->answered = 1;
        return;
    }
    if (on_promo(c, p)) {
        money(c, pr->promo_price_cents, promo, sizeof(promo));
        cwai_fmt_ddmm(pr->promo_until, until, sizeof(until));
        v[4] = (var_t) { "promo_price", promo };
        v[5] = (var_t) { "promo_until", until };
        if (tmpl(k, "price_promo", v, 7) != 0) {
            sb_sep(&k->sb);
            sb_addf(&k->sb, "O %s (%s) está em promoção: de %s por %s, até %s.", pr->name, pr->sku,
                    list, promo, until);
        }
        if (pr->stock > 0 && pr->stock <= 10) {
            say(k, L(c, "Temos poucas unidades em estoque.", "Only a few left in stock.",
                     "Quedan pocas unidades."));
        }
    } else {
        v[4] = v[6];
        if (tmpl(k, "price", v, 5) != 0) {
            sb_sep(&k->sb);
            sb_addf(&k->sb, "O %s (%s) custa %s e está disponível.", pr->name, pr->sku, price);
        }
        if (pr->stock > 0 && pr->stock <= 10) {
            say(k, L(c, "Temos poucas unidades em estoque.", "Only a few left in stock.",
                     "Quedan pocas unidades."));
        }
    }
    k->answered = 1;
}

static const char *
first_sentence(const char *s, char *buf, size_t size)
{
    const char  *e = strstr(s, ". ");
    size_t       n = e ? (size_t) (e - s + 1) : strlen(s);

    if (n >= size) {
        n = size - 1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int
skin_matches(unsigned want, unsigned have, float *score)
{
    int   bit, n = 0;
    float s = 0;

    for (bit = 1; bit <= SK_SENSIVEL; bit <<= 1) {
        if (!(want & (unsigned) bit)) {
            continue;
        }
        if (have & (unsigned) bit) {
            s += 1.0f;
            n++;
        } else if (have & SK_TODOS) {
            s += 0.3f;
        }
    }
    *score = s;
    return n;
}

static const char *
skin_words(unsigned skin, char *buf, size_t size)
{
    static const char  *const names[] = { "oleosa", "seca", "mista", "normal", "sensível" };
    size_t              used = 0;
    int                 i, n = 0, total = 0;

    for (i = 0; i < 5; i++) {
        total += (skin >> i) & 1;
    }
    buf[0] = '\0';
    for (i = 0; i < 5; i++) {
        if (!((skin >> i) & 1)) {
            continue;
        }
        used += (size_t) snprintf(buf + used, size - used, "%s%s",
                                  n == 0 ? "pele " : (n == total - 1 ? " e " : ", "), names[i]);
        n++;
        if (used >= size) {
            break;
        }
    }
    return buf;
}

/* Ranks product hits for a request (m, its synonyms syn): the retrieval
 * score, the customer's own words, the words of the need each product has,
 * skin type, stock; not what the customer says she already uses (context
 * mentions of the message, when m is the message). Fills idx, sc and need
 * (at most 8) best first; returns how many. */
static int
rank_products(const cwai_ctx_t *c, const ptext_t *m, const ptext_t *syn, const cwai_hit_t *ph,
    size_t nph, int *idx, float *sc, float *need)
{
    float     own[8], nw[32];
    uint64_t  nh[32];
    size_t    nn = cwai_need_words(m, syn, nh, nw, 32);
    int       n = 0, i, j;

    {
        uint32_t  docs[8];

        for (i = 0; i < (int) nph && i < 8; i++) {
            docs[i] = ph[i].doc;
        }
        /* rank on the customer's own words as much as on the synonyms */
        cwai_index_score_docs(c->b->kix, &m->t, docs, (size_t) i, own);
    }
    for (i = 0; i < (int) nph && i < 8; i++) {
        int                    p = cwai_index_doc(c->b->kix, ph[i].doc)->ref;
        const cwai_product_t  *pr = &c->d->products[p];
        float                  s = 0.5f * ph[i].score + 0.5f * own[i], skm = 0;
        int                    ctxm = 0;

        for (j = 0; m == &c->m && j < c->nprod; j++) {
            if (c->prod[j].idx == p && c->prod[j].context) {
                ctxm = 1;
            }
        }
        if (!pr->active || ctxm) {
            continue;
        }
        if (c->skin) {
            skin_matches(c->skin, c->b->pk[p].skin, &skm);
            s += 0.15f * skm;
        }
        s += pr->stock == 0 ? -0.25f : 0.05f;
        /* the words of the need the product has ("à prova d'água", "queda") */
        need[n] = cwai_need_score(c->b, p, nh, nw, nn);
        s += 0.04f * (need[n] < 5.0f ? need[n] : 5.0f);
#ifdef CWAI_DEBUG_ROUTER
        fprintf(stderr, "recommend %s cos=%.3f own=%.3f skin=%.2f need=%.2f -> %.3f\n", pr->sku, ph[i].score,
                own[i], skm, need[n], s);
#endif
        idx[n] = p;
        sc[n++] = s;
    }
    /* sort by score */
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && sc[j] > sc[j - 1]; j--) {
            float  ts = sc[j], tn = need[j];
            int    ti = idx[j];

            sc[j] = sc[j - 1];
            idx[j] = idx[j - 1];
            need[j] = need[j - 1];
            sc[j - 1] = ts;
            idx[j - 1] = ti;
            need[j - 1] = tn;
        }
    }
    return n;
}

/* Recommends from the product hits. Returns the number of products shown. */
static int
recommend(comp_t *k)
{
    cwai_ctx_t  *c = k->c;
    float        sc[8], need[8];
    int          idx[8], pick[3], n, npick = 0, i, shown, many;
    char         price[32], desc[200], sk[64];

    n = rank_products(c, &c->m, &c->syn, c->ph, c->nph, idx, sc, need);
    if (n == 0 || sc[0] < 0.2f) {
        return 0;
    }
    many = cwai_has_phrase(&c->m, "o que") || cwai_has_phrase(&c->m, "quais")
           || cwai_has_phrase(&c->m, "opcoes") || cwai_has_phrase(&c->m, "linha");
    for (i = 0; i < n && npick < (many ? 3 : 2); i++) {
        /* a second option only when it is as good (a tie) or asked for;
         * "o que vocês têm pra queda?" lists the products that answer the
         * need (the line), not only the best */
        if (i > 0 && (sc[i] < sc[0] * 0.75f || sc[i] < 0.2f || (!many && sc[i] < sc[0] - 0.02f))
            && !(many && need[i] > 0 && need[i] >= 0.5f * need[0] && sc[i] >= sc[0] * 0.6f))
        {
            continue;
        }
        pick[npick++] = idx[i];
    }
    for (i = 0; i < npick; i++) {
        const cwai_product_t  *pr = &c->d->products[pick[i]];

        money(c, price_now(c, pick[i]), price, sizeof(price));
        add_source(k, pr->sku);
        if (i == 0) {
            sb_sep(&k->sb);
            if (c->skin && cwai_lang_family(c->lang) == 0) {
                sb_addf(&k->sb, "Para %s, indico %s %s (%s), por %s.",
                        skin_words(c->skin, sk, sizeof(sk)), art(c, pr->name, 0), pr->name, pr->sku, price);
            } else {
                if (cwai_lang_family(c->lang) == 0) {
                    sb_addf(&k->sb, "Indico %s %s (%s), por %s.", art(c, pr->name, 0), pr->name, pr->sku, price);
                } else {
                    sb_addf(&k->sb, L(c, "", "I recommend %s (%s), for %s.", "Te recomiendo %s (%s), por %s."),
                            pr->name, pr->sku, price);
                }
            }
            if (pr->description) {
                say(k, first_sentence(pr->description, desc, sizeof(desc)));
            }
            if (pr->stock == 0) {
                say(k, L(c, "(Está esgotado no momento.)", "(Out of stock at the moment.)",
                         "(Agotado por ahora.)"));
            }
            continue;
        }
        /* the other options in one sentence */
        if (i == 1) {
            sb_sep(&k->sb);
            sb_add(&k->sb, L(c, "Também temos ", "We also have ", "También tenemos "));
        } else {
            sb_add(&k->sb, L(c, " e ", " and ", " y "));
        }
        if (cwai_lang_family(c->lang) == 0) {
            sb_addf(&k->sb, "%s %s (%s), por %s", art(c, pr->name, 0), pr->name, pr->sku, price);
        } else {
            sb_addf(&k->sb, L(c, "", "%s (%s), for %s", "%s (%s), por %s"), pr->name, pr->sku, price);
        }
        if (pr->stock == 0) {
            sb_add(&k->sb, L(c, " (esgotado no momento)", " (out of stock at the moment)", " (agotado por ahora)"));
        }
        if (i == npick - 1) {
            sb_add(&k->sb, ".");
        } else if (npick > 2) {
            sb_add(&k->sb, ",");
        }
    }
    shown = npick;
    c->focus = idx[0];
    k->answered = shown > 0;
    return shown;
}

/* The sentence of the focus product's description that best answers. */
static int
product_detail(comp_t *k, int p)
{
    const cwai_ctx_t      *c = k->c;
    const cwai_product_t  *pr = &c->d->products[p];
    const char            *s, *e, *best = NULL;
    size_t                 bl = 0;
    int                    bs = 0;
    ptext_t                pt;

    if (pr->description == NULL) {
        return 0;
    }
    memset(&pt, 0, sizeof(pt));
    for (s = pr->description; *s; s = e) {
        size_t  i, j;
        int     score = 0;

        e = strstr(s, ". ");
        e = e ? e + 2 : s + strlen(s);
        if (cwai_ptext_parse(&pt, s, (size_t) (e - s), NULL) != 0) {
            break;
        }
        for (i = 0; i < c->m.t.ntok; i++) {
            if (c->m.t.tok[i].stop) {
                continue;
            }
            for (j = 0; j < pt.t.ntok; j++) {
                if (c->m.sh[i] == pt.sh[j]
                    || (c->m.t.tok[i].stemlen >= 4 && pt.t.tok[j].stemlen >= 4
                        && memcmp(c->m.t.tok[i].stem, pt.t.tok[j].stem, 4) == 0))
                {
                    score++;
                    break;
                }
            }
        }
        if (score > bs) {
            bs = score;
            best = s;
            bl = (size_t) (e - s);
        }
    }
    cwai_ptext_free(&pt);
    add_source(k, pr->sku);
    sb_sep(&k->sb);
    if (best) {
        while (bl > 0 && (best[bl - 1] == ' ')) {
            bl--;
        }
        if (cwai_lang_family(c->lang) == 0) {
            sb_addf(&k->sb, "Sobre %s %s: ", art(c, pr->name, 0), pr->name);
        } else {
            sb_addf(&k->sb, L(c, "", "About %s: ", "Sobre %s: "), pr->name);
        }
        sb_addn(&k->sb, best, bl);
    } else {
        sb_addf(&k->sb, "%s: %s", pr->name, pr->description);
    }
    k->answered = 1;
    return 1;
}

/* ---- totals: cart, Pix, instalments, shipping ------------------------------- */

typedef struct {
    int  p[CWAI_CART_MAX];
    int  q[CWAI_CART_MAX];
    int  n;
} items_t;

static void
items_add(items_t *it, int p, int q)
{
    int  i;

    for (i = 0; i < it->n; i++) {
        if (it->p[i] == p) {
            if (q > it->q[i]) {
                it->q[i] = q;
            }
            return;
        }
    }
    if (it->n < CWAI_CART_MAX) {
        it->p[it->n] = p;
        it->q[it->n++] = q;
    }
}

static int64_t
items_total(const cwai_ctx_t *c, const items_t *it)
{
    int64_t  t = 0;
    int      i;

    for (i = 0; i < it->n; i++) {
        t += price_now(c, it->p[i]) * it->q[i];
    }
    return t;
}

/* The items and their total; a single item only when force. */
static void
say_items(comp_t *k, const items_t *it, int64_t total, int force)
{
    const cwai_ctx_t  *c = k->c;
    char               price[32], tot[32];
    int                i;

    money(c, total, tot, sizeof(tot));
    sb_sep(&k->sb);
    if (it->n == 1 && it->q[0] == 1 && !force) {
        return;
    }
    for (i = 0; i < it->n; i++) {
        const cwai_product_t  *pr = &c->d->products[it->p[i]];

        money(c, price_now(c, it->p[i]), price, sizeof(price));
        add_source(k, pr->sku);
        if (i > 0) {
            sb_add(&k->sb, i == it->n - 1 ? L(c, " e ", " and ", " y ") : ", ");
        }
        if (it->q[i] > 1) {
            sb_addf(&k->sb, "%d × %s (%s cada)", it->q[i], pr->name, price);
        } else {
            sb_addf(&k->sb, "%s (%s)", pr->name, price);
        }
    }
    sb_addf(&k->sb, L(c, ": %s em produtos.", ": %s in products.", ": %s en productos."), tot);
}

/* "os 3" when the conversation quoted fewer products: the ones that
 * answer an earlier request of the customer complete the count (the line
 * she asked about), best first. A request counts only when it asked for a
 * kind of product (not one by name) and the products already quoted are
 * among its answers. */
static void
complete_items(comp_t *k, items_t *it, int want)
{
    const cwai_ctx_t          *c = k->c;
    const cwai_agent_input_t  *in = c->in;
    size_t                     h, seen = 0;

    for (h = in->nhistory; h-- > c->hist_first && seen < 4 && it->n < want; ) {
        const cwai_turn_t  *tu = &in->history[h];
        ptext_t             m, syn;
        cwai_hit_t          ph[8];
        size_t              nph;
        float               sc[8], need[8];
        int                 idx[8], n, i, j, rel = 0;
        items_t             add;

        if (tu->role != CWAI_ROLE_CUSTOMER || tu->text == NULL) {
            continue;
        }
        seen++;
        if ((c->hist_named >> (h - c->hist_first)) & 1) {
            continue;
        }
        memset(&m, 0, sizeof(m));
        memset(&syn, 0, sizeof(syn));
        memset(&add, 0, sizeof(add));
        nph = cwai_request_products(c, tu->text, &m, &syn, ph, 8);
        n = rank_products(c, &m, &syn, ph, nph, idx, sc, need);
        for (i = 0; i < n; i++) {
            int  have = 0;

            for (j = 0; j < it->n; j++) {
                have |= it->p[j] == idx[i];
            }
            if (have) {
                rel = 1;
            } else if (need[i] > 0 && sc[i] >= 0.6f * sc[0] && sc[i] >= 0.2f
                       && c->d->products[idx[i]].stock != 0)
            {
                items_add(&add, idx[i], 1);
            }
        }
        for (i = 0; rel && i < add.n && it->n < want; i++) {
            items_add(it, add.p[i], 1);
        }
        cwai_ptext_free(&m);
        cwai_ptext_free(&syn);
        if (rel) {
            break;
        }
    }
}

static const char *
group_of(const cwai_ctx_t *c, const cwai_place_t **pl)
{
    if (c->has_place) {
        *pl = &c->place;
        return c->place.group;
    }
    if (c->has_hplace) {
        *pl = &c->hplace;
        return c->hplace.group;
    }
    *pl = NULL;
    return NULL;
}

/* Shipping for the items: free above the threshold, by region, or the
 * table. Returns the shipping in cents (-1 unknown). */
static int64_t
shipping(comp_t *k, int64_t total, int quiet_table)
{
    const cwai_ctx_t    *c = k->c;
    const cwai_kv_t     *freemin = fig(k, "free_shipping_min", 0), *price, *days;
    const cwai_place_t  *pl;
    const char          *group = group_of(c, &pl);
    char                 key[64], fm[32], pb[32], region[96];
    var_t                v[4];

    {
        const cwai_kv_t        *ft = fig(k, "free_shipping_tier", 0);
        const cwai_customer_t  *cu = c->in->customer;
        char                    tk[32], tn[32];

        if (ft && ft->text && cu && cu->tier) {
            tier_key(cu->tier, tk, sizeof(tk));
            if (strcmp(tk, ft->text) == 0) {
                const cwai_rule_t  *r = NULL;

                (void) cwai_figure(c->d, "free_shipping_tier", &r);
                add_source(k, r ? r->id : NULL);
                tier_name(cu->tier, tn, sizeof(tn));
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "Como você é nível %s, o frete padrão é grátis.",
                                  "As a %s member, standard shipping is free.",
                                  "Como eres nivel %s, el envío estándar es gratis."), tn);
                return 0;
            }
        }
    }
    if (freemin && total > 0 && total >= freemin->cents) {
        const cwai_rule_t  *r = NULL;

        (void) cwai_figure(c->d, "free_shipping_min", &r);
        add_source(k, r ? r->id : NULL);
        money(c, freemin->cents, fm, sizeof(fm));
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "Como passa de %s em produtos, o frete padrão é grátis. 🎉",
                          "As it is over %s, standard shipping is free.",
                          "Como supera %s, el envío estándar es gratis."), fm);
        return 0;
    }
    if (group) {
        snprintf(key, sizeof(key), "shipping_%s", group);
        price = fig(k, key, 1);
        snprintf(key, sizeof(key), "days_%s", group);
        days = fig(k, key, 1);
        if (price) {
            money(c, price->cents, pb, sizeof(pb));
            if (pl->uf && strcmp(pl->label, pl->uf) != 0 && strcmp(pl->uf, "SP") != 0) {
                snprintf(region, sizeof(region), "%s (%s)", pl->label, pl->uf);
            } else {
                snprintf(region, sizeof(region), "%s", pl->label);
            }
            v[0] = (var_t) { "region", region };
            v[1] = (var_t) { "shipping", pb };
            v[2] = (var_t) { "days", days ? days->text : NULL };
            if (tmpl(k, "shipping", v, 3) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "Para %s, o frete padrão é %s.", region, pb);
                if (freemin) {
                    money(c, freemin->cents, fm, sizeof(fm));
                    sb_addf(&k->sb, " Acima de %s em produtos, o frete é grátis.", fm);
                }
            }
            return price->cents;
        }
    }
    if (!quiet_table) {
        /* the table, from the FAQ or the rule that holds it */
        const cwai_faq_t  *q = cwai_domain_faq(c->d, "FAQ-02");
        const cwai_rule_t *r = NULL;

        if (freemin) {
            (void) cwai_figure(c->d, "free_shipping_min", &r);
        }
        if (r) {
            size_t  i;

            for (i = 0; i < c->d->nfaqs; i++) {
                if (c->d->faqs[i].rules.n && strcmp(c->d->faqs[i].rules.v[0], r->id) == 0
                    && strstr(c->d->faqs[i].answer, "R$") && strstr(c->d->faqs[i].answer, ";"))
                {
                    q = &c->d->faqs[i];
                    break;
                }
            }
            add_source(k, r->id);
            if (q && q->answer) {
                add_source(k, q->id);
                say(k, q->answer);
            } else {
                say(k, r->text);
            }
            if (freemin && q) {
                money(c, freemin->cents, fm, sizeof(fm));
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "A partir de %s em produtos, o frete padrão é grátis.",
                                  "From %s in products, standard shipping is free.",
                                  "Desde %s en productos, el envío estándar es gratis."), fm);
            }
        }
    }
    return -1;
}

static void
pix_total(comp_t *k, int64_t total)
{
    const cwai_ctx_t  *c = k->c;
    const cwai_kv_t   *pct = fig(k, "pix_discount_percent", 1);
    char               t1[32], t2[32];
    var_t              v[2];
    int64_t            pix;

    if (pct == NULL) {
        return;
    }
    pix = round_div(total * (100 * 100 - pct->cents), 100 * 100);
    money(c, total, t1, sizeof(t1));
    money(c, pix, t2, sizeof(t2));
    v[0] = (var_t) { "total", t1 };
    v[1] = (var_t) { "pix_total", t2 };
    if (tmpl(k, "pix_total", v, 2) != 0) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, "No Pix, com %lld%% de desconto, %s ficam %s (sem contar o frete).",
                (long long) pct->integer, t1, t2);
    }
}

static void
installments(comp_t *k, int64_t total)
{
    const cwai_ctx_t  *c = k->c;
    const cwai_kv_t   *mx = fig(k, "installments_max", 1), *mn = fig(k, "installment_min", 1);
    char               t1[32], t2[32], nb[8];
    var_t              v[3];
    int64_t            n, want = -1;
    size_t             i;

    if (mx == NULL) {
        return;
    }
    /* the number the customer asks for: "6x", "em 6 vezes", "6 parcelas" */
    for (i = 0; i < c->m.t.ntok; i++) {
        const cwai_tok_t  *t = &c->m.t.tok[i];

        if (t->kind == CWAI_TOK_MIXED && t->wlen >= 2 && t->w[t->wlen - 1] == 'x'
            && t->w[0] >= '1' && t->w[0] <= '9')
        {
            want = strtol(t->w, NULL, 10);
        } else if (t->kind == CWAI_TOK_NUM && t->wlen <= 2 && i + 1 < c->m.t.ntok
                   && (strcmp(c->m.t.tok[i + 1].w, "vezes") == 0 || strcmp(c->m.t.tok[i + 1].w, "x") == 0
                       || strncmp(c->m.t.tok[i + 1].w, "parcela", 7) == 0
                       || strcmp(c->m.t.tok[i + 1].w, "cuotas") == 0
                       || strncmp(c->m.t.tok[i + 1].w, "installment", 11) == 0))
        {
            want = strtol(t->w, NULL, 10);
        }
    }
    /* as many as asked, up to the rule's maximum and minimum instalment */
    n = mx->integer;
    if (want > 0 && want < n) {
        n = want;
    }
    while (n > 1 && mn && round_div(total, n) < mn->cents) {
        n--;
    }
    money(c, total, t1, sizeof(t1));
    money(c, round_div(total, n), t2, sizeof(t2));
    snprintf(nb, sizeof(nb), "%lld", (long long) n);
    v[0] = (var_t) { "total", t1 };
    v[1] = (var_t) { "installments", nb };
    v[2] = (var_t) { "installment_value", t2 };
    if (want > mx->integer) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "O parcelamento vai até %lldx sem juros.", "Up to %lld interest-free instalments.",
                          "Hasta %lld cuotas sin interés."), (long long) mx->integer);
    } else if (want > n && mn) {
        char  t3[32];

        money(c, mn->cents, t3, sizeof(t3));
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "Em %lldx a parcela ficaria abaixo do mínimo de %s.",
                          "In %lld instalments each would be below the minimum of %s.",
                          "En %lld cuotas cada una quedaría por debajo del mínimo de %s."),
                (long long) want, t3);
    }
    if (n == 1 && mn) {
        char  t3[32];

        money(c, mn->cents, t3, sizeof(t3));
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "No cartão, %s é pago em 1x, porque a parcela mínima é %s.",
                          "By card, %s is paid in one go: the minimum instalment is %s.",
                          "Con tarjeta, %s se paga en una cuota: la cuota mínima es %s."), t1, t3);
        return;
    }
    if (tmpl(k, "installments", v, 3) != 0) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, "No cartão, %s fica em %lldx sem juros de %s.", t1, (long long) n, t2);
    }
}

/* ---- scheduling ---------------------------------------------------------------- */

typedef struct {
    const cwai_slot_t  *s[64];
    int                 n;
} slots_t;

static int
slot_ok_now(const cwai_ctx_t *c, const cwai_slot_t *s)
{
    int  cmp = cwai_date_cmp(s->date, today(c));

    return cmp > 0 || (cmp == 0 && s->start > c->now.minute + c->d->availability.lead_minutes);
}

static int
daypart_ok(int daypart, int start)
{
    switch (daypart) {
    case CWAI_DAYPART_MORNING:
        return start < 12 * 60;
    case CWAI_DAYPART_AFTERNOON:
        return start >= 12 * 60 && start < 18 * 60;
    case CWAI_DAYPART_EVENING:
        return start >= 18 * 60;
    default:
        return 1;
    }
}

/* Free slots of a service: on a date (year 0: any), from a date, at a
 * time (-1: any), with a professional (-1: any), in a part of the day. */
static void
find_slots(const cwai_ctx_t *c, int svc, cwai_date_t on, cwai_date_t from, int time,
    int prof, int daypart, slots_t *out)
{
    const cwai_availability_t  *av = &c->d->availability;
    size_t                      i;

    out->n = 0;
    for (i = 0; i < av->nslots && out->n < 64; i++) {
        const cwai_slot_t  *s = &av->slots[i];

        if (s->service_ptr != &c->d->services[svc] || !slot_ok_now(c, s)) {
            continue;
        }
        if (on.year && cwai_date_cmp(s->date, on) != 0) {
            continue;
        }
        if (from.year && cwai_date_cmp(s->date, from) < 0) {
            continue;
        }
        if (time >= 0 && s->start != time) {
            continue;
        }
        if (prof >= 0 && s->professional_ptr != &c->d->professionals[prof]) {
            continue;
        }
        if (!daypart_ok(daypart, s->start)) {
            continue;
        }
        out->s[out->n++] = s;
    }
    /* by date, then time */
    for (i = 1; i < (size_t) out->n; i++) {
        size_t  j;

        for (j = i; j > 0; j--) {
            const cwai_slot_t  *a = out->s[j - 1], *b = out->s[j];
            int                 cmp = cwai_date_cmp(a->date, b->date);

            if (cmp < 0 || (cmp == 0 && a->start <= b->start)) {
                break;
            }
            out->s[j - 1] = b;
            out->s[j] = a;
        }
    }
}

static const char *
prof_name(const cwai_slot_t *s)
{
    return s->professional_ptr ? s->professional_ptr->name : s->professional;
}

/* "09:00 com Jéssica Matos, 18:00 com Jéssica Matos e 18:30 com Renata Oliveira" */
static void
slot_list_same_day(comp_t *k, const slots_t *sl, int max, sb_t *out)
{
    const cwai_ctx_t  *c = k->c;
    char               hm[8];
    int                i, n = sl->n < max ? sl->n : max;

    for (i = 0; i < n; i++) {
        cwai_fmt_hhmm(sl->s[i]->start, hm, sizeof(hm));
        if (i > 0) {
            sb_add(out, i == n - 1 ? L(c, " e ", " and ", " y ") : ", ");
        }
        sb_addf(out, L(c, "%s com %s", "%s with %s", "%s con %s"), hm, prof_name(sl->s[i]));
        add_source(k, sl->s[i]->id);
    }
}

/* "terça, 08/12, às 16:30 com Renata Oliveira; quarta, 09/12, às 10:30 ..." */
static void
slot_list_days(comp_t *k, const slots_t *sl, int max, sb_t *out)
{
    const cwai_ctx_t  *c = k->c;
    char               day[32], hm[8];
    int                i, n = sl->n < max ? sl->n : max;

    for (i = 0; i < n; i++) {
        cwai_fmt_day(sl->s[i]->date, c->lang, day, sizeof(day));
        cwai_fmt_hhmm(sl->s[i]->start, hm, sizeof(hm));
        if (i > 0) {
            sb_add(out, i == n - 1 ? L(c, " e ", " and ", " y ") : "; ");
        }
        sb_addf(out, L(c, "%s, às %s com %s", "%s at %s with %s", "%s, a las %s con %s"),
                day, hm, prof_name(sl->s[i]));
        add_source(k, sl->s[i]->id);
    }
}

static void
service_line(comp_t *k, int svc)
{
    const cwai_ctx_t      *c = k->c;
    const cwai_service_t  *s = &c->d->services[svc];
    char                   price[32], dur[16];
    var_t                  v[3];

    if (s->price_cents == 0) {
        snprintf(price, sizeof(price), "%s", L(c, "gratuito", "free", "gratis"));
    } else {
        money(c, s->price_cents, price, sizeof(price));
    }
    snprintf(dur, sizeof(dur), "%d", s->duration_minutes);
    v[0] = (var_t) { "service", s->name };
    v[1] = (var_t) { "duration", dur };
    v[2] = (var_t) { "price", price };
    add_source(k, s->id);
    if (tmpl(k, "service", v, 3) != 0) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, "%s: %s minutos, %s.", s->name, dur, price);
    }
}

static const cwai_tool_t *
tool(const cwai_ctx_t *c, const char *name)
{
    const cwai_tool_t  *t = cwai_domain_tool(c->d, name);

    return t && t->enabled ? t : NULL;
}

static void
offer_slot(comp_t *k, const cwai_slot_t *s, int confirm)
{
    const cwai_ctx_t      *c = k->c;
    const cwai_service_t  *sv = s->service_ptr;
    char                   day[32], hm[8], price[32];

    cwai_fmt_day_on(s->date, c->lang, day, sizeof(day));
    cwai_fmt_hhmm(s->start, hm, sizeof(hm));
    if (sv->price_cents == 0) {
        snprintf(price, sizeof(price), "%s", L(c, "gratuito", "free", "gratis"));
    } else {
        money(c, sv->price_cents, price, sizeof(price));
    }
    add_source(k, sv->id);
    add_source(k, s->id);
    sb_sep(&k->sb);
    if (confirm) {
        sb_addf(&k->sb, L(c, "Perfeito! Vou reservar %s %s, às %s, com %s (%d min, %s, pago na loja).",
                          "Great! I'll book %s %s at %s with %s (%d min, %s, paid at the store).",
                          "¡Perfecto! Reservo %s %s a las %s con %s (%d min, %s, se paga en la tienda)."),
                sv->name, day, hm, prof_name(s), sv->duration_minutes, price);
        if (tool(c, "book_appointment")) {
            k->out->needs_tool = "book_appointment";
            say(k, L(c, "Assim que a reserva for confirmada na agenda, te aviso por aqui.",
                     "You'll get the confirmation here as soon as it is in the calendar.",
                     "Te confirmo por aquí en cuanto quede en la agenda."));
        }
        if (!c->is_name) {
            say(k, L(c, "Para confirmar, me informe o nome completo de quem vai ser atendida, por favor.",
                     "To confirm, please tell me the full name of the person being served.",
                     "Para confirmar, dime el nombre completo de quien será atendida, por favor."));
        }
        tier_discount(k, sv->price_cents);
    } else {
        sb_addf(&k->sb, L(c, "Tenho %s livre %s, às %s, com %s (%d min, %s).",
                          "%s is free %s at %s with %s (%d min, %s).",
                          "Tengo %s libre %s a las %s con %s (%d min, %s)."),
                sv->name, day, hm, prof_name(s), sv->duration_minutes, price);
        tier_discount(k, sv->price_cents);
        say(k, L(c, "Posso reservar?", "Shall I book it?", "¿Lo reservo?"));
    }
    k->answered = 1;
}

static int
has_any(const cwai_ctx_t *c, const char *const *phrases)
{
    size_t  i;

    for (i = 0; phrases[i]; i++) {
        if (cwai_has_phrase(&c->m, phrases[i])) {
            return 1;
        }
    }
    return 0;
}

static const char  *const w_reschedule[] = {
    "remarcar", "remarca", "reagendar", "desmarcar", "cancelar", "cancela",
    "nao vou conseguir", "nao vou poder", "mudar o horario", "trocar o horario",
    "adiar", NULL
};

static const char  *const w_existing[] = {
    "tenho", "meu horario", "marcado", "marcada", "agendado", "agendada", NULL
};

/* The answer about an appointment the customer says she has. */
static void
existing_appointment(comp_t *k, int svc, cwai_date_t date, int time)
{
    const cwai_ctx_t  *c = k->c;
    const cwai_kv_t   *notice = fig(k, "cancel_notice_hours", 1);
    const cwai_kv_t   *fee = fig(k, "late_cancel_fee_percent", 0);
    char               day[32], hm[8];
    int64_t            left;

    cwai_fmt_day(date, c->lang, day, sizeof(day));
    cwai_fmt_hhmm(time, hm, sizeof(hm));
    add_source(k, c->d->services[svc].id);
    sb_sep(&k->sb);
    sb_addf(&k->sb, L(c, "Sobre a sua %s de %s, às %s:", "About your %s on %s at %s:",
                      "Sobre tu %s del %s a las %s:"), c->d->services[svc].name, day, hm);
    if (notice) {
        left = cwai_local_to_unix(date, time, c->b->tz) - c->now_unix;
        sb_sep(&k->sb);
        if (left >= notice->integer * 3600) {
            sb_addf(&k->sb, L(c, "como faltam mais de %lld horas, dá para remarcar ou cancelar sem custo.",
                              "as it is more than %lld hours away, you can reschedule or cancel at no cost.",
                              "como faltan más de %lld horas, puedes cambiarla o cancelarla sin costo."),
                    (long long) notice->integer);
        } else {
            sb_addf(&k->sb, L(c, "como faltam menos de %lld horas, a remarcação ou o cancelamento tem taxa de %lld%% do valor do serviço.",
                              "as it is less than %lld hours away, changing or cancelling costs %lld%% of the service.",
                              "como faltan menos de %lld horas, cambiarla o cancelarla cuesta el %lld%% del servicio."),
                    (long long) notice->integer, fee ? (long long) fee->integer : 50LL);
        }
    }
    say(k, L(c, "Quer remarcar para outro dia? Me diga a data que eu vejo os horários livres.",
             "Would you like another day? Tell me the date and I'll check the free times.",
             "¿Quieres otro día? Dime la fecha y veo los horarios libres."));
    k->answered = 1;
}

static int
knowledge_answer(comp_t *k, int agent_filter);

static int
compose_scheduling(comp_t *k)
{
    cwai_ctx_t            *c = k->c;
    const cwai_domain_t   *d = c->d;
    int                    svc = c->sched.svc, confirm, i;
    const cwai_service_t  *sv;
    cwai_date_t            date = c->sched.date, none = { 0, 0, 0 }, from;
    slots_t               *sl, *nx;
    sb_t                   list;
    char                   day[32], dm[8], hm[8], wd[32];
    var_t                  v[6];
    int                    first_time = svc >= 0 && c->sched_hist_svc != svc;

    if (svc < 0) {
        static const char  *const w_book[] = {
            "marcar", "agendar", "horario", "vaga", "reservar", "agenda", NULL
        };

        if (has_any(c, w_reschedule) || c->ent.age >= 0 || !has_any(c, w_book)
            || c->d->nservices == 0)
        {
            return knowledge_answer(k, AG_SCHEDULING);
        }
        say(k, L(c, "Qual serviço você quer agendar? Temos:", "Which service would you like to book? We have:",
                 "¿Qué servicio quieres reservar? Tenemos:"));
        for (i = 0; i < (int) d->nservices; i++) {
            sb_add(&k->sb, i == 0 ? " " : (i == (int) d->nservices - 1 ? L(c, " e ", " and ", " y ") : ", "));
            sb_add(&k->sb, d->services[i].name);
        }
        sb_add(&k->sb, ".");
        k->answered = 1;
        return 1;
    }
    sv = &d->services[svc];

    /* an appointment the customer already has */
    if (has_any(c, w_reschedule) && has_any(c, w_existing) && c->ent.time >= 0 && c->ent.date.year) {
        existing_appointment(k, svc, c->ent.date, c->ent.time);
        return 1;
    }

    /* age and guardian */
    if (c->ent.age >= 0) {
        const cwai_kv_t  *g = fig(k, "guardian_required_under", 1);
        int               under = sv->guardian_required_under ? sv->guardian_required_under
                                  : (g ? (int) g->integer : 0);

        sb_sep(&k->sb);
        if (sv->min_age && c->ent.age < sv->min_age) {
            if (cwai_lang_family(c->lang) == 0) {
                sb_addf(&k->sb, "%s %s é feit%s a partir de %d anos.", art(c, sv->name, 1), sv->name,
                        art(c, sv->name, 0), sv->min_age);
            } else {
                sb_addf(&k->sb, L(c, "", "%s is for ages %d and up.", "%s es a partir de los %d años."),
                        sv->name, sv->min_age);
            }
        } else {
            sb_add(&k->sb, L(c, "Pode sim!", "Yes, you can!", "¡Sí, puedes!"));
            if (under && c->ent.age < under) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "Menores de %d anos são atendidos com a presença do responsável legal, que assina um termo de autorização na loja.",
                                  "Under-%d clients come with a legal guardian, who signs a consent form at the store.",
                                  "Menores de %d años vienen con su responsable legal, que firma una autorización en la tienda."),
                        under);
            }
        }
        service_line(k, svc);
        first_time = 0;
        k->answered = 1;
        if (!date.year && c->sched.time < 0) {
            return 1;
        }
    }

    confirm = c->affirm || c->is_name
              || (c->ent.time >= 0 && !c->ent.date.year && c->m.t.ntok <= 3);
    sl = malloc(sizeof(slots_t));
    nx = malloc(sizeof(slots_t));
    if (sl == NULL || nx == NULL) {
        free(sl);
        free(nx);
        return 0;
    }
    memset(&list, 0, sizeof(list));

    if (date.year) {
        cwai_day_hours_t       hrs;
        const cwai_holiday_t  *h = NULL;
        int                    open = cwai_domain_hours_on(d, date, &hrs, &h);
        int                    closed = !open || (h && !h->services);

        cwai_fmt_ddmm(date, dm, sizeof(dm));
        snprintf(wd, sizeof(wd), "%s", cwai_weekday_name(cwai_date_weekday(date), c->lang));
        cwai_fmt_day(date, c->lang, day, sizeof(day));
        if (closed) {
            v[0] = (var_t) { "date", dm };
            v[1] = (var_t) { "weekday", wd };
            v[2] = (var_t) { "holiday", h ? (h->note ? h->note : h->name) : L(c, "não abrimos nesse dia", "we don't open that day", "no abrimos ese día") };
            if (!open) {
                if (tmpl(k, "closed_day", v, 3) != 0) {
                    sb_sep(&k->sb);
                    sb_addf(&k->sb, "Em %s (%s) estaremos fechados.", dm, wd);
                }
            } else {
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "Em %s (%s) não há atendimentos no estúdio: %s",
                                  "On %s (%s) the studio has no appointments: %s",
                                  "El %s (%s) no hay citas en el estudio: %s"), dm, wd,
                        h && h->note ? h->note : "");
            }
            from = cwai_date_from_days(cwai_date_to_days(date) + 1);
            find_slots(c, svc, none, from, -1, c->sched.prof, c->sched.daypart, nx);
            if (nx->n == 0) {
                find_slots(c, svc, none, from, -1, c->sched.prof, 0, nx);
            }
            if (nx->n > 0) {
                cwai_fmt_day(nx->s[0]->date, c->lang, day, sizeof(day));
                cwai_fmt_hhmm(nx->s[0]->start, hm, sizeof(hm));
                add_source(k, nx->s[0]->id);
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "O próximo horário livre de %s é %s, às %s com %s.",
                                  "The next free time for %s is %s at %s with %s.",
                                  "El próximo horario libre de %s es el %s a las %s con %s."),
                        sv->name, day, hm, prof_name(nx->s[0]));
                if (nx->n > 1) {
                    slots_t  rest;

                    rest.n = nx->n - 1 < 2 ? nx->n - 1 : 2;
                    for (i = 0; i < rest.n; i++) {
                        rest.s[i] = nx->s[i + 1];
                    }
                    slot_list_days(k, &rest, 2, &list);
                    sb_sep(&k->sb);
                    sb_addf(&k->sb, L(c, "Também tenho %s.", "I also have %s.", "También tengo %s."), list.p);
                }
            }
            if (first_time) {
                service_line(k, svc);
            }
            k->answered = 1;
            goto done;
        }
        find_slots(c, svc, date, none, c->sched.time, c->sched.prof, c->sched.daypart, sl);
        if (c->sched.time >= 0) {
            if (sl->n == 1 || (sl->n > 1 && confirm)) {
                offer_slot(k, sl->s[0], confirm);
            } else if (sl->n > 1) {
                slot_list_same_day(k, sl, 6, &list);
                sb_sep(&k->sb);
                cwai_fmt_day_on(date, c->lang, day, sizeof(day));
                day[0] = (char) (day[0] - 32);
                sb_addf(&k->sb, L(c, "%s tenho %s. Com quem prefere?", "%s I have %s. Who do you prefer?",
                                  "%s tengo %s. ¿Con quién prefieres?"), day, list.p);
                k->answered = 1;
            } else {
                cwai_fmt_hhmm(c->sched.time, hm, sizeof(hm));
                find_slots(c, svc, date, none, -1, c->sched.prof, 0, nx);
                sb_sep(&k->sb);
                cwai_fmt_day_on(date, c->lang, day, sizeof(day));
                sb_addf(&k->sb, L(c, "Às %s não tenho %s livre %s.", "%s is not free at %s %s.",
                                  "A las %s no tengo %s libre %s."), hm, sv->name, day);
                if (nx->n > 0) {
                    slot_list_same_day(k, nx, 6, &list);
                    sb_sep(&k->sb);
                    sb_addf(&k->sb, L(c, "Nesse dia tenho %s.", "That day I have %s.", "Ese día tengo %s."), list.p);
                } else {
                    find_slots(c, svc, none, date, -1, c->sched.prof, 0, nx);
                    slot_list_days(k, nx, 3, &list);
                    if (nx->n > 0) {
                        sb_sep(&k->sb);
                        sb_addf(&k->sb, L(c, "Os horários livres mais próximos: %s.", "The nearest free times: %s.",
                                          "Los horarios libres más cercanos: %s."), list.p);
                    }
                }
                k->answered = 1;
            }
        } else if (sl->n == 0) {
            find_slots(c, svc, none, date, -1, c->sched.prof, c->sched.daypart, nx);
            if (nx->n == 0) {
                find_slots(c, svc, none, date, -1, c->sched.prof, 0, nx);
            }
            slot_list_days(k, nx, 3, &list);
            v[0] = (var_t) { "service", sv->name };
            v[1] = (var_t) { "date", day };
            v[2] = (var_t) { "slots", list.p ? list.p : "" };
            if (nx->n == 0) {
                sb_sep(&k->sb);
                cwai_fmt_day_on(date, c->lang, day, sizeof(day));
                sb_addf(&k->sb, L(c, "Não tenho horário livre para %s %s, nem nos dias seguintes da agenda.",
                                  "There is no free time for %s %s or the following days.",
                                  "No hay horario libre para %s %s ni en los días siguientes."), sv->name, day);
            } else if (tmpl(k, "no_slots", v, 3) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "Não tenho horário livre para %s em %s. As opções mais próximas são: %s.",
                        sv->name, day, list.p);
            }
            k->answered = 1;
        } else if (sl->n == 1 && confirm) {
            offer_slot(k, sl->s[0], 1);
        } else {
            slot_list_same_day(k, sl, 6, &list);
            v[0] = (var_t) { "service", sv->name };
            v[1] = (var_t) { "date", dm };
            v[2] = (var_t) { "weekday", wd };
            v[3] = (var_t) { "slots", list.p };
            if (tmpl(k, "slots", v, 4) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "Para %s na %s tenho: %s. Qual prefere?", sv->name, day, list.p);
            }
            k->answered = 1;
        }
        if (first_time) {
            service_line(k, svc);
        }
        goto done;
    }

    /* no date: the next free slots */
    find_slots(c, svc, none, today(c), c->sched.time, c->sched.prof, c->sched.daypart, sl);
    if (sl->n == 0 && c->sched.time >= 0) {
        find_slots(c, svc, none, today(c), -1, c->sched.prof, c->sched.daypart, sl);
    }
    if (sl->n == 0) {
        char  to[8];

        cwai_fmt_ddmm(d->availability.slots_to, to, sizeof(to));
        sb_sep(&k->sb);
        if (d->availability.nslots && d->availability.slots_to.year) {
            sb_addf(&k->sb, L(c, "Na agenda que tenho aqui (até %s) não há horário livre de %s%s%s.",
                              "The calendar I can see (until %s) has no free time for %s%s%s.",
                              "En la agenda que veo (hasta el %s) no hay horario libre de %s%s%s."),
                    to, sv->name, c->sched.prof >= 0 ? L(c, " com ", " with ", " con ") : "",
                    c->sched.prof >= 0 ? d->professionals[c->sched.prof].name : "");
        }
        if (first_time) {
            service_line(k, svc);
        }
        if (tool(c, "available_slots") && d->availability.nslots == 0) {
            k->out->needs_tool = "available_slots";
        }
        k->out->handoff = 1;
        k->out->handoff_reason = "no_slots";
        say(k, L(c, "Vou pedir para a equipe verificar outras datas com você.",
                 "I'll ask the team to check other dates with you.",
                 "Le pediré al equipo que revise otras fechas contigo."));
        k->answered = 1;
        goto done;
    }
    if (sl->n == 1) {
        offer_slot(k, sl->s[0], confirm && (c->sched.time >= 0 || c->is_name));
        if (first_time) {
            service_line(k, svc);
        }
        goto done;
    }
    if (confirm && c->sched.time >= 0) {
        offer_slot(k, sl->s[0], 1);
        goto done;
    }
    slot_list_days(k, sl, 3, &list);
    sb_sep(&k->sb);
    if (c->sched.prof >= 0) {
        sb_addf(&k->sb, L(c, "Os próximos horários livres de %s com %s: %s. Qual prefere?",
                          "The next free times for %s with %s: %s. Which one do you prefer?",
                          "Los próximos horarios libres de %s con %s: %s. ¿Cuál prefieres?"),
                sv->name, d->professionals[c->sched.prof].name, list.p);
    } else {
        sb_addf(&k->sb, L(c, "Os próximos horários livres de %s: %s. Qual prefere?",
                          "The next free times for %s: %s. Which one do you prefer?",
                          "Los próximos horarios libres de %s: %s. ¿Cuál prefieres?"), sv->name, list.p);
    }
    if (first_time) {
        service_line(k, svc);
    }
    k->answered = 1;

done:
    free(list.p);
    free(sl);
    free(nx);
    return k->answered;
}

/* ---- support ------------------------------------------------------------------ */

/* The best rule or FAQ for the message. Candidates are the retrieval hits,
 * plus the document closest to the routed intent (a prior: +0.15), with a
 * small preference for the categories of agent_filter (>= 0). */
static int
knowledge_answer(comp_t *k, int agent_filter)
{
    cwai_ctx_t        *c = k->c;
    const cwai_bot_t  *b = c->b;
    double             min = c->d->handoff.min_retrieval_score > 0 ? c->d->handoff.min_retrieval_score : 0.25;
    uint32_t           docs[9];
    float              sc[9];
    int                n = 0, i, best = -1, mapped = -1;
    var_t              v[1];

    if (c->intent >= 0 && b->intent_doc[c->intent] >= 0 && c->iscore_best >= 0.45f) {
        mapped = b->intent_doc[c->intent];
    }
    for (i = 0; i < (int) c->nkh && n < 8; i++) {
        docs[n] = c->kh[i].doc;
        sc[n++] = c->kh[i].score;
    }
    if (mapped >= 0) {
        for (i = 0; i < n && docs[i] != (uint32_t) mapped; i++) {
        }
        if (i == n) {
            docs[n] = (uint32_t) mapped;
            sc[n++] = cwai_index_score_doc(b->kix, &c->m.t, (uint32_t) mapped);
        }
    }
    for (i = 0; i < n; i++) {
        const cwai_doc_t  *doc = cwai_index_doc(b->kix, docs[i]);
        int                ag = doc->kind == KX_RULE ? b->rule_agent[doc->ref] : b->faq_agent[doc->ref];

        if ((int) docs[i] == mapped) {
            sc[i] += 0.15f;
        }
        if (agent_filter >= 0 && ag == agent_filter) {
            sc[i] += 0.05f;
        }
        if (best < 0 || sc[i] > sc[best]) {
            best = i;
        }
    }
    if (best < 0 || sc[best] < min) {
        return 0;
    }
    {
        const cwai_doc_t  *doc = cwai_index_doc(b->kix, docs[best]);

        if (doc->kind == KX_FAQ) {
            const cwai_faq_t  *q = &c->d->faqs[doc->ref];
            size_t             j;

            add_source(k, q->id);
            for (j = 0; j < q->rules.n; j++) {
                add_source(k, q->rules.v[j]);
            }
            v[0] = (var_t) { "answer", q->answer };
            if (tmpl(k, "faq", v, 1) != 0) {
                say(k, q->answer);
            }
        } else {
            const cwai_rule_t  *r = &c->d->rules[doc->ref];

            add_source(k, r->id);
            v[0] = (var_t) { "rule", r->text };
            if (tmpl(k, "policy", v, 1) != 0) {
                say(k, r->text);
            }
        }
    }
    k->answered = 1;
    return 1;
}

static void
hours_text(const cwai_ctx_t *c, sb_t *out)
{
    static const int  order[7] = { 1, 2, 3, 4, 5, 6, 0 };
    const cwai_week_t *w = &c->d->hours;
    int                i = 0, j, n, first = 1;
    char               a[8], b2[8];

    while (i < 7) {
        const cwai_day_hours_t  *h = &w->day[order[i]];

        for (j = i + 1; j < 7; j++) {
            const cwai_day_hours_t  *h2 = &w->day[order[j]];

            if (h2->n != h->n || memcmp(h2->iv, h->iv, h->n * sizeof(cwai_interval_t)) != 0) {
                break;
            }
        }
        if (!first) {
            sb_add(out, "; ");
        }
        first = 0;
        if (j - i > 1) {
            sb_addf(out, L(c, "%s a %s", "%s to %s", "%s a %s"), cwai_weekday_name(order[i], c->lang),
                    cwai_weekday_name(order[j - 1], c->lang));
        } else {
            sb_add(out, cwai_weekday_name(order[i], c->lang));
        }
        if (h->n == 0) {
            sb_add(out, L(c, ", fechado", ", closed", ", cerrado"));
        }
        for (n = 0; n < (int) h->n; n++) {
            cwai_fmt_hhmm(h->iv[n].open, a, sizeof(a));
            cwai_fmt_hhmm(h->iv[n].close, b2, sizeof(b2));
            sb_addf(out, L(c, "%s das %s às %s", "%s %s-%s", "%s de %s a %s"), n ? " e" : ",", a, b2);
        }
        i = j;
    }
}

/* A holiday the message names ("abrem no natal?"), the next one from
 * today: its date, or year 0. The longest name wins ("véspera de natal"
 * over "natal"). */
static cwai_date_t
holiday_named(const cwai_ctx_t *c)
{
    char          f[128];
    size_t        i, n, best_len = 0;
    long          today, when;
    cwai_date_t   best = { 0, 0, 0 };

    today = c->now.date.year * 10000L + c->now.date.month * 100 + c->now.date.day;
    for (i = 0; i < c->d->nholidays; i++) {
        const cwai_holiday_t *h = &c->d->holidays[i];

        if (h->name == NULL) {
            continue;
        }
        when = h->date.year * 10000L + h->date.month * 100 + h->date.day;
        n = cwai_text_fold(h->name, strlen(h->name), f, sizeof(f));
        if (when < today || n == 0 || n <= best_len
            || !cwai_text_has_phrase(&c->m.t, f))
        {
            continue;
        }
        best = h->date;
        best_len = n;
    }
    return best;
}

static int
compose_hours(comp_t *k)
{
    cwai_ctx_t            *c = k->c;
    sb_t                   h;
    var_t                  v[6];
    cwai_day_hours_t       hrs;
    const cwai_holiday_t  *hol = NULL;
    cwai_date_t            day;
    char                   dm[8], wd[32], a[8], b2[8];

    memset(&h, 0, sizeof(h));
    hours_text(c, &h);
    v[0] = (var_t) { "hours", h.p };
    if (tmpl(k, "hours", v, 1) != 0) {
        sb_sep(&k->sb);
        sb_addf(&k->sb, "Nosso horário: %s.", h.p);
    }
    free(h.p);
    day = c->ent.date.year ? c->ent.date : holiday_named(c);
    if (day.year) {
        int  open = cwai_domain_hours_on(c->d, day, &hrs, &hol);

        cwai_fmt_ddmm(day, dm, sizeof(dm));
        snprintf(wd, sizeof(wd), "%s", cwai_weekday_name(cwai_date_weekday(day), c->lang));
        v[0] = (var_t) { "date", dm };
        v[1] = (var_t) { "weekday", wd };
        if (!open) {
            v[2] = (var_t) { "holiday", hol ? hol->name : L(c, "não abrimos nesse dia", "we don't open that day", "no abrimos ese día") };
            if (tmpl(k, "closed_day", v, 3) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "Em %s (%s) estaremos fechados.", dm, wd);
            }
        } else if (hol && hrs.n) {
            cwai_fmt_hhmm(hrs.iv[0].open, a, sizeof(a));
            cwai_fmt_hhmm(hrs.iv[hrs.n - 1].close, b2, sizeof(b2));
            v[2] = (var_t) { "open", a };
            v[3] = (var_t) { "close", b2 };
            v[4] = (var_t) { "note", hol->note ? hol->note : "" };
            v[5] = (var_t) { "holiday", hol->name };
            if (tmpl(k, "special_hours", v, 6) != 0) {
                sb_sep(&k->sb);
                sb_addf(&k->sb, "Em %s (%s) o horário é das %s às %s.", dm, wd, a, b2);
            }
        }
    }
    {
        const cwai_rule_t  *r = NULL;
        size_t              i;

        for (i = 0; i < c->d->nrules; i++) {
            if (c->d->rules[i].text && strstr(c->d->rules[i].text, "funcionam")
                && c->d->rules[i].category && strstr(c->d->rules[i].category, "atend"))
            {
                r = &c->d->rules[i];
                break;
            }
        }
        if (r) {
            add_source(k, r->id);
        }
    }
    k->answered = 1;
    return 1;
}

static int
compose_support(comp_t *k)
{
    cwai_ctx_t            *c = k->c;
    const char            *iname = c->intent_name ? c->intent_name : "";
    static const char     *const w_location[] = {
        "onde fica", "endereco", "sao de", "voces sao", "localizacao", "como chegar", "loja fisica", NULL
    };
    static const char     *const w_hours[] = {
        "que horas abre", "horario de funcionamento", "abre", "abrem", "fecha", "fecham",
        "funcionamento", "aberto", "aberta", "horario", "horarios", "que horas", "open",
        "hours", "horario de atencion", NULL
    };
    static const char     *const w_delivery[] = {
        "entregam", "entrega", "prazo", "demora", "quanto tempo", "chega", "quantos dias", NULL
    };
    const cwai_place_t    *pl;
    const char            *group = group_of(c, &pl);

    if ((strstr(iname, "location") || strstr(iname, "store")) && has_any(c, w_location)
        && c->d->contact.address)
    {
        sb_sep(&k->sb);
        sb_addf(&k->sb, L(c, "Nossa loja fica na %s.", "Our store is at %s.", "Nuestra tienda está en %s."),
                c->d->contact.address);
        add_source(k, "contact");
        k->answered = 1;
        return 1;
    }
    if ((strstr(iname, "hours") || strstr(iname, "store") || c->intent < 0) && has_any(c, w_hours)
        && !c->personal)
    {
        return compose_hours(k);
    }
    if (c->personal) {
        const char  *t = NULL;

        if (cwai_has_phrase(&c->m, "pontos") || cwai_has_phrase(&c->m, "saldo")
            || cwai_has_phrase(&c->m, "clube") || cwai_has_phrase(&c->m, "falta quanto"))
        {
            if (loyalty_balance(k)) {
                return 1;
            }
            t = tool(c, "find_customer") ? "find_customer" : NULL;
            say(k, L(c, "Para ver o seu saldo de pontos, preciso consultar o seu cadastro; vou pedir para uma pessoa da equipe verificar.",
                     "To check your points balance I need to look up your account; I'll ask a team member to check.",
                     "Para ver tu saldo de puntos necesito consultar tu registro; le pediré a alguien del equipo que lo revise."));
        } else {
            t = tool(c, "customer_orders") ? "customer_orders" : NULL;
            say(k, L(c, "Para consultar o seu pedido, preciso acessar o seu cadastro; vou pedir para uma pessoa da equipe verificar.",
                     "To check your order I need to look up your account; I'll ask a team member to check.",
                     "Para consultar tu pedido necesito acceder a tu registro; le pediré a alguien del equipo que lo revise."));
        }
        k->out->needs_tool = t;
        k->out->handoff = 1;
        k->out->handoff_reason = "needs_tool";
        knowledge_answer(k, AG_SUPPORT);
        k->answered = 1;
        return 1;
    }
    if (group && has_any(c, w_delivery)) {
        char               key[64], region[96];
        const cwai_kv_t   *days, *disp;

        snprintf(key, sizeof(key), "days_%s", group);
        days = fig(k, key, 1);
        disp = fig(k, "dispatch_business_days", 0);
        if (days) {
            if (pl->uf && strcmp(pl->label, pl->uf) != 0 && strcmp(pl->uf, "SP") != 0) {
                snprintf(region, sizeof(region), "%s (%s)", pl->label, pl->uf);
            } else {
                snprintf(region, sizeof(region), "%s", pl->label);
            }
            sb_sep(&k->sb);
            sb_addf(&k->sb, L(c, "Entregamos sim! Para %s, o prazo é de %s dias úteis após o despacho",
                              "Yes, we deliver! To %s it takes %s business days after dispatch",
                              "¡Sí, entregamos! Para %s el plazo es de %s días hábiles después del despacho"),
                    region, days->text);
            if (disp) {
                sb_addf(&k->sb, L(c, ", que acontece em até %lld dia útil depois da aprovação do pagamento.",
                                  ", which happens within %lld business day of payment approval.",
                                  ", que ocurre en hasta %lld día hábil tras la aprobación del pago."),
                        (long long) disp->integer);
            } else {
                sb_add(&k->sb, ".");
            }
            if (cwai_has_phrase(&c->m, "frete")) {
                shipping(k, 0, 1);
            }
            k->answered = 1;
            return 1;
        }
    }
    return knowledge_answer(k, AG_SUPPORT);
}

/* ---- handoff and small talk ------------------------------------------------------- */

static int
in_hours(const cwai_ctx_t *c, const cwai_week_t *w)
{
    const cwai_day_hours_t  *h = &w->day[c->now.wday];
    size_t                   i;

    for (i = 0; i < h->n; i++) {
        if (c->now.minute >= h->iv[i].open && c->now.minute < h->iv[i].close) {
            return 1;
        }
    }
    return 0;
}

static int
compose_handoff(comp_t *k)
{
    cwai_ctx_t                  *c = k->c;
    const cwai_handoff_topic_t  *tp = c->topic >= 0 ? &c->d->handoff.topics[c->topic] : NULL;
    const cwai_week_t           *sup = c->d->support_hours.set ? &c->d->support_hours : &c->d->hours;
    const char                  *iname = c->intent_name ? c->intent_name : "";

    k->out->handoff = 1;
    if (tp && (strstr(tp->id, "human") || strstr(iname, "human"))) {
        k->out->handoff_reason = "customer_request";
    } else if (tp) {
        k->out->handoff_reason = tp->id;
    } else if (strcmp(iname, "low_confidence") == 0 || strcmp(iname, "agent_disabled") == 0) {
        k->out->handoff_reason = iname;
    } else if (strstr(iname, "human")) {
        k->out->handoff_reason = "customer_request";
    } else if (c->intent >= 0) {
        k->out->handoff_reason = iname;
    } else {
        k->out->handoff_reason = "conversation_with_team";
    }
    if (strcmp(iname, "low_confidence") == 0) {
        if (phrase(k, "fallback", NULL, 0) != 0 && tmpl(k, "fallback", NULL, 0) != 0) {
            say(k, "Não tenho certeza sobre isso; vou pedir para alguém da equipe confirmar.");
        }
        k->answered = 1;
        return 1;
    }
    /* health topics: the safety rule first */
    if ((tp && (strstr(tp->id, "medical") || strstr(tp->id, "health")))
        || strstr(iname, "adverse") || strstr(iname, "reaction"))
    {
        const cwai_rule_t  *best = NULL;
        float               bs = -1;
        size_t              i;
        const cwai_handoff_topic_t *ht = tp;

        if (ht == NULL) {
            for (i = 0; i < c->d->handoff.ntopics; i++) {
                if (strstr(c->d->handoff.topics[i].id, "medical")) {
                    ht = &c->d->handoff.topics[i];
                }
            }
        }
        for (i = 0; ht && i < ht->rules.n; i++) {
            const cwai_rule_t  *r = ht->rule_ptrs ? ht->rule_ptrs[i] : cwai_domain_rule(c->d, ht->rules.v[i]);
            int                 doc;
            float               s;

            if (r == NULL) {
                continue;
            }
            doc = cwai_index_find(c->b->kix, r->id);
            s = doc >= 0 ? cwai_index_score_doc(c->b->kix, &c->m.t, (uint32_t) doc) : 0;
            if (r->text && strstr(r->text, "SAMU")) {
                s += 0.05f;
            }
            if (s > bs) {
                bs = s;
                best = r;
            }
        }
        if (!c->hist_handoff) {
            say(k, L(c, "Sinto muito!", "I'm so sorry!", "¡Lo siento mucho!"));
            if (best && best->text) {
                add_source(k, best->id);
                say(k, best->text);
            }
        }
    }
    if (c->hist_handoff && c->last_agent == AG_HANDOFF) {
        say(k, L(c, "Já avisei a nossa equipe: uma atendente vai continuar a conversa com você por aqui.",
                 "I've already told our team: someone will continue the conversation with you here.",
                 "Ya avisé a nuestro equipo: alguien seguirá la conversación contigo por aquí."));
        k->answered = 1;
        return 1;
    }
    if (tp && tp->reply) {
        say(k, tp->reply);
    } else if (!in_hours(c, sup) && cwai_domain_phrase(c->d, c->lang, "handoff_after_hours")) {
        var_t  v[1] = { { "next_open", L(c, "no próximo horário de atendimento", "at our next opening time",
                                          "en el próximo horario de atención") } };

        if (phrase(k, "handoff_after_hours", v, 1) != 0) {
            phrase(k, "handoff", NULL, 0);
        }
    } else if (tmpl(k, "handoff", NULL, 0) != 0 && phrase(k, "handoff", NULL, 0) != 0) {
        say(k, "Vou passar sua conversa para uma pessoa da nossa equipe.");
    }
    k->answered = 1;
    return 1;
}

static int
compose_smalltalk(comp_t *k)
{
    cwai_ctx_t   *c = k->c;
    const char   *iname = c->intent_name ? c->intent_name : "";
    const char   *key = "thanks";
    static const char  *const w_bye[] = { "tchau", "beijos", "ate mais", "ate logo", "bye", "adios", NULL };
    static const char  *const w_hi[] = { "oi", "ola", "bom dia", "boa tarde", "boa noite", "hello", "hi",
                                         "hola", "buenas", NULL };

    if (strstr(iname, "farewell") || strstr(iname, "bye") || has_any(c, w_bye)) {
        key = "goodbye";
    } else if (strstr(iname, "greet") || (has_any(c, w_hi) && c->m.t.ntok <= 4)) {
        key = "greeting";
    }
    if (tmpl(k, key, NULL, 0) != 0) {
        const char  *ph = strcmp(key, "goodbye") == 0 ? "farewell" : key;

        if (phrase(k, ph, NULL, 0) != 0) {
            say(k, strcmp(key, "greeting") == 0 ? "Olá! Como posso ajudar?" : "Por nada!");
        }
    }
    k->answered = 1;
    return 1;
}

/* ---- sales ---------------------------------------------------------------------------- */

static int
compose_sales(comp_t *k)
{
    cwai_ctx_t        *c = k->c;
    static const char *const w_pix[] = { "pix", NULL };
    static const char *const w_card[] = { "cartao", "parcela", "parcelado", "parcelar", "parcelas", "vezes",
                                          "sem juros", NULL };
    static const char *const w_ship[] = { "frete", "entrega", "manda para casa", "mandar para casa",
                                          "entregar", NULL };
    static const char *const w_checkout[] = { "link", "fechado", "fecha o pedido", "fechar o pedido",
                                              "quero comprar", "pode mandar", "carrinho", NULL };
    static const char *const w_detail[] = { "usar", "serve", "vegano", "tamanho", "como", "ingrediente",
                                            "composicao", "lente", "gestante", "gravida", "pode", NULL };
    static const char *const w_promo[] = { "promocao", "promo", "oferta", "desconto", "liquidacao", NULL };
    items_t            it;
    int                cur[CWAI_MENTION_MAX], ncur = 0, i, pix, card, ship, checkout, want_total;
    int                qty_focus = 0, focus_in_cur = 0, short_count = 0;
    int64_t            total, s;
    char               t1[32];

    for (i = 0; i < c->nprod; i++) {
        if (!c->prod[i].context) {
            cur[ncur++] = c->prod[i].idx;
            if (c->prod[i].idx == c->focus) {
                focus_in_cur = 1;
            }
        }
    }
    pix = has_any(c, w_pix);
    card = has_any(c, w_card);
    for (i = 0; i < (int) c->m.t.ntok; i++) {
        const cwai_tok_t  *t = &c->m.t.tok[i];

        if (t->kind == CWAI_TOK_MIXED && t->wlen >= 2 && t->wlen <= 3 && t->w[t->wlen - 1] == 'x'
            && t->w[0] >= '1' && t->w[0] <= '9')
        {
            card = 1;
        }
    }
    ship = has_any(c, w_ship);
    checkout = has_any(c, w_checkout);
    qty_focus = c->ent.quantity > 0 && c->focus >= 0 && !focus_in_cur && ncur <= 1;
    want_total = c->ent.all > 0 || c->ent.quantity > 0 || pix || card || ship || checkout;

    memset(&it, 0, sizeof(it));
    if (c->ent.all > 0 || ((pix || card || ship || checkout) && ncur == 0)) {
        for (i = 0; i < c->ncart; i++) {
            items_add(&it, c->cart[i], 1);
        }
    }
    if (qty_focus) {
        items_add(&it, c->focus, c->ent.quantity);
    }
    for (i = 0; i < ncur; i++) {
        if (c->d->products[cur[i]].active) {
            items_add(&it, cur[i], (c->ent.quantity > 0 && !qty_focus && ncur == 1) ? c->ent.quantity : 1);
        }
    }
    if (c->ent.all >= 2 && c->ent.all <= 20 && it.n > c->ent.all) {
        int  drop = it.n - c->ent.all;

        memmove(it.p, it.p + drop, (size_t) c->ent.all * sizeof(int));
        memmove(it.q, it.q + drop, (size_t) c->ent.all * sizeof(int));
        it.n = c->ent.all;
    }
    if (c->ent.all >= 2 && c->ent.all <= 20 && it.n > 0 && it.n < c->ent.all && ncur == 0) {
        complete_items(k, &it, c->ent.all);
        short_count = it.n < c->ent.all;
    }

    /* the products asked about */
    for (i = 0; i < ncur; i++) {
        int  j, quoted = 0;

        for (j = 0; j < c->ncart; j++) {
            quoted |= c->cart[j] == cur[i];
        }
        if (quoted && want_total) {
            add_source(k, c->d->products[cur[i]].sku);
            continue;
        }
        product_line(k, cur[i]);
    }
    if (ncur == 0 && !want_total) {
        static const char *const w_price[] = { "quanto", "preco", "valor", "custa", "price", "precio",
                                               "cuanto", NULL };

        if (c->focus >= 0 && has_any(c, w_price) && !c->prod_generic && !has_any(c, w_promo)) {
            product_line(k, c->focus);
        } else if (c->focus < 0 && has_any(c, w_price) && !c->prod_generic
                   && (c->nph == 0 || c->ph[0].score < 0.3f))
        {
            /* a price without a product: ask which, do not guess */
            say(k, L(c, "Claro! De qual produto você quer saber o preço?",
                     "Sure! Which product would you like the price of?",
                     "¡Claro! ¿De qué producto quieres saber el precio?"));
            k->answered = 1;
        } else if (c->focus >= 0 && has_any(c, w_detail) && !c->prod_generic) {
            product_detail(k, c->focus);
        } else if (has_any(c, w_promo) && !c->prod_generic) {
            /* the current promotions */
            int  shown = 0;

            for (i = 0; i < (int) c->d->nproducts && shown < 4; i++) {
                const cwai_product_t  *pr = &c->d->products[i];
                char                   until[8];

                if (!pr->active || pr->stock == 0 || !on_promo(c, i)) {
                    continue;
                }
                if (shown == 0) {
                    say(k, L(c, "Promoções de agora:", "Current promotions:", "Promociones actuales:"));
                } else {
                    sb_add(&k->sb, ";");
                }
                money(c, pr->promo_price_cents, t1, sizeof(t1));
                cwai_fmt_ddmm(pr->promo_until, until, sizeof(until));
                sb_addf(&k->sb, L(c, " %s por %s (até %s)", " %s for %s (until %s)", " %s por %s (hasta %s)"),
                        pr->name, t1, until);
                add_source(k, pr->sku);
                shown++;
            }
            if (shown) {
                sb_add(&k->sb, ".");
                k->answered = 1;
            } else {
                knowledge_answer(k, AG_SALES);
            }
        } else {
            recommend(k);
        }
    }

    /* totals */
    if (want_total && it.n > 0) {
        total = items_total(c, &it);
        if (short_count) {
            /* "os 3" and only two in the conversation: say so, do not
             * silently sum another number of items */
            sb_sep(&k->sb);
            if (it.n == 1) {
                sb_add(&k->sb, L(c, "Na nossa conversa encontrei só 1 produto.",
                                 "I found only 1 product in our conversation.",
                                 "En nuestra conversación encontré solo 1 producto."));
            } else {
                sb_addf(&k->sb, L(c, "Na nossa conversa encontrei só %d produtos.",
                                  "I found only %d products in our conversation.",
                                  "En nuestra conversación encontré solo %d productos."), it.n);
            }
        }
        if (it.n > 1 || it.q[0] > 1 || short_count || (!pix && !card && !ship && ncur == 0)) {
            say_items(k, &it, total, 1);
        }
        if (pix) {
            pix_total(k, total);
        }
        if (card) {
            installments(k, total);
        }
        if (ship) {
            s = shipping(k, total, 0);
            if (s > 0) {
                money(c, total + s, t1, sizeof(t1));
                sb_sep(&k->sb);
                sb_addf(&k->sb, L(c, "Com o frete, o total fica %s.", "With shipping, the total is %s.",
                                  "Con el envío, el total es %s."), t1);
            }
        }
        k->answered = 1;
    } else if (want_total && ship) {
        shipping(k, 0, 0);
        k->answered = 1;
    } else if (want_total && (pix || card) && !k->answered) {
        knowledge_answer(k, -1);
    }

    if (checkout && (it.n > 0 || c->ncart > 0)) {
        const cwai_kv_t  *hrs = fig(k, "payment_link_valid_hours", 1);

        sb_sep(&k->sb);
        if (hrs) {
            sb_addf(&k->sb, L(c, "Para fechar o pedido, uma pessoa da equipe vai te enviar o link de pagamento seguro, válido por %lld horas.",
                              "To close the order, a team member will send you the secure payment link, valid for %lld hours.",
                              "Para cerrar el pedido, alguien del equipo te enviará el enlace de pago seguro, válido por %lld horas."),
                    (long long) hrs->integer);
        } else {
            sb_add(&k->sb, L(c, "Para fechar o pedido, uma pessoa da equipe vai te enviar o link de pagamento.",
                             "To close the order, a team member will send you the payment link.",
                             "Para cerrar el pedido, alguien del equipo te enviará el enlace de pago."));
        }
        k->out->handoff = 1;
        k->out->handoff_reason = "checkout";
        k->answered = 1;
    }

    /* a scheduling request in the same message */
    if (c->svc >= 0 && c->mixed_sched) {
        compose_scheduling(k);
    }
    if (!k->answered) {
        if (!recommend(k)) {
            knowledge_answer(k, AG_SALES);
        }
    }
    return k->answered;
}

/* ---- output -------------------------------------------------------------------------- */

size_t
cwai_strip_emoji(char *s)
{
    unsigned char  *p = (unsigned char *) s, *o = (unsigned char *) s;

    while (*p) {
        uint32_t  cp;
        size_t    n;

        if (*p < 0x80) {
            *o++ = *p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0 && p[1]) {
            n = 2;
            cp = ((uint32_t) (p[0] & 0x1f) << 6) | (p[1] & 0x3f);
        } else if ((*p & 0xf0) == 0xe0 && p[1] && p[2]) {
            n = 3;
            cp = ((uint32_t) (p[0] & 0x0f) << 12) | ((uint32_t) (p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        } else if ((*p & 0xf8) == 0xf0 && p[1] && p[2] && p[3]) {
            n = 4;
            cp = ((uint32_t) (p[0] & 0x07) << 18) | ((uint32_t) (p[1] & 0x3f) << 12)
                 | ((uint32_t) (p[2] & 0x3f) << 6) | (p[3] & 0x3f);
        } else {
            *o++ = *p++;
            continue;
        }
        if ((cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf)
            || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0x200d || (cp >= 0x2b00 && cp <= 0x2bff))
        {
            p += n;
            /* drop the space left before the emoji at the end of a sentence */
            while (o > (unsigned char *) s && o[-1] == ' ' && (*p == '\0' || *p == ' ' || *p == '\n')) {
                o--;
            }
            continue;
        }
        memmove(o, p, n);
        o += n;
        p += n;
    }
    *o = '\0';
    return (size_t) (o - (unsigned char *) s);
}

void
cwai_limit_length(char *s, size_t max)
{
    size_t  i, chars = 0, cut = 0, last_end = 0;

    if (max == 0) {
        return;
    }
    for (i = 0; s[i]; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            if (chars == max) {
                cut = i;
                break;
            }
            chars++;
        }
        if ((s[i] == '.' || s[i] == '!' || s[i] == '?') && (s[i + 1] == ' ' || s[i + 1] == '\0')) {
            last_end = i + 1;
        }
    }
    if (cut == 0) {
        return;
    }
    s[last_end > 0 ? last_end : cut] = '\0';
}

int
cwai_compose(cwai_ctx_t *c, cwai_answer_t *out)
{
    comp_t                 k;
    const cwai_channel_t  *ch = c->in->channel ? cwai_domain_channel(c->d, c->in->channel) : NULL;
    size_t                 i;

    memset(&k, 0, sizeof(k));
    k.c = c;
    k.out = out;
    out->agent = cwai_agent_names[c->agent];
    out->intent = c->intent_name;
    out->confidence = c->conf;
    out->language = c->lang;

    switch (c->agent) {
    case AG_SMALLTALK:
        compose_smalltalk(&k);
        break;
    case AG_HANDOFF:
        compose_handoff(&k);
        break;
    case AG_SALES:
        compose_sales(&k);
        break;
    case AG_SCHEDULING:
        if (c->mixed_sales) {
            for (i = 0; i < (size_t) c->nprod; i++) {
                if (!c->prod[i].context) {
                    product_line(&k, c->prod[i].idx);
                }
            }
        }
        compose_scheduling(&k);
        break;
    default:
        compose_support(&k);
        break;
    }
    if (!k.answered || k.sb.len == 0) {
        /* nothing scored high enough: say so and hand off */
        k.sb.len = 0;
        if (k.sb.p) {
            k.sb.p[0] = '\0';
        }
        out->nsources = 0;
        out->handoff = 1;
        out->handoff_reason = "no_answer";
        if (tmpl(&k, "fallback", NULL, 0) != 0 && phrase(&k, "fallback", NULL, 0) != 0) {
            say(&k, "Não tenho certeza sobre isso; vou pedir para alguém da equipe confirmar.");
        }
    }
    out->nlabels = cwai_router_labels(c, out->labels, 0);
    if (out->handoff) {
        for (i = 0; i < c->d->handoff.labels.n && out->nlabels < CWAI_ANSWER_MAX_LABELS; i++) {
            size_t  j;
            int     dup = 0;

            for (j = 0; j < out->nlabels; j++) {
                dup |= strcmp(out->labels[j], c->d->handoff.labels.v[i]) == 0;
            }
            if (!dup) {
                out->labels[out->nlabels++] = c->d->handoff.labels.v[i];
            }
        }
    }
    if (k.sb.oom) {
        free(k.sb.p);
        return -1;
    }
    if ((ch && !ch->emoji) || c->d->persona.emoji == CWAI_EMOJI_NONE) {
        cwai_strip_emoji(k.sb.p);
    }
    if (ch && ch->max_length > 0) {
        cwai_limit_length(k.sb.p, (size_t) ch->max_length);
    }
    out->reply = k.sb.p;
    return 0;
}
