/* OpenAI-compatible chat completions and embeddings (src/cwai_openai.h),
 * and the common helpers of src/cwai_http.h. Fixtures: t/fixtures/openai. */
#include "unit.h"
#include "cwai_openai.h"

#include <math.h>

/* ---- helpers shared with test_qdrant/odoo/chatwoot/tools.c ------------- */

/* JSON equality where numbers compare with a relative tolerance (floats
 * round-trip through float32). */
int
unit_json_near(const json_t *a, const json_t *b, double eps)
{
    const char  *k;
    json_t      *v;
    size_t       i;
    double       x, y;

    if (json_is_number(a) && json_is_number(b)) {
        x = json_number_value(a);
        y = json_number_value(b);
        return fabs(x - y) <= eps * (1 + fabs(x) + fabs(y));
    }
    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }
        json_object_foreach((json_t *) a, k, v) {
            if (!unit_json_near(v, json_object_get(b, k), eps)) {
                return 0;
            }
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }
        for (i = 0; i < json_array_size(a); i++) {
            if (!unit_json_near(json_array_get(a, i), json_array_get(b, i), eps)) {
                return 0;
            }
        }
        return 1;
    }
    return json_equal((json_t *) a, (json_t *) b);
}

json_t *
unit_load_json(const char *path)
{
    size_t        len;
    char         *s = unit_read_file(path, &len);
    json_error_t  e;
    json_t       *j = json_loadb(s, len, JSON_DECODE_ANY, &e);

    ck_assert_msg(j != NULL, "%s: %s", path, e.text);
    free(s);
    return j;
}

