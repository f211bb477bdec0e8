/*
 * Qdrant REST request builders and parsers (see cwai_qdrant.h).
 */
#include "cwai_qdrant.h"
#include "cwai_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
valid_collection(const char *c)
{
    size_t  i;

    if (c == NULL) {
        return 0;
    }
    for (i = 0; c[i]; i++) {
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z')
              || (c[i] >= '0' && c[i] <= '9') || c[i] == '_' || c[i] == '-'
              || c[i] == '.'))
        {
            return 0;
        }
    }
    return i > 0 && i <= 255 && strcmp(c, ".") != 0 && strcmp(c, "..") != 0;
}

static json_t *
cond_value(const cwai_qcond_t *c)
{
    switch (c->type) {
    case CWAI_QV_INT:
        return json_integer(c->i);
    case CWAI_QV_BOOL:
        return json_boolean(c->i);
    default:
        return c->s ? json_string(c->s) : NULL;
    }
}

static json_t *
cond_json(const cwai_qcond_t *c)
{
    json_t  *v;

    if (c->key == NULL || c->key[0] == '\0') {
        return NULL;
    }
    v = cond_value(c);
    if (v == NULL) {
        return NULL;
    }
    return json_pack("{s:s, s:{s:o}}", "key", c->key, "match", "value", v);
}

static int
add_conds(json_t *arr, const cwai_qcond_t *c, size_t n)
{
    size_t   i;
    json_t  *j;

    for (i = 0; i < n; i++) {
        j = cond_json(&c[i]);
        if (j == NULL || json_array_append_new(arr, j) != 0) {
            return -1;
        }
    }
    return 0;
}

