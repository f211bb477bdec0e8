/* Qdrant query/write builders and parsers (src/cwai_qdrant.h).
 * Fixtures: t/fixtures/qdrant, t/fixtures/openai (tool message contents). */
#include "unit.h"
#include "cwai_qdrant.h"

#include <math.h>

/* helpers defined in test_openai.c */
int              unit_json_near(const json_t *a, const json_t *b, double eps);
json_t          *unit_load_json(const char *path);
json_t          *unit_req_json(const cwai_http_req_t *r);
cwai_http_resp_t unit_resp(int status, const char *body);
char            *unit_big(const char *prefix, size_t n, const char *suffix);
char            *unit_deep(size_t depth);

static float *
floats_of(const json_t *arr, uint32_t *dim)
{
    size_t  i, n = json_array_size(arr);
    float  *v = calloc(n ? n : 1, sizeof(float));

    ck_assert_ptr_nonnull(v);
    for (i = 0; i < n; i++) {
        v[i] = (float) json_number_value(json_array_get(arr, i));
    }
    *dim = (uint32_t) n;
    return v;
}

static const char *const  fixture_payload[] = { "topic", "title", "text" };
static const cwai_qcond_t  fixture_must[] = {
    { "active", CWAI_QV_BOOL, NULL, 1 },
};
static const cwai_qcond_t  fixture_must_not[] = {
    { "audience", CWAI_QV_STRING, "internal", 0 },
};

static void
fixture_query(cwai_qdrant_query_t *q, float *vec, uint32_t dim)
{
    memset(q, 0, sizeof(*q));
    q->collection = "bela_pele_rules";
    q->vector = vec;
    q->dim = dim;
    q->tenant.key = "account_id";
    q->tenant.type = CWAI_QV_INT;
    q->tenant.i = 3;
    q->must = fixture_must;
    q->nmust = 1;
    q->must_not = fixture_must_not;
    q->nmust_not = 1;
    q->limit = 3;
    q->has_threshold = 1;
    q->score_threshold = 0.3;
    q->payload = fixture_payload;
    q->npayload = 3;
}

START_TEST(query_matches_fixture)
{
    json_t              *fx = unit_load_json("fixtures/qdrant/query-request.json"), *b;
    uint32_t             dim;
    float               *vec = floats_of(json_object_get(fx, "query"), &dim);
    cwai_qdrant_query_t  q;
    cwai_http_req_t      req;
    cwai_err_t           err;

    fixture_query(&q, vec, dim);
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), 0);
    ck_assert_int_eq(req.upstream, CWAI_UP_VECTOR);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.path, "/collections/bela_pele_rules/points/query");
    ck_assert_uint_eq(req.nheaders, 0);
    ck_assert_ptr_null(req.cache_key);
    b = unit_req_json(&req);
    ck_assert_msg(unit_json_near(b, fx, 1e-7), "%s", req.body);
    json_decref(b);
    cwai_http_req_free(&req);

    /* cached: stable key, different per tenant */
    q.cache_ttl_ms = 30000;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), 0);
    ck_assert(strncmp(req.cache_key, "cwai:retrieve:", 14) == 0);
    {
        cwai_http_req_t  r2;

        ck_assert_int_eq(cwai_qdrant_build_query(&r2, &q, &err), 0);
        ck_assert_str_eq(req.cache_key, r2.cache_key);
        cwai_http_req_free(&r2);
        q.tenant.i = 4;
        ck_assert_int_eq(cwai_qdrant_build_query(&r2, &q, &err), 0);
        ck_assert_str_ne(req.cache_key, r2.cache_key);
        cwai_http_req_free(&r2);
    }
    cwai_http_req_free(&req);
    free(vec);
    json_decref(fx);
}
END_TEST

