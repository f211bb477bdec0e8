/* Chatwoot REST builders and parsers (src/cwai_chatwoot.h).
 * Fixtures: t/fixtures/chatwoot. */
#include "unit.h"
#include "cwai_chatwoot.h"

/* helpers defined in test_openai.c */
json_t          *unit_load_json(const char *path);
json_t          *unit_req_json(const cwai_http_req_t *r);
cwai_http_resp_t unit_resp(int status, const char *body);
char            *unit_big(const char *prefix, size_t n, const char *suffix);
char            *unit_deep(size_t depth);

static const cwai_cw_conv_t  conv318 = { 3, 318, NULL, 0 };

static void
assert_fixture(const cwai_http_req_t *req, const char *file)
{
    json_t  *fx = unit_load_json(file), *b = unit_req_json(req);

    ck_assert_msg(json_equal(b, fx), "%s: %s", file, req->body);
    json_decref(b);
    json_decref(fx);
}

START_TEST(reply_and_note)
{
    json_t           *fx = unit_load_json("fixtures/chatwoot/reply_create_message_request.json");
    cwai_http_req_t   req;
    cwai_err_t        err;
    cwai_cw_conv_t    c = conv318;
    json_t           *b;

    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318,
                         json_string_value(json_object_get(fx, "content")), NULL, &err), 0);
    ck_assert_int_eq(req.upstream, CWAI_UP_CHATWOOT);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.path, "/api/v1/accounts/3/conversations/318/messages");
    ck_assert_uint_eq(req.nheaders, 0);         /* the location sets the token */
    ck_assert_ptr_null(req.cache_key);
    assert_fixture(&req, "fixtures/chatwoot/reply_create_message_request.json");
    cwai_http_req_free(&req);

    /* echo_id and a per-request token */
    c.api_token = "bot-token-123";
    c.timeout_ms = 5000;
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &c, "oi", "cwai-9001-1", &err), 0);
    ck_assert_str_eq(cwai_http_req_header(&req, "api-access-token"), "bot-token-123");
    ck_assert_int_eq(req.headers[0].secret, 1);
    ck_assert_uint_eq(req.timeout_ms, 5000);
    b = unit_req_json(&req);
    ck_assert_str_eq(json_string_value(json_object_get(b, "echo_id")), "cwai-9001-1");
    json_decref(b);
    cwai_http_req_free(&req);

    ck_assert_int_eq(cwai_chatwoot_build_note(&req, &conv318,
                         "Bot: cliente quer o hidratante 50 ml (R$ 89,90), entrega em Campinas, "
                         "pediu atendente humano.", &err), 0);
    assert_fixture(&req, "fixtures/chatwoot/handoff_private_note_request.json");
    cwai_http_req_free(&req);

    /* refusals */
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, "", NULL, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, NULL, NULL, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, "\xc3\x28", NULL, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, "oi", "bad echo", &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_note(&req, &conv318, "", &err), -1);
    c = conv318;
    c.conversation_id = 0;
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &c, "oi", NULL, &err), -1);
    ck_assert_ptr_null(req.path);
    c = conv318;
    c.api_token = "x\r\nX-Evil: 1";
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &c, "oi", NULL, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, NULL, "oi", NULL, &err), -1);
    json_decref(fx);
}
END_TEST

START_TEST(content_limits)
{
    cwai_http_req_t   req;
    cwai_err_t        err;
    char             *s;
    size_t            i;

    /* 150 000 characters of 2 bytes each: accepted; one more: refused */
    s = malloc(2 * CWAI_CW_MAX_CONTENT + 3);
    for (i = 0; i < CWAI_CW_MAX_CONTENT; i++) {
        memcpy(s + 2 * i, "\xc3\xa7", 2);
    }
    s[2 * CWAI_CW_MAX_CONTENT] = '\0';
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, s, NULL, &err), 0);
    cwai_http_req_free(&req);
    strcat(s, "x");
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, s, NULL, &err), -1);
    ck_assert_str_eq(err.code, "chatwoot_input");
    free(s);
    s = unit_big("", 10 * 1024 * 1024, "");
    ck_assert_int_eq(cwai_chatwoot_build_reply(&req, &conv318, s, NULL, &err), -1);
    free(s);
}
END_TEST