static json_t *
vector_json(const float *v, uint32_t dim)
{
    json_t    *a = json_array();
    uint32_t   i;

    if (a == NULL) {
        return NULL;
    }
    for (i = 0; i < dim; i++) {
        if (!isfinite(v[i]) || json_array_append_new(a, json_real(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int
cwai_qdrant_build_query(cwai_http_req_t *req, const cwai_qdrant_query_t *q,
    cwai_err_t *err)
{
    json_t        *o = NULL, *must, *mn, *filter, *vec, *wp;
    cwai_qcond_t   kc;
    size_t         i;
    uint32_t       limit;
    const char    *ct;
    char           model[64];

    cwai_http_req_init(req, CWAI_UP_VECTOR, "POST");
    if (q == NULL || !valid_collection(q->collection)) {
        cwai_err_set(err, "qdrant_input", "invalid collection name");
        return -1;
    }
    if (q->tenant.key == NULL || q->tenant.key[0] == '\0'
        || (q->tenant.type == CWAI_QV_STRING
            && (q->tenant.s == NULL || q->tenant.s[0] == '\0')))
    {
        cwai_err_set(err, "qdrant_no_tenant",
                     "a retrieval query needs its tenant condition");
        return -1;
    }
    if (q->vector == NULL || q->dim == 0 || q->dim > 65536) {
        cwai_err_set(err, "qdrant_input", "no query vector");
        return -1;
    }
    vec = vector_json(q->vector, q->dim);
    if (vec == NULL) {
        cwai_err_set(err, "qdrant_input", "query vector has a non-finite value");
        return -1;
    }
    o = json_pack("{s:o}", "query", vec);
    must = json_array();
    filter = json_pack("{s:o}", "must", must);
    if (o == NULL || filter == NULL || json_object_set_new(o, "filter", filter)) {
        json_decref(filter);
        goto nomem;
    }
    if (q->using_vector && q->using_vector[0]
        && json_object_set_new(o, "using", json_string(q->using_vector)) != 0)
    {
        goto nomem;
    }
    if (add_conds(must, &q->tenant, 1) != 0) {
        goto nomem;
    }
    if (q->kind && q->kind[0]) {
        kc.key = q->kind_key ? q->kind_key : "kind";
        kc.type = CWAI_QV_STRING;
        kc.s = q->kind;
        kc.i = 0;
        if (add_conds(must, &kc, 1) != 0) {
            goto nomem;
        }
    }
    if (add_conds(must, q->must, q->nmust) != 0) {
        cwai_err_set(err, "qdrant_input", "invalid must condition");
        goto fail;
    }
    if (q->nmust_not > 0) {
        mn = json_array();
        if (mn == NULL || json_object_set_new(filter, "must_not", mn) != 0) {
            goto nomem;
        }
        if (add_conds(mn, q->must_not, q->nmust_not) != 0) {
            cwai_err_set(err, "qdrant_input", "invalid must_not condition");
            goto fail;
        }
    }
    limit = q->limit ? q->limit : 5;
    if (limit > CWAI_QDRANT_MAX_LIMIT) {
        limit = CWAI_QDRANT_MAX_LIMIT;
    }
    if (json_object_set_new(o, "limit", json_integer(limit)) != 0) {
        goto nomem;
    }
    if (q->payload && q->npayload > 0) {
        wp = json_array();
        if (wp == NULL || json_object_set_new(o, "with_payload", wp) != 0) {
            goto nomem;
        }
        for (i = 0; i < q->npayload; i++) {
            if (q->payload[i] == NULL
                || json_array_append_new(wp, json_string(q->payload[i])) != 0)
            {
                goto nomem;
            }
        }
    } else if (json_object_set_new(o, "with_payload", json_true()) != 0) {
        goto nomem;
    }
    if (q->has_threshold && isfinite(q->score_threshold)
        && json_object_set_new(o, "score_threshold",
                               json_real(q->score_threshold)) != 0)
    {
        goto nomem;
    }
    if (cwai_http_req_set_path(req, "/collections/%s/points/query",
                               q->collection) != 0
        || cwai_http_req_set_json(req, o) != 0)
    {
        goto nomem;
    }
    req->timeout_ms = q->timeout_ms;
    if (q->cache_ttl_ms > 0) {
        ct = q->cache_tenant;
        if (ct == NULL) {
            ct = q->tenant.type == CWAI_QV_STRING ? q->tenant.s : "";
            if (q->tenant.type != CWAI_QV_STRING) {
                snprintf(model, sizeof(model), "%lld", (long long) q->tenant.i);
                ct = model;
            }
        }
        /* the body holds tenant, filter and vector: hash it whole */
        if (cwai_http_req_set_cache(req, q->cache_ttl_ms, ct, "retrieve",
                                    q->collection, req->body,
                                    req->body_len) != 0)
        {
            goto nomem;
        }
    }
    json_decref(o);
    return 0;

nomem:
    cwai_err_set(err, "no_memory", "building the Qdrant query");
fail:
    json_decref(o);
    cwai_http_req_free(req);
    return -1;
}

/* ---- replies ----------------------------------------------------------- */

/* status.error of an error envelope, or the body as text. */
static void
error_text(const cwai_http_resp_t *resp, json_t *j, const char **msg,
    size_t *len)
{
    const json_t  *st = json_object_get(j, "status");
    const char    *e = json_string_value(json_object_get(st, "error"));

    if (e) {
        *msg = e;
        *len = strlen(e);
    } else if (j == NULL && resp->body) {
        *msg = resp->body;
        *len = resp->len;
    } else {
        *msg = NULL;
        *len = 0;
    }
}

int
cwai_qdrant_error(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    json_t       *j = NULL;
    const char   *msg, *code = NULL;
    size_t        len;

    if (resp->body && resp->len > 0 && resp->len <= CWAI_HTTP_MAX_BODY) {
        j = cwai_json_loadb(resp->body, resp->len, JSON_DECODE_ANY, NULL);
    }
    error_text(resp, j, &msg, &len);
    switch (resp->status) {
    case 400:
    case 422: code = "bad_request"; break;
    case 401: code = "unauthorized"; break;
    case 403: code = "forbidden"; break;
    case 404: code = "collection_not_found"; break;
    case 408: code = "timeout"; break;
    case 409: code = "already_exists"; break;
    case 429: code = "rate_limited"; break;
    case 503: code = "unavailable"; break;
    case 507: code = "insufficient_storage"; break;
    default: break;
    }
    if (resp->status == 404 && msg && strstr(msg, "Collection") == NULL) {
        code = "not_found";
    }
    cwai_http_fail(resp, err, code, msg, len);
    if ((resp->status == 409 || resp->status == 507) && err) {
        /* "exists" is not transient; full disks do not free themselves */
        err->cls = CWAI_UPERR_FATAL;
        err->retry_after_ms = 0;
    }
    json_decref(j);
    return -1;
}

static int
status_ok(const json_t *j)
{
    const char  *s = json_string_value(json_object_get(j, "status"));

    return s != NULL && (strcmp(s, "ok") == 0 || strcmp(s, "accepted") == 0);
}

/* 1 when the payload's tenant value contradicts q's (drop the point). */
static int
foreign_tenant(const json_t *payload, const cwai_qdrant_query_t *q)
{
    const json_t  *v;

    if (q == NULL || q->tenant.key == NULL || !json_is_object(payload)) {
        return 0;
    }
    v = json_object_get(payload, q->tenant.key);
    if (v == NULL) {
        return 0;           /* not requested in with_payload: Qdrant filtered */
    }
    switch (q->tenant.type) {
    case CWAI_QV_INT:
        return !json_is_integer(v) || json_integer_value(v) != q->tenant.i;
    case CWAI_QV_BOOL:
        return !json_is_boolean(v) || json_is_true(v) != (q->tenant.i != 0);
    default:
        if (json_is_array(v)) {     /* an array matches when any item does */
            size_t         i;
            const json_t  *it;

            json_array_foreach(v, i, it) {
                if (json_is_string(it) && q->tenant.s
                    && strcmp(json_string_value(it), q->tenant.s) == 0)
                {
                    return 0;
                }
            }
            return 1;
        }
        return !json_is_string(v) || q->tenant.s == NULL
               || strcmp(json_string_value(v), q->tenant.s) != 0;
    }
}

static const char *
pstr(const json_t *p, const char *a, const char *b)
{
    const char  *s = json_string_value(json_object_get(p, a));

    if (s == NULL && b) {
        s = json_string_value(json_object_get(p, b));
    }
    return s;
}

static int
valid_uuid_text(const char *s)
{
    size_t  i, n = strlen(s);

    if (n < 32 || n > 36) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')
              || (s[i] >= 'A' && s[i] <= 'F') || s[i] == '-'))
        {
            return 0;
        }
    }
    return 1;
}

int
cwai_qdrant_parse_query(const cwai_http_resp_t *resp,
    const cwai_qdrant_query_t *q, cwai_qdrant_result_t *out, cwai_uperr_t *err)
{
    json_t               *j;
    const json_t         *res, *pts, *p, *id, *sc, *pl;
    size_t                i, n, max;
    cwai_qdrant_point_t  *pt;

    memset(out, 0, sizeof(*out));
    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        return cwai_qdrant_error(resp, err);
    }
    j = cwai_http_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    res = json_object_get(j, "result");
    pts = json_is_array(res) ? res : json_object_get(res, "points");
    if (!json_is_object(j) || !status_ok(j) || !json_is_array(pts)) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "no result.points in the Qdrant reply");
        json_decref(j);
        return -1;
    }
    n = json_array_size(pts);
    max = q && q->limit ? q->limit : CWAI_QDRANT_MAX_LIMIT;
    if (max > CWAI_QDRANT_MAX_LIMIT) {
        max = CWAI_QDRANT_MAX_LIMIT;
    }
    out->points = calloc(n < max ? (n ? n : 1) : max, sizeof(*out->points));
    if (out->points == NULL) {
        json_decref(j);
        cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "no_memory",
                       "parsing Qdrant points");
        return -1;
    }
    for (i = 0; i < n; i++) {
        p = json_array_get(pts, i);
        id = json_object_get(p, "id");
        sc = json_object_get(p, "score");
        pl = json_object_get(p, "payload");
        if (out->n >= max) {
            out->dropped += n - i;
            break;
        }
        if (!json_is_number(sc) || !isfinite(json_number_value(sc))
            || (pl != NULL && !json_is_null(pl) && !json_is_object(pl))
            || foreign_tenant(pl, q))
        {
            out->dropped++;
            continue;
        }
        pt = &out->points[out->n];
        if (json_is_integer(id) && json_integer_value(id) >= 0) {
            pt->id_is_int = 1;
            pt->id_int = (uint64_t) json_integer_value(id);
            snprintf(pt->id, sizeof(pt->id), "%llu",
                     (unsigned long long) pt->id_int);
        } else if (json_is_string(id) && valid_uuid_text(json_string_value(id))) {
            snprintf(pt->id, sizeof(pt->id), "%s", json_string_value(id));
        } else {
            out->dropped++;
            continue;
        }
        pt->score = json_number_value(sc);
        if (json_is_object(pl)) {
            pt->payload = json_incref((json_t *) pl);
            pt->kind = pstr(pl, "kind", "type");
            pt->source_id = pstr(pl, "source_id", "source");
            pt->title = pstr(pl, "title", NULL);
            pt->text = pstr(pl, "text", NULL);
            pt->topic = pstr(pl, "topic", NULL);
        }
        out->n++;
    }
    json_decref(j);     /* payloads keep their own references */
    return 0;
}