/* The request body as JSON. */
json_t *
unit_req_json(const cwai_http_req_t *r)
{
    json_t  *j;

    ck_assert_ptr_nonnull(r->body);
    ck_assert_uint_eq(strlen(r->body), r->body_len);
    j = json_loadb(r->body, r->body_len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

cwai_http_resp_t
unit_resp(int status, const char *body)
{
    cwai_http_resp_t  r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.body = body;
    r.len = body ? strlen(body) : 0;
    r.complete = 1;
    return r;
}

/* A string of n 'a's wrapped as prefix...suffix (the 10 MB tests). */
char *
unit_big(const char *prefix, size_t n, const char *suffix)
{
    size_t  lp = strlen(prefix), ls = strlen(suffix);
    char   *s = malloc(lp + n + ls + 1);

    ck_assert_ptr_nonnull(s);
    memcpy(s, prefix, lp);
    memset(s + lp, 'a', n);
    memcpy(s + lp + n, suffix, ls + 1);
    return s;
}

/* "[[[[...]]]]" nested depth times. */
char *
unit_deep(size_t depth)
{
    char  *s = malloc(2 * depth + 1);

    ck_assert_ptr_nonnull(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

/* ---- chat requests ------------------------------------------------------ */

static void
chat_from_fixture(cwai_chat_t *chat, const json_t *fx, size_t nmsg)
{
    size_t  i;
    json_t *m;

    ck_assert_int_eq(cwai_chat_init(chat, 4), 0);
    for (i = 0; i < nmsg; i++) {
        m = json_array_get(json_object_get(fx, "messages"), i);
        ck_assert_int_eq(cwai_chat_add(chat, json_string_value(json_object_get(m, "role")),
                             json_string_value(json_object_get(m, "content"))), 0);
    }
}

static void
opts_from_fixture(cwai_llm_opts_t *o, const json_t *fx)
{
    cwai_llm_opts_init(o);
    o->tools = json_object_get(fx, "tools");
    o->tool_choice = "auto";
    o->parallel_tool_calls = 1;
    o->temperature = 0.2;
    o->max_tokens = 512;
    o->user = "cw-3-8812";
}

/* Built body == fixture, once "stream": false is checked and removed. */
static void
assert_body_is(const cwai_http_req_t *req, const json_t *fx)
{
    json_t  *b = unit_req_json(req);

    ck_assert(json_is_false(json_object_get(b, "stream")));
    json_object_del(b, "stream");
    if (!unit_json_near(b, fx, 1e-9)) {
        char  *x = json_dumps(b, JSON_COMPACT), *y = json_dumps(fx, JSON_COMPACT);

        ck_abort_msg("body differs:\n%s\n%s", x, y);
    }
    json_decref(b);
}

START_TEST(chat_request_matches_fixture)
{
    json_t           *fx = unit_load_json("fixtures/openai/chat-completion-request-tools.json");
    cwai_llm_cfg_t    cfg = { .model = "gpt-4.1-mini" };
    cwai_chat_t       chat;
    cwai_llm_opts_t   o;
    cwai_http_req_t   req;
    cwai_err_t        err;

    chat_from_fixture(&chat, fx, 2);
    opts_from_fixture(&o, fx);
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
    ck_assert_int_eq(req.upstream, CWAI_UP_LLM);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.path, "/v1/chat/completions");
    ck_assert_str_eq(req.content_type, "application/json");
    ck_assert_ptr_null(req.cache_key);
    ck_assert_uint_eq(req.nheaders, 0);
    assert_body_is(&req, fx);
    cwai_http_req_free(&req);
    ck_assert_ptr_null(req.body);
    cwai_http_req_free(&req);           /* twice: harmless */
    cwai_chat_free(&chat);
    json_decref(fx);
}
END_TEST

START_TEST(tool_call_loop_with_fixtures)
{
    json_t             *fx1 = unit_load_json("fixtures/openai/chat-completion-request-tools.json");
    json_t             *fx2 = unit_load_json("fixtures/openai/chat-completion-request-tool-results.json");
    char               *r1 = unit_read_file("fixtures/openai/chat-completion-tool-call.json", NULL);
    char               *r2 = unit_read_file("fixtures/openai/chat-completion-final.json", NULL);
    cwai_llm_cfg_t      cfg = { .model = "gpt-4.1-mini" };
    cwai_chat_t         chat;
    cwai_llm_opts_t     o;
    cwai_http_req_t     req;
    cwai_http_resp_t    resp;
    cwai_llm_result_t   res;
    cwai_uperr_t        ue;
    cwai_err_t          err;
    json_t             *m;

    chat_from_fixture(&chat, fx1, 2);
    opts_from_fixture(&o, fx1);
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
    cwai_http_req_free(&req);

    resp = unit_resp(200, r1);
    ck_assert_int_eq(cwai_openai_parse_chat(&resp, &res, &ue), 0);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_NONE);
    ck_assert_ptr_null(res.content);
    ck_assert_int_eq(res.finish, CWAI_FINISH_TOOL_CALLS);
    ck_assert_str_eq(res.finish_reason, "tool_calls");
    ck_assert_uint_eq(res.ncalls, 2);
    ck_assert_str_eq(res.calls[0].id, "call_Qm8fX2rT1aLb7Yd0");
    ck_assert_str_eq(res.calls[0].name, "search_business_rules");
    ck_assert_ptr_nonnull(res.calls[0].args);
    ck_assert_str_eq(json_string_value(json_object_get(res.calls[0].args, "topic")), "frete");
    ck_assert_str_eq(res.calls[0].args_error, "");
    ck_assert_str_eq(json_string_value(json_object_get(res.calls[1].args, "topic")), "pagamento");
    ck_assert(res.usage.present);
    ck_assert_uint_eq(res.usage.prompt_tokens, 1187);
    ck_assert_uint_eq(res.usage.completion_tokens, 61);
    ck_assert_uint_eq(res.usage.total_tokens, 1248);
    ck_assert_uint_eq(res.usage.cached_tokens, 0);
    ck_assert_str_eq(res.model, "gpt-4.1-mini-2025-04-14");
    ck_assert_int_eq(cwai_chat_account(&chat, &res), 0);
    ck_assert_uint_eq(chat.steps, 1);
    m = json_array_get(json_object_get(fx2, "messages"), 3);
    ck_assert_int_eq(cwai_chat_add_tool_result(&chat, res.calls[0].id,
                         json_string_value(json_object_get(m, "content"))), 0);
    m = json_array_get(json_object_get(fx2, "messages"), 4);
    ck_assert_int_eq(cwai_chat_add_tool_result(&chat, res.calls[1].id,
                         json_string_value(json_object_get(m, "content"))), 0);
    cwai_llm_result_free(&res);

    /* the second request echoes the assistant tool_calls verbatim */
    ck_assert(cwai_chat_can_continue(&chat));
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
    assert_body_is(&req, fx2);
    cwai_http_req_free(&req);

    resp = unit_resp(200, r2);
    ck_assert_int_eq(cwai_openai_parse_chat(&resp, &res, &ue), 0);
    ck_assert_int_eq(res.finish, CWAI_FINISH_STOP);
    ck_assert_uint_eq(res.ncalls, 0);
    ck_assert(strncmp(res.content, "Oi! Sim: para Curitiba", 22) == 0);
    ck_assert_uint_eq(res.usage.cached_tokens, 1152);
    ck_assert_int_eq(cwai_chat_account(&chat, &res), 0);
    /* the turn's totals (fixtures README) */
    ck_assert_uint_eq(chat.prompt_tokens, 2649);
    ck_assert_uint_eq(chat.completion_tokens, 135);
    ck_assert_uint_eq(chat.cached_tokens, 1152);
    ck_assert_uint_eq(json_array_size(chat.messages), 6);
    cwai_llm_result_free(&res);
    cwai_chat_free(&chat);
    free(r1);
    free(r2);
    json_decref(fx1);
    json_decref(fx2);
}
END_TEST

START_TEST(per_upstream_flags)
{
    cwai_llm_cfg_t    cfg = { .model = "llama3.1", .use_max_tokens = 1,
                              .no_temperature = 1, .user_field = "user",
                              .chat_path = "/v1/chat/completions",
                              .no_parallel_tool_calls = 1, .timeout_ms = 9000 };
    cwai_chat_t       chat;
    cwai_llm_opts_t   o;
    cwai_http_req_t   req;
    cwai_err_t        err;
    json_t           *b, *tools = json_pack("[{s:s, s:{s:s}}]", "type", "function",
                                            "function", "name", "x");

    ck_assert_int_eq(cwai_chat_init(&chat, 0), 0);
    ck_assert_uint_eq(chat.max_steps, CWAI_CHAT_DEFAULT_STEPS);
    cwai_chat_add(&chat, "user", "oi");
    cwai_llm_opts_init(&o);
    o.temperature = 0.7;
    o.max_tokens = 300;
    o.user = "cw-1-2";
    o.tools = tools;
    o.parallel_tool_calls = 0;
    o.response_format = json_pack("{s:s}", "type", "json_object");
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
    ck_assert_uint_eq(req.timeout_ms, 9000);
    b = unit_req_json(&req);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "max_tokens")), 300);
    ck_assert_ptr_null(json_object_get(b, "max_completion_tokens"));
    ck_assert_ptr_null(json_object_get(b, "temperature"));
    ck_assert_ptr_null(json_object_get(b, "parallel_tool_calls"));
    ck_assert_str_eq(json_string_value(json_object_get(b, "user")), "cw-1-2");
    ck_assert_ptr_null(json_object_get(b, "safety_identifier"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b,
                         "response_format"), "type")), "json_object");
    ck_assert_str_eq(json_string_value(json_object_get(b, "tool_choice")), "auto");
    json_decref(b);
    cwai_http_req_free(&req);

    /* user_field "": never sent; a forced tool */
    cfg.user_field = "";
    o.tool_choice = "handoff_to_human";
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
    b = unit_req_json(&req);
    ck_assert_ptr_null(json_object_get(b, "user"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
        json_object_get(b, "tool_choice"), "function"), "name")), "handoff_to_human");
    json_decref(b);
    cwai_http_req_free(&req);

    /* no model, no messages */
    cfg.model = NULL;
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), -1);
    ck_assert_str_eq(err.code, "llm_config");
    cwai_http_req_free(&req);
    cwai_chat_free(&chat);
    cfg.model = "m";
    cwai_chat_init(&chat, 2);
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), -1);
    ck_assert_str_eq(err.code, "llm_input");
    /* roles and UTF-8 are checked */
    ck_assert_int_eq(cwai_chat_add(&chat, "function", "x"), -1);
    ck_assert_int_eq(cwai_chat_add(&chat, "user", "\xff\xfe"), -1);
    ck_assert_int_eq(cwai_chat_add_tool_result(&chat, "call_1", "\xc3"), -1);
    ck_assert_int_eq(cwai_chat_add(&chat, "user", NULL), -1);
    cwai_chat_free(&chat);
    json_decref(tools);
    json_decref((json_t *) o.response_format);
}
END_TEST

