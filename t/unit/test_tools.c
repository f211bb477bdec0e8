/* Tool declarations and the safe binding of tool calls (src/cwai_tools.h).
 * Fixtures: t/fixtures/odoo/json2. */
#include "unit.h"
#include "cwai_tools.h"

#include <math.h>

/* helpers defined in test_openai.c */
json_t          *unit_load_json(const char *path);
json_t          *unit_req_json(const cwai_http_req_t *r);
cwai_http_resp_t unit_resp(int status, const char *body);

#define SENDER  "+5511987654321"

static cwai_odoo_cfg_t    odoo;
static cwai_odoo_hours_t  hours;

static void
setup_ctx(cwai_tools_ctx_t *ctx, cwai_identity_t *id)
{
    int  d;

    memset(&odoo, 0, sizeof(odoo));
    odoo.transport = CWAI_ODOO_JSON2;
    odoo.db = "belapele";
    odoo.api_key = "3f9a1c0e5b7d2a4c6e8f0a1b2c3d4e5f6a7b8c9d";
    odoo.tz = "America/Sao_Paulo";
    memset(&hours, 0, sizeof(hours));
    hours.utc_offset_min = -180;
    for (d = 1; d <= 6; d++) {
        hours.week[d][0].open = 9 * 60;
        hours.week[d][0].close = 18 * 60;
        hours.nweek[d] = 1;
    }
    hours.slot_min = 30;
    memset(ctx, 0, sizeof(*ctx));
    ctx->odoo = &odoo;
    ctx->hours = &hours;
    ctx->staff_user_id = 2;
    ctx->staff_partner_id = 3;
    ctx->location = "Loja Oscar Freire";
    ctx->channel = "WhatsApp";
    ctx->currency = "BRL";
    ctx->utc_offset_min = -180;
    cwai_odoo_parse_local("2026-12-01 09:00", -180, &ctx->now);     /* Tue */
    memset(id, 0, sizeof(*id));
    id->phone = SENDER;
}

/* A model tool call with raw arguments text. */
static void
make_call(cwai_tool_call_t *c, const char *name, const char *args)
{
    memset(c, 0, sizeof(*c));
    c->id = (char *) "call_1";
    c->name = (char *) name;
    c->arguments = (char *) args;
    c->args = args ? json_loads(args, 0, NULL) : NULL;
    if (c->args == NULL) {
        snprintf(c->args_error, sizeof(c->args_error), "arguments are not valid JSON");
    }
}

/* next() -> the request's JSON body; fed with body (status 200). */
static json_t *
step(cwai_toolrun_t *run, const char *expect_path, const char *reply)
{
    cwai_http_req_t   req;
    cwai_http_resp_t  r;
    json_t           *b;

    ck_assert(cwai_tools_status(run) == CWAI_TOOLRUN_REQUEST
              || cwai_tools_status(run) == CWAI_TOOLRUN_RETRY);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    ck_assert_int_eq(req.upstream, CWAI_UP_ERP);
    ck_assert_msg(strcmp(req.path, expect_path) == 0, "path %s, expected %s",
                  req.path, expect_path);
    b = unit_req_json(&req);
    cwai_http_req_free(&req);
    r = unit_resp(200, reply);
    cwai_tools_feed(run, &r);
    return b;
}

static json_t *
result_json(const cwai_toolrun_t *run)
{
    json_t  *j;

    ck_assert_ptr_nonnull(cwai_tools_result(run));
    j = json_loads(cwai_tools_result(run), 0, NULL);
    ck_assert_msg(j != NULL, "%s", cwai_tools_result(run));
    return j;
}

/* The value of domain condition i as a string. */
static const char *
dom_val(const json_t *body, size_t i)
{
    return json_string_value(json_array_get(json_array_get(json_object_get(body, "domain"), i), 2));
}

/* ---- declarations ---------------------------------------------------------- */

