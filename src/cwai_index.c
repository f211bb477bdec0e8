/*
 * In-memory vector index. See cwai_index.h.
 */
#include "cwai_index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cwai_index_s {
    cwai_embed_opts_t   o;
    cwai_doc_t         *docs;
    cwai_svec_t        *vecs;
    size_t              ndocs, cap;
    float              *idf;            /* dim */
    uint32_t           *post_off;       /* dim + 1 */
    uint32_t           *post_doc;       /* nnz */
    float              *post_val;       /* nnz */
    size_t              nnz;
    cwai_embed_acc_t    acc;            /* while adding */
    int                 built;
};

cwai_index_t *
cwai_index_new(const cwai_embed_opts_t *o)
{
    cwai_index_t  *ix = calloc(1, sizeof(*ix));

    if (ix == NULL) {
        return NULL;
    }
    if (o) {
        ix->o = *o;
    } else {
        cwai_embed_opts_default(&ix->o);
    }
    if (cwai_embed_acc_init(&ix->acc, ix->o.dim) != 0) {
        free(ix);
        return NULL;
    }
    return ix;
}

void
cwai_index_free(cwai_index_t *ix)
{
    size_t  i;

    if (ix == NULL) {
        return;
    }
    for (i = 0; i < ix->ndocs; i++) {
        free(ix->docs[i].id);
        cwai_svec_free(&ix->vecs[i]);
    }
    free(ix->docs);
    free(ix->vecs);
    free(ix->idf);
    free(ix->post_off);
    free(ix->post_doc);
    free(ix->post_val);
    cwai_embed_acc_free(&ix->acc);
    free(ix);
}

int
cwai_index_add(cwai_index_t *ix, const char *id, int kind, int ref,
    const cwai_field_t *fields, size_t nfields)
{
    size_t       i;
    cwai_ntext_t  t;
    cwai_doc_t  *d;

    if (ix->built || kind < 0 || kind > 31) {
        return -1;
    }
    if (ix->ndocs == ix->cap) {
        size_t        nc = ix->cap ? ix->cap * 2 : 64;
        cwai_doc_t   *nd = realloc(ix->docs, nc * sizeof(cwai_doc_t));
        cwai_svec_t  *nv;

        if (nd == NULL) {
            return -1;
        }
        ix->docs = nd;
        nv = realloc(ix->vecs, nc * sizeof(cwai_svec_t));
        if (nv == NULL) {
            return -1;
        }
        ix->vecs = nv;
        ix->cap = nc;
    }
    memset(&t, 0, sizeof(t));
    for (i = 0; i < nfields; i++) {
        const char  *s = fields[i].text;

        if (s == NULL) {
            continue;
        }
        if (cwai_text_parse(&t, s, fields[i].len ? fields[i].len : strlen(s)) != 0) {
            cwai_text_free(&t);
            return -1;
        }
        cwai_embed_add_text(&ix->acc, &ix->o, &t, fields[i].weight);
    }
    cwai_text_free(&t);
    d = &ix->docs[ix->ndocs];
    d->id = strdup(id ? id : "");
    d->kind = kind;
    d->ref = ref;
    memset(&ix->vecs[ix->ndocs], 0, sizeof(cwai_svec_t));
    if (d->id == NULL || cwai_embed_acc_take(&ix->acc, &ix->vecs[ix->ndocs]) != 0) {
        free(d->id);
        return -1;
    }
    return (int) ix->ndocs++;
}

