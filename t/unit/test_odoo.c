/* Odoo JSON-2 / JSON-RPC builders and parsers (src/cwai_odoo.h).
 * Fixtures: t/fixtures/odoo (manifest.json drives the table tests). */
#include "unit.h"
#include "cwai_odoo.h"

#include <math.h>

/* helpers defined in test_openai.c */
int              unit_json_near(const json_t *a, const json_t *b, double eps);
json_t          *unit_load_json(const char *path);
json_t          *unit_req_json(const cwai_http_req_t *r);
cwai_http_resp_t unit_resp(int status, const char *body);
char            *unit_big(const char *prefix, size_t n, const char *suffix);
char            *unit_deep(size_t depth);

#define KEY  "3f9a1c0e5b7d2a4c6e8f0a1b2c3d4e5f6a7b8c9d"

static cwai_odoo_cfg_t
json2_cfg(void)
{
    cwai_odoo_cfg_t  c;

    memset(&c, 0, sizeof(c));
    c.transport = CWAI_ODOO_JSON2;
    c.db = "belapele";
    c.api_key = KEY;
    return c;
}

static cwai_odoo_cfg_t
rpc_cfg(void)
{
    cwai_odoo_cfg_t  c;

    memset(&c, 0, sizeof(c));
    c.transport = CWAI_ODOO_JSONRPC;
    c.db = "belapele";
    c.api_key = KEY;
    c.uid = 7;
    return c;
}

static void
assert_body(const cwai_http_req_t *req, const json_t *want)
{
    json_t  *b = unit_req_json(req);

    if (!json_equal(b, (json_t *) want)) {
        char  *x = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        char  *y = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);

        ck_abort_msg("body differs:\n got %s\nwant %s", x, y);
    }
    json_decref(b);
}

static const char *
path_in(const char *file)
{
    static char  buf[256];

    snprintf(buf, sizeof(buf), "fixtures/odoo/%s", file);
    return buf;
}

/* Every JSON-2 case of the manifest: the generic builder reproduces the
 * request (path, headers, body) and the parser gives the result or the
 * exception name of the reply. */
START_TEST(json2_manifest)
{
    json_t           *man = unit_load_json("fixtures/odoo/manifest.json"), *c, *body;
    json_t           *kw, *resp_json, *result;
    size_t            i, ncases = 0;
    const char       *path, *auth;
    char              model[64], method[64];
    cwai_odoo_cfg_t   cfg;
    cwai_odoo_call_t  call;
    cwai_http_req_t   req;
    cwai_http_resp_t  r;
    cwai_odoo_err_t   oe;
    cwai_err_t        err;
    char             *raw;
    int               status;

    json_array_foreach(json_object_get(man, "cases"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "api")), "json2") != 0) {
            continue;
        }
        ncases++;
        path = json_string_value(json_object_get(c, "path"));
        ck_assert_int_eq(sscanf(path, "/json/2/%63[^/]/%63s", model, method), 2);
        body = unit_load_json(path_in(json_string_value(json_object_get(c, "request"))));
        kw = json_deep_copy(body);
        json_object_del(kw, "ids");
        json_object_del(kw, "context");
        memset(&call, 0, sizeof(call));
        call.model = model;
        call.method = method;
        call.ids = json_object_get(body, "ids");
        call.context = json_object_get(body, "context");
        call.kwargs = kw;
        cfg = json2_cfg();
        auth = json_string_value(json_object_get(json_object_get(c, "headers"), "Authorization"));
        cfg.api_key = auth ? auth + 7 : NULL;       /* "bearer <key>" */
        if (strncmp(method, "_", 1) == 0) {
            /* the private-method case: never built, refused up front */
            ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
        } else {
            ck_assert_msg(cwai_odoo_build(&req, &cfg, &call, &err) == 0, "%s", path);
            ck_assert_str_eq(req.path, path);
            ck_assert_str_eq(req.method, "POST");
            ck_assert_int_eq(req.upstream, CWAI_UP_ERP);
            assert_body(&req, body);
            if (auth) {
                ck_assert_str_eq(cwai_http_req_header(&req, "Authorization"), auth);
                ck_assert_int_eq(req.headers[0].secret, 1);
            } else {
                ck_assert_ptr_null(cwai_http_req_header(&req, "Authorization"));
            }
            ck_assert_str_eq(cwai_http_req_header(&req, "X-Odoo-Database"), "belapele");
            cwai_http_req_free(&req);
        }
        json_decref(kw);
        json_decref(body);

        raw = unit_read_file(path_in(json_string_value(json_object_get(c, "response"))), NULL);
        status = (int) json_integer_value(json_object_get(c, "http_status"));
        r = unit_resp(status, raw);
        if (status == 200) {
            ck_assert_msg(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &result, &oe) == 0, "%s", path);
            resp_json = json_loads(raw, JSON_DECODE_ANY, NULL);
            ck_assert(json_equal(result, resp_json));
            json_decref(resp_json);
            json_decref(result);
        } else {
            resp_json = json_loads(raw, 0, NULL);
            ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &result, &oe), -1);
            ck_assert_ptr_null(result);
            ck_assert_str_eq(oe.up.code, json_string_value(json_object_get(resp_json, "name")));
            ck_assert_str_eq(oe.up.message, json_string_value(json_object_get(resp_json, "message")));
            ck_assert_int_eq(oe.up.status, status);
            ck_assert(strstr(oe.up.message, "Traceback") == NULL);
            ck_assert_int_eq(oe.up.cls, CWAI_UPERR_FATAL);
            switch (status) {
            case 401: ck_assert_int_eq(oe.kind, CWAI_ODOO_E_AUTH); break;
            case 403: ck_assert_int_eq(oe.kind, CWAI_ODOO_E_ACCESS); break;
            case 404: ck_assert_int_eq(oe.kind, CWAI_ODOO_E_NOT_FOUND); break;
            case 500: ck_assert_int_eq(oe.kind, CWAI_ODOO_E_BAD_CALL); break;
            case 422:
                ck_assert(oe.kind == CWAI_ODOO_E_BAD_CALL || oe.kind == CWAI_ODOO_E_USER);
                break;
            default: ck_abort_msg("unexpected status %d", status);
            }
            json_decref(resp_json);
        }
        free(raw);
    }
    ck_assert_uint_eq(ncases, 22);
    json_decref(man);
}
END_TEST