START_TEST(last_step_forces_text)
{
    cwai_llm_cfg_t     cfg = { .model = "m" };
    cwai_chat_t        chat;
    cwai_llm_opts_t    o;
    cwai_http_req_t    req;
    cwai_err_t         err;
    cwai_llm_result_t  res;
    json_t            *b, *tools = json_pack("[{s:s, s:{s:s}}]", "type", "function",
                                             "function", "name", "x");
    unsigned           i;

    cwai_chat_init(&chat, 3);
    cwai_chat_add(&chat, "user", "oi");
    cwai_llm_opts_init(&o);
    o.tools = tools;
    memset(&res, 0, sizeof(res));
    res.message = json_pack("{s:s, s:s}", "role", "assistant", "content", "x");
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), 0);
        b = unit_req_json(&req);
        ck_assert_str_eq(json_string_value(json_object_get(b, "tool_choice")),
                         i == 2 ? "none" : "auto");
        json_decref(b);
        cwai_http_req_free(&req);
        cwai_chat_account(&chat, &res);
    }
    ck_assert(!cwai_chat_can_continue(&chat));
    ck_assert_int_eq(cwai_openai_build_chat(&req, &cfg, &chat, &o, &err), -1);
    ck_assert_str_eq(err.code, "tool_loop_exhausted");
    json_decref(res.message);
    cwai_chat_free(&chat);
    json_decref(tools);
}
END_TEST

/* ---- chat responses -------------------------------------------------------- */

static int
parse_body(int status, const char *body, cwai_llm_result_t *res, cwai_uperr_t *ue)
{
    cwai_http_resp_t  r = unit_resp(status, body);

    return cwai_openai_parse_chat(&r, res, ue);
}