START_TEST(query_options_and_refusals)
{
    float                vec[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
    cwai_qdrant_query_t  q;
    cwai_http_req_t      req;
    cwai_err_t           err;
    json_t              *b, *must;

    memset(&q, 0, sizeof(q));
    q.collection = "rules";
    q.vector = vec;
    q.dim = 4;
    q.tenant.key = "tenant";
    q.tenant.s = "belapele";
    q.kind = "faq";
    q.using_vector = "text";
    q.limit = 1000;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), 0);
    b = unit_req_json(&req);
    must = json_object_get(json_object_get(b, "filter"), "must");
    ck_assert_uint_eq(json_array_size(must), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(must, 0), "key")), "tenant");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        json_array_get(must, 0), "match"), "value")), "belapele");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(must, 1), "key")), "kind");
    ck_assert(json_is_true(json_object_get(b, "with_payload")));
    ck_assert_int_eq(json_integer_value(json_object_get(b, "limit")), CWAI_QDRANT_MAX_LIMIT);
    ck_assert_str_eq(json_string_value(json_object_get(b, "using")), "text");
    ck_assert_ptr_null(json_object_get(b, "score_threshold"));
    ck_assert_ptr_null(json_object_get(json_object_get(b, "filter"), "must_not"));
    json_decref(b);
    cwai_http_req_free(&req);

    /* no tenant: refused, whatever else is there */
    q.tenant.s = "";
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    ck_assert_str_eq(err.code, "qdrant_no_tenant");
    q.tenant.s = NULL;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    q.tenant.key = NULL;
    q.tenant.type = CWAI_QV_INT;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    q.tenant.key = "tenant";
    q.tenant.s = "belapele";
    q.tenant.type = CWAI_QV_STRING;
    q.collection = "../admin";
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    q.collection = "a/b";
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    q.collection = "rules";
    vec[2] = NAN;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    vec[2] = INFINITY;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    vec[2] = 0.3f;
    q.dim = 0;
    ck_assert_int_eq(cwai_qdrant_build_query(&req, &q, &err), -1);
    ck_assert_int_eq(cwai_qdrant_build_query(&req, NULL, &err), -1);
    cwai_http_req_free(&req);
}
END_TEST

START_TEST(query_response_fixture)
{
    char                 *b = unit_read_file("fixtures/qdrant/query-response.json", NULL);
    json_t               *fx = unit_load_json("fixtures/openai/chat-completion-request-tool-results.json");
    json_t               *got, *want;
    cwai_http_resp_t      r = unit_resp(200, b);
    cwai_qdrant_result_t  res;
    cwai_uperr_t          ue;
    char                 *content;
    size_t                i;

    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), 0);
    ck_assert_uint_eq(res.n, 2);
    ck_assert_uint_eq(res.dropped, 0);
    ck_assert(res.points[0].id_is_int);
    ck_assert_uint_eq(res.points[0].id_int, 101);
    ck_assert_str_eq(res.points[0].id, "101");
    ck_assert(fabs(res.points[0].score - 0.791982) < 1e-9);
    ck_assert_str_eq(res.points[0].topic, "frete");
    ck_assert_str_eq(res.points[0].title, "Frete grátis e prazos de envio");
    ck_assert(strncmp(res.points[1].text, "Pix tem 5% de desconto", 22) == 0);
    ck_assert_ptr_null(res.points[0].kind);
    ck_assert_ptr_null(res.points[0].source_id);

    /* as tool messages: the fixture's contents, one hit each */
    content = cwai_qdrant_tool_content(&res, 0);
    got = json_loads(content, 0, NULL);
    ck_assert_uint_eq(json_array_size(got), 2);
    for (i = 0; i < 2; i++) {
        want = json_loads(json_string_value(json_object_get(json_array_get(
                   json_object_get(fx, "messages"), 3 + i), "content")), 0, NULL);
        ck_assert(unit_json_near(json_array_get(got, i), json_array_get(want, 0), 1e-12));
        json_decref(want);
    }
    json_decref(got);
    free(content);
    cwai_qdrant_result_free(&res);
    ck_assert_ptr_null(res.points);
    json_decref(fx);
    free(b);
}
END_TEST