/* The JSON-RPC object.execute_kw cases, rebuilt from their positional form. */
START_TEST(jsonrpc_fixtures)
{
    static const char *const  cases[] = {
        "products-search-read", "partner-by-phone", "partner-orders",
        "calendar-event-create", "contextual-price", "error-access-denied",
        "error-user-error", "error-invalid-field", "error-unknown-model",
    };
    static const struct {
        const char           *name;
        const char           *ename;
        cwai_odoo_errkind_t   kind;
    } errs[] = {
        { "error-access-denied", "odoo.exceptions.AccessDenied", CWAI_ODOO_E_AUTH },
        { "error-user-error", "odoo.exceptions.UserError", CWAI_ODOO_E_USER },
        { "error-invalid-field", "builtins.ValueError", CWAI_ODOO_E_BAD_CALL },
        { "error-unknown-model", "odoo.exceptions.UserError", CWAI_ODOO_E_USER },
    };
    size_t            i, k;
    char              file[128];
    json_t           *fx, *args, *pos, *kw, *ctx, *result, *want;
    const char       *method;
    cwai_odoo_cfg_t   cfg = rpc_cfg();
    cwai_odoo_call_t  call;
    cwai_http_req_t   req;
    cwai_http_resp_t  r;
    cwai_odoo_err_t   oe;
    cwai_err_t        err;
    char             *raw;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(file, sizeof(file), "fixtures/odoo/jsonrpc/%s.request.json", cases[i]);
        fx = unit_load_json(file);
        args = json_object_get(json_object_get(fx, "params"), "args");
        method = json_string_value(json_array_get(args, 4));
        pos = json_array_get(args, 5);
        kw = json_array_get(args, 6) ? json_deep_copy(json_array_get(args, 6)) : json_object();
        ctx = json_incref(json_object_get(kw, "context"));
        json_object_del(kw, "context");
        memset(&call, 0, sizeof(call));
        call.model = json_string_value(json_array_get(args, 3));
        call.method = method;
        call.context = ctx;
        call.rpc_id = json_integer_value(json_object_get(fx, "id"));
        call.kwargs = kw;
        if (strcmp(method, "search_read") == 0) {
            json_object_set(kw, "domain", json_array_get(pos, 0));
        } else if (strcmp(method, "create") == 0) {
            json_object_set_new(kw, "vals_list", json_pack("[O]", json_array_get(pos, 0)));
        } else {
            call.ids = json_array_get(pos, 0);
        }
        ck_assert_msg(cwai_odoo_build(&req, &cfg, &call, &err) == 0, "%s", cases[i]);
        ck_assert_str_eq(req.path, "/jsonrpc");
        ck_assert_uint_eq(req.nheaders, 0);
        assert_body(&req, fx);
        cwai_http_req_free(&req);
        json_decref(kw);
        json_decref(ctx);
        json_decref(fx);

        snprintf(file, sizeof(file), "fixtures/odoo/jsonrpc/%s.response.json", cases[i]);
        raw = unit_read_file(file, NULL);
        r = unit_resp(200, raw);
        for (k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
            if (strcmp(errs[k].name, cases[i]) == 0) {
                break;
            }
        }
        if (k < sizeof(errs) / sizeof(errs[0])) {
            ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSONRPC, &result, &oe), -1);
            ck_assert_str_eq(oe.up.code, errs[k].ename);
            ck_assert_int_eq(oe.kind, errs[k].kind);
            ck_assert_int_eq(oe.up.cls, CWAI_UPERR_FATAL);
            ck_assert(strstr(oe.up.message, "Traceback") == NULL);
        } else {
            ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSONRPC, &result, &oe), 0);
            fx = json_loads(raw, 0, NULL);
            want = json_object_get(fx, "result");
            ck_assert(json_equal(result, want));
            json_decref(result);
            json_decref(fx);
        }
        free(raw);
    }
}
END_TEST