int
cwai_index_build(cwai_index_t *ix)
{
    uint32_t  dim = ix->o.dim, d, j;
    uint32_t *df, *fill;
    size_t    i;
    double    n = (double) ix->ndocs;

    if (ix->built) {
        return 0;
    }
    df = calloc(dim, sizeof(uint32_t));
    ix->idf = malloc(dim * sizeof(float));
    ix->post_off = calloc(dim + 1, sizeof(uint32_t));
    if (df == NULL || ix->idf == NULL || ix->post_off == NULL) {
        free(df);
        return -1;
    }
    for (i = 0; i < ix->ndocs; i++) {
        for (j = 0; j < ix->vecs[i].n; j++) {
            df[ix->vecs[i].idx[j]]++;
        }
        ix->nnz += ix->vecs[i].n;
    }
    for (d = 0; d < dim; d++) {
        /* a dimension no document uses cannot match: it would only lower
         * the query's cosine, so it weighs nothing */
        ix->idf[d] = df[d] == 0 ? 0.0f : (float) (log((n + 1.0) / ((double) df[d] + 1.0)) + 1.0);
        ix->post_off[d + 1] = ix->post_off[d] + df[d];
    }
    ix->post_doc = malloc((ix->nnz ? ix->nnz : 1) * sizeof(uint32_t));
    ix->post_val = malloc((ix->nnz ? ix->nnz : 1) * sizeof(float));
    fill = df;                                  /* reused as fill cursor */
    memset(fill, 0, dim * sizeof(uint32_t));
    if (ix->post_doc == NULL || ix->post_val == NULL) {
        free(df);
        return -1;
    }
    for (i = 0; i < ix->ndocs; i++) {
        cwai_svec_t  *v = &ix->vecs[i];

        /* sublinear term frequency (a word repeated in a FAQ's variants
         * should not outweigh a rarer word), then IDF */
        for (j = 0; j < v->n; j++) {
            float  a = v->val[j] < 0 ? -v->val[j] : v->val[j];

            v->val[j] = (v->val[j] < 0 ? -1.0f : 1.0f) * sqrtf(a) * ix->idf[v->idx[j]];
        }
        cwai_svec_l2(v);
        for (j = 0; j < v->n; j++) {
            uint32_t  p = ix->post_off[v->idx[j]] + fill[v->idx[j]]++;

            ix->post_doc[p] = (uint32_t) i;
            ix->post_val[p] = v->val[j];
        }
    }
    free(df);
    cwai_embed_acc_free(&ix->acc);
    ix->built = 1;
    return 0;
}

/* Query vector: features of q, IDF-weighted, L2-normalised. */
static int
query_vec_multi(const cwai_index_t *ix, const cwai_ntext_t *const *q, const float *w,
    size_t nq, cwai_svec_t *out)
{
    cwai_embed_acc_t  a;
    uint32_t          j;
    size_t            i;

    if (cwai_embed_acc_init(&a, ix->o.dim) != 0) {
        return -1;
    }
    for (i = 0; i < nq; i++) {
        if (q[i] != NULL) {
            cwai_embed_add_text(&a, &ix->o, q[i], w ? w[i] : 1.0f);
        }
    }
    if (cwai_embed_acc_take(&a, out) != 0) {
        cwai_embed_acc_free(&a);
        return -1;
    }
    cwai_embed_acc_free(&a);
    for (j = 0; j < out->n; j++) {
        out->val[j] *= ix->idf[out->idx[j]];
    }
    cwai_svec_l2(out);
    return 0;
}

static int
query_vec(const cwai_index_t *ix, const cwai_ntext_t *q, cwai_svec_t *out)
{
    return query_vec_multi(ix, &q, NULL, 1, out);
}

size_t
cwai_index_search(const cwai_index_t *ix, const cwai_ntext_t *q, uint32_t kind_mask,
    cwai_hit_t *hits, size_t k)
{
    return cwai_index_search_multi(ix, &q, NULL, 1, kind_mask, hits, k);
}