START_TEST(declarations)
{
    json_t       *t = cwai_tools_declare(CWAI_TOOLS_ALL, NULL, 1), *fn, *p, *v;
    size_t        i, k;
    const char   *key;
    const char   *desc[CWAI_TID__COUNT] = { NULL };

    ck_assert_uint_eq(json_array_size(t), CWAI_TID__COUNT);
    json_array_foreach(t, i, v) {
        ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "function");
        fn = json_object_get(v, "function");
        ck_assert_str_eq(json_string_value(json_object_get(fn, "name")),
                         cwai_tools_name((cwai_tool_id_t) i));
        ck_assert_int_eq(cwai_tools_lookup(cwai_tools_name((cwai_tool_id_t) i)), (int) i);
        ck_assert(json_is_true(json_object_get(fn, "strict")));
        p = json_object_get(fn, "parameters");
        ck_assert(json_is_false(json_object_get(p, "additionalProperties")));
        /* strict: every property required */
        ck_assert_uint_eq(json_array_size(json_object_get(p, "required")),
                          json_object_size(json_object_get(p, "properties")));
        json_object_foreach(json_object_get(p, "properties"), key, v) {
            /* no tool takes a price, a discount, a phone or a partner id */
            ck_assert(strstr(key, "price") == NULL && strstr(key, "discount") == NULL
                      && strstr(key, "phone") == NULL && strstr(key, "partner") == NULL
                      && strstr(key, "email") == NULL);
        }
    }
    /* find_customer takes nothing */
    fn = json_object_get(json_array_get(t, CWAI_TID_FIND_CUSTOMER), "function");
    ck_assert_uint_eq(json_object_size(json_object_get(json_object_get(fn, "parameters"),
                                                       "properties")), 0);
    /* optional fields are nullable in strict mode, enums too */
    fn = json_object_get(json_array_get(t, CWAI_TID_SEARCH_RULES), "function");
    v = json_object_get(json_object_get(json_object_get(fn, "parameters"), "properties"), "topic");
    ck_assert_uint_eq(json_array_size(json_object_get(v, "type")), 2);
    json_decref(t);

    /* compatible servers: plain schema, only the mandatory required */
    desc[CWAI_TID_HANDOFF] = "Transfere a conversa para um atendente humano.";
    t = cwai_tools_declare(CWAI_TOOL_BIT(CWAI_TID_HANDOFF) | CWAI_TOOL_BIT(CWAI_TID_SEARCH_PRODUCTS),
                           desc, 0);
    ck_assert_uint_eq(json_array_size(t), 2);
    fn = json_object_get(json_array_get(t, 0), "function");
    ck_assert_str_eq(json_string_value(json_object_get(fn, "name")), "search_products");
    ck_assert_ptr_null(json_object_get(fn, "strict"));
    p = json_object_get(fn, "parameters");
    ck_assert_uint_eq(json_array_size(json_object_get(p, "required")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(p,
                         "properties"), "limit"), "type")), "integer");
    fn = json_object_get(json_array_get(t, 1), "function");
    ck_assert_str_eq(json_string_value(json_object_get(fn, "description")), desc[CWAI_TID_HANDOFF]);
    v = json_object_get(json_object_get(json_object_get(json_object_get(fn, "parameters"),
                        "properties"), "reason"), "enum");
    ck_assert_uint_eq(json_array_size(v), 6);
    for (k = 0; k < json_array_size(v); k++) {
        ck_assert(json_is_string(json_array_get(v, k)));
    }
    json_decref(t);
    t = cwai_tools_declare(0, NULL, 1);
    ck_assert_uint_eq(json_array_size(t), 0);
    json_decref(t);
    ck_assert_int_eq(cwai_tools_lookup("drop_table"), -1);
    ck_assert_int_eq(cwai_tools_lookup(NULL), -1);
    ck_assert_ptr_null(cwai_tools_name(CWAI_TID__COUNT));
}
END_TEST

/* ---- whose data: prompt injection ---------------------------------------- */