START_TEST(authenticate)
{
    json_t           *fx = unit_load_json("fixtures/odoo/jsonrpc/authenticate.request.json");
    cwai_odoo_cfg_t   cfg = rpc_cfg();
    cwai_http_req_t   req;
    cwai_http_resp_t  r;
    cwai_odoo_err_t   oe;
    cwai_err_t        err;
    int64_t           uid = 0;
    char             *raw;

    ck_assert_int_eq(cwai_odoo_build_authenticate(&req, &cfg,
                         "bot-atendimento@belapele.example.com.br", &err), 0);
    ck_assert_str_eq(req.path, "/jsonrpc");
    assert_body(&req, fx);
    cwai_http_req_free(&req);
    json_decref(fx);
    raw = unit_read_file("fixtures/odoo/jsonrpc/authenticate.response.json", NULL);
    r = unit_resp(200, raw);
    ck_assert_int_eq(cwai_odoo_parse_uid(&r, CWAI_ODOO_JSONRPC, &uid, &oe), 0);
    ck_assert_int_eq(uid, 7);
    free(raw);
    raw = unit_read_file("fixtures/odoo/jsonrpc/authenticate-bad-password.response.json", NULL);
    r = unit_resp(200, raw);
    ck_assert_int_eq(cwai_odoo_parse_uid(&r, CWAI_ODOO_JSONRPC, &uid, &oe), -1);
    ck_assert_int_eq(oe.kind, CWAI_ODOO_E_AUTH);
    free(raw);

    /* JSON-2: context_get is the key check */
    cfg = json2_cfg();
    fx = unit_load_json("fixtures/odoo/json2/context-get.request.json");
    ck_assert_int_eq(cwai_odoo_build_authenticate(&req, &cfg, NULL, &err), 0);
    ck_assert_str_eq(req.path, "/json/2/res.users/context_get");
    assert_body(&req, fx);
    cwai_http_req_free(&req);
    json_decref(fx);
    raw = unit_read_file("fixtures/odoo/json2/context-get.response.json", NULL);
    r = unit_resp(200, raw);
    ck_assert_int_eq(cwai_odoo_parse_uid(&r, CWAI_ODOO_JSON2, &uid, &oe), 0);
    ck_assert_int_eq(uid, 7);
    free(raw);
    r = unit_resp(200, "{\"lang\":\"pt_BR\"}");
    ck_assert_int_eq(cwai_odoo_parse_uid(&r, CWAI_ODOO_JSON2, &uid, &oe), -1);
    ck_assert_int_eq(oe.kind, CWAI_ODOO_E_PROTOCOL);

    /* JSON-RPC needs its credentials */
    cfg = rpc_cfg();
    cfg.api_key = NULL;
    ck_assert_int_eq(cwai_odoo_build_authenticate(&req, &cfg, "x", &err), -1);
    {
        cwai_odoo_call_t  call = { .model = "res.partner", .method = "search_read" };

        cfg = rpc_cfg();
        cfg.uid = 0;
        ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
        ck_assert_str_eq(err.code, "odoo_config");
    }
}
END_TEST

START_TEST(typed_builders_match_fixtures)
{
    cwai_odoo_cfg_t    cfg = json2_cfg();
    cwai_http_req_t    req;
    cwai_err_t         err;
    json_t            *fx;
    int64_t            pids[2] = { 45, 3 };
    cwai_odoo_event_t  ev;

    fx = unit_load_json("fixtures/odoo/json2/contextual-price.request.json");
    ck_assert_int_eq(cwai_odoo_build_contextual_price(&req, &cfg, 56, 4, 2, &err), 0);
    ck_assert_str_eq(req.path, "/json/2/product.product/get_contextual_price");
    assert_body(&req, fx);
    cwai_http_req_free(&req);
    json_decref(fx);
    ck_assert_int_eq(cwai_odoo_build_contextual_price(&req, &cfg, 56, 0, 2, &err), -1);

    memset(&ev, 0, sizeof(ev));
    ev.name = "Consulta capilar - Mariana Souza";
    cwai_utc_parse("2026-12-03 17:00:00", &ev.start);
    ev.stop = ev.start + 30 * 60;
    ev.partner_ids = pids;
    ev.npartners = 2;
    ev.user_id = 2;
    ev.location = "Loja Oscar Freire";
    ev.description = "Agendado pelo assistente virtual (WhatsApp).";
    cfg.tz = "America/Sao_Paulo";
    fx = unit_load_json("fixtures/odoo/json2/calendar-event-create.request.json");
    ck_assert_int_eq(cwai_odoo_build_create_event(&req, &cfg, &ev, &err), 0);
    ck_assert_str_eq(req.path, "/json/2/calendar.event/create");
    assert_body(&req, fx);
    cwai_http_req_free(&req);
    json_decref(fx);

    /* the same booking over JSON-RPC: one dict, int id back */
    cfg = rpc_cfg();
    cfg.tz = "America/Sao_Paulo";
    ev.name = "Avaliação de pele - Mariana Souza";
    cwai_utc_parse("2026-12-02 13:00:00", &ev.start);
    ev.stop = ev.start + 45 * 60;
    ev.rpc_id = 7;
    fx = unit_load_json("fixtures/odoo/jsonrpc/calendar-event-create.request.json");
    ck_assert_int_eq(cwai_odoo_build_create_event(&req, &cfg, &ev, &err), 0);
    assert_body(&req, fx);
    cwai_http_req_free(&req);
    json_decref(fx);
    ev.npartners = 0;
    ck_assert_int_eq(cwai_odoo_build_create_event(&req, &cfg, &ev, &err), -1);
    ev.npartners = 2;
    ev.stop = ev.start;
    ck_assert_int_eq(cwai_odoo_build_create_event(&req, &cfg, &ev, &err), -1);
    ev.stop = ev.start + 60;
    ev.name = "\xff";
    ck_assert_int_eq(cwai_odoo_build_create_event(&req, &cfg, &ev, &err), -1);

    /* the busy query's domain is the fixture's */
    {
        json_t   *b, *want;
        int64_t   from, to;

        cfg = json2_cfg();
        cwai_utc_parse("2026-12-02 03:00:00", &from);
        cwai_utc_parse("2026-12-04 03:00:00", &to);
        ck_assert_int_eq(cwai_odoo_build_busy(&req, &cfg, 2, from, to, &err), 0);
        ck_assert_str_eq(req.path, "/json/2/calendar.event/search_read");
        b = unit_req_json(&req);
        want = unit_load_json("fixtures/odoo/json2/calendar-busy.request.json");
        ck_assert(json_equal(json_object_get(b, "domain"), json_object_get(want, "domain")));
        ck_assert_str_eq(json_string_value(json_object_get(b, "order")), "start asc");
        ck_assert_ptr_null(req.cache_key);
        json_decref(b);
        json_decref(want);
        cwai_http_req_free(&req);
        ck_assert_int_eq(cwai_odoo_build_busy(&req, &cfg, 2, to, from, &err), -1);
    }
}
END_TEST

