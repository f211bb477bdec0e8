/*
 * In-memory vector index: documents (id, kind, text fields) -> hashed
 * embeddings (cwai_embed.h) with IDF weighting learnt from the documents
 * themselves; top-k cosine search through an inverted list per dimension
 * (only the query's non-zero dimensions are visited).
 *
 * Build once (at configuration load), then search from any number of
 * threads or processes: a built index is read-only.
 */
#ifndef CWAI_INDEX_H
#define CWAI_INDEX_H

#include "cwai_common.h"
#include "cwai_embed.h"
#include "cwai_text.h"

#define CWAI_INDEX_MAX_K  64

typedef struct cwai_index_s  cwai_index_t;

/* One weighted text field of a document (e.g. a product's name x2). */
typedef struct {
    const char  *text;
    size_t       len;           /* 0: strlen(text) */
    float        weight;
} cwai_field_t;

typedef struct {
    char        *id;            /* e.g. "R-ENT-01", "BP-SER-002" */
    int          kind;          /* caller-defined, 0..31 */
    int          ref;           /* caller-defined (e.g. array position) */
} cwai_doc_t;

typedef struct {
    uint32_t     doc;
    float        score;         /* cosine, -1..1 */
} cwai_hit_t;

cwai_index_t *cwai_index_new(const cwai_embed_opts_t *o);
void  cwai_index_free(cwai_index_t *ix);

/* Adds a document; returns its number (>= 0) or -1. Not after build. */
int   cwai_index_add(cwai_index_t *ix, const char *id, int kind, int ref,
    const cwai_field_t *fields, size_t nfields);

/* Computes IDF and the inverted lists. Returns 0 or -1. */
int   cwai_index_build(cwai_index_t *ix);

/*
 * Top-k documents by cosine with the query text, restricted to kinds in
 * kind_mask (bit 1 << kind; 0 = all). Writes at most k (<=
 * CWAI_INDEX_MAX_K) hits, best first (ties: lower doc number first);
 * returns how many. Hits with score <= 0 are not returned.
 */
size_t cwai_index_search(const cwai_index_t *ix, const cwai_ntext_t *q,
    uint32_t kind_mask, cwai_hit_t *hits, size_t k);

/* Same, for a weighted sum of several texts (e.g. the message plus its
 * synonym expansions and, lighter, the previous turn). */
size_t cwai_index_search_multi(const cwai_index_t *ix,
    const cwai_ntext_t *const *q, const float *w, size_t nq,
    uint32_t kind_mask, cwai_hit_t *hits, size_t k);

/* Same, from a UTF-8 string. */
size_t cwai_index_search_str(const cwai_index_t *ix, const char *q, size_t len,
    uint32_t kind_mask, cwai_hit_t *hits, size_t k);

/* Cosines between the query and n given documents (embeds the query once). */
void  cwai_index_score_docs(const cwai_index_t *ix, const cwai_ntext_t *q,
    const uint32_t *docs, size_t n, float *out);

/* Cosine between the query and one given document (0 when unrelated). */
float cwai_index_score_doc(const cwai_index_t *ix, const cwai_ntext_t *q, uint32_t doc);

size_t cwai_index_count(const cwai_index_t *ix);
const cwai_doc_t *cwai_index_doc(const cwai_index_t *ix, uint32_t doc);
/* Document number of an id, or -1. */
int   cwai_index_find(const cwai_index_t *ix, const char *id);

/* Bytes allocated by the index (documents, vectors, lists, IDF). */
size_t cwai_index_bytes(const cwai_index_t *ix);
/* Total non-zero entries over all document vectors. */
size_t cwai_index_nnz(const cwai_index_t *ix);

#endif