START_TEST(tool_call_arguments_are_checked)
{
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;
    const char        *body =
        "{\"choices\":[{\"finish_reason\":\"tool_calls\",\"message\":{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":["
        "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"find_customer\",\"arguments\":\"{not json\"}},"
        "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"find_customer\",\"arguments\":\"[1,2]\"}},"
        "{\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"find_customer\",\"arguments\":\"\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"search_products\",\"arguments\":{\"query\":\"x\"}}},"
        "{\"id\":\"c5\",\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}},"
        "{\"id\":\"c6\",\"type\":\"function\",\"function\":{\"name\":\"bad name!\",\"arguments\":\"{}\"}},"
        "{\"id\":\"c7\",\"type\":\"function\",\"function\":{\"name\":\"x\",\"arguments\":42}},"
        "\"junk\"]}}]}";

    ck_assert_int_eq(parse_body(200, body, &res, &ue), 0);
    ck_assert_uint_eq(res.ncalls, 8);
    ck_assert_ptr_null(res.calls[0].args);
    ck_assert(strstr(res.calls[0].args_error, "not valid JSON") != NULL);
    ck_assert_ptr_null(res.calls[1].args);
    ck_assert(strstr(res.calls[1].args_error, "not a JSON object") != NULL);
    ck_assert_ptr_nonnull(res.calls[2].args);       /* "" = no arguments */
    ck_assert_uint_eq(json_object_size(res.calls[2].args), 0);
    ck_assert_str_eq(res.calls[3].id, "call_3");     /* synthesised */
    ck_assert_str_eq(json_string_value(json_object_get(res.calls[3].args, "query")), "x");
    ck_assert_str_eq(res.calls[4].name, "");
    ck_assert(res.calls[4].args_error[0] != '\0');
    ck_assert(res.calls[5].args_error[0] != '\0');
    ck_assert(res.calls[6].args_error[0] != '\0');
    ck_assert(res.calls[7].args_error[0] != '\0');
    /* the echo answers every id */
    ck_assert_uint_eq(json_array_size(json_object_get(res.message, "tool_calls")), 8);
    ck_assert(json_is_null(json_object_get(res.message, "content")));
    ck_assert(!res.usage.present);
    cwai_llm_result_free(&res);
}
END_TEST

START_TEST(too_many_tool_calls)
{
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;
    char               body[8192];
    size_t             o = 0;
    int                i;

    o += (size_t) snprintf(body + o, sizeof(body) - o,
                           "{\"choices\":[{\"message\":{\"tool_calls\":[");
    for (i = 0; i < 17; i++) {
        o += (size_t) snprintf(body + o, sizeof(body) - o,
                               "%s{\"id\":\"c%d\",\"function\":{\"name\":\"x\",\"arguments\":\"{}\"}}",
                               i ? "," : "", i);
    }
    snprintf(body + o, sizeof(body) - o, "]}}]}");
    ck_assert_int_eq(parse_body(200, body, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    ck_assert_str_eq(ue.code, "too_many_tool_calls");
    ck_assert_uint_eq(res.ncalls, 0);
}
END_TEST

START_TEST(compatible_servers_and_refusals)
{
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;

    /* llama.cpp: extra "timings", no usage details */
    ck_assert_int_eq(parse_body(200, "{\"choices\":[{\"finish_reason\":\"stop\",\"message\":"
                                "{\"content\":\"ola\"}}],\"usage\":{\"prompt_tokens\":10,"
                                "\"completion_tokens\":2},\"timings\":{\"x\":1}}", &res, &ue), 0);
    ck_assert_str_eq(res.content, "ola");
    ck_assert_uint_eq(res.usage.total_tokens, 12);
    ck_assert_uint_eq(res.usage.cached_tokens, 0);
    cwai_llm_result_free(&res);
    /* a refusal replaces content */
    ck_assert_int_eq(parse_body(200, "{\"choices\":[{\"message\":{\"content\":null,"
                                "\"refusal\":\"no\"}}]}", &res, &ue), 0);
    ck_assert(res.refusal);
    ck_assert_str_eq(res.content, "no");
    ck_assert_int_eq(res.finish, CWAI_FINISH_NONE);
    cwai_llm_result_free(&res);
    /* length cut, reasoning tokens, absurd usage values */
    ck_assert_int_eq(parse_body(200, "{\"choices\":[{\"finish_reason\":\"length\",\"message\":"
                                "{\"content\":\"abc\"}}],\"usage\":{\"prompt_tokens\":-5,"
                                "\"completion_tokens\":3.0,\"prompt_tokens_details\":{\"cached_tokens\":99},"
                                "\"completion_tokens_details\":{\"reasoning_tokens\":\"x\"}}}", &res, &ue), 0);
    ck_assert_int_eq(res.finish, CWAI_FINISH_LENGTH);
    ck_assert_uint_eq(res.usage.prompt_tokens, 0);
    ck_assert_uint_eq(res.usage.completion_tokens, 3);
    ck_assert_uint_eq(res.usage.cached_tokens, 0);   /* capped at prompt */
    ck_assert_str_eq(cwai_finish_name(res.finish), "length");
    cwai_llm_result_free(&res);
}
END_TEST

static void
expect_error(int status, const char *body, cwai_uperr_class_t cls, const char *code)
{
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;

    ck_assert_int_eq(parse_body(status, body, &res, &ue), -1);
    ck_assert_msg(ue.cls == cls, "status %d: class %s, expected %s", status,
                  cwai_uperr_class_name(ue.cls), cwai_uperr_class_name(cls));
    ck_assert_msg(strcmp(ue.code, code) == 0, "status %d: code %s, expected %s",
                  status, ue.code, code);
    ck_assert_ptr_null(res.content);
    ck_assert_ptr_null(res.message);
}

START_TEST(error_fixtures)
{
    static const struct {
        const char          *file;
        int                  status;
        cwai_uperr_class_t   cls;
        const char          *code;
    } cases[] = {
        { "fixtures/openai/error-400-context-length.json", 400, CWAI_UPERR_FATAL, "context_length_exceeded" },
        { "fixtures/openai/error-401-invalid-key.json", 401, CWAI_UPERR_FATAL, "invalid_api_key" },
        { "fixtures/openai/error-429-insufficient-quota.json", 429, CWAI_UPERR_FATAL, "insufficient_quota" },
        { "fixtures/openai/error-429-rate-limit.json", 429, CWAI_UPERR_RETRY, "rate_limit_exceeded" },
        { "fixtures/openai/error-503-overloaded.json", 503, CWAI_UPERR_RETRY, "server_error" },
        { "fixtures/openai/error-llamacpp-400.json", 400, CWAI_UPERR_FATAL, "invalid_request_error" },
    };
    size_t             i;
    char              *b;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        b = unit_read_file(cases[i].file, NULL);
        expect_error(cases[i].status, b, cases[i].cls, cases[i].code);
        free(b);
    }
}
END_TEST

START_TEST(rate_limit_headers)
{
    char               *b = unit_read_file("fixtures/openai/error-429-rate-limit.json", NULL);
    char               *h = unit_read_file("fixtures/openai/error-429-rate-limit.headers", NULL);
    cwai_http_resp_t    r = unit_resp(429, b);
    cwai_llm_result_t   res;
    cwai_uperr_t        ue;

    /* values as the fixture's HTTP head has them */
    ck_assert(strstr(h, "retry-after: 1\r\n") != NULL);
    ck_assert(strstr(h, "retry-after-ms: 264\r\n") != NULL);
    ck_assert(strstr(h, "x-ratelimit-reset-tokens: 264ms\r\n") != NULL);
    r.retry_after = "1";
    r.retry_after_ms = "264";
    r.ratelimit_reset = "264ms";
    ck_assert_int_eq(cwai_openai_parse_chat(&r, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
    ck_assert_uint_eq(ue.retry_after_ms, 264);
    ck_assert(strstr(ue.message, "Rate limit reached") != NULL);
    ck_assert_int_eq(cwai_http_retry_delay(&ue, 0, 2, 1000, 0), 264);
    r.retry_after_ms = NULL;
    cwai_openai_parse_chat(&r, &res, &ue);
    ck_assert_uint_eq(ue.retry_after_ms, 1000);
    r.retry_after = NULL;
    cwai_openai_parse_chat(&r, &res, &ue);
    ck_assert_uint_eq(ue.retry_after_ms, 264);
    /* x-should-retry overrides; quota never retried */
    r.should_retry = "false";
    cwai_openai_parse_chat(&r, &res, &ue);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    free(b);
    b = unit_read_file("fixtures/openai/error-429-insufficient-quota.json", NULL);
    r = unit_resp(429, b);
    r.should_retry = "true";
    r.retry_after = "5";
    cwai_openai_parse_chat(&r, &res, &ue);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
    ck_assert_uint_eq(ue.retry_after_ms, 0);
    ck_assert_int_eq(cwai_http_retry_delay(&ue, 0, 2, 1000, 0), -1);
    free(b);
    free(h);
}
END_TEST

START_TEST(other_error_shapes)
{
    /* vLLM's flat error; {"error":"..."}; plain text; HTML from a proxy */
    expect_error(400, "{\"object\":\"error\",\"message\":\"bad\",\"type\":\"BadRequestError\",\"code\":400}",
                 CWAI_UPERR_FATAL, "BadRequestError");
    expect_error(404, "{\"error\":\"model 'x' not found\"}", CWAI_UPERR_FATAL, "http_404");
    expect_error(502, "<html>Bad Gateway</html>", CWAI_UPERR_RETRY, "http_502");
    expect_error(504, "", CWAI_UPERR_RETRY, "http_504");
    expect_error(408, NULL, CWAI_UPERR_RETRY, "http_408");
    expect_error(403, "{\"error\":{\"message\":null,\"type\":null,\"code\":null}}",
                 CWAI_UPERR_FATAL, "http_403");
    /* an error object inside a 200 */
    expect_error(200, "{\"error\":{\"message\":\"x\",\"type\":\"server_error\"}}",
                 CWAI_UPERR_FATAL, "server_error");
}
END_TEST

START_TEST(transport_failures)
{
    cwai_http_resp_t   r = unit_resp(200, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}");
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;

    r.complete = 0;
    ck_assert_int_eq(cwai_openai_parse_chat(&r, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
    ck_assert_str_eq(ue.code, "truncated");
    r.complete = 1;
    r.status = 0;
    ck_assert_int_eq(cwai_openai_parse_chat(&r, &res, &ue), -1);
    ck_assert_str_eq(ue.code, "no_response");
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
    ck_assert_int_eq(cwai_openai_parse_chat(NULL, &res, &ue), -1);
    r.status = 200;
    r.len = (size_t) CWAI_HTTP_MAX_BODY + 1;     /* never read */
    ck_assert_int_eq(cwai_openai_parse_chat(&r, &res, &ue), -1);
    ck_assert_str_eq(ue.code, "body_too_large");
    r.status = 999;
    r.len = 2;
    ck_assert_int_eq(cwai_openai_parse_chat(&r, &res, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
}
END_TEST

START_TEST(hostile_bodies)
{
    static const char *const  bad[] = {
        "{\"choices\":[{\"message\":{\"content\":\"abc\"",           /* truncated */
        "",
        "null",
        "[]",
        "\"choices\"",
        "{\"choices\":null,\"usage\":null,\"model\":null}",
        "{\"choices\":\"x\"}",
        "{\"choices\":[]}",
        "{\"choices\":[null]}",
        "{\"choices\":[{\"message\":null}]}",
        "{\"choices\":[{\"message\":{\"content\":5}}]}",
        "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":null}}]}",
        "{\"choices\":[{\"message\":{\"content\":\"\",\"tool_calls\":[]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":{\"a\":1}}}]}",
        "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":1e400}}",
        "{\"choices\":[{\"message\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":123456789012345678901234567890}}",
        "{\"choices\":[{\"message\":{\"content\":\"\\ud800\"}}]}",
        "\xff\xfe{}",
    };
    cwai_llm_result_t  res;
    cwai_uperr_t       ue;
    size_t             i;
    char              *s;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(parse_body(200, bad[i], &res, &ue) == -1, "case %zu accepted", i);
        ck_assert_msg(ue.cls == CWAI_UPERR_FATAL, "case %zu: %s", i, ue.code);
        ck_assert_ptr_null(res.message);
    }
    /* deep nesting */
    s = unit_deep(100000);
    ck_assert_int_eq(parse_body(200, s, &res, &ue), -1);
    ck_assert_str_eq(ue.code, "malformed_body");
    free(s);
    /* 10 MB of content is accepted as text, no crash */
    s = unit_big("{\"choices\":[{\"message\":{\"content\":\"", 10 * 1024 * 1024, "\"}}]}");
    ck_assert_int_eq(parse_body(200, s, &res, &ue), 0);
    ck_assert_uint_eq(strlen(res.content), 10 * 1024 * 1024);
    cwai_llm_result_free(&res);
    free(s);
    /* 10 MB of tool arguments: an error for that call only */
    s = unit_big("{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":"
                 "{\"name\":\"x\",\"arguments\":\"", 10 * 1024 * 1024, "\"}}]}}]}");
    ck_assert_int_eq(parse_body(200, s, &res, &ue), 0);
    ck_assert_ptr_null(res.calls[0].args);
    ck_assert(strstr(res.calls[0].args_error, "longer") != NULL);
    cwai_llm_result_free(&res);
    free(s);
    /* an error body that is itself hostile */
    s = unit_deep(5000);
    expect_error(500, s, CWAI_UPERR_RETRY, "http_500");
    free(s);
}
END_TEST

