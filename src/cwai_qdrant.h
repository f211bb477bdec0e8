/*
 * Qdrant REST: the retrieval query (POST /collections/{c}/points/query,
 * the Query API of Qdrant >= 1.10) with a mandatory tenant filter, and the
 * few writes a sync tool needs (create collection, payload index, upsert).
 *
 * Auth: the operator's location sets `proxy_set_header api-key <key>;`
 * (or Authorization: Bearer). No per-request header is produced here.
 */
#ifndef CWAI_QDRANT_H
#define CWAI_QDRANT_H

#include "cwai_http.h"

#define CWAI_QDRANT_MAX_LIMIT   100

typedef enum {
    CWAI_QV_STRING = 0,
    CWAI_QV_INT,
    CWAI_QV_BOOL
} cwai_qvalue_type_t;

/* One exact-match condition {"key": k, "match": {"value": v}}. */
typedef struct {
    const char          *key;
    cwai_qvalue_type_t   type;
    const char          *s;
    int64_t              i;         /* CWAI_QV_INT, and CWAI_QV_BOOL (0/1) */
} cwai_qcond_t;

typedef struct {
    const char          *collection;    /* [A-Za-z0-9_.-], 1..255 chars */
    const float         *vector;        /* the query embedding */
    uint32_t             dim;
    const char          *using_vector;  /* named vector, or NULL */
    /* The tenant condition is required: a query without it is refused. */
    cwai_qcond_t         tenant;        /* e.g. {"tenant", STRING, "belapele"}
                                           or {"account_id", INT, .i = 3} */
    const char          *kind;          /* optional kind filter ("rule", "faq") */
    const char          *kind_key;      /* NULL: "kind" */
    const cwai_qcond_t  *must;          /* more conditions (e.g. active=true) */
    size_t               nmust;
    const cwai_qcond_t  *must_not;      /* e.g. audience=internal */
    size_t               nmust_not;
    uint32_t             limit;         /* 1..CWAI_QDRANT_MAX_LIMIT; 0: 5 */
    int                  has_threshold;
    double               score_threshold;
    const char *const   *payload;       /* with_payload as a key list; NULL:
                                           with_payload true */
    size_t               npayload;
    uint32_t             timeout_ms;
    uint32_t             cache_ttl_ms;  /* retrieval results may be cached
                                           (not personal); 0: never */
    const char          *cache_tenant;  /* cache key tenant (NULL: tenant.s) */
} cwai_qdrant_query_t;

/* Returns 0, or -1 + err (no tenant, bad collection name, no vector,
 * non-finite vector value, allocation). */
int  cwai_qdrant_build_query(cwai_http_req_t *req,
    const cwai_qdrant_query_t *q, cwai_err_t *err);

typedef struct {
    char        id[48];         /* decimal integer or UUID text */
    int         id_is_int;
    uint64_t    id_int;
    double      score;
    /* From the payload (NULL when absent or not a string): */
    const char *kind;           /* payload "kind", else "type" */
    const char *source_id;      /* payload "source_id", else "source" */
    const char *title;          /* payload "title" */
    const char *text;           /* payload "text" */
    const char *topic;          /* payload "topic" */
    json_t     *payload;        /* the whole payload object (owned ref), or NULL */
} cwai_qdrant_point_t;

typedef struct {
    cwai_qdrant_point_t  *points;   /* best first, as Qdrant sorted them */
    size_t                n;
    size_t                dropped;  /* points refused (bad id/score, or a
                                       payload tenant different from q's) */
} cwai_qdrant_result_t;

/*
 * Parses the reply of a query. 200 + {"result":{"points":[...]}} (or a bare
 * array, the old /points/search shape) -> 0. q (may be NULL) is the query
 * that was sent: a point whose payload carries q->tenant.key with another
 * value is dropped (defence in depth), and at most q->limit points are kept.
 * Errors -> -1 + err: 401/403 (plain text) FATAL "unauthorized"/"forbidden";
 * 404 FATAL "collection_not_found"; 400/422 FATAL "bad_request"; 408, 429
 * (Retry-After), 500, 503 RETRY; malformed bodies FATAL "malformed_body".
 * err->message holds status.error (or the text body).
 */
int  cwai_qdrant_parse_query(const cwai_http_resp_t *resp,
    const cwai_qdrant_query_t *q, cwai_qdrant_result_t *out, cwai_uperr_t *err);
void cwai_qdrant_result_free(cwai_qdrant_result_t *r);

/* The hits as the content of a "tool" message for the model:
 * [{"id":101,"score":0.792,"title":"...","text":"..."}] (score rounded to
 * 4 places, text cut at max_text bytes on a UTF-8 boundary, 0: 2000).
 * malloc'd JSON text, or NULL. */
char *cwai_qdrant_tool_content(const cwai_qdrant_result_t *r, size_t max_text);

/* Classifies any non-2xx Qdrant reply (see above). Returns -1. */
int  cwai_qdrant_error(const cwai_http_resp_t *resp, cwai_uperr_t *err);

/* ---- writes (sync tool) ------------------------------------------------ */

/* PUT /collections/{c} {"vectors":{"size":dim,"distance":"Cosine"}}. */
int  cwai_qdrant_build_create_collection(cwai_http_req_t *req,
    const char *collection, uint32_t dim, const char *distance, cwai_err_t *err);

/* PUT /collections/{c}/index?wait=true {"field_name","field_schema"}. */
int  cwai_qdrant_build_payload_index(cwai_http_req_t *req,
    const char *collection, const char *field, const char *schema,
    cwai_err_t *err);

typedef struct {
    uint64_t       id;          /* unsigned integer id */
    const float   *vector;
    const json_t  *payload;     /* object, or NULL */
} cwai_qdrant_upsert_point_t;

/* PUT /collections/{c}/points?wait=true {"points":[{id,vector,payload}]}. */
int  cwai_qdrant_build_upsert(cwai_http_req_t *req, const char *collection,
    const cwai_qdrant_upsert_point_t *pts, size_t n, uint32_t dim,
    cwai_err_t *err);

/* Reply of a write: 2xx with status "ok" -> 0. 409 on create collection is
 * reported as FATAL "already_exists" (callers treat it as success). */
int  cwai_qdrant_parse_write(const cwai_http_resp_t *resp, cwai_uperr_t *err);

#endif