START_TEST(input_select)
{
    static const cwai_cw_item_t  items[] = {
        { "Comprar agora", "comprar" },
        { "Ver outros produtos", "catalogo" },
        { "Falar com atendente", "atendente" },
    };
    cwai_cw_item_t    many[11], bad[1];
    cwai_http_req_t   req;
    cwai_err_t        err;
    json_t           *b;
    size_t            i;

    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318,
                         "Posso ajudar em mais alguma coisa?", items, 3, NULL, &err), 0);
    assert_fixture(&req, "fixtures/chatwoot/reply_input_select_request.json");
    cwai_http_req_free(&req);

    /* value defaults to the title */
    for (i = 0; i < 11; i++) {
        many[i].title = "Opção de lista 24 chars";   /* 23 characters, 2-byte ç/ã */
        many[i].value = NULL;
    }
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "Escolha:", many, 10, NULL, &err), 0);
    b = unit_req_json(&req);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(
        json_object_get(b, "content_attributes"), "items"), 9), "value")), many[9].title);
    json_decref(b);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", many, 11, NULL, &err), -1);
    /* buttons (<= 3) cap titles at 20 characters */
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", many, 3, NULL, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", many, 0, NULL, &err), -1);
    bad[0].title = "";
    bad[0].value = "v";
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", bad, 1, NULL, &err), -1);
    bad[0].title = NULL;
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", bad, 1, NULL, &err), -1);
    bad[0].title = "ok";
    bad[0].value = "\xff";
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, "x", bad, 1, NULL, &err), -1);
    /* content may be empty when items carry the message */
    bad[0].value = "v";
    ck_assert_int_eq(cwai_chatwoot_build_select(&req, &conv318, NULL, bad, 1, "e1", &err), 0);
    b = unit_req_json(&req);
    ck_assert_ptr_null(json_object_get(b, "content"));
    json_decref(b);
    cwai_http_req_free(&req);
}
END_TEST

START_TEST(status_typing_assign)
{
    cwai_http_req_t   req;
    cwai_err_t        err;
    json_t           *b;

    ck_assert_int_eq(cwai_chatwoot_build_toggle_status(&req, &conv318, "open", 0, &err), 0);
    ck_assert_str_eq(req.path, "/api/v1/accounts/3/conversations/318/toggle_status");
    assert_fixture(&req, "fixtures/chatwoot/toggle_status_request.json");
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_toggle_status(&req, &conv318, "snoozed",
                                                       1781970000, &err), 0);
    b = unit_req_json(&req);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "snoozed_until")), 1781970000);
    json_decref(b);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_toggle_status(&req, &conv318, "open", 1781970000, &err), 0);
    ck_assert(strstr(req.body, "snoozed_until") == NULL);
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_toggle_status(&req, &conv318, "closed", 0, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_toggle_status(&req, &conv318, NULL, 0, &err), -1);

    ck_assert_int_eq(cwai_chatwoot_build_typing(&req, &conv318, 1, &err), 0);
    ck_assert_str_eq(req.path, "/api/v1/accounts/3/conversations/318/toggle_typing_status");
    assert_fixture(&req, "fixtures/chatwoot/toggle_typing_request.json");
    cwai_http_req_free(&req);

    ck_assert_int_eq(cwai_chatwoot_build_assign(&req, &conv318, 15, 0, &err), 0);
    ck_assert_str_eq(req.path, "/api/v1/accounts/3/conversations/318/assignments");
    ck_assert_str_eq(req.body, "{\"assignee_id\":15}");
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_assign(&req, &conv318, 0, 2, &err), 0);
    ck_assert_str_eq(req.body, "{\"team_id\":2}");
    cwai_http_req_free(&req);
    ck_assert_int_eq(cwai_chatwoot_build_assign(&req, &conv318, 15, 2, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_assign(&req, &conv318, 0, 0, &err), -1);
}
END_TEST