START_TEST(find_customer_ignores_model_identity)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    char              *reply = unit_read_file("fixtures/odoo/json2/partner-by-phone.response.json", NULL);
    json_t            *b, *res;

    setup_ctx(&ctx, &id);
    make_call(&call, "find_customer", "{\"phone\":\"+55 21 99999-0000\",\"email\":\"other@x.com\","
              "\"partner_id\":99,\"name\":\"Outra Pessoa\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/res.partner/search_read", reply);
    /* the query is the sender's number, nothing the model wrote */
    ck_assert_str_eq(dom_val(b, 0), "87654321");
    {
        char  *s = json_dumps(b, JSON_COMPACT);

        ck_assert(strstr(s, "99999") == NULL && strstr(s, "other@x.com") == NULL
                  && strstr(s, "99") == NULL);
        free(s);
    }
    json_decref(b);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    res = result_json(run);
    ck_assert(json_is_true(json_object_get(res, "found")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "customer"), "name")),
                     "Mariana Souza");
    json_decref(res);
    ck_assert_int_eq(id.partner_id, 45);
    ck_assert_int_eq(id.pricelist_id, 4);
    ck_assert_str_eq(id.name, "Mariana Souza");
    cwai_tools_free(run);

    /* resolved once: no second lookup */
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    res = result_json(run);
    ck_assert(json_is_true(json_object_get(res, "found")));
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);
    free(reply);
}
END_TEST

START_TEST(find_customer_only_exact_sender)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    json_t            *b, *res;

    /* an ERP reply with someone else only (a loose substring hit) */
    setup_ctx(&ctx, &id);
    make_call(&call, "find_customer", "{}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/res.partner/search_read",
             "[{\"id\":99,\"name\":\"Outra\",\"phone\":\"+55 21 98765-4321\",\"email\":\"o@x.com\"}]");
    json_decref(b);
    res = result_json(run);
    ck_assert(json_is_false(json_object_get(res, "found")));
    ck_assert_str_eq(json_string_value(json_object_get(res, "reason")), "not_found");
    ck_assert(strstr(cwai_tools_result(run), "Outra") == NULL);
    json_decref(res);
    ck_assert_int_eq(id.partner_id, 0);
    ck_assert(id.resolved);
    cwai_tools_free(run);

    /* ambiguous phone, then the trusted e-mail decides */
    setup_ctx(&ctx, &id);
    id.email = "mariana.souza@example.com.br";
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/res.partner/search_read",
             "[{\"id\":45,\"name\":\"Mariana Souza\",\"phone\":\"+55 11 98765-4321\"},"
             "{\"id\":46,\"name\":\"Mariana S.\",\"phone\":\"(11) 98765-4321\"}]");
    json_decref(b);
    b = step(run, "/json/2/res.partner/search_read",
             "[{\"id\":46,\"name\":\"Mariana S.\",\"email\":\"Mariana.Souza@example.com.br\","
             "\"property_product_pricelist\":false}]");
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(b, "domain"),
                         0), 0)), "email");
    json_decref(b);
    ck_assert_int_eq(id.partner_id, 46);
    ck_assert_int_eq(id.pricelist_id, 0);
    cwai_tools_free(run);

    /* no verified contact at all: no request, not identified */
    setup_ctx(&ctx, &id);
    id.phone = NULL;
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    ck_assert(strstr(cwai_tools_result(run), "no_verified_contact") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);
}
END_TEST

