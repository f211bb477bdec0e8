/*
 * Feature-hashing text embeddings. See cwai_embed.h.
 */
#include "cwai_embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
cwai_embed_opts_default(cwai_embed_opts_t *o)
{
    o->dim = CWAI_EMBED_DIM;
    o->w_word = 1.0f;
    o->w_bigram = 0.6f;
    o->w_char = 0.5f;
    o->keep_stopwords = 0;
}

int
cwai_embed_acc_init(cwai_embed_acc_t *a, uint32_t dim)
{
    a->dim = 0;
    a->dense = NULL;
    if (dim < 64 || (dim & (dim - 1)) != 0) {
        return -1;
    }
    a->dense = calloc(dim, sizeof(float));
    if (a->dense == NULL) {
        return -1;
    }
    a->dim = dim;
    return 0;
}

void
cwai_embed_acc_free(cwai_embed_acc_t *a)
{
    free(a->dense);
    a->dense = NULL;
    a->dim = 0;
}

static void
add_hash(cwai_embed_acc_t *a, uint64_t h, float w)
{
    uint32_t  i = (uint32_t) (h & (a->dim - 1));

    if ((h >> 40) & 1) {
        a->dense[i] -= w;
    } else {
        a->dense[i] += w;
    }
}

void
cwai_embed_add_feature(cwai_embed_acc_t *a, char tag, const char *s, size_t len,
    float weight)
{
    uint64_t  h = cwai_hash64(&tag, 1);

    add_hash(a, cwai_hash64_more(h, s, len), weight);
}

static void
add_chargrams(cwai_embed_acc_t *a, const char *s, size_t len, float wblock)
{
    char      pad[66];
    size_t    n, i, grams;
    float     w;
    uint64_t  h3 = cwai_hash64("3", 1), h4 = cwai_hash64("4", 1);

    if (len < 2 || len > 64) {
        return;
    }
    pad[0] = '<';
    memcpy(pad + 1, s, len);
    pad[len + 1] = '>';
    n = len + 2;
    grams = (n - 2) + (n - 3);
    w = wblock / sqrtf((float) grams);
    for (i = 0; i + 3 <= n; i++) {
        add_hash(a, cwai_hash64_more(h3, pad + i, 3), w);
    }
    for (i = 0; i + 4 <= n; i++) {
        add_hash(a, cwai_hash64_more(h4, pad + i, 4), w);
    }
}

void
cwai_embed_add_text(cwai_embed_acc_t *a, const cwai_embed_opts_t *o,
    const cwai_ntext_t *t, float weight)
{
    size_t             i;
    const cwai_tok_t  *prev = NULL;
    uint64_t           hb;
    char               sep = ' ';

    for (i = 0; i < t->ntok; i++) {
        const cwai_tok_t  *k = &t->tok[i];

        if (k->brk) {
            prev = NULL;
        }
        if (k->stop && !o->keep_stopwords) {
            continue;
        }
        cwai_embed_add_feature(a, 'w', k->stem, k->stemlen, o->w_word * weight);
        if (prev != NULL && o->w_bigram > 0) {
            hb = cwai_hash64("b", 1);
            hb = cwai_hash64_more(hb, prev->stem, prev->stemlen);
            hb = cwai_hash64_more(hb, &sep, 1);
            hb = cwai_hash64_more(hb, k->stem, k->stemlen);
            add_hash(a, hb, o->w_bigram * weight);
        }
        if (k->kind == CWAI_TOK_WORD && k->stemlen >= 3 && o->w_char > 0) {
            add_chargrams(a, k->stem, k->stemlen, o->w_char * weight);
        }
        prev = k;
    }
}

int
cwai_embed_acc_take(cwai_embed_acc_t *a, cwai_svec_t *out)
{
    uint32_t  i, n = 0;

    for (i = 0; i < a->dim; i++) {
        if (a->dense[i] != 0.0f) {
            n++;
        }
    }
    cwai_svec_free(out);
    out->dim = a->dim;
    if (n > 0) {
        out->idx = malloc(n * sizeof(uint32_t));
        out->val = malloc(n * sizeof(float));
        if (out->idx == NULL || out->val == NULL) {
            cwai_svec_free(out);
            memset(a->dense, 0, a->dim * sizeof(float));
            return -1;
        }
    }
    for (i = 0; i < a->dim; i++) {
        if (a->dense[i] != 0.0f) {
            out->idx[out->n] = i;
            out->val[out->n++] = a->dense[i];
            a->dense[i] = 0.0f;
        }
    }
    return 0;
}

void
cwai_svec_free(cwai_svec_t *v)
{
    free(v->idx);
    free(v->val);
    v->idx = NULL;
    v->val = NULL;
    v->n = 0;
}

float
cwai_svec_norm(const cwai_svec_t *v)
{
    double    s = 0;
    uint32_t  i;

    for (i = 0; i < v->n; i++) {
        s += (double) v->val[i] * v->val[i];
    }
    return (float) sqrt(s);
}

void
cwai_svec_l2(cwai_svec_t *v)
{
    float     nrm = cwai_svec_norm(v);
    uint32_t  i;

    if (nrm <= 0.0f) {
        return;
    }
    for (i = 0; i < v->n; i++) {
        v->val[i] /= nrm;
    }
}

float
cwai_svec_dot(const cwai_svec_t *a, const cwai_svec_t *b)
{
    uint32_t  i = 0, j = 0;
    double    s = 0;

    while (i < a->n && j < b->n) {
        if (a->idx[i] == b->idx[j]) {
            s += (double) a->val[i++] * b->val[j++];
        } else if (a->idx[i] < b->idx[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (float) s;
}

int
cwai_embed(const char *s, size_t len, float *out, uint32_t dim)
{
    cwai_embed_opts_t  o;
    cwai_embed_acc_t   a;
    cwai_ntext_t        t;
    double             nrm = 0;
    uint32_t           i;

    cwai_embed_opts_default(&o);
    o.dim = dim;
    if (cwai_embed_acc_init(&a, dim) != 0) {
        return -1;
    }
    memset(&t, 0, sizeof(t));
    if (cwai_text_parse(&t, s, len) != 0) {
        cwai_embed_acc_free(&a);
        return -1;
    }
    cwai_embed_add_text(&a, &o, &t, 1.0f);
    cwai_text_free(&t);
    for (i = 0; i < dim; i++) {
        nrm += (double) a.dense[i] * a.dense[i];
    }
    nrm = sqrt(nrm);
    for (i = 0; i < dim; i++) {
        out[i] = nrm > 0 ? (float) (a.dense[i] / nrm) : 0.0f;
    }
    cwai_embed_acc_free(&a);
    return 0;
}

float
cwai_embed_cosine(const float *a, const float *b, uint32_t dim)
{
    double    s = 0, na = 0, nb = 0;
    uint32_t  i;

    for (i = 0; i < dim; i++) {
        s += (double) a[i] * b[i];
        na += (double) a[i] * a[i];
        nb += (double) b[i] * b[i];
    }
    if (na <= 0 || nb <= 0) {
        return 0.0f;
    }
    return (float) (s / (sqrt(na) * sqrt(nb)));
}