START_TEST(tool_queries)
{
    cwai_odoo_cfg_t   cfg = json2_cfg();
    cwai_http_req_t   req, req2;
    cwai_err_t        err;
    json_t           *b, *d;
    int64_t           ids[2] = { 26, 25 };

    cfg.lang = "pt_BR";
    cfg.cache_ttl_ms = 60000;
    cfg.tenant = "belapele";
    ck_assert_int_eq(cwai_odoo_build_products_search(&req, &cfg, "  hidratante ", 0, &err), 0);
    b = unit_req_json(&req);
    d = json_object_get(b, "domain");
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(d, 0), 0)), "sale_ok");
    ck_assert_str_eq(json_string_value(json_array_get(d, 1)), "|");
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(d, 2), 2)), "hidratante");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "limit")), 5);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "context"), "lang")), "pt_BR");
    ck_assert(json_array_size(json_object_get(b, "fields")) >= 10);
    json_decref(b);
    /* public data: cached, the key holds no credentials */
    ck_assert_ptr_nonnull(req.cache_key);
    ck_assert(strstr(req.cache_key, KEY) == NULL);
    cfg.api_key = "another-key";
    ck_assert_int_eq(cwai_odoo_build_products_search(&req2, &cfg, "hidratante", 0, &err), 0);
    ck_assert_str_eq(req.cache_key, req2.cache_key);
    cwai_http_req_free(&req2);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_products_search(&req, &cfg, "   ", 0, &err), -1);
    ck_assert_int_eq(cwai_odoo_build_products_search(&req, &cfg, NULL, 0, &err), -1);

    /* no stock module: no qty fields */
    cfg.no_stock = 1;
    ck_assert_int_eq(cwai_odoo_build_product_get(&req, &cfg, 56, NULL, &err), 0);
    ck_assert_str_eq(req.path, "/json/2/product.product/read");
    ck_assert(strstr(req.body, "qty_available") == NULL);
    ck_assert(strstr(req.body, "\"ids\":[56]") != NULL);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_product_get(&req, &cfg, 0, "BP-SER-VITC10", &err), 0);
    ck_assert_str_eq(req.path, "/json/2/product.product/search_read");
    ck_assert(strstr(req.body, "BP-SER-VITC10") != NULL);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_product_get(&req, &cfg, 0, NULL, &err), -1);

    /* personal data: never cached */
    ck_assert_int_eq(cwai_odoo_build_partner_by_phone(&req, &cfg, "+5511987654321", &err), 0);
    ck_assert_ptr_null(req.cache_key);
    b = unit_req_json(&req);
    d = json_array_get(json_object_get(b, "domain"), 0);
    ck_assert_str_eq(json_string_value(json_array_get(d, 0)), "phone_mobile_search");
    ck_assert_str_eq(json_string_value(json_array_get(d, 2)), "87654321");
    json_decref(b);
    cwai_http_req_free(&req);
    cfg.no_phone_search = 1;
    cfg.partner_mobile = 1;
    ck_assert_int_eq(cwai_odoo_build_partner_by_phone(&req, &cfg, "+5511987654321", &err), 0);
    ck_assert(strstr(req.body, "[\"phone\",\"ilike\",\"4321\"]") != NULL);
    ck_assert(strstr(req.body, "\"mobile\"") != NULL);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_partner_by_phone(&req, &cfg, "123", &err), -1);
    ck_assert_int_eq(cwai_odoo_build_partner_by_phone(&req, &cfg, "+55 11 9x", &err), -1);
    ck_assert_int_eq(cwai_odoo_build_partner_by_phone(&req, &cfg, NULL, &err), -1);

    ck_assert_int_eq(cwai_odoo_build_partner_by_email(&req, &cfg, "ana_b%1@x.com.br", &err), 0);
    b = unit_req_json(&req);
    d = json_array_get(json_object_get(b, "domain"), 0);
    ck_assert_str_eq(json_string_value(json_array_get(d, 1)), "=ilike");
    ck_assert_str_eq(json_string_value(json_array_get(d, 2)), "ana\\_b\\%1@x.com.br");
    json_decref(b);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_partner_by_email(&req, &cfg, "no-at-sign", &err), -1);
    ck_assert_int_eq(cwai_odoo_build_partner_by_email(&req, &cfg, "a@b@c", &err), -1);
    ck_assert_int_eq(cwai_odoo_build_partner_by_email(&req, &cfg, "Eve <e@x.com>", &err), -1);

    ck_assert_int_eq(cwai_odoo_build_orders(&req, &cfg, 45, 0, &err), 0);
    b = unit_req_json(&req);
    d = json_array_get(json_object_get(b, "domain"), 0);
    ck_assert_str_eq(json_string_value(json_array_get(d, 1)), "=");
    ck_assert_int_eq(json_integer_value(json_array_get(d, 2)), 45);
    ck_assert(strstr(req.body, "delivery_status") == NULL);     /* no_stock */
    ck_assert_ptr_null(req.cache_key);
    json_decref(b);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_orders(&req, &cfg, 0, 5, &err), -1);
    ck_assert_int_eq(cwai_odoo_build_order_lines(&req, &cfg, ids, 2, &err), 0);
    ck_assert(strstr(req.body, "[\"order_id\",\"in\",[26,25]]") != NULL);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_odoo_build_order_lines(&req, &cfg, ids, 0, &err), -1);
}
END_TEST