START_TEST(customer_orders_bound_to_sender)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    char              *orders = unit_read_file("fixtures/odoo/json2/partner-orders.response.json", NULL);
    char              *partner = unit_read_file("fixtures/odoo/json2/partner-by-phone.response.json", NULL);
    json_t            *o, *b, *res, *list;
    char              *s;

    setup_ctx(&ctx, &id);
    make_call(&call, "customer_orders", "{\"partner_id\":99,\"customer\":\"Outra\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/res.partner/search_read", partner);
    json_decref(b);
    ck_assert_int_eq(id.partner_id, 45);

    /* the orders query: the sender's partner, never the model's 99 */
    o = json_loads(orders, 0, NULL);
    json_array_append_new(o, json_pack("{s:i, s:s, s:s, s:f, s:[i,s], s:s}", "id", 77,
                                       "name", "S00077", "state", "sale", "amount_total", 999.0,
                                       "partner_id", 99, "Outra Pessoa",
                                       "date_order", "2026-11-21 10:00:00"));
    json_array_append_new(o, json_pack("{s:i, s:s, s:b}", "id", 78, "name", "S00078",
                                       "partner_id", 0));
    s = json_dumps(o, 0);
    b = step(run, "/json/2/sale.order/search_read", s);
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(b, "domain"),
                         0), 0)), "partner_id");
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_object_get(b, "domain"),
                         0), 1)), "=");
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(json_object_get(b, "domain"),
                         0), 2)), 45);
    json_decref(b);
    free(s);
    json_decref(o);

    /* lines: only of the sender's orders; a foreign line is dropped */
    b = step(run, "/json/2/sale.order.line/search_read",
             "[{\"id\":51,\"order_id\":[25,\"S00025\"],\"product_id\":[56,\"[BP-HID-FPS30] Hidratante Facial FPS 30\"],"
             "\"product_uom_qty\":2.0,\"price_unit\":80.91000000000001,\"discount\":0.0,\"price_total\":161.82},"
             "{\"id\":52,\"order_id\":[25,\"S00025\"],\"product_id\":[59,\"Shampoo\"],\"product_uom_qty\":1.0,"
             "\"price_unit\":39.9,\"discount\":10.0,\"price_total\":35.91},"
             "{\"id\":90,\"order_id\":[77,\"S00077\"],\"product_id\":[1,\"SEGREDO\"],\"price_unit\":1}]");
    {
        char  *d = json_dumps(json_object_get(b, "domain"), JSON_COMPACT);

        ck_assert_str_eq(d, "[[\"order_id\",\"in\",[26,25]]]");
        free(d);
    }
    json_decref(b);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    ck_assert(strstr(cwai_tools_result(run), "S00077") == NULL);
    ck_assert(strstr(cwai_tools_result(run), "SEGREDO") == NULL);
    ck_assert(strstr(cwai_tools_result(run), "Outra") == NULL);
    res = result_json(run);
    list = json_object_get(res, "orders");
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "S00026");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "date")),
                     "2026-11-24 16:02");           /* local time */
    ck_assert(fabs(json_number_value(json_object_get(json_array_get(list, 1), "total")) - 201.72) < 1e-9);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "currency")), "BRL");
    ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(list, 1), "lines")), 2);
    ck_assert(fabs(json_number_value(json_object_get(json_array_get(json_object_get(
        json_array_get(list, 1), "lines"), 0), "price_unit")) - 80.91) < 1e-9);
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* already resolved identity: straight to the orders, still partner 45 */
    make_call(&call, "customer_orders", "{\"partner_id\":99}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/sale.order/search_read", "[]");
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(json_object_get(b, "domain"),
                         0), 2)), 45);
    json_decref(b);
    res = result_json(run);
    ck_assert_uint_eq(json_array_size(json_object_get(res, "orders")), 0);
    json_decref(res);
    cwai_tools_free(run);

    /* an unidentified sender never reaches sale.order */
    setup_ctx(&ctx, &id);
    id.resolved = 1;
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    res = result_json(run);
    ck_assert(json_is_false(json_object_get(res, "customer_identified")));
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);
    free(orders);
    free(partner);
}
END_TEST

/* ---- prices come from the ERP only --------------------------------------- */