/* ---- embeddings ----------------------------------------------------------- */

START_TEST(embeddings_request_matches_fixture)
{
    json_t           *fx = unit_load_json("fixtures/openai/embeddings-request-batch.json");
    json_t           *in = json_object_get(fx, "input"), *b;
    const char       *texts[3];
    cwai_llm_cfg_t    cfg = { .model = "text-embedding-3-small", .embed_cache_ttl_ms = 60000 };
    cwai_http_req_t   req, req2;
    cwai_err_t        err;
    size_t            i;

    for (i = 0; i < 3; i++) {
        texts[i] = json_string_value(json_array_get(in, i));
    }
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 3, 8, "belapele", &err), 0);
    ck_assert_int_eq(req.upstream, CWAI_UP_EMBEDDINGS);
    ck_assert_str_eq(req.path, "/v1/embeddings");
    b = unit_req_json(&req);
    ck_assert(json_equal(b, fx));
    ck_assert_ptr_null(req.cache_key);             /* batches are not cached */
    json_decref(b);
    cwai_http_req_free(&req);

    /* one input: cached, key stable and input-dependent */
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 1, 8, "belapele", &err), 0);
    ck_assert_int_eq(cwai_openai_build_embeddings(&req2, &cfg, texts, 1, 8, "belapele", &err), 0);
    ck_assert_ptr_nonnull(req.cache_key);
    ck_assert(strncmp(req.cache_key, "cwai:embed:", 11) == 0);
    ck_assert_str_eq(req.cache_key, req2.cache_key);
    ck_assert_uint_eq(req.cache_ttl_ms, 60000);
    cwai_http_req_free(&req2);
    ck_assert_int_eq(cwai_openai_build_embeddings(&req2, &cfg, texts + 1, 1, 8, "belapele", &err), 0);
    ck_assert_str_ne(req.cache_key, req2.cache_key);
    cwai_http_req_free(&req2);
    ck_assert_int_eq(cwai_openai_build_embeddings(&req2, &cfg, texts, 1, 16, "belapele", &err), 0);
    ck_assert_str_ne(req.cache_key, req2.cache_key);
    cwai_http_req_free(&req2);
    cwai_http_req_free(&req);

    /* dimensions 0: omitted */
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 1, 0, NULL, &err), 0);
    b = unit_req_json(&req);
    ck_assert_ptr_null(json_object_get(b, "dimensions"));
    ck_assert_str_eq(json_string_value(json_object_get(b, "encoding_format")), "float");
    json_decref(b);
    cwai_http_req_free(&req);

    /* refused inputs */
    texts[1] = "";
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 3, 8, NULL, &err), -1);
    ck_assert_str_eq(err.code, "embed_input");
    texts[1] = "\xc3\x28";
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 3, 8, NULL, &err), -1);
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 0, 8, NULL, &err), -1);
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, NULL, 1, 8, NULL, &err), -1);
    cfg.model = "";
    ck_assert_int_eq(cwai_openai_build_embeddings(&req, &cfg, texts, 1, 8, NULL, &err), -1);
    cwai_http_req_free(&req);
    json_decref(fx);
}
END_TEST