START_TEST(names_are_checked)
{
    cwai_odoo_cfg_t   cfg = json2_cfg();
    cwai_odoo_call_t  call;
    cwai_http_req_t   req;
    cwai_err_t        err;
    json_t           *arr = json_array();
    static const char *const  bad[][2] = {
        { "product.product", "_get_product_price" },
        { "product.product/../res.users", "read" },
        { "Product", "read" },
        { "", "read" },
        { "res.partner", "read?x=1" },
        { "res.partner", "" },
        { NULL, "read" },
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&call, 0, sizeof(call));
        call.model = bad[i][0];
        call.method = bad[i][1];
        ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
        ck_assert_ptr_null(req.path);
    }
    memset(&call, 0, sizeof(call));
    call.model = "res.partner";
    call.method = "read";
    call.kwargs = arr;                  /* kwargs must be an object */
    ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
    call.kwargs = NULL;
    call.ids = json_object();
    ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
    json_decref(call.ids);
    /* a key with a line break never becomes a header */
    cfg.api_key = "abc\r\nX-Evil: 1";
    call.ids = NULL;
    ck_assert_int_eq(cwai_odoo_build(&req, &cfg, &call, &err), -1);
    json_decref(arr);
}
END_TEST

START_TEST(phone_numbers)
{
    char  nat[32];

    ck_assert_int_eq(cwai_odoo_phone_national("+55 11 98765-4321", NULL, nat, sizeof(nat)), 11);
    ck_assert_str_eq(nat, "11987654321");
    ck_assert_int_eq(cwai_odoo_phone_national("5511987654321", "55", nat, sizeof(nat)), 11);
    ck_assert_int_eq(cwai_odoo_phone_national("(11) 98765-4321", "55", nat, sizeof(nat)), 11);
    ck_assert_int_eq(cwai_odoo_phone_national("+1 415 555 0100", "55", nat, sizeof(nat)), 11);
    ck_assert_str_eq(nat, "14155550100");           /* foreign: kept whole */
    ck_assert_int_eq(cwai_odoo_phone_national("abc", "55", nat, sizeof(nat)), -1);
    ck_assert_int_eq(cwai_odoo_phone_national("+55 11 98765-4321", "55", nat, 4), -1);

    /* same number, many spellings */
    ck_assert(cwai_odoo_phone_match("+55 11 98765-4321", "+5511987654321", NULL));
    ck_assert(cwai_odoo_phone_match("(11) 98765-4321", "+5511987654321", "55"));
    ck_assert(cwai_odoo_phone_match("011 98765.4321", "+5511987654321", "55"));
    ck_assert(cwai_odoo_phone_match("0055 11 987654321", "+5511987654321", "55"));
    ck_assert(cwai_odoo_phone_match("55 11 98765 4321", "+5511987654321", "55"));
    /* Brazil's mobile 9, either way */
    ck_assert(cwai_odoo_phone_match("(11) 8765-4321", "+5511987654321", "55"));
    ck_assert(cwai_odoo_phone_match("+55 11 98765-4321", "551187654321", "55"));
    /* area code 55 is not the country code */
    ck_assert(cwai_odoo_phone_match("(55) 99876-5432", "+5555998765432", "55"));
    ck_assert(cwai_odoo_phone_match("+1 (415) 555-0100", "+14155550100", "55"));
    /* different people */
    ck_assert(!cwai_odoo_phone_match("+55 21 98765-4321", "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match("98765-4321", "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match("(11) 98765-4320", "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match("(11) 2765-4321", "+5511987654321", "55"));  /* landline */
    ck_assert(!cwai_odoo_phone_match("+351 11 98765-4321", "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match(NULL, "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match("", "+5511987654321", "55"));
    ck_assert(!cwai_odoo_phone_match("ligar 11987654321", "+5511987654321", "55"));
}
END_TEST

START_TEST(pick_partner)
{
    char           *raw = unit_read_file("fixtures/odoo/json2/partner-by-phone.response.json", NULL);
    json_t         *r = json_loads(raw, 0, NULL);
    const json_t   *rec;

    ck_assert_int_eq(cwai_odoo_pick_partner(r, "+5511987654321", NULL, "55", &rec), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "id")), 45);
    ck_assert_int_eq(cwai_odoo_pick_partner(r, "+5521987654321", NULL, "55", &rec), 0);
    ck_assert_ptr_null(rec);
    ck_assert_int_eq(cwai_odoo_pick_partner(r, NULL, "MARIANA.SOUZA@example.com.br", NULL, &rec), 1);
    ck_assert_int_eq(cwai_odoo_pick_partner(r, NULL, "mariana@example.com.br", NULL, &rec), 0);
    /* a substring search brings others: only the exact one counts */
    json_array_append_new(r, json_pack("{s:i, s:s, s:s}", "id", 99, "name", "Outra",
                                       "phone", "+55 21 98765-4321"));
    json_array_append_new(r, json_pack("{s:s, s:s}", "name", "no id", "phone", "+5511987654321"));
    json_array_append_new(r, json_null());
    ck_assert_int_eq(cwai_odoo_pick_partner(r, "+5511987654321", NULL, "55", &rec), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "id")), 45);
    /* two records of the same number: ambiguous */
    json_array_append_new(r, json_pack("{s:i, s:s, s:b, s:s}", "id", 46, "name", "Mariana S.",
                                       "phone", 0, "mobile", "(11) 98765-4321"));
    ck_assert_int_eq(cwai_odoo_pick_partner(r, "+5511987654321", NULL, "55", &rec), 2);
    ck_assert_ptr_null(rec);
    ck_assert_int_eq(cwai_odoo_pick_partner(NULL, "+5511987654321", NULL, "55", &rec), 0);
    ck_assert_int_eq(cwai_odoo_pick_partner(json_object_get(r, "x"), NULL, NULL, NULL, &rec), 0);
    json_decref(r);
    free(raw);
}
END_TEST