START_TEST(points_are_checked)
{
    cwai_qdrant_query_t   q;
    cwai_qdrant_result_t  res;
    cwai_uperr_t          ue;
    cwai_http_resp_t      r;
    float                 v[1] = { 1 };
    char                 *content;

    memset(&q, 0, sizeof(q));
    q.collection = "c";
    q.vector = v;
    q.dim = 1;
    q.tenant.key = "tenant";
    q.tenant.s = "belapele";
    q.limit = 3;
    r = unit_resp(200, "{\"result\":{\"points\":["
        "{\"id\":\"5f0c2b7e-4a8e-4c1a-9d1e-3b2a1c0d9e8f\",\"version\":1,\"score\":0.9,"
        "  \"payload\":{\"tenant\":\"belapele\",\"kind\":\"faq\",\"source_id\":\"F-01\",\"text\":\"ok\"}},"
        "{\"id\":7,\"score\":0.8,\"payload\":{\"tenant\":\"outra-loja\",\"text\":\"LEAK\"}},"
        "{\"id\":8,\"score\":0.8,\"payload\":{\"tenant\":5,\"text\":\"LEAK\"}},"
        "{\"id\":-1,\"score\":0.7},"
        "{\"id\":\"../../etc\",\"score\":0.7},"
        "{\"id\":{\"x\":1},\"score\":0.7},"
        "{\"id\":9,\"score\":\"high\"},"
        "{\"id\":10,\"score\":0.6,\"payload\":[1]},"
        "{\"id\":11,\"score\":0.5,\"payload\":{\"tenant\":[\"x\",\"belapele\"],\"type\":\"rule\",\"title\":5}},"
        "{\"id\":12,\"score\":0.4},"
        "{\"id\":13,\"score\":0.3},"
        "null]},\"status\":\"ok\",\"time\":0.1}");
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, &q, &res, &ue), 0);
    ck_assert_uint_eq(res.n, 3);
    ck_assert(!res.points[0].id_is_int);
    ck_assert_str_eq(res.points[0].id, "5f0c2b7e-4a8e-4c1a-9d1e-3b2a1c0d9e8f");
    ck_assert_str_eq(res.points[0].kind, "faq");
    ck_assert_str_eq(res.points[0].source_id, "F-01");
    ck_assert_str_eq(res.points[1].id, "11");
    ck_assert_str_eq(res.points[1].kind, "rule");
    ck_assert_ptr_null(res.points[1].title);
    ck_assert_ptr_null(res.points[2].payload);
    ck_assert_uint_eq(res.dropped, 9);
    content = cwai_qdrant_tool_content(&res, 1);
    ck_assert(strstr(content, "LEAK") == NULL);
    ck_assert(strstr(content, "\"5f0c2b7e-") != NULL);
    free(content);
    cwai_qdrant_result_free(&res);

    /* the old bare-array shape, empty results */
    r = unit_resp(200, "{\"result\":[{\"id\":1,\"score\":1.0}],\"status\":\"ok\"}");
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), 0);
    ck_assert_uint_eq(res.n, 1);
    cwai_qdrant_result_free(&res);
    r = unit_resp(200, "{\"result\":{\"points\":[]},\"status\":\"ok\"}");
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), 0);
    ck_assert_uint_eq(res.n, 0);
    content = cwai_qdrant_tool_content(&res, 0);
    ck_assert_str_eq(content, "[]");
    free(content);
    cwai_qdrant_result_free(&res);
}
END_TEST

static void
expect_qerr(int status, const char *body, cwai_uperr_class_t cls, const char *code)
{
    cwai_http_resp_t      r = unit_resp(status, body);
    cwai_qdrant_result_t  res;
    cwai_uperr_t          ue;

    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    ck_assert_msg(ue.cls == cls && strcmp(ue.code, code) == 0,
                  "status %d: %s/%s, expected %s/%s", status,
                  cwai_uperr_class_name(ue.cls), ue.code,
                  cwai_uperr_class_name(cls), code);
    ck_assert_ptr_null(res.points);
}