START_TEST(embeddings_response)
{
    char               *b = unit_read_file("fixtures/openai/embeddings-response-batch.json", NULL);
    json_t             *j, *data;
    cwai_http_resp_t    r = unit_resp(200, b);
    cwai_embeddings_t   e;
    cwai_uperr_t        ue;
    char               *s;

    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 3, 8, &e, &ue), 0);
    ck_assert_uint_eq(e.n, 3);
    ck_assert_uint_eq(e.dim, 8);
    ck_assert(fabsf(e.vectors[0] - 0.695226f) < 1e-6f);
    ck_assert(fabsf(e.vectors[8] + 0.172562f) < 1e-6f);
    ck_assert(fabsf(e.vectors[23] + 0.465274f) < 1e-6f);
    ck_assert_uint_eq(e.usage.prompt_tokens, 118);
    ck_assert_uint_eq(e.usage.total_tokens, 118);
    cwai_embeddings_free(&e);
    /* any dimension when 0 */
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 3, 0, &e, &ue), 0);
    ck_assert_uint_eq(e.dim, 8);
    cwai_embeddings_free(&e);
    /* wrong expectations */
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 3, 16, &e, &ue), -1);
    ck_assert_str_eq(ue.code, "dimension_mismatch");
    ck_assert_ptr_null(e.vectors);
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 2, 8, &e, &ue), -1);
    ck_assert_str_eq(ue.code, "malformed_body");
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 0, 8, &e, &ue), -1);

    /* placed by index, not by position */
    j = json_loadb(b, strlen(b), 0, NULL);
    data = json_object_get(j, "data");
    json_array_insert(data, 0, json_array_get(data, 2));
    json_array_remove(data, 3);
    s = json_dumps(j, 0);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 3, 8, &e, &ue), 0);
    ck_assert(fabsf(e.vectors[0] - 0.695226f) < 1e-6f);
    ck_assert(fabsf(e.vectors[16] - 0.337323f) < 1e-6f);
    cwai_embeddings_free(&e);
    free(s);
    /* a repeated index */
    json_integer_set(json_object_get(json_array_get(data, 0), "index"), 0);
    s = json_dumps(j, 0);
    r = unit_resp(200, s);
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 3, 8, &e, &ue), -1);
    free(s);
    json_decref(j);
    free(b);
}
END_TEST