void
cwai_qdrant_result_free(cwai_qdrant_result_t *r)
{
    size_t  i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        json_decref(r->points[i].payload);
    }
    free(r->points);
    memset(r, 0, sizeof(*r));
}

/* Cut at max bytes on a UTF-8 boundary. */
static json_t *
cut_string(const char *s, size_t max)
{
    size_t  n = strlen(s);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    return json_stringn(s, n);
}

char *
cwai_qdrant_tool_content(const cwai_qdrant_result_t *r, size_t max_text)
{
    json_t                     *a = json_array(), *o;
    const cwai_qdrant_point_t  *p;
    size_t                      i;
    char                       *s;
    int                         rc;

    if (a == NULL) {
        return NULL;
    }
    if (max_text == 0) {
        max_text = 2000;
    }
    for (i = 0; r && i < r->n; i++) {
        p = &r->points[i];
        o = json_object();
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
        rc = json_object_set_new(o, "id", p->id_is_int
                                 ? json_integer((json_int_t) p->id_int)
                                 : json_string(p->id));
        rc |= json_object_set_new(o, "score",
                                  json_real(round(p->score * 10000) / 10000));
        if (p->title) {
            rc |= json_object_set_new(o, "title", cut_string(p->title, 300));
        }
        if (p->text) {
            rc |= json_object_set_new(o, "text", cut_string(p->text, max_text));
        }
        if (rc != 0) {
            json_decref(a);
            return NULL;
        }
    }
    s = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(a);
    return s;
}

