/*
 * Local text embeddings without model files: feature hashing.
 *
 * A text (see cwai_text.h) becomes a sparse vector in a fixed dimension
 * (CWAI_EMBED_DIM by default, a power of two) from
 *   - word unigrams (light stems, stopwords left out),
 *   - word bigrams (not across a sentence or bubble boundary),
 *   - character 3- and 4-grams of each word, padded "<word>", scaled so a
 *     word's character block weighs the same whatever its length
 *     (typo and inflection tolerance),
 * each hashed with 64-bit FNV-1a (cwai_hash64): bucket = h mod dim, sign from
 * another bit of h (signed hashing keeps collisions unbiased). The result is
 * L2-normalised, so a dot product is the cosine. Deterministic across
 * processes, builds and machines (no random seeds, no floating-point
 * reductions whose order depends on anything but the input).
 */
#ifndef CWAI_EMBED_H
#define CWAI_EMBED_H

#include "cwai_common.h"
#include "cwai_text.h"

#define CWAI_EMBED_DIM  1024

typedef struct {
    uint32_t  dim;              /* power of two, >= 64 */
    float     w_word;           /* unigram weight (default 1.0) */
    float     w_bigram;         /* bigram weight (0.6) */
    float     w_char;           /* character-gram block weight per word (0.5) */
    int       keep_stopwords;   /* 1: stopwords are features too */
} cwai_embed_opts_t;

/* A sparse vector: n (index, value) pairs, indexes ascending. */
typedef struct {
    uint32_t   dim;
    uint32_t   n;
    uint32_t  *idx;
    float     *val;
} cwai_svec_t;

/* A dense accumulator (dim floats, all zero between uses). */
typedef struct {
    uint32_t   dim;
    float     *dense;
} cwai_embed_acc_t;

void  cwai_embed_opts_default(cwai_embed_opts_t *o);

int   cwai_embed_acc_init(cwai_embed_acc_t *a, uint32_t dim);
void  cwai_embed_acc_free(cwai_embed_acc_t *a);

/* Adds the features of t, times weight, to a. */
void  cwai_embed_add_text(cwai_embed_acc_t *a, const cwai_embed_opts_t *o,
    const cwai_ntext_t *t, float weight);

/* Adds one named feature ("tag" separates feature families). */
void  cwai_embed_add_feature(cwai_embed_acc_t *a, char tag, const char *s,
    size_t len, float weight);

/* Moves the non-zero entries of a into out (replacing its content) and
 * leaves a zeroed. Returns 0 or -1 (allocation). */
int   cwai_embed_acc_take(cwai_embed_acc_t *a, cwai_svec_t *out);

void  cwai_svec_free(cwai_svec_t *v);
/* Scales to unit L2 norm (a zero vector stays zero). */
void  cwai_svec_l2(cwai_svec_t *v);
float cwai_svec_norm(const cwai_svec_t *v);
/* Dot product of two sparse vectors of the same dimension. */
float cwai_svec_dot(const cwai_svec_t *a, const cwai_svec_t *b);

/*
 * Convenience: the L2-normalised dense embedding of a UTF-8 string with the
 * default options, into out[dim] (dim a power of two >= 64).
 * Returns 0, or -1 on a bad dim or allocation failure.
 */
int   cwai_embed(const char *s, size_t len, float *out, uint32_t dim);

/* Cosine of two dense vectors. */
float cwai_embed_cosine(const float *a, const float *b, uint32_t dim);

#endif