START_TEST(embeddings_hostile)
{
    static const char *const  bad[] = {
        "{\"data\":[{\"index\":0,\"embedding\":[1,2]}",
        "{\"data\":null}",
        "{\"data\":[null]}",
        "{\"data\":[{\"index\":\"0\",\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":1,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":-1,\"embedding\":[1]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":\"AAAAAA==\"}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,null]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1e39]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1e999]}]}",
    };
    cwai_http_resp_t    r;
    cwai_embeddings_t   e;
    cwai_uperr_t        ue;
    size_t              i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = unit_resp(200, bad[i]);
        ck_assert_msg(cwai_openai_parse_embeddings(&r, 1, 0, &e, &ue) == -1, "case %zu", i);
        ck_assert_int_eq(ue.cls, CWAI_UPERR_FATAL);
        ck_assert_ptr_null(e.vectors);
    }
    r = unit_resp(429, "{\"error\":{\"message\":\"slow\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
    r.retry_after = "2";
    ck_assert_int_eq(cwai_openai_parse_embeddings(&r, 1, 0, &e, &ue), -1);
    ck_assert_int_eq(ue.cls, CWAI_UPERR_RETRY);
    ck_assert_uint_eq(ue.retry_after_ms, 2000);
}
END_TEST

/* ---- cwai_http helpers ------------------------------------------------------ */

START_TEST(http_durations_and_retry)
{
    uint32_t          ms;
    cwai_uperr_t      e;
    cwai_http_resp_t  r = unit_resp(429, "");

    ck_assert_int_eq(cwai_http_parse_duration_ms("6m0s", &ms), 0);
    ck_assert_uint_eq(ms, 360000);
    ck_assert_int_eq(cwai_http_parse_duration_ms("264ms", &ms), 0);
    ck_assert_uint_eq(ms, 264);
    ck_assert_int_eq(cwai_http_parse_duration_ms("1.5s", &ms), 0);
    ck_assert_uint_eq(ms, 1500);
    ck_assert_int_eq(cwai_http_parse_duration_ms("1h2m3.5s", &ms), 0);
    ck_assert_uint_eq(ms, 3723500);
    ck_assert_int_eq(cwai_http_parse_duration_ms(" 2 ", &ms), 0);
    ck_assert_uint_eq(ms, 2000);
    ck_assert_int_eq(cwai_http_parse_duration_ms("9999999999999h", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms("1000000000h", &ms), 0);
    ck_assert_uint_eq(ms, UINT32_MAX);
    ck_assert_int_eq(cwai_http_parse_duration_ms("", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms("abc", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms("1m30", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms("-1s", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms("1x", &ms), -1);
    ck_assert_int_eq(cwai_http_parse_duration_ms(NULL, &ms), -1);

    /* HTTP-date Retry-After, relative to resp.now */
    r.retry_after = "Sun, 06 Nov 1994 08:49:37 GMT";
    r.now = 784111777 - 30;
    ck_assert_uint_eq(cwai_http_retry_after(&r), 30000);
    r.now = 0;
    ck_assert_uint_eq(cwai_http_retry_after(&r), 0);
    r.retry_after = "garbage";
    ck_assert_uint_eq(cwai_http_retry_after(&r), 0);
    r.retry_after_ms = "-5";
    ck_assert_uint_eq(cwai_http_retry_after(&r), 0);

    /* the backoff policy */
    cwai_uperr_set(&e, CWAI_UPERR_RETRY, 503, "x", NULL);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 0, 2, 1000, 0), 500);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 1, 2, 1000, 0), 1000);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 1, 2, 750, 0), 750);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 1, 2, 0, 0), 750);     /* clamped */
    ck_assert_int_eq(cwai_http_retry_delay(&e, 2, 2, 1000, 0), -1);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 2, 0, 1000, 0), -1);   /* default 2 */
    ck_assert_int_eq(cwai_http_retry_delay(&e, 9, 20, 1000, 0), 8000);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 1, 2, 1000, 600), -1);
    e.retry_after_ms = 3000;
    ck_assert_int_eq(cwai_http_retry_delay(&e, 0, 2, 900, 0), 3000);
    ck_assert_int_eq(cwai_http_retry_delay(&e, 0, 2, 900, 2000), -1);
    e.retry_after_ms = 120000;                  /* > 60 s: own backoff */
    ck_assert_int_eq(cwai_http_retry_delay(&e, 0, 2, 1000, 0), 500);
    e.cls = CWAI_UPERR_FATAL;
    ck_assert_int_eq(cwai_http_retry_delay(&e, 0, 2, 1000, 0), -1);
    ck_assert_int_eq(cwai_http_retry_delay(NULL, 0, 2, 1000, 0), -1);
    ck_assert_int_eq(cwai_http_status_class(204), CWAI_UPERR_NONE);
    ck_assert_int_eq(cwai_http_status_class(409), CWAI_UPERR_RETRY);
    ck_assert_int_eq(cwai_http_status_class(418), CWAI_UPERR_FATAL);
    ck_assert_str_eq(cwai_upstream_name(CWAI_UP_ERP), "erp");
    ck_assert_str_eq(cwai_upstream_name(CWAI_UP__COUNT), "?");
}
END_TEST