/* ---- writes ------------------------------------------------------------ */

static int
finish_write(cwai_http_req_t *req, json_t *o, cwai_err_t *err)
{
    int  rc = 0;

    if (o == NULL || req->path == NULL || cwai_http_req_set_json(req, o) != 0) {
        cwai_err_set(err, "no_memory", "building a Qdrant request");
        rc = -1;
        cwai_http_req_free(req);
    }
    json_decref(o);
    return rc;
}

int
cwai_qdrant_build_create_collection(cwai_http_req_t *req,
    const char *collection, uint32_t dim, const char *distance, cwai_err_t *err)
{
    cwai_http_req_init(req, CWAI_UP_VECTOR, "PUT");
    if (!valid_collection(collection) || dim == 0 || dim > 65536) {
        cwai_err_set(err, "qdrant_input", "invalid collection or dimension");
        return -1;
    }
    if (distance == NULL) {
        distance = "Cosine";
    }
    if (strcmp(distance, "Cosine") != 0 && strcmp(distance, "Euclid") != 0
        && strcmp(distance, "Dot") != 0 && strcmp(distance, "Manhattan") != 0)
    {
        cwai_err_set(err, "qdrant_input", "unknown distance");
        return -1;
    }
    cwai_http_req_set_path(req, "/collections/%s", collection);
    return finish_write(req, json_pack("{s:{s:i, s:s}}", "vectors", "size",
                                       (int) dim, "distance", distance), err);
}

int
cwai_qdrant_build_payload_index(cwai_http_req_t *req, const char *collection,
    const char *field, const char *schema, cwai_err_t *err)
{
    cwai_http_req_init(req, CWAI_UP_VECTOR, "PUT");
    if (!valid_collection(collection) || field == NULL || field[0] == '\0'
        || schema == NULL || schema[0] == '\0')
    {
        cwai_err_set(err, "qdrant_input", "invalid collection, field or schema");
        return -1;
    }
    cwai_http_req_set_path(req, "/collections/%s/index?wait=true", collection);
    return finish_write(req, json_pack("{s:s, s:s}", "field_name", field,
                                       "field_schema", schema), err);
}

int
cwai_qdrant_build_upsert(cwai_http_req_t *req, const char *collection,
    const cwai_qdrant_upsert_point_t *pts, size_t n, uint32_t dim,
    cwai_err_t *err)
{
    json_t  *arr, *o, *p, *v;
    size_t   i;

    cwai_http_req_init(req, CWAI_UP_VECTOR, "PUT");
    if (!valid_collection(collection) || pts == NULL || n == 0 || dim == 0
        || dim > 65536)
    {
        cwai_err_set(err, "qdrant_input", "invalid upsert");
        return -1;
    }
    arr = json_array();
    o = json_pack("{s:o}", "points", arr);
    if (o == NULL) {
        cwai_err_set(err, "no_memory", "building the upsert");
        return -1;
    }
    for (i = 0; i < n; i++) {
        v = pts[i].vector ? vector_json(pts[i].vector, dim) : NULL;
        if (v == NULL) {
            json_decref(o);
            cwai_err_set(err, "qdrant_input", "point %zu: bad vector", i);
            return -1;
        }
        p = json_pack("{s:I, s:o}", "id", (json_int_t) pts[i].id, "vector", v);
        if (p == NULL || json_array_append_new(arr, p) != 0
            || (pts[i].payload && json_is_object(pts[i].payload)
                && json_object_set_new(p, "payload",
                                       json_deep_copy(pts[i].payload)) != 0))
        {
            json_decref(o);
            cwai_err_set(err, "no_memory", "building the upsert");
            return -1;
        }
    }
    cwai_http_req_set_path(req, "/collections/%s/points?wait=true", collection);
    return finish_write(req, o, err);
}

int
cwai_qdrant_parse_write(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    json_t  *j;
    int      ok;

    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        return cwai_qdrant_error(resp, err);
    }
    j = cwai_http_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    ok = status_ok(j);
    json_decref(j);
    if (!ok) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "Qdrant reply without status \"ok\"");
        return -1;
    }
    return 0;
}