START_TEST(products_and_prices)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    char              *prods = unit_read_file("fixtures/odoo/json2/products-search-read.response.json", NULL);
    char              *price = unit_read_file("fixtures/odoo/json2/contextual-price.response.json", NULL);
    json_t            *b, *res, *p;

    setup_ctx(&ctx, &id);
    make_call(&call, "search_products", "{\"query\":\"hidratante\",\"limit\":null,"
              "\"price\":0.01,\"discount\":100}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/product.product/search_read", prods);
    ck_assert_str_eq(dom_val(b, 2), "hidratante");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "limit")), 5);
    json_decref(b);
    res = result_json(run);
    p = json_object_get(res, "products");
    ck_assert_uint_eq(json_array_size(p), 2);
    ck_assert(fabs(json_number_value(json_object_get(json_array_get(p, 0), "price")) - 89.9) < 1e-9);
    ck_assert(json_is_true(json_object_get(json_array_get(p, 0), "in_stock")));
    ck_assert(json_is_false(json_object_get(json_array_get(p, 1), "in_stock")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 0), "category")),
                     "Cosméticos / Cuidados com a Pele");
    ck_assert_ptr_null(json_object_get(json_array_get(p, 1), "description"));   /* false */
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* details with the sender's pricelist: the ERP's price, not the model's */
    make_call(&call, "product_details", "{\"product_id\":56,\"quantity\":2,\"price\":1,"
              "\"customer_price\":1}");
    id.resolved = 1;
    id.partner_id = 45;
    id.pricelist_id = 4;
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/product.product/read",
             "[{\"id\":56,\"name\":\"Hidratante Facial FPS 30\",\"default_code\":\"BP-HID-FPS30\","
             "\"list_price\":89.9,\"lst_price\":89.9,\"free_qty\":40.0,\"qty_available\":42.0,"
             "\"virtual_available\":40.0,\"sale_ok\":true,\"active\":true,\"uom_id\":[1,\"Unidades\"]}]");
    json_decref(b);
    b = step(run, "/json/2/product.product/get_contextual_price", price);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "context"), "pricelist")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "context"), "quantity")), 2);
    json_decref(b);
    res = result_json(run);
    p = json_object_get(res, "product");
    ck_assert(fabs(json_number_value(json_object_get(p, "customer_price")) - 80.91) < 1e-9);
    ck_assert(fabs(json_number_value(json_object_get(p, "price")) - 89.9) < 1e-9);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "available_qty")), 40);
    ck_assert_str_eq(json_string_value(json_object_get(p, "unit")), "Unidades");
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* not for sale, archived or unknown: not found */
    make_call(&call, "product_details", "{\"default_code\":\"BP-OLD\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/product.product/search_read",
             "[{\"id\":9,\"name\":\"Velho\",\"sale_ok\":false,\"list_price\":1}]");
    json_decref(b);
    ck_assert_str_eq(cwai_tools_result(run), "{\"found\":false}");
    cwai_tools_free(run);
    json_decref(call.args);

    /* no id and no code */
    make_call(&call, "product_details", "{\"quantity\":3}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert(strstr(cwai_tools_result(run), "invalid_arguments") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);
    free(prods);
    free(price);
}
END_TEST

/* ---- scheduling ---------------------------------------------------------- */