START_TEST(http_request_helpers)
{
    cwai_http_req_t  r;
    char            *k1, *k2, buf[16];
    cwai_utc_tm_t    tm;
    int64_t          t;

    cwai_http_req_init(&r, CWAI_UP_ERP, "POST");
    ck_assert_int_eq(cwai_http_req_add_header(&r, "Authorization", "bearer x", 1), 0);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X-A", "a\r\nInjected: 1", 0), -1);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X B", "a", 0), -1);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X-B", "b", 0), 0);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X-C", "c", 0), 0);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X-D", "d", 0), 0);
    ck_assert_int_eq(cwai_http_req_add_header(&r, "X-E", "e", 0), -1);   /* full */
    ck_assert_str_eq(cwai_http_req_header(&r, "authorization"), "bearer x");
    ck_assert_ptr_null(cwai_http_req_header(&r, "X-E"));
    ck_assert_int_eq(r.headers[0].secret, 1);
    cwai_http_req_free(&r);
    ck_assert_uint_eq(r.nheaders, 0);

    /* cache keys: stable, field-separated */
    k1 = cwai_http_cache_key("t", "erp", "m", "ab", 2);
    k2 = cwai_http_cache_key("t", "erp", "ma", "b", 1);
    ck_assert_str_ne(k1, k2);
    free(k2);
    k2 = cwai_http_cache_key("t", "erp", "m", "ab", 2);
    ck_assert_str_eq(k1, k2);
    ck_assert_uint_eq(strlen(k1), strlen("cwai:erp:") + 16);
    free(k1);
    free(k2);

    /* bounded UTF-8 copy */
    cwai_http_copy_text(buf, sizeof(buf), "abc\x01" "d", 5);
    ck_assert_str_eq(buf, "abc d");
    cwai_http_copy_text(buf, sizeof(buf), "ação ação ação ação", strlen("ação ação ação ação"));
    ck_assert(strlen(buf) < sizeof(buf));
    ck_assert(strcmp(buf + strlen(buf) - 3, "...") == 0);
    {
        json_t *s = json_string(buf);           /* still valid UTF-8 */

        ck_assert_ptr_nonnull(s);
        json_decref(s);
    }
    cwai_http_copy_text(buf, sizeof(buf), "\xff\xfe", 2);
    ck_assert_str_eq(buf, "??");

    /* UTC calendar */
    ck_assert_int_eq(cwai_utc_parse("2026-12-02 13:00:00", &t), 0);
    cwai_utc_split(t, &tm);
    ck_assert_int_eq(tm.year, 2026);
    ck_assert_int_eq(tm.month, 12);
    ck_assert_int_eq(tm.day, 2);
    ck_assert_int_eq(tm.hour, 13);
    ck_assert_int_eq(tm.wday, 3);               /* a Wednesday */
    ck_assert_int_eq(cwai_utc_mktime(&tm), t);
    ck_assert_int_eq(cwai_utc_parse("2026-11-20T14:31:05.482Z", &t), 0);
    ck_assert_int_eq(cwai_utc_parse("1970-01-01", &t), 0);
    ck_assert_int_eq(t, 0);
    cwai_utc_split(-1, &tm);
    ck_assert_int_eq(tm.year, 1969);
    ck_assert_int_eq(tm.hour, 23);
    ck_assert_int_eq(cwai_utc_parse("2026-02-29 10:00:00", &t), -1);
    ck_assert_int_eq(cwai_utc_parse("2028-02-29 10:00:00", &t), 0);
    ck_assert_int_eq(cwai_utc_parse("2026-13-01", &t), -1);
    ck_assert_int_eq(cwai_utc_parse("2026-12-01 24:00", &t), -1);
    ck_assert_int_eq(cwai_utc_parse("2026-12-01 10:00x", &t), -1);
    ck_assert_int_eq(cwai_utc_parse("", &t), -1);
    ck_assert_int_eq(cwai_utc_parse(NULL, &t), -1);
}
END_TEST

CWAI_SUITE(openai)
{
    TCase  *tc;
    Suite  *s = unit_suite("openai", &tc);

    tcase_add_test(tc, chat_request_matches_fixture);
    tcase_add_test(tc, tool_call_loop_with_fixtures);
    tcase_add_test(tc, per_upstream_flags);
    tcase_add_test(tc, last_step_forces_text);
    tcase_add_test(tc, tool_call_arguments_are_checked);
    tcase_add_test(tc, too_many_tool_calls);
    tcase_add_test(tc, compatible_servers_and_refusals);
    tcase_add_test(tc, error_fixtures);
    tcase_add_test(tc, rate_limit_headers);
    tcase_add_test(tc, other_error_shapes);
    tcase_add_test(tc, transport_failures);
    tcase_add_test(tc, hostile_bodies);
    tcase_add_test(tc, embeddings_request_matches_fixture);
    tcase_add_test(tc, embeddings_response);
    tcase_add_test(tc, embeddings_hostile);
    tcase_add_test(tc, http_durations_and_retry);
    tcase_add_test(tc, http_request_helpers);
    return s;
}
