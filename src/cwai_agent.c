/*
 * The embedded agent: building a bot from a domain, reading a message and
 * its history into a context, and the JSON rendering. Routing is in
 * cwai_router.c, replies in cwai_compose.c. See cwai_agent.h.
 */
#include "cwai_agent_int.h"
#include "cwai_compose.h"
#include "cwai_router.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cwai_agent_names[AG__N] = {
    "sales", "support", "scheduling", "handoff", "smalltalk"
};

int
cwai_agent_index(const char *name)
{
    int  i;

    if (name == NULL) {
        return -1;
    }
    for (i = 0; i < AG__N; i++) {
        if (strcmp(name, cwai_agent_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- parsed text helpers -------------------------------------------------- */

uint64_t
cwai_stem_hash(const char *s, size_t len)
{
    return cwai_hash64(s, len);
}

int
cwai_ptext_parse(ptext_t *p, const char *s, size_t len, const cwai_vocab_t *v)
{
    size_t  i;

    free(p->sh);
    p->sh = NULL;
    if (cwai_text_parse(&p->t, s, len) != 0) {
        return -1;
    }
    if (v != NULL) {
        cwai_text_correct(&p->t, v);
    }
    p->sh = malloc((p->t.ntok ? p->t.ntok : 1) * sizeof(uint64_t));
    if (p->sh == NULL) {
        cwai_text_free(&p->t);
        return -1;
    }
    for (i = 0; i < p->t.ntok; i++) {
        p->sh[i] = cwai_stem_hash(p->t.tok[i].stem, p->t.tok[i].stemlen);
    }
    return 0;
}

void
cwai_ptext_free(ptext_t *p)
{
    cwai_text_free(&p->t);
    free(p->sh);
    p->sh = NULL;
}

int
cwai_kw_find(const ptext_t *p, const kw_t *k)
{
    size_t  i, j;

    if (k->n == 0 || k->n > p->t.ntok) {
        return -1;
    }
    for (i = 0; i + k->n <= p->t.ntok; i++) {
        for (j = 0; j < k->n; j++) {
            if (p->sh[i + j] != k->h[j]) {
                break;
            }
        }
        if (j == k->n) {
            return (int) i;
        }
    }
    return -1;
}

int
cwai_has_word(const ptext_t *p, const char *const *words)
{
    size_t  i, j;

    for (i = 0; i < p->t.ntok; i++) {
        for (j = 0; words[j]; j++) {
            if (strcmp(p->t.tok[i].w, words[j]) == 0 || strcmp(p->t.tok[i].stem, words[j]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

int
cwai_has_phrase(const ptext_t *p, const char *phrase)
{
    return cwai_text_has_phrase(&p->t, phrase);
}

const cwai_kv_t *
cwai_figure(const cwai_domain_t *d, const char *key, const cwai_rule_t **rule)
{
    size_t           i;
    const cwai_kv_t *kv;

    for (i = 0; i < d->nrules; i++) {
        kv = cwai_kvs_get(&d->rules[i].figures, key);
        if (kv != NULL) {
            if (rule) {
                *rule = &d->rules[i];
            }
            return kv;
        }
    }
    return NULL;
}

size_t
cwai_knowledge_search(const cwai_bot_t *b, const cwai_ntext_t *const *q, const float *w,
    size_t nq, cwai_hit_t *hits, size_t k)
{
    cwai_hit_t  raw[48];
    size_t      n, i, j, nh = 0;
    uint32_t    mask = (1u << KX_RULE) | (1u << KX_FAQ) | (1u << KX_RULE_SHORT) | (1u << KX_FAQ_SHORT);

    n = cwai_index_search_multi(b->kix, q, w, nq, mask, raw, 48);
    for (i = 0; i < n; i++) {
        const cwai_doc_t  *doc = cwai_index_doc(b->kix, raw[i].doc);
        int                faq = doc->kind == KX_FAQ || doc->kind == KX_FAQ_SHORT;
        uint32_t           full = faq ? b->faq_doc[doc->ref] : b->rule_doc[doc->ref];
        float              s = raw[i].score;

        if (doc->kind == KX_RULE_SHORT || doc->kind == KX_FAQ_SHORT) {
            s *= 0.9f;
        }
        for (j = 0; j < nh && hits[j].doc != full; j++) {
        }
        if (j < nh) {
            if (s > hits[j].score) {
                hits[j].score = s;
            }
            continue;
        }
        if (nh < k) {
            hits[nh].doc = full;
            hits[nh++].score = s;
        } else if (s > hits[nh - 1].score) {
            hits[nh - 1].doc = full;
            hits[nh - 1].score = s;
        }
        /* keep sorted */
        for (j = nh - 1; j > 0 && hits[j].score > hits[j - 1].score; j--) {
            cwai_hit_t  t = hits[j];

            hits[j] = hits[j - 1];
            hits[j - 1] = t;
        }
    }
    /* scores may have grown in place: sort again */
    for (i = 1; i < nh; i++) {
        for (j = i; j > 0 && hits[j].score > hits[j - 1].score; j--) {
            cwai_hit_t  t = hits[j];

            hits[j] = hits[j - 1];
            hits[j - 1] = t;
        }
    }
    return nh;
}

/* ---- building ------------------------------------------------------------- */

static char *
join_strs(const cwai_strs_t *s, const char *sep)
{
    size_t  i, n = 1, sl = strlen(sep);
    char   *out, *p;

    for (i = 0; i < s->n; i++) {
        n += strlen(s->v[i]) + sl;
    }
    out = malloc(n);
    if (out == NULL) {
        return NULL;
    }
    p = out;
    for (i = 0; i < s->n; i++) {
        size_t  l = strlen(s->v[i]);

        if (i) {
            memcpy(p, sep, sl);
            p += sl;
        }
        memcpy(p, s->v[i], l);
        p += l;
    }
    *p = '\0';
    return out;
}

static int
vocab_add(cwai_vocab_t *v, const char *s)
{
    return s ? cwai_vocab_add_text(v, s, strlen(s)) : 0;
}

static int
vocab_add_strs(cwai_vocab_t *v, const cwai_strs_t *s)
{
    size_t  i;

    for (i = 0; i < s->n; i++) {
        if (vocab_add(v, s->v[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Words the router and the extractors look for, so that typos of them are
 * corrected even when the domain text does not use them. */
static const char  *const builtin_vocab =
    "agendar marcar remarcar desmarcar cancelar horario horarios amanha hoje "
    "segunda terca quarta quinta sexta sabado domingo manha tarde noite "
    "quanto custa preco valor frete entrega pedido rastreio boleto cartao "
    "parcelado parcela desconto promocao estoque disponivel obrigado "
    "atendente pessoa humano gerente falar reclamacao troca devolucao "
    "reembolso endereco loja aberto fechado funcionamento indicar indica "
    "recomenda produto produtos servico servicos profissional dezembro "
    "janeiro novembro outubro semana proxima";

static int
skin_bit(const char *s)
{
    char    f[32];
    size_t  n = cwai_text_fold(s, strlen(s), f, sizeof(f));

    if (n >= 5 && strncmp(f, "oleos", 5) == 0) {
        return SK_OLEOSA;
    }
    if (n >= 4 && strncmp(f, "seca", 4) == 0) {
        return SK_SECA;
    }
    if (n >= 4 && strncmp(f, "mist", 4) == 0) {
        return SK_MISTA;
    }
    if (n >= 4 && strncmp(f, "norm", 4) == 0) {
        return SK_NORMAL;
    }
    if (n >= 5 && strncmp(f, "sensi", 5) == 0) {
        return SK_SENSIVEL;
    }
    if (n >= 4 && strncmp(f, "todo", 4) == 0) {
        return SK_TODOS;
    }
    return 0;
}

static int
add_nkey(nkey_t **arr, uint16_t *n, size_t *cap, uint64_t h, float w, int uniq, int weak)
{
    uint16_t  i;

    for (i = 0; i < *n; i++) {
        if ((*arr)[i].h == h) {
            return 0;
        }
    }
    if (*n == *cap) {
        size_t   nc = *cap ? *cap * 2 : 8;
        nkey_t  *na = realloc(*arr, nc * sizeof(nkey_t));

        if (na == NULL) {
            return -1;
        }
        *arr = na;
        *cap = nc;
    }
    (*arr)[*n].h = h;
    (*arr)[*n].uniq = (uint8_t) uniq;
    (*arr)[*n].weak = (uint8_t) weak;
    (*arr)[(*n)++].w = w;
    return 0;
}

/* A name token is content when it is a word or a plain number, not a size
 * ("30ml", "10%") nor a single letter. */
static int
name_token_ok(const cwai_tok_t *k)
{
    if (k->stop || k->wlen < 2) {
        return 0;
    }
    if (k->kind == CWAI_TOK_MIXED) {
        return 0;
    }
    if (k->kind == CWAI_TOK_NUM && memchr(k->w, '%', k->wlen)) {
        return 0;
    }
    return 1;
}

/* Words of a name that describe the customer rather than the item. */
static int
descriptor(const char *stem)
{
    static const char  *const words[] = {
        "pele", "oleosa", "seca", "mista", "normal", "sensivel", "sensiveis", "todo",
        "cabelo", "cacho", NULL
    };
    int  i;

    for (i = 0; words[i]; i++) {
        if (strcmp(stem, words[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    uint64_t  h;
    uint32_t  df;
} df_t;

static uint32_t
df_get(const df_t *t, size_t n, uint64_t h)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (t[i].h == h) {
            return t[i].df;
        }
    }
    return 0;
}

/* Builds name keys for n names (products or services). */
static int
build_namekeys(cwai_bot_t *b, namekey_t *keys, const char *const *names,
    const cwai_strs_t *const *tags, size_t n)
{
    ptext_t   p;
    df_t     *df = NULL;
    size_t    ndf = 0, cdf = 0, i, j, t;
    int       rc = -1;

    memset(&p, 0, sizeof(p));
    /* document frequency of each name stem over the names */
    for (i = 0; i < n; i++) {
        if (cwai_ptext_parse(&p, names[i], strlen(names[i]), NULL) != 0) {
            goto done;
        }
        for (j = 0; j < p.t.ntok; j++) {
            size_t  k;
            int     seen = 0;

            if (!name_token_ok(&p.t.tok[j])) {
                continue;
            }
            for (k = 0; k < j; k++) {
                if (p.sh[k] == p.sh[j]) {
                    seen = 1;
                }
            }
            if (seen) {
                continue;
            }
            for (k = 0; k < ndf; k++) {
                if (df[k].h == p.sh[j]) {
                    df[k].df++;
                    break;
                }
            }
            if (k == ndf) {
                if (ndf == cdf) {
                    size_t  nc = cdf ? cdf * 2 : 256;
                    df_t   *nd = realloc(df, nc * sizeof(df_t));

                    if (nd == NULL) {
                        goto done;
                    }
                    df = nd;
                    cdf = nc;
                }
                df[ndf].h = p.sh[j];
                df[ndf++].df = 1;
            }
        }
    }
    for (i = 0; i < n; i++) {
        size_t  cap = 0, tcap = 0;

        if (cwai_ptext_parse(&p, names[i], strlen(names[i]), NULL) != 0) {
            goto done;
        }
        keys[i].seq = malloc((p.t.ntok ? p.t.ntok : 1) * sizeof(uint64_t));
        if (keys[i].seq == NULL) {
            goto done;
        }
        for (j = 0; j < p.t.ntok; j++) {
            float     w;
            uint32_t  f;
            int       weak;

            if (!name_token_ok(&p.t.tok[j])) {
                continue;
            }
            keys[i].seq[keys[i].nseq++] = p.sh[j];
            f = df_get(df, ndf, p.sh[j]);
            w = (float) log(1.0 + (double) n / ((double) f + 0.5));
            weak = descriptor(p.t.tok[j].stem);
            if (p.t.tok[j].kind == CWAI_TOK_NUM) {
                w *= 0.5f;
            }
            if (weak) {
                w *= 0.3f;
            }
            if (add_nkey(&keys[i].k, &keys[i].n, &cap, p.sh[j], w, f == 1, weak) != 0) {
                goto done;
            }
        }
        for (j = 0; j < keys[i].n; j++) {
            keys[i].total += keys[i].k[j].w;
        }
        b->bytes += cap * sizeof(nkey_t) + (p.t.ntok ? p.t.ntok : 1) * sizeof(uint64_t);
        if (tags && tags[i]) {
            for (t = 0; t < tags[i]->n; t++) {
                if (cwai_ptext_parse(&p, tags[i]->v[t], strlen(tags[i]->v[t]), NULL) != 0) {
                    goto done;
                }
                for (j = 0; j < p.t.ntok; j++) {
                    if (!name_token_ok(&p.t.tok[j])) {
                        continue;
                    }
                    if (add_nkey(&keys[i].tags, &keys[i].ntags, &tcap, p.sh[j], 0.5f, 0, 0) != 0) {
                        goto done;
                    }
                }
            }
            b->bytes += tcap * sizeof(nkey_t);
        }
    }
    rc = 0;
done:
    free(df);
    cwai_ptext_free(&p);
    return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}

/* A word of a need: content, not a number, not a descriptor ("pele",
 * "seca": the skin type is scored on its own), not a negation ("não
 * indicado para pele sensível" must not match "não arde"), not an
 * intensifier or a word of how products are described or used ("muito",
 * "uso", "frasco", "dia"). */
static int
need_token_ok(const cwai_tok_t *k)
{
    static const char  *const generic[] = {
        "nao", "no", "not", "nunca", "nem", "muito", "muita", "bem", "mais", "menos", "pouco",
        "tao", "sempre", "ainda", "so", "uso", "usar", "usa", "usado", "usei", "usando", "ser",
        "fica", "ficar", "produto", "tipo", "dia", "vez", "vezes", "hora", "minuto", "semana",
        "indicado", "indicada", "ideal", "ajuda", "linha", "frasco", "pote", "bisnaga", "tubo",
        NULL
    };
    int                 i;

    if (!name_token_ok(k) || k->kind == CWAI_TOK_NUM || descriptor(k->stem)) {
        return 0;
    }
    for (i = 0; generic[i]; i++) {
        if (strcmp(k->stem, generic[i]) == 0 || strcmp(k->w, generic[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

/* Adds the content stems of a text to a product's word set; desc: words
 * of the description only (weaker). */
static int
words_add(nkey_t **arr, uint16_t *n, size_t *cap, ptext_t *p, const char *s, int desc)
{
    size_t  j;

    if (s == NULL) {
        return 0;
    }
    if (cwai_ptext_parse(p, s, strlen(s), NULL) != 0) {
        return -1;
    }
    for (j = 0; j < p->t.ntok; j++) {
        if (!need_token_ok(&p->t.tok[j])) {
            continue;
        }
        if (add_nkey(arr, n, cap, p->sh[j], 0, 0, desc) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Per product, the words of its name, tags and description weighted by
 * their rarity in the catalogue: what a need ("à prova d'água", "queda")
 * is matched against when recommending. */
static int
build_product_words(cwai_bot_t *b)
{
    const cwai_domain_t  *d = b->d;
    ptext_t               p;
    uint64_t             *all = NULL;
    size_t                nall = 0, i, t, cap;
    uint16_t              j;
    int                   rc = -1;

    memset(&p, 0, sizeof(p));
    for (i = 0; i < d->nproducts; i++) {
        const cwai_product_t  *pr = &d->products[i];
        namekey_t             *k = &b->pk[i];

        cap = 0;
        if (words_add(&k->words, &k->nwords, &cap, &p, pr->name, 0) != 0) {
            goto done;
        }
        for (t = 0; t < pr->tags.n; t++) {
            if (words_add(&k->words, &k->nwords, &cap, &p, pr->tags.v[t], 0) != 0) {
                goto done;
            }
        }
        if (words_add(&k->words, &k->nwords, &cap, &p, pr->description, 1) != 0) {
            goto done;
        }
        b->bytes += cap * sizeof(nkey_t);
        nall += k->nwords;
    }
    all = malloc((nall ? nall : 1) * sizeof(uint64_t));
    if (all == NULL) {
        goto done;
    }
    nall = 0;
    for (i = 0; i < d->nproducts; i++) {
        for (j = 0; j < b->pk[i].nwords; j++) {
            all[nall++] = b->pk[i].words[j].h;
        }
    }
    qsort(all, nall, sizeof(uint64_t), cmp_u64);
    for (i = 0; i < d->nproducts; i++) {
        for (j = 0; j < b->pk[i].nwords; j++) {
            uint64_t  h = b->pk[i].words[j].h;
            size_t    lo = 0, hi = nall, df = 0;

            while (lo < hi) {
                size_t  mid = (lo + hi) / 2;

                if (all[mid] < h) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            while (lo + df < nall && all[lo + df] == h) {
                df++;
            }
            b->pk[i].words[j].w = (float) fmax(0.0, log((double) d->nproducts / ((double) df + 0.5)))
                                  * (b->pk[i].words[j].weak ? 0.5f : 1.0f);
            b->pk[i].words[j].uniq = df == 1;
        }
    }
    rc = 0;
done:
    free(all);
    cwai_ptext_free(&p);
    return rc;
}

size_t
cwai_need_words(const ptext_t *m, const ptext_t *syn, uint64_t *h, float *w, size_t max)
{
    const ptext_t  *src[2] = { m, syn };
    size_t          n = 0, i, j, s;

    for (s = 0; s < 2; s++) {
        if (src[s] == NULL) {
            continue;
        }
        for (i = 0; i < src[s]->t.ntok && n < max; i++) {
            const cwai_tok_t  *k = &src[s]->t.tok[i];

            if (!need_token_ok(k)) {
                continue;
            }
            for (j = 0; j < n && h[j] != src[s]->sh[i]; j++) {
                /* seen? */
            }
            if (j < n) {
                continue;
            }
            h[n] = src[s]->sh[i];
            w[n++] = s == 0 ? 1.0f : 0.7f;
        }
    }
    return n;
}

float
cwai_need_score(const cwai_bot_t *b, int p, const uint64_t *h, const float *w, size_t n)
{
    const namekey_t  *k = &b->pk[p];
    float             sc = 0;
    size_t            i;
    uint16_t          j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < k->nwords; j++) {
            if (k->words[j].h == h[i]) {
                sc += w[i] * k->words[j].w;
                break;
            }
        }
    }
    return sc;
}

static int
add_kw(cwai_bot_t *b, size_t *cap, const char *phrase, int kind, int owner)
{
    ptext_t  p;
    kw_t    *k;
    size_t   i;

    memset(&p, 0, sizeof(p));
    if (cwai_ptext_parse(&p, phrase, strlen(phrase), NULL) != 0) {
        return -1;
    }
    if (p.t.ntok == 0 || p.t.ntok > CWAI_MAX_KW_TOKENS) {
        cwai_ptext_free(&p);
        return 0;
    }
    if (b->nkw == *cap) {
        size_t  nc = *cap ? *cap * 2 : 256;
        kw_t   *nk = realloc(b->kw, nc * sizeof(kw_t));

        if (nk == NULL) {
            cwai_ptext_free(&p);
            return -1;
        }
        b->kw = nk;
        *cap = nc;
    }
    k = &b->kw[b->nkw++];
    memset(k, 0, sizeof(*k));
    k->n = (uint8_t) p.t.ntok;
    k->kind = (uint8_t) kind;
    k->owner = (int16_t) owner;
    for (i = 0; i < p.t.ntok; i++) {
        k->h[i] = p.sh[i];
    }
    cwai_ptext_free(&p);
    return 0;
}

static int
category_agent(const char *cat)
{
    char    f[64];

    if (cat == NULL) {
        return AG_SUPPORT;
    }
    cwai_text_fold(cat, strlen(cat), f, sizeof(f));
    if (strstr(f, "agend") || strstr(f, "servic") || strstr(f, "schedul") || strstr(f, "booking")) {
        return AG_SCHEDULING;
    }
    if (strstr(f, "promo") || strstr(f, "venda") || strstr(f, "sales") || strstr(f, "produto")) {
        return AG_SALES;
    }
    return AG_SUPPORT;
}

static int
build_knowledge(cwai_bot_t *b)
{
    const cwai_domain_t  *d = b->d;
    cwai_field_t          f[24];
    size_t                i, j, nf;
    char                 *kw;
    int                   rc;

    for (i = 0; i < d->nrules; i++) {
        const cwai_rule_t  *r = &d->rules[i];

        kw = join_strs(&r->keywords, ", ");
        if (kw == NULL) {
            return -1;
        }
        f[0] = (cwai_field_t) { r->title, 0, 2.0f };
        f[1] = (cwai_field_t) { kw, 0, 1.5f };
        f[2] = (cwai_field_t) { r->text, 0, 1.0f };
        rc = cwai_index_add(b->kix, r->id, KX_RULE, (int) i, f, 3);
        free(kw);
        if (rc < 0) {
            return -1;
        }
        b->rule_doc[i] = (uint32_t) rc;
        f[0] = (cwai_field_t) { r->title, 0, 1.0f };
        if (cwai_index_add(b->kix, r->id, KX_RULE_SHORT, (int) i, f, 1) < 0) {
            return -1;
        }
        for (j = 0; j < r->keywords.n; j++) {
            f[0] = (cwai_field_t) { r->keywords.v[j], 0, 1.0f };
            if (cwai_index_add(b->kix, r->id, KX_RULE_SHORT, (int) i, f, 1) < 0) {
                return -1;
            }
        }
    }
    for (i = 0; i < d->nfaqs; i++) {
        const cwai_faq_t  *q = &d->faqs[i];

        kw = join_strs(&q->keywords, ", ");
        if (kw == NULL) {
            return -1;
        }
        nf = 0;
        f[nf++] = (cwai_field_t) { q->question, 0, 2.0f };
        f[nf++] = (cwai_field_t) { kw, 0, 1.0f };
        f[nf++] = (cwai_field_t) { q->answer, 0, 0.7f };
        for (j = 0; j < q->variants.n && nf < 24; j++) {
            f[nf++] = (cwai_field_t) { q->variants.v[j], 0, 1.2f };
        }
        rc = cwai_index_add(b->kix, q->id, KX_FAQ, (int) i, f, nf);
        free(kw);
        if (rc < 0) {
            return -1;
        }
        b->faq_doc[i] = (uint32_t) rc;
        f[0] = (cwai_field_t) { q->question, 0, 1.0f };
        if (cwai_index_add(b->kix, q->id, KX_FAQ_SHORT, (int) i, f, 1) < 0) {
            return -1;
        }
        for (j = 0; j < q->variants.n + q->keywords.n; j++) {
            f[0] = (cwai_field_t) { j < q->variants.n ? q->variants.v[j] : q->keywords.v[j - q->variants.n],
                                    0, 1.0f };
            if (cwai_index_add(b->kix, q->id, KX_FAQ_SHORT, (int) i, f, 1) < 0) {
                return -1;
            }
        }
    }
    for (i = 0; i < d->nproducts; i++) {
        const cwai_product_t  *p = &d->products[i];

        kw = join_strs(&p->tags, ", ");
        if (kw == NULL) {
            return -1;
        }
        f[0] = (cwai_field_t) { p->name, 0, 3.0f };
        f[1] = (cwai_field_t) { kw, 0, 1.5f };
        f[2] = (cwai_field_t) { p->brand, 0, 0.5f };
        f[3] = (cwai_field_t) { p->category, 0, 0.5f };
        f[4] = (cwai_field_t) { p->description, 0, 0.6f };
        rc = cwai_index_add(b->kix, p->sku, KX_PRODUCT, (int) i, f, 5);
        free(kw);
        if (rc < 0) {
            return -1;
        }
    }
    for (i = 0; i < d->nservices; i++) {
        const cwai_service_t  *s = &d->services[i];

        kw = join_strs(&s->tags, ", ");
        if (kw == NULL) {
            return -1;
        }
        f[0] = (cwai_field_t) { s->name, 0, 3.0f };
        f[1] = (cwai_field_t) { kw, 0, 1.0f };
        f[2] = (cwai_field_t) { s->category, 0, 0.8f };
        f[3] = (cwai_field_t) { s->description, 0, 0.6f };
        rc = cwai_index_add(b->kix, s->id, KX_SERVICE, (int) i, f, 4);
        free(kw);
        if (rc < 0) {
            return -1;
        }
    }
    return cwai_index_build(b->kix);
}

static int
add_example(cwai_bot_t *b, size_t *cap, const char *id, int kind, int ref, const char *text)
{
    cwai_field_t  f = { text, 0, 1.0f };
    cwai_ntext_t  t;
    int           doc;

    doc = cwai_index_add(b->iix, id, kind, ref, &f, 1);
    if (doc < 0) {
        return -1;
    }
    if ((size_t) doc >= *cap) {
        size_t     nc = *cap ? *cap * 2 : 256;
        uint64_t  *nh = realloc(b->iix_hash, nc * sizeof(uint64_t));

        if (nh == NULL) {
            return -1;
        }
        b->iix_hash = nh;
        *cap = nc;
    }
    memset(&t, 0, sizeof(t));
    if (cwai_text_parse(&t, text, strlen(text)) != 0) {
        return -1;
    }
    b->iix_hash[doc] = cwai_hash64(t.folded, t.folded_len);
    cwai_text_free(&t);
    return 0;
}

static int
build_intents(cwai_bot_t *b)
{
    const cwai_domain_t  *d = b->d;
    size_t                i, j, cap = 0, kcap = 0;

    for (i = 0; i < d->nintents; i++) {
        const cwai_intent_t  *it = &d->intents[i];

        b->intent_agent[i] = (int8_t) cwai_agent_index(it->agent);
        if (b->intent_agent[i] == AG_SMALLTALK) {
            b->has_smalltalk_intents = 1;
        }
        for (j = 0; j < it->examples.n; j++) {
            if (add_example(b, &cap, it->id, KI_EXAMPLE, (int) i, it->examples.v[j]) != 0) {
                return -1;
            }
        }
        for (j = 0; j < it->keywords.n; j++) {
            if (add_kw(b, &kcap, it->keywords.v[j], KW_INTENT, (int) i) != 0) {
                return -1;
            }
        }
    }
    for (i = 0; i < d->handoff.ntopics; i++) {
        const cwai_handoff_topic_t  *tp = &d->handoff.topics[i];

        for (j = 0; j < tp->examples.n; j++) {
            if (add_example(b, &cap, tp->id, KI_TOPIC, (int) i, tp->examples.v[j]) != 0) {
                return -1;
            }
        }
        for (j = 0; j < tp->keywords.n; j++) {
            if (add_kw(b, &kcap, tp->keywords.v[j], KW_TOPIC, (int) i) != 0) {
                return -1;
            }
        }
    }
    for (i = 0; i < d->nsynonyms; i++) {
        if (add_kw(b, &kcap, d->synonyms[i].term, KW_SYNONYM, (int) i) != 0) {
            return -1;
        }
    }
    b->bytes += cap * sizeof(uint64_t) + kcap * sizeof(kw_t);
    return cwai_index_build(b->iix);
}

/* The rule or FAQ closest to each intent (its description, keywords and
 * examples together): the fallback answer when the message itself retrieves
 * little but clearly has that intent. */
static int
build_intent_docs(cwai_bot_t *b)
{
    const cwai_domain_t  *d = b->d;
    size_t                i, j;
    cwai_ntext_t          t;
    cwai_hit_t            h[1];
    char                 *buf;
    size_t                len, cap = 8192;

    buf = malloc(cap);
    if (buf == NULL) {
        return -1;
    }
    memset(&t, 0, sizeof(t));
    for (i = 0; i < d->nintents; i++) {
        const cwai_intent_t  *it = &d->intents[i];

        b->intent_doc[i] = -1;
        len = 0;
#define APPEND(str) do {                                            \
            size_t  l_ = strlen(str);                               \
            if (len + l_ + 2 < cap) {                               \
                memcpy(buf + len, str, l_);                         \
                len += l_;                                          \
                buf[len++] = '\n';                                  \
            }                                                       \
        } while (0)
        if (it->description) {
            APPEND(it->description);
        }
        for (j = 0; j < it->keywords.n; j++) {
            APPEND(it->keywords.v[j]);
        }
        for (j = 0; j < it->examples.n; j++) {
            APPEND(it->examples.v[j]);
        }
#undef APPEND
        if (cwai_text_parse(&t, buf, len) != 0) {
            free(buf);
            return -1;
        }
        {
            const cwai_ntext_t  *q = &t;

            if (cwai_knowledge_search(b, &q, NULL, 1, h, 1) != 1 || h[0].score < 0.2f) {
                continue;
            }
        }
        b->intent_doc[i] = (int32_t) h[0].doc;
    }
    cwai_text_free(&t);
    free(buf);
    return 0;
}

static int
build_vocab(cwai_bot_t *b)
{
    const cwai_domain_t  *d = b->d;
    size_t                i;

    if (vocab_add(b->vocab, builtin_vocab) != 0) {
        return -1;
    }
    for (i = 0; i < d->nrules; i++) {
        if (vocab_add(b->vocab, d->rules[i].title) || vocab_add(b->vocab, d->rules[i].text)
            || vocab_add_strs(b->vocab, &d->rules[i].keywords))
        {
            return -1;
        }
    }
    for (i = 0; i < d->nfaqs; i++) {
        if (vocab_add(b->vocab, d->faqs[i].question) || vocab_add(b->vocab, d->faqs[i].answer)
            || vocab_add_strs(b->vocab, &d->faqs[i].variants))
        {
            return -1;
        }
    }
    for (i = 0; i < d->nproducts; i++) {
        if (vocab_add(b->vocab, d->products[i].name) || vocab_add(b->vocab, d->products[i].description)
            || vocab_add_strs(b->vocab, &d->products[i].tags) || vocab_add(b->vocab, d->products[i].brand))
        {
            return -1;
        }
    }
    for (i = 0; i < d->nservices; i++) {
        if (vocab_add(b->vocab, d->services[i].name) || vocab_add(b->vocab, d->services[i].description)) {
            return -1;
        }
    }
    for (i = 0; i < d->nprofessionals; i++) {
        if (vocab_add(b->vocab, d->professionals[i].name)) {
            return -1;
        }
    }
    for (i = 0; i < d->nintents; i++) {
        if (vocab_add_strs(b->vocab, &d->intents[i].examples)
            || vocab_add_strs(b->vocab, &d->intents[i].keywords))
        {
            return -1;
        }
    }
    for (i = 0; i < d->handoff.ntopics; i++) {
        if (vocab_add_strs(b->vocab, &d->handoff.topics[i].keywords)
            || vocab_add_strs(b->vocab, &d->handoff.topics[i].examples))
        {
            return -1;
        }
    }
    for (i = 0; i < d->nsynonyms; i++) {
        if (vocab_add(b->vocab, d->synonyms[i].term) || vocab_add(b->vocab, d->synonyms[i].means)) {
            return -1;
        }
    }
    return cwai_vocab_freeze(b->vocab);
}

static uint64_t
first_word_hash(const char *name, int last)
{
    ptext_t   p;
    uint64_t  h = 0;

    memset(&p, 0, sizeof(p));
    if (cwai_ptext_parse(&p, name, strlen(name), NULL) == 0 && p.t.ntok > 0) {
        h = p.sh[last ? p.t.ntok - 1 : 0];
    }
    cwai_ptext_free(&p);
    return h;
}

cwai_bot_t *
cwai_agent_new(const cwai_domain_t *d, cwai_err_t *err)
{
    cwai_bot_t         *b;
    cwai_embed_opts_t   o;
    const char        **names = NULL;
    const cwai_strs_t **tags = NULL;
    size_t              i, n;

    if (d == NULL) {
        cwai_err_set(err, "agent_domain", "no domain");
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        cwai_err_set(err, "agent_nomem", "out of memory");
        return NULL;
    }
    b->d = d;
    b->bytes = sizeof(*b);
    if (d->has_utc_offset) {
        b->tz = d->utc_offset_minutes;
    } else if (cwai_tz_offset(d->timezone ? d->timezone : "America/Sao_Paulo", &b->tz) != 0) {
        cwai_err_set(err, "agent_timezone",
                     "time zone \"%s\" is not in the built-in table of fixed-offset zones;"
                     " set domain.utc_offset", d->timezone);
        free(b);
        return NULL;
    }
    cwai_embed_opts_default(&o);
    b->kix = cwai_index_new(&o);
    o.keep_stopwords = 1;
    o.w_char = 0.35f;
    b->iix = cwai_index_new(&o);
    b->vocab = cwai_vocab_new();
    n = d->nproducts > d->nservices ? d->nproducts : d->nservices;
    b->pk = calloc(d->nproducts + 1, sizeof(namekey_t));
    b->sk = calloc(d->nservices + 1, sizeof(namekey_t));
    b->prof_first = calloc(d->nprofessionals + 1, sizeof(uint64_t));
    b->prof_full = calloc(d->nprofessionals + 1, sizeof(uint64_t));
    b->intent_agent = calloc(d->nintents + 1, 1);
    b->intent_doc = calloc(d->nintents + 1, sizeof(int32_t));
    b->rule_doc = calloc(d->nrules + 1, sizeof(uint32_t));
    b->faq_doc = calloc(d->nfaqs + 1, sizeof(uint32_t));
    b->rule_agent = calloc(d->nrules + 1, 1);
    b->faq_agent = calloc(d->nfaqs + 1, 1);
    names = calloc(n + 1, sizeof(char *));
    tags = calloc(n + 1, sizeof(cwai_strs_t *));
    if (b->kix == NULL || b->iix == NULL || b->vocab == NULL || b->pk == NULL || b->sk == NULL
        || b->prof_first == NULL || b->prof_full == NULL || b->intent_agent == NULL
        || b->rule_agent == NULL || b->faq_agent == NULL || names == NULL || tags == NULL
        || b->intent_doc == NULL || b->rule_doc == NULL || b->faq_doc == NULL)
    {
        goto nomem;
    }
    b->bytes += (d->nproducts + d->nservices + 2) * sizeof(namekey_t)
                + (d->nprofessionals + 1) * 2 * sizeof(uint64_t)
                + d->nintents + d->nrules + d->nfaqs + 3;
    b->bytes += (d->nintents + 1) * sizeof(int32_t) + (d->nrules + d->nfaqs + 2) * sizeof(uint32_t);
    if (build_vocab(b) != 0 || build_knowledge(b) != 0 || build_intents(b) != 0
        || build_intent_docs(b) != 0)
    {
        goto nomem;
    }
    for (i = 0; i < d->nproducts; i++) {
        names[i] = d->products[i].name;
        tags[i] = &d->products[i].tags;
    }
    if (build_namekeys(b, b->pk, names, tags, d->nproducts) != 0 || build_product_words(b) != 0) {
        goto nomem;
    }
    for (i = 0; i < d->nproducts; i++) {
        const cwai_kv_t  *kv = cwai_kvs_get(&d->products[i].attributes, "skin_types");
        size_t            j;

        if (kv && kv->type == CWAI_VAL_LIST) {
            for (j = 0; j < kv->items.n; j++) {
                b->pk[i].skin |= (unsigned) skin_bit(kv->items.v[j]);
            }
        }
    }
    for (i = 0; i < d->nservices; i++) {
        names[i] = d->services[i].name;
        tags[i] = &d->services[i].tags;
    }
    if (build_namekeys(b, b->sk, names, tags, d->nservices) != 0) {
        goto nomem;
    }
    for (i = 0; i < d->nprofessionals; i++) {
        b->prof_first[i] = first_word_hash(d->professionals[i].name, 0);
        b->prof_full[i] = first_word_hash(d->professionals[i].name, 1);
    }
    for (i = 0; i < d->nrules; i++) {
        b->rule_agent[i] = (int8_t) category_agent(d->rules[i].category);
    }
    for (i = 0; i < d->nfaqs; i++) {
        b->faq_agent[i] = (int8_t) category_agent(d->faqs[i].category);
    }
    free(names);
    free(tags);
    b->bytes += cwai_index_bytes(b->kix) + cwai_index_bytes(b->iix) + cwai_vocab_bytes(b->vocab);
    return b;

nomem:
    free(names);
    free(tags);
    cwai_agent_free(b);
    cwai_err_set(err, "agent_nomem", "out of memory building the agent index");
    return NULL;
}

static void
free_namekeys(namekey_t *k, size_t n)
{
    size_t  i;

    if (k == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(k[i].k);
        free(k[i].seq);
        free(k[i].tags);
        free(k[i].words);
    }
    free(k);
}

void
cwai_agent_free(cwai_bot_t *b)
{
    if (b == NULL) {
        return;
    }
    cwai_index_free(b->kix);
    cwai_index_free(b->iix);
    cwai_vocab_free(b->vocab);
    free_namekeys(b->pk, b->d->nproducts);
    free_namekeys(b->sk, b->d->nservices);
    free(b->prof_first);
    free(b->prof_full);
    free(b->kw);
    free(b->intent_agent);
    free(b->intent_doc);
    free(b->rule_doc);
    free(b->faq_doc);
    free(b->rule_agent);
    free(b->faq_agent);
    free(b->iix_hash);
    free(b);
}

size_t
cwai_agent_bytes(const cwai_bot_t *b)
{
    return b ? b->bytes : 0;
}

size_t
cwai_agent_index_size(const cwai_bot_t *b)
{
    return b ? cwai_index_count(b->kix) : 0;
}

/* ---- mentions --------------------------------------------------------------- */

/* A token stream of the message plus synonym expansions; expansions take
 * the position of the phrase they expand. */
typedef struct {
    uint64_t  h[256];
    int       pos[256];
    int       used[256];
    int       src[256];         /* -1: the message; else the synonym */
    int       n;
} tokstream_t;

static void
stream_build(const cwai_ctx_t *c, const ptext_t *m, int with_syn, tokstream_t *s)
{
    size_t  i, j;

    s->n = 0;
    for (i = 0; i < m->t.ntok && s->n < 256; i++) {
        s->h[s->n] = m->sh[i];
        s->pos[s->n] = (int) i;
        s->src[s->n] = -1;
        s->used[s->n++] = 0;
    }
    if (!with_syn) {
        return;
    }
    for (i = 0; i < c->b->nkw; i++) {
        const kw_t  *k = &c->b->kw[i];
        int          at;
        ptext_t      e;

        if (k->kind != KW_SYNONYM) {
            continue;
        }
        at = cwai_kw_find(m, k);
        if (at < 0) {
            continue;
        }
        memset(&e, 0, sizeof(e));
        if (cwai_ptext_parse(&e, c->d->synonyms[k->owner].means,
                             strlen(c->d->synonyms[k->owner].means), NULL) != 0)
        {
            continue;
        }
        for (j = 0; j < e.t.ntok && s->n < 256; j++) {
            if (e.t.tok[j].stop) {
                continue;
            }
            s->h[s->n] = e.sh[j];
            s->pos[s->n] = at;
            s->src[s->n] = k->owner;
            s->used[s->n++] = 0;
        }
        cwai_ptext_free(&e);
    }
}

static int
in_history(const cwai_ctx_t *c, int p)
{
    int  i;

    if (c->focus == p) {
        return 1;
    }
    for (i = 0; i < c->ncart; i++) {
        if (c->cart[i] == p) {
            return 1;
        }
    }
    return 0;
}

/* Is a mention only context ("uso X", "comprei X", "X que comprei veio")?
 * A usage or possession verb within 3 words of any matched word. */
static int
context_mention(const ptext_t *m, const int *pos, int npos)
{
    static const char  *const verbs[] = {
        "uso", "usei", "usando", "usava", "passei", "passo", "apliquei", "comprei",
        "comprou", "compramos", "ganhei", "recebi", "veio", "chegou", "tenho",
        "tinha", "pedi", NULL
    };
    int  k, i, j, lo, hi;

    for (k = 0; k < npos; k++) {
        lo = pos[k] - 3;
        hi = pos[k] + 3;
        for (i = lo; i <= hi; i++) {
            if (i < 0 || i >= (int) m->t.ntok || i == pos[k]) {
                continue;
            }
            if (i > pos[k] && m->t.tok[i].brk) {
                break;
            }
            for (j = 0; verbs[j]; j++) {
                if (strcmp(m->t.tok[i].w, verbs[j]) == 0) {
                    /* "tenho pele seca ..." before is not about the product */
                    if (strcmp(verbs[j], "tenho") == 0 && i < pos[k]) {
                        continue;
                    }
                    return 1;
                }
            }
        }
    }
    return 0;
}

typedef struct {
    int    idx;
    float  score;
    int    ntok;
    int    head;
} cand_t;

static int
cmp_cand(const void *a, const void *b)
{
    const cand_t  *x = a, *y = b;

    if (x->score != y->score) {
        return x->score < y->score ? 1 : -1;
    }
    return x->idx - y->idx;
}

typedef struct {
    int    ntok;                /* matched strong words */
    int    head;                /* the first word of the name matched */
    int    uniq_head;           /* ... and it names this item only */
    int    lo, hi;              /* message positions */
    int    syn;                 /* all evidence from one synonym: its index; -1 */
    int    pos[16];             /* message positions of the matched words */
    uint64_t  hs[16];           /* ... and their stems */
    int    npos;
} match_t;

static float
score_name(const namekey_t *k, tokstream_t *s, int mark, match_t *mt)
{
    int    i, j, syn = -2;
    float  got = 0, tag = 0;

    memset(mt, 0, sizeof(*mt));
    mt->lo = 1 << 30;
    mt->hi = -1;
    for (i = 0; i < k->n; i++) {
        for (j = 0; j < s->n; j++) {
            if (!s->used[j] && s->h[j] == k->k[i].h) {
                got += k->k[i].w;
                if (!k->k[i].weak) {
                    mt->ntok++;
                }
                if (k->nseq && k->seq[0] == k->k[i].h) {
                    mt->head = 1;
                    mt->uniq_head = k->k[i].uniq;
                }
                if (s->pos[j] < mt->lo) {
                    mt->lo = s->pos[j];
                }
                if (s->pos[j] > mt->hi) {
                    mt->hi = s->pos[j];
                }
                if (mt->npos < 16) {
                    mt->hs[mt->npos] = s->h[j];
                    mt->pos[mt->npos++] = s->pos[j];
                }
                if (syn == -2) {
                    syn = s->src[j];
                } else if (syn != s->src[j]) {
                    syn = -1;
                }
                if (mark) {
                    s->used[j] = 1;
                }
                break;
            }
        }
    }
    for (i = 0; i < k->ntags && mt->ntok > 0; i++) {
        for (j = 0; j < s->n; j++) {
            if (!s->used[j] && s->h[j] == k->tags[i].h) {
                tag += 0.05f;
                break;
            }
        }
    }
    mt->syn = syn >= 0 ? syn : -1;
    if (k->total <= 0 || mt->ntok == 0) {
        return 0;
    }
    return got / k->total + (tag > 0.15f ? 0.15f : tag);
}

static int
mention_ok(float sc, const match_t *mt, int hist)
{
    return sc >= 0.5f || (mt->ntok >= 2 && sc >= 0.3f) || (hist && mt->head)
           || mt->uniq_head;
}

/* Does a word of product p's name that matched (a synonym's) tag another
 * active product? */
static int
shared_by_tags(const cwai_ctx_t *c, int p, tokstream_t *s)
{
    match_t  mt;
    size_t   i;
    int      j, t;

    score_name(&c->b->pk[p], s, 0, &mt);
    for (i = 0; i < c->d->nproducts; i++) {
        const namekey_t  *k = &c->b->pk[i];

        if ((int) i == p || !c->d->products[i].active) {
            continue;
        }
        for (t = 0; t < k->ntags; t++) {
            for (j = 0; j < mt.npos; j++) {
                if (k->tags[t].h == mt.hs[j]) {
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* Products named in the message. */
static void
find_products(cwai_ctx_t *c)
{
    const cwai_domain_t  *d = c->d;
    tokstream_t          *s = malloc(sizeof(tokstream_t));
    cand_t               *cand = malloc((d->nproducts + 1) * sizeof(cand_t));
    int                  *syn = malloc((d->nproducts + 1) * sizeof(int));
    size_t                i, j, nc = 0;
    match_t               mt;

    c->nprod = 0;
    c->prod_used = 0;
    c->prod_generic = 0;
    c->prod_need = 0;
    if (s == NULL || cand == NULL || syn == NULL) {
        free(s);
        free(cand);
        free(syn);
        return;
    }
    stream_build(c, &c->m, 1, s);
    for (i = 0; i < (size_t) s->n; i++) {
        if (s->pos[i] < 64 && (c->svc_used >> s->pos[i]) & 1) {
            s->used[i] = 1;
        }
    }
    for (i = 0; i < d->nproducts; i++) {
        int    hist = in_history(c, (int) i);
        float  sc = score_name(&c->b->pk[i], s, 0, &mt);

        if (mt.ntok == 0) {
            continue;
        }
        if (hist) {
            sc += 0.15f;
        }
        cand[nc].idx = (int) i;
        cand[nc].score = sc;
        cand[nc].ntok = mt.ntok;
        cand[nc].head = mention_ok(sc, &mt, hist);     /* passes on its own */
        syn[i] = mt.syn;
        nc++;
    }
    qsort(cand, nc, sizeof(cand_t), cmp_cand);
    /* two items that only a synonym names ("tirar maquiagem" -> demaquilante
     * água micelar) are a need, not a product; so is one whose name shares
     * the synonym's word with other products' tags ("demaquilante": the
     * balm by name, the micellar water by tag) */
    for (i = 0; i < nc; i++) {
        if (!cand[i].head || syn[cand[i].idx] < 0) {
            continue;
        }
        for (j = 0; j < nc; j++) {
            if (j != i && cand[j].head && syn[cand[j].idx] == syn[cand[i].idx]) {
                cand[i].ntok = -1;
                break;
            }
        }
        if (cand[i].ntok >= 0 && shared_by_tags(c, cand[i].idx, s)) {
            cand[i].ntok = -1;
        }
    }
    for (i = 0; i < nc && c->nprod < CWAI_MENTION_MAX; i++) {
        int    p = cand[i].idx, hist = in_history(c, p);
        float  sc;

        if (cand[i].ntok < 0) {
            /* a need named by a synonym, before any product asked for
             * ("uso rímel à prova d'água" is only context) */
            int  req = 0;

            for (j = 0; j < (size_t) c->nprod; j++) {
                req |= !c->prod[j].context;
            }
            if (i == 0 || !req) {
                c->prod_generic = 1;
                c->prod_need = 1;
            }
            continue;
        }
        sc = score_name(&c->b->pk[p], s, 0, &mt);
        if (hist) {
            sc += 0.15f;
        }
        if (mt.ntok == 0 || !mention_ok(sc, &mt, hist)) {
            if (i == 0) {
                c->prod_generic = 1;
            }
            continue;
        }
        /* a close second with the same evidence: a kind of product, not one */
        if (i == 0 && sc < 0.75f && nc > 1 && !hist && !mt.uniq_head) {
            match_t  m2;
            float    sc2 = score_name(&c->b->pk[cand[1].idx], s, 0, &m2);

            if (in_history(c, cand[1].idx)) {
                sc2 += 0.15f;
            }
            if (sc2 >= sc - 0.08f && m2.ntok >= mt.ntok) {
                c->prod_generic = 1;
                break;
            }
        }
        score_name(&c->b->pk[p], s, 1, &mt);
        for (j = 0; j < (size_t) mt.npos; j++) {
            if (mt.pos[j] >= 0 && mt.pos[j] < 64) {
                c->prod_used |= 1ULL << mt.pos[j];
            }
        }
        c->prod[c->nprod].idx = p;
        c->prod[c->nprod].score = sc;
        c->prod[c->nprod].ntok = mt.ntok;
        c->prod[c->nprod].qty = 1;
        c->prod[c->nprod++].context = context_mention(&c->m, mt.pos, mt.npos);
#ifdef CWAI_DEBUG_ROUTER
        fprintf(stderr, "mention %s sc=%.2f ntok=%d lo=%d hi=%d ctx=%d syn=%d\n", d->products[p].sku, sc,
                mt.ntok, mt.lo, mt.hi, c->prod[c->nprod - 1].context, mt.syn);
#endif
    }
    free(s);
    free(cand);
    free(syn);
}

/* The service named in a text (or -1); *ambiguous when two tie or when
 * the only evidence is weak ("maquiagem" for two make-up services). */
static int
find_service_at(const cwai_ctx_t *c, const ptext_t *m, int prefer, int *ambiguous, uint64_t *used)
{
    tokstream_t  *s = malloc(sizeof(tokstream_t));
    size_t        i;
    int           best = -1, second = -1, bnt = 0;
    float         bs = 0, ss = 0, sc;
    match_t       mt;

    *ambiguous = 0;
    if (s == NULL) {
        return -1;
    }
    stream_build(c, m, 0, s);
    if (m == &c->m) {
        /* words that already name a product do not name a service too */
        for (i = 0; i < (size_t) s->n; i++) {
            if (s->pos[i] < 64 && (c->prod_used >> s->pos[i]) & 1) {
                s->used[i] = 1;
            }
        }
    }
    for (i = 0; i < c->d->nservices; i++) {
        sc = score_name(&c->b->sk[i], s, 0, &mt);
        if (mt.ntok == 0) {
            continue;
        }
        if ((int) i == prefer) {
            sc += 0.2f;
        }
        if (sc > bs) {
            second = best;
            ss = bs;
            best = (int) i;
            bs = sc;
            bnt = mt.ntok;
        } else if (sc > ss) {
            second = (int) i;
            ss = sc;
        }
    }
    free(s);
    if (best < 0) {
        return -1;
    }
    if (!(bs >= 0.45f || (bnt >= 2 && bs >= 0.3f))) {
        *ambiguous = bs >= 0.25f;
        return -1;
    }
    if (second >= 0 && ss >= bs - 0.02f) {
        *ambiguous = 1;
        return -1;
    }
    if (used) {
        int  k;

        s = malloc(sizeof(tokstream_t));
        if (s != NULL) {
            stream_build(c, m, 0, s);
            score_name(&c->b->sk[best], s, 0, &mt);
            for (k = 0; k < mt.npos; k++) {
                if (mt.pos[k] >= 0 && mt.pos[k] < 64) {
                    *used |= 1ULL << mt.pos[k];
                }
            }
            free(s);
        }
    }
    return best;
}

static int
find_service(const cwai_ctx_t *c, const ptext_t *m, int prefer, int *ambiguous)
{
    return find_service_at(c, m, prefer, ambiguous, NULL);
}

static int
find_professional(const cwai_ctx_t *c, const ptext_t *m, int *count)
{
    size_t  i, j;
    int     found = -1;

    *count = 0;
    for (i = 0; i < c->d->nprofessionals; i++) {
        for (j = 0; j < m->t.ntok; j++) {
            if (m->sh[j] == c->b->prof_first[i]) {
                found = (int) i;
                (*count)++;
                break;
            }
        }
    }
    return found;
}

/* Products an assistant turn names: by SKU, or by the full name in order. */
static int
assistant_products(const cwai_ctx_t *c, const char *raw, const ptext_t *m, int *out, int max)
{
    const cwai_domain_t  *d = c->d;
    size_t                i, j, k, pos;
    int                   n = 0;

    for (i = 0; i < d->nproducts && n < max; i++) {
        const namekey_t  *nk = &c->b->pk[i];
        int               hit = strstr(raw, d->products[i].sku) != NULL;

        if (!hit && nk->nseq >= 2) {
            for (j = 0; j + nk->nseq <= m->t.ntok && !hit; j++) {
                pos = j;
                for (k = 0; k < nk->nseq && pos < m->t.ntok; pos++) {
                    if (m->t.tok[pos].stop || !name_token_ok(&m->t.tok[pos])) {
                        continue;
                    }
                    if (m->sh[pos] != nk->seq[k]) {
                        break;
                    }
                    k++;
                }
                hit = k == nk->nseq;
            }
        }
        if (hit) {
            out[n++] = (int) i;
        }
    }
    return n;
}

static void
cart_add(cwai_ctx_t *c, int p)
{
    int  i;

    if (p < 0 || !c->d->products[p].active || c->d->products[p].stock == 0) {
        return;
    }
    for (i = 0; i < c->ncart; i++) {
        if (c->cart[i] == p) {
            return;
        }
    }
    if (c->ncart < CWAI_CART_MAX) {
        c->cart[c->ncart++] = p;
    }
}

static unsigned
skin_of(const ptext_t *m)
{
    static const struct { const char *w; unsigned bit; } sk[] = {
        { "oleosa", SK_OLEOSA }, { "oleosidade", SK_OLEOSA }, { "seca", SK_SECA },
        { "ressecada", SK_SECA }, { "mista", SK_MISTA }, { "sensivel", SK_SENSIVEL },
        { "sensiveis", SK_SENSIVEL }, { "arde", SK_SENSIVEL }, { "irrita", SK_SENSIVEL },
        { "reativa", SK_SENSIVEL }, { NULL, 0 }
    };
    unsigned  bits = 0;
    size_t    i, j;

    for (i = 0; i < m->t.ntok; i++) {
        for (j = 0; sk[j].w; j++) {
            if (strcmp(m->t.tok[i].w, sk[j].w) == 0) {
                bits |= sk[j].bit;
            }
        }
    }
    return bits;
}

static int
personal_request(const ptext_t *m)
{
    return cwai_has_phrase(m, "meu pedido") || cwai_has_phrase(m, "minha compra")
        || cwai_has_phrase(m, "meus pontos") || cwai_has_phrase(m, "pontos eu tenho")
        || cwai_has_phrase(m, "eu tenho no clube") || cwai_has_phrase(m, "gerei um boleto")
        || cwai_has_phrase(m, "meu boleto") || cwai_has_phrase(m, "minha entrega")
        || cwai_has_phrase(m, "meu rastreio") || cwai_has_phrase(m, "falta quanto")
        || cwai_has_phrase(m, "meu saldo") || cwai_has_phrase(m, "pedido de hoje");
}

/* ---- context ---------------------------------------------------------------- */

/* strlen(), at most CWAI_AGENT_MAX_TEXT, cut at a UTF-8 boundary */
static size_t
bounded_len(const char *s)
{
    size_t  n = strnlen(s, CWAI_AGENT_MAX_TEXT + 1);

    if (n > CWAI_AGENT_MAX_TEXT) {
        n = CWAI_AGENT_MAX_TEXT;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    return n;
}

static void
sched_from(cwai_ctx_t *c, const ptext_t *m, int customer)
{
    cwai_entities_t  e;
    int              amb, np, p, s;

    cwai_extract(&m->t, c->now.date, &e);
    s = find_service(c, m, c->sched.svc, &amb);
    if (s >= 0 && s != c->sched.svc) {
        c->sched.svc = s;
        if (customer) {
            c->sched.date.year = 0;
            c->sched.time = -1;
            c->sched.prof = -1;
            c->sched.daypart = 0;
        }
    }
    p = find_professional(c, m, &np);
    if (np == 1) {
        c->sched.prof = p;
    }
    if (e.date.year && (customer || e.ndates == 1)) {
        if (cwai_date_cmp(e.date, c->sched.date) != 0) {
            c->sched.time = -1;
        }
        c->sched.date = e.date;
    }
    if (e.time >= 0 && (customer || e.ntimes == 1)) {
        c->sched.time = e.time;
    }
    if (customer && e.daypart) {
        c->sched.daypart = e.daypart;
    }
}

static int
prepare_history(cwai_ctx_t *c)
{
    const cwai_agent_input_t  *in = c->in;
    size_t                     first = in->nhistory > CWAI_HIST_MAX ? in->nhistory - CWAI_HIST_MAX : 0;
    size_t                     i;
    ptext_t                    h;
    int                        prods[16], n, k, last_customer = -1;

    memset(&h, 0, sizeof(h));
    c->hist_first = first;
    for (i = first; i < in->nhistory; i++) {
        const cwai_turn_t  *tu = &in->history[i];

        if (tu->text == NULL) {
            continue;
        }
        c->nturns++;
        if (cwai_ptext_parse(&h, tu->text, bounded_len(tu->text),
                             tu->role == CWAI_ROLE_CUSTOMER ? c->b->vocab : NULL) != 0)
        {
            cwai_ptext_free(&h);
            return -1;
        }
        if (tu->role == CWAI_ROLE_ASSISTANT) {
            int  ag = cwai_agent_index(tu->agent);

            c->last_agent = ag;
            if (ag == AG_HANDOFF) {
                c->hist_handoff = 1;
            }
            if (ag < 0 || ag == AG_SALES) {
                n = assistant_products(c, tu->text, &h, prods, 16);
                for (k = 0; k < n; k++) {
                    cart_add(c, prods[k]);
                    c->focus = prods[k];
                }
            }
            if (ag < 0 || ag == AG_SCHEDULING) {
                sched_from(c, &h, 0);
            }
        } else {
            cwai_ctx_t  sub;

            last_customer = (int) i;
            c->skin |= skin_of(&h);
            if (cwai_place_find(&h.t, &c->hplace)) {
                c->has_hplace = 1;
            }
            /* specific product requests of the customer */
            memset(&sub, 0, sizeof(sub));
            sub.b = c->b;
            sub.d = c->d;
            sub.focus = -1;
            sub.m = h;
            find_products(&sub);
            for (k = 0; k < sub.nprod; k++) {
                if (!sub.prod[k].context) {
                    cart_add(c, sub.prod[k].idx);
                    c->focus = sub.prod[k].idx;
                    c->hist_named |= 1u << (i - first);
                }
            }
            sched_from(c, &h, 1);
        }
    }
    (void) last_customer;
    cwai_ptext_free(&h);
    return 0;
}

/* The agent that answered the previous turn when the caller did not say:
 * route the last customer turn alone. */
static int
infer_last_agent(const cwai_bot_t *b, const cwai_agent_input_t *in)
{
    size_t              i;
    cwai_agent_input_t  sub;
    cwai_answer_t       a;
    int                 ag = -1;

    if (in->nhistory == 0 || in->history[in->nhistory - 1].role != CWAI_ROLE_ASSISTANT
        || in->history[in->nhistory - 1].agent != NULL)
    {
        return -2;
    }
    for (i = in->nhistory; i-- > 0; ) {
        if (in->history[i].role == CWAI_ROLE_CUSTOMER && in->history[i].text) {
            memset(&sub, 0, sizeof(sub));
            sub.text = in->history[i].text;
            sub.now = in->now;
            sub.lang = in->lang;
            sub.history = in->history;
            sub.nhistory = i;
            sub.flags = in->flags;
            if (cwai_agent_answer(b, &sub, &a) == 0) {
                ag = cwai_agent_index(a.agent);
                cwai_answer_free(&a);
            }
            return ag;
        }
    }
    return -1;
}

static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int
lang_supported(const cwai_domain_t *d, const char *lang)
{
    size_t  i;
    int     f = cwai_lang_family(lang);

    for (i = 0; i < d->languages.n; i++) {
        if (cwai_lang_family(d->languages.v[i]) == f) {
            return 1;
        }
    }
    return d->languages.n == 0 && f == 0;
}

static const char *
lang_name(int f)
{
    return f == 1 ? "en" : f == 2 ? "es" : "pt-BR";
}

static void
ctx_free(cwai_ctx_t *c)
{
    cwai_ptext_free(&c->m);
    cwai_ptext_free(&c->syn);
}

static int
retrieve(cwai_ctx_t *c, const ptext_t *prev)
{
    const cwai_ntext_t  *q[3];
    float                w[3];
    size_t               nq = 0;

    q[nq] = &c->m.t;
    w[nq++] = 1.0f;
    if (c->syn.t.ntok) {
        q[nq] = &c->syn.t;
        w[nq++] = 0.8f;
    }
    if (prev && prev->t.ntok) {
        q[nq] = &prev->t;
        w[nq++] = 0.35f;
    }
    c->nkh = cwai_knowledge_search(c->b, q, w, nq, c->kh, 8);
    c->nph = cwai_index_search_multi(c->b->kix, q, w, c->syn.t.ntok ? 2 : 1,
                                     1u << KX_PRODUCT, c->ph, 8);
    return 0;
}

/* The synonym expansions of m, parsed into syn. */
static int
synonyms_of(const cwai_bot_t *b, const ptext_t *m, ptext_t *syn)
{
    char    buf[1024];
    size_t  i, len = 0;

    for (i = 0; i < b->nkw; i++) {
        const kw_t  *k = &b->kw[i];
        const char  *means;
        size_t       ml;

        if (k->kind != KW_SYNONYM || cwai_kw_find(m, k) < 0) {
            continue;
        }
        means = b->d->synonyms[k->owner].means;
        ml = strlen(means);
        if (len + ml + 2 >= sizeof(buf)) {
            break;
        }
        memcpy(buf + len, means, ml);
        len += ml;
        buf[len++] = '\n';
    }
    return cwai_ptext_parse(syn, buf, len, NULL);
}

static void
build_synonyms(cwai_ctx_t *c)
{
    (void) synonyms_of(c->b, &c->m, &c->syn);
}

size_t
cwai_request_products(const cwai_ctx_t *c, const char *text, ptext_t *m, ptext_t *syn,
    cwai_hit_t *ph, size_t k)
{
    const cwai_ntext_t  *q[2];
    float                w[2] = { 1.0f, 0.8f };

    if (cwai_ptext_parse(m, text, bounded_len(text), c->b->vocab) != 0
        || synonyms_of(c->b, m, syn) != 0)
    {
        return 0;
    }
    q[0] = &m->t;
    q[1] = &syn->t;
    return cwai_index_search_multi(c->b->kix, q, w, syn->t.ntok ? 2 : 1, 1u << KX_PRODUCT, ph, k);
}

int
cwai_agent_answer(const cwai_bot_t *b, const cwai_agent_input_t *in, cwai_answer_t *out)
{
    cwai_ctx_t  *c;
    double       t0, t1, t2, t3, t4;
    size_t       len, i;
    ptext_t      prev;
    int          rc = -1, amb, np, inferred;

    memset(out, 0, sizeof(*out));
    if (b == NULL || in == NULL || in->text == NULL) {
        return -1;
    }
    t0 = now_us();
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -1;
    }
    memset(&prev, 0, sizeof(prev));
    c->b = b;
    c->d = b->d;
    c->in = in;
    c->last_agent = -1;
    c->focus = -1;
    c->intent = -1;
    c->topic = -1;
    c->svc = -1;
    c->prof = -1;
    c->sched.svc = -1;
    c->sched.prof = -1;
    c->sched.time = -1;
    c->now_unix = in->now ? in->now : (int64_t) time(NULL);
    c->now = cwai_local_from_unix(c->now_unix, b->tz);
    len = in->len ? in->len : strlen(in->text);
    if (len > CWAI_AGENT_MAX_TEXT) {
        /* an essay is answered from its beginning (bounded CPU per message) */
        len = CWAI_AGENT_MAX_TEXT;
        while (len > 0 && ((unsigned char) in->text[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    /* ---- normalise ---- */
    if (cwai_ptext_parse(&c->m, in->text, len, b->vocab) != 0) {
        goto done;
    }
    if (in->lang) {
        c->lang = lang_name(cwai_lang_family(in->lang));
    } else {
        c->lang = cwai_text_language(&c->m.t);
    }
    if (!lang_supported(c->d, c->lang)) {
        c->lang = c->d->language ? c->d->language : "pt-BR";
    }
    build_synonyms(c);
    cwai_extract(&c->m.t, c->now.date, &c->ent);
    c->has_place = cwai_place_find(&c->m.t, &c->place);
    c->skin = skin_of(&c->m);
    c->personal = personal_request(&c->m);
    if (prepare_history(c) != 0) {
        goto done;
    }
    inferred = infer_last_agent(b, in);
    if (inferred != -2) {
        c->last_agent = inferred;
        if (inferred == AG_HANDOFF) {
            c->hist_handoff = 1;
        }
    }
    for (i = in->nhistory; i-- > 0; ) {
        if (in->history[i].role == CWAI_ROLE_CUSTOMER && in->history[i].text) {
            if (cwai_ptext_parse(&prev, in->history[i].text, bounded_len(in->history[i].text),
                                 b->vocab) != 0)
            {
                goto done;
            }
            break;
        }
    }
    t1 = now_us();

    /* ---- retrieve ---- */
    retrieve(c, &prev);
    {
        /* "horário de hidratação capilar amanhã": with a scheduling cue, a
         * service name wins over the product it shares words with */
        static const char  *const cues[] = {
            "marcar", "agendar", "horario", "horarios", "vaga", "reservar", "remarcar",
            "desmarcar", "agenda", NULL
        };
        uint64_t  used = 0;
        int       s0 = find_service_at(c, &c->m, c->sched.svc, &amb, &used);

        if (s0 >= 0 && (cwai_has_word(&c->m, cues) || c->ent.date.year || c->ent.time >= 0
                        || c->ent.daypart))
        {
            c->svc_used = used;
        }
    }
    find_products(c);
    c->svc = find_service(c, &c->m, c->sched.svc, &amb);
    c->svc_ambiguous = amb;
    c->prof = find_professional(c, &c->m, &np);
    c->sched_hist_svc = c->sched.svc;
    sched_from(c, &c->m, 1);
    t2 = now_us();

    /* ---- route ---- */
    cwai_router_route(c);
    t3 = now_us();

    /* ---- compose ---- */
    if (cwai_compose(c, out) != 0) {
        goto done;
    }
    t4 = now_us();
    out->us.normalise = t1 - t0;
    out->us.retrieve = t2 - t1;
    out->us.route = t3 - t2;
    out->us.compose = t4 - t3;
    out->us.total = t4 - t0;
    rc = 0;
done:
    cwai_ptext_free(&prev);
    ctx_free(c);
    free(c);
    if (rc != 0) {
        cwai_answer_free(out);
    }
    return rc;
}

void
cwai_answer_free(cwai_answer_t *a)
{
    if (a == NULL) {
        return;
    }
    free(a->reply);
    a->reply = NULL;
}

json_t *
cwai_answer_to_json(const cwai_answer_t *a)
{
    json_t  *o = json_object(), *src = json_array(), *lab = json_array(), *tm = json_object();
    size_t   i;

    if (o == NULL || src == NULL || lab == NULL || tm == NULL) {
        json_decref(o);
        json_decref(src);
        json_decref(lab);
        json_decref(tm);
        return NULL;
    }
    for (i = 0; i < a->nsources; i++) {
        json_array_append_new(src, json_string(a->sources[i]));
    }
    for (i = 0; i < a->nlabels; i++) {
        json_array_append_new(lab, json_string(a->labels[i]));
    }
    json_object_set_new(tm, "normalise_us", json_real(round(a->us.normalise * 10) / 10));
    json_object_set_new(tm, "retrieve_us", json_real(round(a->us.retrieve * 10) / 10));
    json_object_set_new(tm, "route_us", json_real(round(a->us.route * 10) / 10));
    json_object_set_new(tm, "compose_us", json_real(round(a->us.compose * 10) / 10));
    json_object_set_new(tm, "total_us", json_real(round(a->us.total * 10) / 10));
    json_object_set_new(o, "reply", json_string(a->reply ? a->reply : ""));
    json_object_set_new(o, "agent", json_string(a->agent ? a->agent : "handoff"));
    json_object_set_new(o, "intent", a->intent ? json_string(a->intent) : json_null());
    json_object_set_new(o, "confidence", json_real(round(a->confidence * 1000) / 1000));
    json_object_set_new(o, "sources", src);
    json_object_set_new(o, "handoff", json_boolean(a->handoff));
    json_object_set_new(o, "handoff_reason",
                        a->handoff_reason ? json_string(a->handoff_reason) : json_null());
    json_object_set_new(o, "needs_tool", a->needs_tool ? json_string(a->needs_tool) : json_null());
    json_object_set_new(o, "labels", lab);
    json_object_set_new(o, "language", json_string(a->language ? a->language : "pt-BR"));
    json_object_set_new(o, "timings", tm);
    return o;
}