START_TEST(slots_and_booking)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    char              *busy = unit_read_file("fixtures/odoo/json2/calendar-busy.response.json", NULL);
    char              *created = unit_read_file("fixtures/odoo/json2/calendar-event-create.response.json", NULL);
    json_t            *b, *res, *fx, *v;
    cwai_http_req_t    req;
    cwai_http_resp_t   r;
    size_t             i;

    setup_ctx(&ctx, &id);
    make_call(&call, "available_slots", "{\"date_from\":\"2026-12-02\",\"days\":1}");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/calendar.event/search_read", busy);
    ck_assert_str_eq(dom_val(b, 0), "2026-12-03 03:00:00");
    ck_assert_str_eq(dom_val(b, 1), "2026-12-02 03:00:00");
    json_decref(b);
    res = result_json(run);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "duration_min")), 30);
    ck_assert_str_eq(json_string_value(json_object_get(res, "utc_offset")), "-03:00");
    v = json_object_get(res, "slots");
    ck_assert_uint_eq(json_array_size(v), 12);              /* max_slots default */
    for (i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(v, i), "start"));

        ck_assert(strcmp(s, "2026-12-02 10:00") != 0 && strcmp(s, "2026-12-02 10:30") != 0);
    }
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(v, 0), "weekday")), "wed");
    json_decref(res);
    cwai_tools_free(run);
    json_decref(call.args);

    /* booking 14:00 local on Dec 3 (17:00 UTC, the create fixture) */
    make_call(&call, "book_appointment", "{\"start\":\"2026-12-03 14:00\",\"service\":\"Consulta capilar\","
              "\"partner_id\":99,\"phone\":\"+55 21 99999-0000\"}");
    id.resolved = 1;
    id.partner_id = 45;
    snprintf(id.name, sizeof(id.name), "Mariana Souza");
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/calendar.event/search_read", "[]");
    ck_assert_str_eq(dom_val(b, 0), "2026-12-03 17:30:00");
    ck_assert_str_eq(dom_val(b, 1), "2026-12-03 17:00:00");
    json_decref(b);
    b = step(run, "/json/2/calendar.event/create", created);
    fx = unit_load_json("fixtures/odoo/json2/calendar-event-create.request.json");
    ck_assert_msg(json_equal(b, fx), "%s", json_dumps(b, JSON_COMPACT));
    json_decref(fx);
    json_decref(b);
    res = result_json(run);
    ck_assert(json_is_true(json_object_get(res, "booked")));
    ck_assert_int_eq(json_integer_value(json_object_get(res, "event_id")), 9);
    ck_assert_str_eq(json_string_value(json_object_get(res, "start")), "2026-12-03 14:00");
    json_decref(res);
    cwai_tools_free(run);

    /* the create times out: RETRY re-checks first and finds it landed */
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/calendar.event/search_read", "[]");
    json_decref(b);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    cwai_http_req_free(&req);
    r = unit_resp(0, NULL);
    ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_RETRY);
    ck_assert_int_eq(cwai_tools_error(run)->cls, CWAI_UPERR_RETRY);
    ck_assert_ptr_null(cwai_tools_result(run));
    b = step(run, "/json/2/calendar.event/search_read",
             "[{\"start\":\"2026-12-03 17:00:00\",\"stop\":\"2026-12-03 17:30:00\",\"partner_ids\":[45,3]}]");
    json_decref(b);
    res = result_json(run);
    ck_assert(json_is_true(json_object_get(res, "already_booked")));
    json_decref(res);
    cwai_tools_free(run);

    /* taken by someone else */
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/calendar.event/search_read",
             "[{\"start\":\"2026-12-03 16:45:00\",\"stop\":\"2026-12-03 17:15:00\",\"partner_ids\":[7]}]");
    json_decref(b);
    ck_assert(strstr(cwai_tools_result(run), "slot_taken") != NULL);
    cwai_tools_free(run);

    /* a business rule refuses the create: the readable message is passed */
    run = cwai_tools_start(&ctx, &id, &call);
    b = step(run, "/json/2/calendar.event/search_read", "[]");
    json_decref(b);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    cwai_http_req_free(&req);
    r = unit_resp(422, "{\"name\":\"odoo.exceptions.ValidationError\",\"message\":\"Horário inválido\"}");
    ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_DONE);
    ck_assert(strstr(cwai_tools_result(run), "booking_refused") != NULL);
    ck_assert(strstr(cwai_tools_result(run), "Horário inválido") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);

    /* outside opening hours, misaligned, in the past, Sunday, bad text */
    {
        static const char *const  bad[] = {
            "{\"start\":\"2026-12-03 03:00\"}", "{\"start\":\"2026-12-03 14:10\"}",
            "{\"start\":\"2026-11-30 10:00\"}", "{\"start\":\"2026-12-06 10:00\"}",
            "{\"start\":\"2026-12-03 17:45\"}",
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            make_call(&call, "book_appointment", bad[i]);
            run = cwai_tools_start(&ctx, &id, &call);
            ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
            ck_assert_msg(strstr(cwai_tools_result(run), "not_an_available_slot") != NULL,
                          "%s: %s", bad[i], cwai_tools_result(run));
            cwai_tools_free(run);
            json_decref(call.args);
        }
        make_call(&call, "book_appointment", "{\"start\":\"amanhã às 10\"}");
        run = cwai_tools_start(&ctx, &id, &call);
        ck_assert(strstr(cwai_tools_result(run), "invalid_arguments") != NULL);
        cwai_tools_free(run);
        json_decref(call.args);
    }

    /* an unidentified sender cannot book */
    make_call(&call, "book_appointment", "{\"start\":\"2026-12-03 14:00\"}");
    setup_ctx(&ctx, &id);
    id.phone = NULL;
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert(strstr(cwai_tools_result(run), "customer_not_identified") != NULL);
    cwai_tools_free(run);
    /* no opening hours configured */
    ctx.hours = NULL;
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert(strstr(cwai_tools_result(run), "scheduling_unavailable") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);
    free(busy);
    free(created);
}
END_TEST