START_TEST(error_fixtures)
{
    char                  *b;
    cwai_http_resp_t       r;
    cwai_qdrant_result_t   res;
    cwai_uperr_t           ue;

    b = unit_read_file("fixtures/qdrant/error-404-collection-not-found.json", NULL);
    r = unit_resp(404, b);
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    ck_assert_str_eq(ue.code, "collection_not_found");
    ck_assert(strstr(ue.message, "doesn't exist") != NULL);
    free(b);
    b = unit_read_file("fixtures/qdrant/error-400-vector-dimension.json", NULL);
    expect_qerr(400, b, CWAI_UPERR_FATAL, "bad_request");
    free(b);
    b = unit_read_file("fixtures/qdrant/error-401-unauthorized.txt", NULL);
    r = unit_resp(401, b);
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    ck_assert_str_eq(ue.code, "unauthorized");
    ck_assert(strncmp(ue.message, "Must provide an API key", 23) == 0);
    free(b);
    b = unit_read_file("fixtures/qdrant/error-409-collection-exists.json", NULL);
    expect_qerr(409, b, CWAI_UPERR_FATAL, "already_exists");
    free(b);
    expect_qerr(422, "{\"status\":{\"error\":\"Validation error in JSON body: limit\"}}",
                CWAI_UPERR_FATAL, "bad_request");
    expect_qerr(403, "forbidden", CWAI_UPERR_FATAL, "forbidden");
    expect_qerr(408, "{\"status\":{\"error\":\"timeout\"}}", CWAI_UPERR_RETRY, "timeout");
    expect_qerr(500, "{\"status\":{\"error\":\"Service internal error\"}}", CWAI_UPERR_RETRY, "http_500");
    expect_qerr(503, "{\"status\":{\"error\":\"x\"}}", CWAI_UPERR_RETRY, "unavailable");
    expect_qerr(507, "{\"status\":{\"error\":\"x\"}}", CWAI_UPERR_FATAL, "insufficient_storage");
    expect_qerr(404, "<html>nginx 404</html>", CWAI_UPERR_FATAL, "not_found");
    r = unit_resp(429, "{\"status\":{\"error\":\"Too many requests\"}}");
    r.retry_after = "2";
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
    ck_assert_str_eq(ue.code, "rate_limited");
    ck_assert_uint_eq(ue.retry_after_ms, 2000);
}
END_TEST