size_t
cwai_index_search_multi(const cwai_index_t *ix, const cwai_ntext_t *const *q,
    const float *w, size_t nq, uint32_t kind_mask, cwai_hit_t *hits, size_t k)
{
    cwai_svec_t  qv;
    float       *scores;
    size_t       nh = 0, i, m;
    uint32_t     j, p;

    if (!ix->built || ix->ndocs == 0 || k == 0) {
        return 0;
    }
    if (k > CWAI_INDEX_MAX_K) {
        k = CWAI_INDEX_MAX_K;
    }
    memset(&qv, 0, sizeof(qv));
    if (query_vec_multi(ix, q, w, nq, &qv) != 0) {
        return 0;
    }
    scores = calloc(ix->ndocs, sizeof(float));
    if (scores == NULL) {
        cwai_svec_free(&qv);
        return 0;
    }
    for (j = 0; j < qv.n; j++) {
        uint32_t  d = qv.idx[j];
        float     qw = qv.val[j];

        for (p = ix->post_off[d]; p < ix->post_off[d + 1]; p++) {
            scores[ix->post_doc[p]] += qw * ix->post_val[p];
        }
    }
    cwai_svec_free(&qv);
    for (i = 0; i < ix->ndocs; i++) {
        float  s = scores[i];

        if (s <= 0.0f
            || (kind_mask && !(kind_mask & (1u << ix->docs[i].kind))))
        {
            continue;
        }
        if (nh == k && s <= hits[k - 1].score) {
            continue;
        }
        m = nh < k ? nh++ : k - 1;
        while (m > 0 && hits[m - 1].score < s) {
            hits[m] = hits[m - 1];
            m--;
        }
        hits[m].doc = (uint32_t) i;
        hits[m].score = s;
    }
    free(scores);
    return nh;
}

size_t
cwai_index_search_str(const cwai_index_t *ix, const char *q, size_t len,
    uint32_t kind_mask, cwai_hit_t *hits, size_t k)
{
    cwai_ntext_t  t;
    size_t       n;

    memset(&t, 0, sizeof(t));
    if (cwai_text_parse(&t, q, len) != 0) {
        return 0;
    }
    n = cwai_index_search(ix, &t, kind_mask, hits, k);
    cwai_text_free(&t);
    return n;
}

float
cwai_index_score_doc(const cwai_index_t *ix, const cwai_ntext_t *q, uint32_t doc)
{
    cwai_svec_t  qv;
    float        s;

    if (!ix->built || doc >= ix->ndocs) {
        return 0.0f;
    }
    memset(&qv, 0, sizeof(qv));
    if (query_vec(ix, q, &qv) != 0) {
        return 0.0f;
    }
    s = cwai_svec_dot(&qv, &ix->vecs[doc]);
    cwai_svec_free(&qv);
    return s;
}

void
cwai_index_score_docs(const cwai_index_t *ix, const cwai_ntext_t *q, const uint32_t *docs,
    size_t n, float *out)
{
    cwai_svec_t  qv;
    size_t       i;

    memset(&qv, 0, sizeof(qv));
    if (!ix->built || query_vec(ix, q, &qv) != 0) {
        for (i = 0; i < n; i++) {
            out[i] = 0.0f;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        out[i] = docs[i] < ix->ndocs ? cwai_svec_dot(&qv, &ix->vecs[docs[i]]) : 0.0f;
    }
    cwai_svec_free(&qv);
}

size_t
cwai_index_count(const cwai_index_t *ix)
{
    return ix->ndocs;
}

const cwai_doc_t *
cwai_index_doc(const cwai_index_t *ix, uint32_t doc)
{
    return doc < ix->ndocs ? &ix->docs[doc] : NULL;
}

int
cwai_index_find(const cwai_index_t *ix, const char *id)
{
    size_t  i;

    for (i = 0; i < ix->ndocs; i++) {
        if (strcmp(ix->docs[i].id, id) == 0) {
            return (int) i;
        }
    }
    return -1;
}

size_t
cwai_index_nnz(const cwai_index_t *ix)
{
    size_t  i, n = 0;

    for (i = 0; i < ix->ndocs; i++) {
        n += ix->vecs[i].n;
    }
    return n;
}

size_t
cwai_index_bytes(const cwai_index_t *ix)
{
    size_t  b = sizeof(*ix), i;

    b += ix->cap * (sizeof(cwai_doc_t) + sizeof(cwai_svec_t));
    for (i = 0; i < ix->ndocs; i++) {
        b += strlen(ix->docs[i].id) + 1;
        b += ix->vecs[i].n * (sizeof(uint32_t) + sizeof(float));
    }
    if (ix->built) {
        b += ix->o.dim * sizeof(float) + (ix->o.dim + 1) * sizeof(uint32_t);
        b += ix->nnz * (sizeof(uint32_t) + sizeof(float));
    } else {
        b += ix->acc.dim * sizeof(float);
    }
    return b;
}