START_TEST(labels)
{
    const char *const  cur[] = { "hidratante", "VIP", "bad label\n", "hidratante" };
    const char *const  add[] = { "atendimento-humano", "Hidratante", "a b", "Urgente" };
    const char *const  rm[] = { "vip" };
    char             **out;
    size_t             n;
    cwai_http_req_t    req;
    cwai_err_t         err;
    char              *raw;
    cwai_http_resp_t   r;
    cwai_uperr_t       ue;

    ck_assert_int_eq(cwai_chatwoot_build_labels_get(&req, &conv318, &err), 0);
    ck_assert_str_eq(req.method, "GET");
    ck_assert_str_eq(req.path, "/api/v1/accounts/3/conversations/318/labels");
    ck_assert_ptr_null(req.body);
    cwai_http_req_free(&req);

    /* the fixture: current [hidratante] + atendimento-humano */
    ck_assert_int_eq(cwai_chatwoot_labels_merge(cur, 1, add, 1, NULL, 0, &out, &n), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(cwai_chatwoot_build_labels_set(&req, &conv318, (const char *const *) out,
                                                    n, &err), 0);
    assert_fixture(&req, "fixtures/chatwoot/add_labels_request.json");
    cwai_http_req_free(&req);
    cwai_chatwoot_labels_free(out, n);

    /* duplicates, case, invalid names, removal */
    ck_assert_int_eq(cwai_chatwoot_labels_merge(cur, 4, add, 4, rm, 1, &out, &n), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(out[0], "hidratante");
    ck_assert_str_eq(out[1], "atendimento-humano");
    ck_assert_str_eq(out[2], "urgente");
    cwai_chatwoot_labels_free(out, n);
    /* nothing new: no POST needed */
    ck_assert_int_eq(cwai_chatwoot_labels_merge(cur, 2, add + 1, 1, NULL, 0, &out, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[1], "VIP");        /* existing labels kept as Chatwoot has them */
    cwai_chatwoot_labels_free(out, n);
    ck_assert_int_eq(cwai_chatwoot_labels_merge(NULL, 0, NULL, 0, NULL, 0, &out, &n), 0);
    ck_assert_uint_eq(n, 0);
    cwai_chatwoot_labels_free(out, n);
    ck_assert_int_eq(cwai_chatwoot_labels_merge(NULL, 2, NULL, 0, NULL, 0, &out, &n), -1);
    ck_assert_int_eq(cwai_chatwoot_build_labels_set(&req, &conv318, cur + 2, 1, &err), -1);
    ck_assert_int_eq(cwai_chatwoot_build_labels_set(&req, &conv318, NULL, 0, &err), 0);
    ck_assert_str_eq(req.body, "{\"labels\":[]}");
    cwai_http_req_free(&req);

    raw = unit_read_file("fixtures/chatwoot/add_labels_response.json", NULL);
    r = unit_resp(200, raw);
    ck_assert_int_eq(cwai_chatwoot_parse_labels(&r, &out, &n, &ue), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[1], "atendimento-humano");
    cwai_chatwoot_labels_free(out, n);
    free(raw);
    r = unit_resp(200, "{\"payload\":[\"a\",1,null,\"b\"]}");
    ck_assert_int_eq(cwai_chatwoot_parse_labels(&r, &out, &n, &ue), 0);
    ck_assert_uint_eq(n, 2);
    cwai_chatwoot_labels_free(out, n);
    r = unit_resp(200, "{\"payload\":null}");
    ck_assert_int_eq(cwai_chatwoot_parse_labels(&r, &out, &n, &ue), -1);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(replies)
{
    char               *raw = unit_read_file("fixtures/chatwoot/reply_create_message_response.json", NULL);
    cwai_http_resp_t    r = unit_resp(200, raw);
    cwai_cw_message_t   m;
    cwai_uperr_t        ue;
    char                st[16];

    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), 0);
    ck_assert_int_eq(m.id, 90212);
    ck_assert_str_eq(m.echo_id, "");
    ck_assert(!m.private_note);
    free(raw);
    r = unit_resp(200, "{\"id\":5,\"echo_id\":\"cwai-1\",\"private\":true}");
    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), 0);
    ck_assert_str_eq(m.echo_id, "cwai-1");
    ck_assert(m.private_note);

    raw = unit_read_file("fixtures/chatwoot/toggle_status_response.json", NULL);
    r = unit_resp(200, raw);
    ck_assert_int_eq(cwai_chatwoot_parse_status(&r, st, &ue), 0);
    ck_assert_str_eq(st, "open");
    free(raw);
    r = unit_resp(200, "{\"payload\":{\"current_status\":\"aaaaaaaaaaaaaaaaaaaa\"}}");
    ck_assert_int_eq(cwai_chatwoot_parse_status(&r, st, &ue), -1);

    /* typing: 200 with an empty body */
    r = unit_resp(200, "");
    ck_assert_int_eq(cwai_chatwoot_parse_ok(&r, &ue), 0);
    r = unit_resp(200, NULL);
    ck_assert_int_eq(cwai_chatwoot_parse_ok(&r, &ue), 0);
    r = unit_resp(200, "null");                      /* assignment not found */
    ck_assert_int_eq(cwai_chatwoot_parse_ok(&r, &ue), 0);
}
END_TEST