static cwai_odoo_hours_t
store_hours(void)
{
    cwai_odoo_hours_t  h;
    int                d;

    memset(&h, 0, sizeof(h));
    h.utc_offset_min = -180;
    for (d = 1; d <= 5; d++) {              /* Mon-Fri 9-12, 13-18 */
        h.week[d][0].open = 13 * 60;        /* unsorted on purpose */
        h.week[d][0].close = 18 * 60;
        h.week[d][1].open = 9 * 60;
        h.week[d][1].close = 12 * 60;
        h.nweek[d] = 2;
    }
    h.week[6][0].open = 9 * 60;             /* Sat 9-13 */
    h.week[6][0].close = 13 * 60;
    h.nweek[6] = 1;
    h.slot_min = 30;
    return h;
}

START_TEST(slots_from_hours_and_busy)
{
    char               *raw = unit_read_file("fixtures/odoo/json2/calendar-busy.response.json", NULL);
    json_t             *r = json_loads(raw, 0, NULL);
    cwai_odoo_hours_t   h = store_hours();
    cwai_odoo_busy_t   *busy;
    size_t              nbusy;
    int64_t             now, from, to, s[64];
    int                 n, w;
    char                buf[17];
    cwai_odoo_day_t     special[2];

    ck_assert_int_eq(cwai_odoo_parse_busy(r, h.utc_offset_min, 45, &busy, &nbusy), 0);
    ck_assert_uint_eq(nbusy, 1);
    ck_assert(busy[0].mine);
    ck_assert_int_eq(busy[0].stop - busy[0].start, 45 * 60);
    cwai_odoo_parse_local("2026-12-01 09:00", h.utc_offset_min, &now);     /* Tue */
    cwai_odoo_parse_local("2026-12-02", h.utc_offset_min, &from);          /* Wed */
    to = from + 86400;
    n = cwai_odoo_free_slots(&h, now, from, to, busy, nbusy, s, 64);
    /* 9:00 9:30 11:00 11:30 (10:00-10:45 busy), 13:00 .. 17:30 */
    ck_assert_int_eq(n, 4 + 10);
    cwai_odoo_format_local(s[0], h.utc_offset_min, buf, &w);
    ck_assert_str_eq(buf, "2026-12-02 09:00");
    ck_assert_int_eq(w, 3);
    cwai_odoo_format_local(s[2], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-02 11:00");
    cwai_odoo_format_local(s[13], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-02 17:30");
    /* steps of 15 minutes, 45-minute slots */
    h.slot_min = 45;
    h.step_min = 15;
    n = cwai_odoo_free_slots(&h, now, from, to, busy, nbusy, s, 64);
    cwai_odoo_format_local(s[1], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-02 09:15");
    cwai_odoo_format_local(s[2], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-02 10:45");
    h = store_hours();
    /* notice: nothing before now + 2 h */
    h.notice_min = 120;
    cwai_odoo_parse_local("2026-12-02 15:10", h.utc_offset_min, &now);
    n = cwai_odoo_free_slots(&h, now, from, to, busy, nbusy, s, 64);
    cwai_odoo_format_local(s[0], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-02 17:30");
    ck_assert_int_eq(n, 1);
    h.notice_min = 0;
    /* max */
    n = cwai_odoo_free_slots(&h, now - 86400, from, from + 7 * 86400, busy, nbusy, s, 3);
    ck_assert_int_eq(n, 3);
    /* the weekend: Saturday only mornings, Sunday closed */
    cwai_odoo_parse_local("2026-12-05", h.utc_offset_min, &from);          /* Sat */
    n = cwai_odoo_free_slots(&h, now, from, from + 2 * 86400, NULL, 0, s, 64);
    ck_assert_int_eq(n, 8);
    /* a holiday and special hours */
    special[0].date = 20261205;
    special[0].n = 0;
    special[1].date = 20261207;             /* Mon: 10-11 only */
    special[1].n = 1;
    special[1].iv[0].open = 600;
    special[1].iv[0].close = 660;
    h.special = special;
    h.nspecial = 2;
    n = cwai_odoo_free_slots(&h, now, from, from + 3 * 86400, NULL, 0, s, 64);
    ck_assert_int_eq(n, 2);
    cwai_odoo_format_local(s[0], h.utc_offset_min, buf, NULL);
    ck_assert_str_eq(buf, "2026-12-07 10:00");
    /* the horizon */
    h.horizon_days = 2;
    n = cwai_odoo_free_slots(&h, now, from, from + 10 * 86400, NULL, 0, s, 64);
    ck_assert_int_eq(n, 0);
    /* bad hours */
    h = store_hours();
    h.slot_min = 0;
    ck_assert_int_eq(cwai_odoo_free_slots(&h, now, from, to, NULL, 0, s, 64), -1);
    h = store_hours();
    h.week[6][0].close = 2000;
    ck_assert_int_eq(cwai_odoo_free_slots(&h, now, from, from + 86400, NULL, 0, s, 64), -1);
    ck_assert_int_eq(cwai_odoo_free_slots(NULL, now, from, to, NULL, 0, s, 64), -1);
    /* an empty window */
    h = store_hours();
    ck_assert_int_eq(cwai_odoo_free_slots(&h, now, from, from, NULL, 0, s, 64), 0);
    ck_assert_int_eq(cwai_odoo_free_slots(&h, now, from + 86400, from, NULL, 0, s, 64), 0);
    free(busy);
    json_decref(r);
    free(raw);
}
END_TEST

START_TEST(busy_events)
{
    cwai_odoo_busy_t  *b;
    size_t             n;
    json_t            *r;
    int64_t            t;

    r = json_loads("[{\"start\":\"2026-12-02 08:00:00\",\"stop\":\"2026-12-02 18:00:00\",\"allday\":true},"
                   "{\"start\":\"2026-12-03 13:00:00\",\"stop\":\"2026-12-03 14:00:00\",\"show_as\":\"free\"},"
                   "{\"start\":\"2026-12-03 15:00:00\",\"stop\":\"2026-12-03 14:00:00\",\"partner_ids\":[1,\"x\",null]}]",
                   0, NULL);
    ck_assert_int_eq(cwai_odoo_parse_busy(r, -180, 45, &b, &n), 0);
    ck_assert_uint_eq(n, 2);
    cwai_odoo_parse_local("2026-12-02 00:00", -180, &t);
    ck_assert_int_eq(b[0].start, t);
    ck_assert_int_eq(b[0].stop, t + 86400);
    ck_assert_int_eq(b[1].stop, b[1].start);        /* inverted: empty */
    ck_assert(!b[1].mine);
    free(b);
    json_decref(r);
    /* an event that cannot be placed fails the whole read */
    r = json_loads("[{\"start\":false,\"stop\":\"2026-12-03 14:00:00\"}]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_parse_busy(r, -180, 45, &b, &n), -1);
    ck_assert_ptr_null(b);
    json_decref(r);
    r = json_loads("[null]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_parse_busy(r, -180, 45, &b, &n), -1);
    json_decref(r);
    r = json_loads("{}", 0, NULL);
    ck_assert_int_eq(cwai_odoo_parse_busy(r, -180, 45, &b, &n), -1);
    json_decref(r);
    ck_assert_int_eq(cwai_odoo_parse_busy(NULL, -180, 45, &b, &n), -1);
}
END_TEST

START_TEST(values)
{
    json_t      *v;
    int64_t      id;
    const char  *name;
    double       d;
    char         buf[20];

    v = json_loads("[4, \"Clientes VIP (10% off) (BRL)\"]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_m2o(v, &id, &name), 0);
    ck_assert_int_eq(id, 4);
    ck_assert_str_eq(name, "Clientes VIP (10% off) (BRL)");
    json_decref(v);
    ck_assert_int_eq(cwai_odoo_m2o(json_false(), &id, &name), -1);
    v = json_loads("[\"4\", \"x\"]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_m2o(v, &id, &name), -1);
    json_decref(v);
    v = json_integer(9);
    ck_assert_int_eq(cwai_odoo_m2o(v, &id, NULL), 0);
    ck_assert_int_eq(cwai_odoo_id_result(v, &id), 0);
    json_decref(v);
    v = json_loads("[9]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_id_result(v, &id), 0);
    ck_assert_int_eq(id, 9);
    json_decref(v);
    v = json_loads("[9, 10]", 0, NULL);
    ck_assert_int_eq(cwai_odoo_id_result(v, &id), -1);
    json_decref(v);
    ck_assert_int_eq(cwai_odoo_id_result(json_true(), &id), -1);
    v = json_real(80.91000000000001);
    ck_assert_int_eq(cwai_odoo_number_result(v, &d), 0);
    ck_assert(fabs(d - 80.91) < 1e-9);
    json_decref(v);
    v = json_real(-1);
    ck_assert_int_eq(cwai_odoo_number_result(v, &d), -1);
    json_decref(v);
    ck_assert_int_eq(cwai_odoo_number_result(json_null(), &d), -1);
    cwai_odoo_datetime(0, buf);
    ck_assert_str_eq(buf, "1970-01-01 00:00:00");
    v = json_pack("{s:b, s:s}", "email", 0, "name", "x");
    ck_assert_ptr_null(cwai_odoo_str(v, "email"));
    ck_assert_str_eq(cwai_odoo_str(v, "name"), "x");
    json_decref(v);
    ck_assert_str_eq(cwai_odoo_errkind_name(CWAI_ODOO_E_TRANSIENT), "transient");
}
END_TEST

static void
expect_oerr(cwai_odoo_transport_t t, int status, const char *body,
    cwai_odoo_errkind_t kind, cwai_uperr_class_t cls)
{
    cwai_http_resp_t  r = unit_resp(status, body);
    cwai_odoo_err_t   oe;
    json_t           *res = (json_t *) 1;

    ck_assert_int_eq(cwai_odoo_parse(&r, t, &res, &oe), -1);
    ck_assert_ptr_null(res);
    ck_assert_msg(oe.kind == kind && oe.up.cls == cls, "status %d: %s/%s (%s)",
                  status, cwai_odoo_errkind_name(oe.kind),
                  cwai_uperr_class_name(oe.up.cls), oe.up.code);
}

START_TEST(errors_and_hostile)
{
    cwai_http_resp_t  r;
    cwai_odoo_err_t   oe;
    json_t           *res;
    char             *s;

    /* HTML: wrong database, wrong content type; proxies */
    expect_oerr(CWAI_ODOO_JSON2, 404, "<!DOCTYPE html><title>No database is selected</title>",
                CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSON2, 415, "<html>Unsupported Media Type</html>",
                CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSON2, 502, "<html>Bad Gateway</html>",
                CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    expect_oerr(CWAI_ODOO_JSON2, 409, "{\"name\":\"odoo.exceptions.LockError\",\"message\":\"locked\"}",
                CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    expect_oerr(CWAI_ODOO_JSON2, 500, "{\"name\":\"psycopg2.errors.SerializationFailure\",\"message\":\"x\"}",
                CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    expect_oerr(CWAI_ODOO_JSON2, 500, "{\"name\":\"builtins.RuntimeError\",\"message\":\"x\"}",
                CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    expect_oerr(CWAI_ODOO_JSON2, 401, "", CWAI_ODOO_E_AUTH, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSON2, 403, "{\"name\":null}", CWAI_ODOO_E_ACCESS, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSON2, 200, "<html>", CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSON2, 200, "[{\"id\":1}", CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    /* JSON-RPC: errors in a 200 */
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":0,"
                "\"message\":\"Odoo Server Error\",\"data\":{\"name\":\"odoo.exceptions.ConcurrencyError\"}}}",
                CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "{\"error\":{\"code\":100,\"message\":\"Odoo Session Expired\"}}",
                CWAI_ODOO_E_AUTH, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "{\"error\":{\"code\":404,\"message\":\"404: Not Found\"}}",
                CWAI_ODOO_E_NOT_FOUND, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "{\"error\":\"boom\"}", CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "{\"error\":{\"data\":{\"name\":\"x.Unknown\"}}}",
                CWAI_ODOO_E_SERVER, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 200, "[1]", CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 404, "<html>", CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    expect_oerr(CWAI_ODOO_JSONRPC, 0, NULL, CWAI_ODOO_E_TRANSIENT, CWAI_UPERR_RETRY);
    /* success shapes */
    r = unit_resp(200, "{\"jsonrpc\":\"2.0\",\"id\":1}");       /* None */
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSONRPC, &res, &oe), 0);
    ck_assert(json_is_null(res));
    json_decref(res);
    r = unit_resp(200, "{\"error\":null,\"result\":false}");
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSONRPC, &res, &oe), 0);
    ck_assert(json_is_false(res));
    json_decref(res);
    r = unit_resp(200, "null");
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, &oe), 0);
    ck_assert(json_is_null(res));
    json_decref(res);
    /* truncated */
    r = unit_resp(200, "[]");
    r.complete = 0;
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, &oe), -1);
    ck_assert_int_eq(oe.kind, CWAI_ODOO_E_TRANSIENT);
    /* deep nesting, 10 MB name and message, NULL err */
    s = unit_deep(100000);
    expect_oerr(CWAI_ODOO_JSON2, 200, s, CWAI_ODOO_E_PROTOCOL, CWAI_UPERR_FATAL);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSONRPC, &res, NULL), -1);
    free(s);
    s = unit_big("{\"name\":\"", 10 * 1024 * 1024, "\",\"message\":\"m\"}");
    r = unit_resp(422, s);
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, &oe), -1);
    ck_assert_str_eq(oe.up.code, "http_422");
    ck_assert_int_eq(oe.kind, CWAI_ODOO_E_BAD_CALL);
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, NULL), -1);
    free(s);
    s = unit_big("{\"name\":\"odoo.exceptions.UserError\",\"message\":\"", 10 * 1024 * 1024, "\"}");
    r = unit_resp(422, s);
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, &oe), -1);
    ck_assert_int_eq(oe.kind, CWAI_ODOO_E_USER);
    ck_assert(strlen(oe.up.message) < sizeof(oe.up.message));
    free(s);
    r = unit_resp(500, "{\"name\":\"odoo.exceptions.UserError\",\"message\":\"a\\u0000b\"}");
    ck_assert_int_eq(cwai_odoo_parse(&r, CWAI_ODOO_JSON2, &res, &oe), -1);
    ck_assert_int_eq(oe.up.cls, CWAI_UPERR_RETRY);       /* not JSON: by status */
}
END_TEST

CWAI_SUITE(odoo)
{
    TCase  *tc;
    Suite  *s = unit_suite("odoo", &tc);

    tcase_add_test(tc, json2_manifest);
    tcase_add_test(tc, jsonrpc_fixtures);
    tcase_add_test(tc, authenticate);
    tcase_add_test(tc, typed_builders_match_fixtures);
    tcase_add_test(tc, tool_queries);
    tcase_add_test(tc, names_are_checked);
    tcase_add_test(tc, phone_numbers);
    tcase_add_test(tc, pick_partner);
    tcase_add_test(tc, slots_from_hours_and_busy);
    tcase_add_test(tc, busy_events);
    tcase_add_test(tc, values);
    tcase_add_test(tc, errors_and_hostile);
    return s;
}