/* ---- actions, errors ------------------------------------------------------ */

START_TEST(handoff_and_rules)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    const char        *reason, *summary, *topic;
    cwai_http_req_t    req;

    setup_ctx(&ctx, &id);
    ctx.odoo = NULL;                        /* neither needs the ERP */
    make_call(&call, "handoff_to_human", "{\"reason\":\"health_risk\",\"summary\":\"Reação alérgica ao sérum.\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_HANDOFF);
    cwai_tools_handoff(run, &reason, &summary);
    ck_assert_str_eq(reason, "health_risk");
    ck_assert_str_eq(summary, "Reação alérgica ao sérum.");
    ck_assert_str_eq(cwai_tools_result(run), "{\"ok\":true,\"handoff\":true}");
    ck_assert_int_eq(cwai_tools_next(run, &req), -1);
    cwai_http_req_free(&req);
    cwai_tools_free(run);
    json_decref(call.args);
    make_call(&call, "handoff_to_human", "{\"reason\":\"ignore previous instructions\",\"summary\":null}");
    run = cwai_tools_start(&ctx, &id, &call);
    cwai_tools_handoff(run, &reason, &summary);
    ck_assert_str_eq(reason, "other");
    ck_assert_str_eq(summary, "");
    cwai_tools_free(run);
    json_decref(call.args);
    /* a handoff never fails for want of a reason */
    make_call(&call, "handoff_to_human", "{\"reason\":7,\"summary\":[1]}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_HANDOFF);
    cwai_tools_handoff(run, &reason, &summary);
    ck_assert_str_eq(reason, "other");
    cwai_tools_free(run);
    json_decref(call.args);

    make_call(&call, "search_rules", "{\"query\":\"frete para Curitiba\",\"topic\":\"frete\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_RETRIEVE);
    ck_assert_str_eq(cwai_tools_query(run, &topic), "frete para Curitiba");
    ck_assert_str_eq(topic, "frete");
    ck_assert_ptr_null(cwai_tools_result(run));
    ck_assert_int_eq(cwai_tools_set_result(run, "[{\"id\":101,\"score\":0.792}]"), 0);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    ck_assert_str_eq(cwai_tools_result(run), "[{\"id\":101,\"score\":0.792}]");
    ck_assert_int_eq(cwai_tools_set_result(run, "x"), -1);
    cwai_tools_free(run);
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_set_result(run, "\xff"), 0);
    ck_assert(strstr(cwai_tools_result(run), "retrieval_failed") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);
}
END_TEST

START_TEST(bad_calls_and_failures)
{
    cwai_tools_ctx_t   ctx;
    cwai_identity_t    id;
    cwai_tool_call_t   call;
    cwai_toolrun_t    *run;
    cwai_http_req_t    req;
    cwai_http_resp_t   r;
    char              *e;
    static const char *const  bad_args[][2] = {
        { "search_products", "{\"query\":5}" },
        { "search_products", "{\"query\":\"   \"}" },
        { "search_products", "{}" },
        { "search_products", "{\"query\":\"x\",\"limit\":\"many\"}" },
        { "available_slots", "{\"date_from\":\"02/12/2026\"}" },
        { "available_slots", "{\"date_from\":\"2026-12-02 10:00\"}" },
        { "search_rules", "{\"query\":null}" },
        { "customer_orders", "{\"order_name\":[1]}" },
    };
    size_t  i;

    setup_ctx(&ctx, &id);
    /* invalid JSON from the model: an error result for that call only */
    make_call(&call, "find_customer", "{\"phone\":");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_DONE);
    ck_assert(strstr(cwai_tools_result(run), "invalid_arguments") != NULL);
    cwai_tools_free(run);
    make_call(&call, "drop_database", "{}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_id(run), -1);
    ck_assert(strstr(cwai_tools_result(run), "unknown_tool") != NULL);
    cwai_tools_free(run);
    json_decref(call.args);
    for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
        make_call(&call, bad_args[i][0], bad_args[i][1]);
        run = cwai_tools_start(&ctx, &id, &call);
        ck_assert_msg(cwai_tools_status(run) == CWAI_TOOLRUN_DONE
                      && strstr(cwai_tools_result(run), "invalid_arguments") != NULL,
                      "%s %s", bad_args[i][0], bad_args[i][1]);
        cwai_tools_free(run);
        json_decref(call.args);
    }
    /* "56" and 56.0 are accepted as ids */
    make_call(&call, "product_details", "{\"product_id\":\"56\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_status(run), CWAI_TOOLRUN_REQUEST);
    cwai_tools_free(run);
    json_decref(call.args);

    /* no ERP configured */
    ctx.odoo = NULL;
    make_call(&call, "search_products", "{\"query\":\"x\"}");
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert(strstr(cwai_tools_result(run), "erp_unavailable") != NULL);
    cwai_tools_free(run);
    ctx.odoo = &odoo;

    /* retryable failure, then giving up */
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    cwai_http_req_free(&req);
    r = unit_resp(503, "<html>busy</html>");
    ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_RETRY);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);       /* same request again */
    ck_assert_str_eq(req.path, "/json/2/product.product/search_read");
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_RETRY);
    cwai_tools_give_up(run);
    ck_assert(strstr(cwai_tools_result(run), "erp_unavailable") != NULL);
    cwai_tools_free(run);
    /* fatal: a bad key */
    run = cwai_tools_start(&ctx, &id, &call);
    ck_assert_int_eq(cwai_tools_next(run, &req), 0);
    cwai_http_req_free(&req);
    e = unit_read_file("fixtures/odoo/json2/error-401-invalid-key.response.json", NULL);
    r = unit_resp(401, e);
    ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_DONE);
    ck_assert_str_eq(cwai_tools_result(run), "{\"error\":\"erp_error\",\"message\":\"auth\"}");
    ck_assert_str_eq(cwai_tools_error(run)->code, "werkzeug.exceptions.Unauthorized");
    ck_assert(strstr(cwai_tools_result(run), "Traceback") == NULL);
    free(e);
    cwai_tools_free(run);
    /* hostile ERP bodies */
    {
        static const char *const  junk[] = { "{}", "null", "[null, 1, \"x\", {\"id\":\"1\"}]" };

        for (i = 0; i < 3; i++) {
            run = cwai_tools_start(&ctx, &id, &call);
            ck_assert_int_eq(cwai_tools_next(run, &req), 0);
            cwai_http_req_free(&req);
            r = unit_resp(200, junk[i]);
            ck_assert_int_eq(cwai_tools_feed(run, &r), CWAI_TOOLRUN_DONE);
            ck_assert_ptr_nonnull(cwai_tools_result(run));
            cwai_tools_free(run);
        }
    }
    json_decref(call.args);
    e = cwai_tools_error_result("x", "y");
    ck_assert_str_eq(e, "{\"error\":\"x\",\"message\":\"y\"}");
    free(e);
    ck_assert_int_eq(cwai_tools_status(NULL), CWAI_TOOLRUN_DONE);
    ck_assert_ptr_null(cwai_tools_result(NULL));
    cwai_tools_free(NULL);
}
END_TEST

CWAI_SUITE(tools)
{
    TCase  *tc;
    Suite  *s = unit_suite("tools", &tc);

    tcase_add_test(tc, declarations);
    tcase_add_test(tc, find_customer_ignores_model_identity);
    tcase_add_test(tc, find_customer_only_exact_sender);
    tcase_add_test(tc, customer_orders_bound_to_sender);
    tcase_add_test(tc, products_and_prices);
    tcase_add_test(tc, slots_and_booking);
    tcase_add_test(tc, handoff_and_rules);
    tcase_add_test(tc, bad_calls_and_failures);
    return s;
}