START_TEST(hostile_bodies)
{
    static const char *const  bad[] = {
        "{\"result\":{\"points\":[{\"id\":1,",
        "",
        "null",
        "{\"result\":null,\"status\":\"ok\"}",
        "{\"result\":{\"points\":null},\"status\":\"ok\"}",
        "{\"result\":{\"points\":{}},\"status\":\"ok\"}",
        "{\"result\":{\"points\":[]},\"status\":{\"error\":\"x\"}}",
        "{\"result\":{\"points\":[]}}",
        "{\"result\":{\"points\":[]},\"status\":null}",
        "{\"result\":{\"points\":[{\"id\":18446744073709551616,\"score\":1}]},\"status\":\"ok\"}",
        "{\"result\":{\"points\":[{\"id\":1,\"score\":1e999}]},\"status\":\"ok\"}",
    };
    cwai_http_resp_t      r;
    cwai_qdrant_result_t  res;
    cwai_uperr_t          ue;
    size_t                i;
    char                 *s;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = unit_resp(200, bad[i]);
        ck_assert_msg(cwai_qdrant_parse_query(&r, NULL, &res, &ue) == -1, "case %zu", i);
        ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    }
    s = unit_deep(200000);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    r.status = 400;
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    free(s);
    /* a 10 MB payload text: parsed; the tool content is cut */
    s = unit_big("{\"result\":{\"points\":[{\"id\":1,\"score\":0.5,\"payload\":{\"text\":\"",
                 10 * 1024 * 1024, "\"}}]},\"status\":\"ok\"}");
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), 0);
    {
        char  *c = cwai_qdrant_tool_content(&res, 100);

        ck_assert(strlen(c) < 200);
        free(c);
    }
    cwai_qdrant_result_free(&res);
    free(s);
    r = unit_resp(200, "{\"result\":{\"points\":[]},\"status\":\"ok\"}");
    r.complete = 0;
    ck_assert_int_eq(cwai_qdrant_parse_query(&r, NULL, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
}
END_TEST

START_TEST(writes_match_fixtures)
{
    json_t                      *fx, *b, *pts;
    cwai_http_req_t              req;
    cwai_http_resp_t             r;
    cwai_uperr_t                 ue;
    cwai_err_t                   err;
    cwai_qdrant_upsert_point_t   up[4];
    float                       *vecs[4];
    uint32_t                     dim = 0;
    size_t                       i;
    char                        *s;

    fx = unit_load_json("fixtures/qdrant/collection-create-request.json");
    ck_assert_int_eq(cwai_qdrant_build_create_collection(&req, "bela_pele_rules", 8, NULL, &err), 0);
    ck_assert_str_eq(req.method, "PUT");
    ck_assert_str_eq(req.path, "/collections/bela_pele_rules");
    b = unit_req_json(&req);
    ck_assert(json_equal(b, fx));
    json_decref(b);
    json_decref(fx);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_qdrant_build_create_collection(&req, "x", 8, "Hamming", &err), -1);
    ck_assert_int_eq(cwai_qdrant_build_create_collection(&req, "x", 0, NULL, &err), -1);

    fx = unit_load_json("fixtures/qdrant/payload-index-request.json");
    ck_assert_int_eq(cwai_qdrant_build_payload_index(&req, "bela_pele_rules", "account_id",
                                                     "integer", &err), 0);
    ck_assert_str_eq(req.path, "/collections/bela_pele_rules/index?wait=true");
    b = unit_req_json(&req);
    ck_assert(json_equal(b, fx));
    json_decref(b);
    json_decref(fx);
    cwai_http_req_free(&req);

    fx = unit_load_json("fixtures/qdrant/upsert-request.json");
    pts = json_object_get(fx, "points");
    for (i = 0; i < 4; i++) {
        vecs[i] = floats_of(json_object_get(json_array_get(pts, i), "vector"), &dim);
        up[i].id = (uint64_t) json_integer_value(json_object_get(json_array_get(pts, i), "id"));
        up[i].vector = vecs[i];
        up[i].payload = json_object_get(json_array_get(pts, i), "payload");
    }
    ck_assert_int_eq(cwai_qdrant_build_upsert(&req, "bela_pele_rules", up, 4, dim, &err), 0);
    ck_assert_str_eq(req.path, "/collections/bela_pele_rules/points?wait=true");
    b = unit_req_json(&req);
    ck_assert(unit_json_near(b, fx, 1e-7));
    json_decref(b);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_qdrant_build_upsert(&req, "bela_pele_rules", up, 0, dim, &err), -1);
    for (i = 0; i < 4; i++) {
        free(vecs[i]);
    }
    json_decref(fx);

    s = unit_read_file("fixtures/qdrant/upsert-response.json", NULL);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_qdrant_parse_write(&r, &ue), 0);
    free(s);
    s = unit_read_file("fixtures/qdrant/collection-create-response.json", NULL);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_qdrant_parse_write(&r, &ue), 0);
    free(s);
    s = unit_read_file("fixtures/qdrant/error-409-collection-exists.json", NULL);
    r = unit_resp(409, s);
    ck_assert_int_eq(cwai_qdrant_parse_write(&r, &ue), -1);
    ck_assert_str_eq(ue.code, "already_exists");
    free(s);
    r = unit_resp(200, "{\"status\":{\"error\":\"x\"}}");
    ck_assert_int_eq(cwai_qdrant_parse_write(&r, &ue), -1);
    r = unit_resp(200, "ok");
    ck_assert_int_eq(cwai_qdrant_parse_write(&r, &ue), -1);
}
END_TEST

CWAI_SUITE(qdrant)
{
    TCase  *tc;
    Suite  *s = unit_suite("qdrant", &tc);

    tcase_add_test(tc, query_matches_fixture);
    tcase_add_test(tc, query_options_and_refusals);
    tcase_add_test(tc, query_response_fixture);
    tcase_add_test(tc, points_are_checked);
    tcase_add_test(tc, error_fixtures);
    tcase_add_test(tc, hostile_bodies);
    tcase_add_test(tc, writes_match_fixtures);
    return s;
}