static void
expect_cwerr(int status, const char *body, cwai_uperr_class_t cls, const char *code)
{
    cwai_http_resp_t   r = unit_resp(status, body);
    cwai_cw_message_t  m;
    cwai_uperr_t       ue;

    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), -1);
    ck_assert_msg(ue.cls == cls && strcmp(ue.code, code) == 0,
                  "status %d: %s/%s, expected %s/%s", status,
                  cwai_uperr_class_name(ue.cls), ue.code,
                  cwai_uperr_class_name(cls), code);
    ck_assert_int_eq(m.id, 0);
    ck_assert_int_eq(cwai_chatwoot_parse_ok(&r, &ue), status >= 200 && status < 300 ? 0 : -1);
}

START_TEST(errors_and_hostile)
{
    char              *raw = unit_read_file("fixtures/chatwoot/error_bot_endpoint_not_allowed.json", NULL);
    cwai_http_resp_t   r = unit_resp(401, raw);
    cwai_cw_message_t  m;
    cwai_uperr_t       ue;
    char              *s;
    static const char *const  bad[] = {
        "{\"id\":1", "", "null", "[]", "{\"id\":\"1\"}", "{\"id\":0}", "{\"id\":null}",
        "{\"id\":-4}", "{\"id\":1e400}",
    };
    size_t  i;

    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    ck_assert_str_eq(ue.code, "unauthorized");
    ck_assert_str_eq(ue.message, "Access to this endpoint is not authorized for bots");
    free(raw);
    expect_cwerr(401, "{\"error\":\"Invalid Access Token\"}", CWAI_UPERR_FATAL, "unauthorized");
    expect_cwerr(404, "{\"error\":\"Resource could not be found\"}", CWAI_UPERR_FATAL, "not_found");
    expect_cwerr(422, "{\"error\":\"Validation failed: Too many messages\"}", CWAI_UPERR_FATAL,
                 "too_many_messages");
    expect_cwerr(422, "{\"message\":\"Content is too long\",\"attributes\":[\"content\"]}",
                 CWAI_UPERR_FATAL, "unprocessable");
    expect_cwerr(429, "Retry later\n", CWAI_UPERR_RETRY, "rate_limited");
    expect_cwerr(500, "<html>We're sorry</html>", CWAI_UPERR_RETRY, "http_500");
    expect_cwerr(503, NULL, CWAI_UPERR_RETRY, "http_503");
    expect_cwerr(0, NULL, CWAI_UPERR_RETRY, "no_response");
    r = unit_resp(429, "Retry later\n");
    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), -1);
    ck_assert_str_eq(ue.message, "Retry later\n");
    ck_assert_uint_eq(ue.retry_after_ms, 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_cwerr(200, bad[i], CWAI_UPERR_FATAL, "malformed_body");
    }
    s = unit_deep(100000);
    expect_cwerr(200, s, CWAI_UPERR_FATAL, "malformed_body");
    expect_cwerr(422, s, CWAI_UPERR_FATAL, "unprocessable");
    free(s);
    s = unit_big("{\"id\":7,\"content\":\"", 10 * 1024 * 1024, "\"}");
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), 0);
    ck_assert_int_eq(m.id, 7);
    free(s);
    s = unit_big("{\"error\":\"", 10 * 1024 * 1024, "Too many messages\"}");
    expect_cwerr(422, s, CWAI_UPERR_FATAL, "unprocessable");   /* too long to scan */
    free(s);
    r = unit_resp(200, "{\"id\":7}");
    r.complete = 0;
    ck_assert_int_eq(cwai_chatwoot_parse_message(&r, &m, &ue), -1);
    ck_assert_str_eq(ue.code, "truncated");
}
END_TEST

CWAI_SUITE(chatwoot)
{
    TCase  *tc;
    Suite  *s = unit_suite("chatwoot", &tc);

    tcase_add_test(tc, reply_and_note);
    tcase_add_test(tc, content_limits);
    tcase_add_test(tc, input_select);
    tcase_add_test(tc, status_typing_assign);
    tcase_add_test(tc, labels);
    tcase_add_test(tc, replies);
    tcase_add_test(tc, errors_and_hostile);
    return s;
}
