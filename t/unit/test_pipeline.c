/* The agent pipeline, driven step by step with fixture responses. */
#include "unit.h"
#include "cwai_pipeline.h"

static cwai_domain_t  *dom;
static cwai_bot_t     *bot;
static int            no_model;             /* start()'s input flag */
static const char    *no_model_reason;
static int64_t        test_now;             /* 0: the store's reference now */

static void
setup(void)
{
    const char  *paths[] = { "../../domains/cosmetics.yaml" };
    cwai_err_t   err;

    dom = cwai_domain_load(paths, 1, &err);
    ck_assert_msg(dom != NULL, "%s", err.detail);
    bot = cwai_agent_new(dom, &err);
    ck_assert_msg(bot != NULL, "%s", err.detail);
}

static void
teardown(void)
{
    cwai_agent_free(bot);
    cwai_domain_free(dom);
}

static void
cfg_init(cwai_pipeline_cfg_t *c, int llm)
{
    memset(c, 0, sizeof(*c));
    c->has_chatwoot = 1;
    c->has_llm = llm;
    c->llm.model = "gpt-4.1-mini";
    c->max_steps = 4;
    c->max_retries = 2;
    c->temperature = -1;
    c->answer_threshold = 1.01;     /* always ask the model when it exists */
    c->fallback_threshold = 0.6;
}

static cwai_pipeline_t *
start(const cwai_pipeline_cfg_t *c, const char *text, cwai_step_t *step)
{
    cwai_pipeline_input_t  in;
    cwai_pipeline_t       *p;
    cwai_err_t             err;

    memset(&in, 0, sizeof(in));
    in.cfg = c;
    in.domain = dom;
    in.bot = bot;
    in.tenant = "cosmetics";
    in.account_id = 3;
    in.inbox_id = 7;
    in.conversation_id = 318;
    in.message_id = 90211;
    in.contact_id = 1042;
    in.contact_phone = "+5511987654321";
    in.channel = "whatsapp";
    in.text = text;
    in.len = strlen(text);
    in.now = test_now ? test_now : 1796043600;  /* 2026-11-30T10:00:00-03:00 */
    in.no_model = no_model;
    in.no_model_reason = no_model_reason;
    p = cwai_pipeline_new(&in, &err);
    ck_assert_msg(p != NULL, "%s", err.detail);
    ck_assert_int_eq(cwai_pipeline_start(p, step), 0);
    return p;
}

static void
feed(cwai_pipeline_t *p, int status, const char *fixture, cwai_step_t *step)
{
    cwai_http_resp_t  resp;
    char             *body = fixture ? unit_read_file(fixture, NULL) : NULL;

    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.body = body ? body : "";
    resp.len = body ? strlen(body) : 0;
    resp.complete = status != 0;
    resp.now = 1796043600;
    ck_assert_int_eq(cwai_pipeline_feed(p, &resp, step), 0);
    free(body);
}

static void
expect_request(const cwai_step_t *s, cwai_upstream_t up, const char *path_part)
{
    ck_assert_int_eq(s->kind, CWAI_STEP_REQUEST);
    ck_assert_int_eq(s->req->upstream, up);
    ck_assert_msg(strstr(s->req->path, path_part) != NULL, "path %s lacks %s",
                  s->req->path, path_part);
}

START_TEST(embedded_answer_is_posted)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;

    cfg_init(&c, 0);
    p = start(&c, "quanto custa o sérum de vitamina C?", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/api/v1/accounts/3/conversations/318/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "R$ 89,90"));
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"private\":false"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_DONE);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_REPLIED);
    ck_assert_ptr_nonnull(strstr(s.reply, "R$ 89,90"));
    ck_assert_str_eq(cwai_pipeline_stats(p)->answered_by, "embedded");
    ck_assert_str_eq(cwai_pipeline_stats(p)->agent, "sales");
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(request_for_a_person_hands_off)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;

    cfg_init(&c, 1);    /* even with a model: no tokens spent */
    p = start(&c, "quero falar com um atendente humano", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");          /* notice */
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"private\":false"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");          /* note */
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"private\":true"));
    ck_assert_ptr_nonnull(strstr(s.req->body, "human_request"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/labels");
    ck_assert_ptr_nonnull(strstr(s.req->body, "bot-handoff"));
    feed(p, 200, "fixtures/chatwoot/add_labels_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/toggle_status");
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"open\""));
    feed(p, 200, "fixtures/chatwoot/toggle_status_response.json", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_DONE);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_HANDOFF);
    ck_assert_str_eq(s.reason, "customer_request");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->llm_calls, 0);
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(model_answer_with_usage)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;

    cfg_init(&c, 1);
    p = start(&c, "vocês entregam em Curitiba? frete grátis?", &s);
    expect_request(&s, CWAI_UP_LLM, "/v1/chat/completions");
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"tools\""));
    ck_assert_ptr_nonnull(strstr(s.req->body, "handoff_to_human"));
    ck_assert_ptr_nonnull(strstr(s.req->body, "Curitiba"));
    feed(p, 200, "fixtures/openai/chat-completion-final.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "frete"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_REPLIED);
    ck_assert_str_eq(cwai_pipeline_stats(p)->answered_by, "llm");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->prompt_tokens, 1462);
    ck_assert_uint_eq(cwai_pipeline_stats(p)->completion_tokens, 74);
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(rate_limited_then_success)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    cwai_http_resp_t      r;
    char                 *body = unit_read_file("fixtures/openai/error-429-rate-limit.json", NULL);

    cfg_init(&c, 1);
    p = start(&c, "vocês entregam em Curitiba?", &s);
    expect_request(&s, CWAI_UP_LLM, "/chat/completions");

    memset(&r, 0, sizeof(r));
    r.status = 429;
    r.body = body;
    r.len = strlen(body);
    r.complete = 1;
    r.retry_after = "1";
    ck_assert_int_eq(cwai_pipeline_feed(p, &r, &s), 0);
    free(body);
    ck_assert_int_eq(s.kind, CWAI_STEP_WAIT);
    ck_assert_uint_eq(s.delay_ms, 1000);       /* Retry-After honoured */

    ck_assert_int_eq(cwai_pipeline_resume(p, &s), 0);
    expect_request(&s, CWAI_UP_LLM, "/chat/completions");
    feed(p, 200, "fixtures/openai/chat-completion-final.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->retries, 1);
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(quota_exhausted_falls_back_or_hands_off)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;

    /* insufficient_quota is not retried; a confident embedded answer goes out */
    cfg_init(&c, 1);
    p = start(&c, "quanto custa o sérum de vitamina C?", &s);
    feed(p, 429, "fixtures/openai/error-429-insufficient-quota.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "R$ 89,90"));
    ck_assert_str_eq(cwai_pipeline_stats(p)->answered_by, "fallback");
    cwai_pipeline_free(p);

    /* nothing confident: a handoff whose note says why */
    p = start(&c, "blorp fizz quux zzz", &s);
    feed(p, 429, "fixtures/openai/error-429-insufficient-quota.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "insufficient_quota"));
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"private\":true"));
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(model_down_after_retries)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    int                   i;

    cfg_init(&c, 1);
    p = start(&c, "blorp fizz quux zzz", &s);
    for (i = 0; i < 2; i++) {
        expect_request(&s, CWAI_UP_LLM, "/chat/completions");
        feed(p, 0, NULL, &s);                   /* no response (timeout) */
        ck_assert_int_eq(s.kind, CWAI_STEP_WAIT);
        ck_assert_int_eq(cwai_pipeline_resume(p, &s), 0);
    }
    feed(p, 503, "fixtures/openai/error-503-overloaded.json", &s);
    /* third failure: handoff */
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(chatwoot_500_then_success)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    cwai_http_resp_t      r;

    cfg_init(&c, 0);
    p = start(&c, "quanto custa o sérum de vitamina C?", &s);
    memset(&r, 0, sizeof(r));
    r.status = 500;
    r.body = "{\"error\":\"boom\"}";
    r.len = strlen(r.body);
    r.complete = 1;
    ck_assert_int_eq(cwai_pipeline_feed(p, &r, &s), 0);
    ck_assert_int_eq(s.kind, CWAI_STEP_WAIT);
    ck_assert_int_eq(cwai_pipeline_resume(p, &s), 0);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_REPLIED);

    cwai_pipeline_free(p);

    /* failing for good: FAILED with the reason, never silently dropped */
    p = start(&c, "quanto custa o sérum de vitamina C?", &s);
    r.status = 422;
    r.body = "{\"error\":\"Validation failed: Too many messages\"}";
    r.len = strlen(r.body);
    ck_assert_int_eq(cwai_pipeline_feed(p, &r, &s), 0);
    ck_assert_int_eq(s.kind, CWAI_STEP_DONE);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_FAILED);
    ck_assert_ptr_nonnull(strstr(s.reason, "chatwoot_reply_failed"));
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(hostile_model_bodies)
{
    static const char *bodies[] = {
        "", "{", "[]", "null", "{\"choices\":5}", "{\"choices\":[{}]}",
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":7}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":1,\"function\":{\"name\":null}}]}}]}",
        "<html>502</html>"
    };
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    cwai_http_resp_t      r;
    size_t                i;

    cfg_init(&c, 1);
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        p = start(&c, "vocês entregam em Curitiba?", &s);
        memset(&r, 0, sizeof(r));
        r.status = 200;
        r.body = bodies[i];
        r.len = strlen(bodies[i]);
        r.complete = 1;
        ck_assert_int_eq(cwai_pipeline_feed(p, &r, &s), 0);
        /* never a crash: a fallback reply or a handoff is under way, or
         * (a tool call with a bad name) the model is told and asked again */
        ck_assert_msg(s.kind == CWAI_STEP_REQUEST
                      && (s.req->upstream == CWAI_UP_CHATWOOT
                          || s.req->upstream == CWAI_UP_LLM),
                      "body %zu: step %d", i, s.kind);
        cwai_pipeline_free(p);
    }
}
END_TEST

START_TEST(final_answer_cache)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    char                  key[128];

    cfg_init(&c, 1);
    c.cache_ttl_ms = 60000;

    /* a miss: the model answers, and the answer is to be stored */
    p = start(&c, "vocês entregam em Curitiba? frete grátis?", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_LOOKUP);
    ck_assert_ptr_nonnull(strstr(s.cache_key, "cwai:answer:"));
    snprintf(key, sizeof(key), "%s", s.cache_key);
    ck_assert_int_eq(cwai_pipeline_cached(p, NULL, &s), 0);
    expect_request(&s, CWAI_UP_LLM, "/chat/completions");
    feed(p, 200, "fixtures/openai/chat-completion-final.json", &s);
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_REPLIED);
    ck_assert_str_eq(s.cache_key, key);
    ck_assert_uint_eq(s.cache_ttl_ms, 60000);
    cwai_pipeline_free(p);

    /* the same words, other spelling: the same key; a hit costs no tokens */
    p = start(&c, "Voces entregam em CURITIBA?? frete gratis", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_LOOKUP);
    ck_assert_str_eq(s.cache_key, key);
    ck_assert_int_eq(cwai_pipeline_cached(p, "Entregamos sim!", &s), 0);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "Entregamos sim!"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_ptr_null(s.cache_key);
    ck_assert_str_eq(cwai_pipeline_stats(p)->answered_by, "cache");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->llm_calls, 0);
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(history_is_copied)
{
    cwai_step_t             s;
    cwai_pipeline_cfg_t     c;
    cwai_pipeline_input_t   in;
    cwai_pipeline_t        *p;
    cwai_turn_t             h[2];
    char                   *t0 = strdup("quanto custa o sérum de vitamina C?");
    char                   *t1 = strdup("O Sérum Vitamina C custa R$ 89,90.");
    cwai_err_t              err;

    cfg_init(&c, 1);
    memset(&in, 0, sizeof(in));
    in.cfg = &c;
    in.domain = dom;
    in.bot = bot;
    in.tenant = "cosmetics";
    in.channel = "whatsapp";
    in.text = "e o gel de limpeza?";
    in.len = strlen(in.text);
    h[0].role = CWAI_ROLE_CUSTOMER;
    h[0].text = t0;
    h[0].agent = NULL;
    h[1].role = CWAI_ROLE_ASSISTANT;
    h[1].text = t1;
    h[1].agent = "sales";
    in.history = h;
    in.nhistory = 2;
    p = cwai_pipeline_new(&in, &err);
    /* the caller's buffers go away before the model is asked */
    memset(t0, 'x', strlen(t0));
    memset(t1, 'x', strlen(t1));
    free(t0);
    free(t1);
    ck_assert_int_eq(cwai_pipeline_start(p, &s), 0);
    expect_request(&s, CWAI_UP_LLM, "/chat/completions");
    ck_assert_ptr_nonnull(strstr(s.req->body, "R$ 89,90"));
    cwai_pipeline_free(p);
}
END_TEST

/* over a rate limit or a token budget: as without a model, even though one
 * is configured; the handoff says why the model was not asked */
START_TEST(no_model_flag)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;

    cfg_init(&c, 1);
    no_model = 1;
    no_model_reason = "token_budget";

    /* confident: the embedded answer is posted, no model call */
    p = start(&c, "quanto custa o sérum de vitamina C?", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");
    ck_assert_ptr_nonnull(strstr(s.req->body, "R$ 89,90"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_DONE);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_REPLIED);
    ck_assert_str_eq(cwai_pipeline_stats(p)->answered_by, "embedded");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->llm_calls, 0);
    cwai_pipeline_free(p);

    /* not confident: a handoff with the reason, not a model call */
    p = start(&c, "xpto blorf quibbly zanf", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");          /* notice */
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/messages");          /* note */
    ck_assert_ptr_nonnull(strstr(s.req->body, "\"private\":true"));
    ck_assert_ptr_nonnull(strstr(s.req->body, "token_budget"));
    feed(p, 200, "fixtures/chatwoot/reply_create_message_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/labels");
    feed(p, 200, "fixtures/chatwoot/add_labels_response.json", &s);
    expect_request(&s, CWAI_UP_CHATWOOT, "/toggle_status");
    feed(p, 200, "fixtures/chatwoot/toggle_status_response.json", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_DONE);
    ck_assert_int_eq(s.outcome, CWAI_OUTCOME_HANDOFF);
    ck_assert_str_eq(s.reason, "token_budget");
    ck_assert_uint_eq(cwai_pipeline_stats(p)->llm_calls, 0);
    cwai_pipeline_free(p);

    /* the same message without the flag asks the model */
    no_model = 0;
    no_model_reason = NULL;
    p = start(&c, "xpto blorf quibbly zanf", &s);
    ck_assert_int_ne(s.kind, CWAI_STEP_DONE);
    ck_assert(s.kind != CWAI_STEP_REQUEST || s.req->upstream != CWAI_UP_CHATWOOT);
    cwai_pipeline_free(p);
}
END_TEST

START_TEST(holiday_by_name)
{
    cwai_answer_t       a;
    cwai_agent_input_t  in;

    memset(&in, 0, sizeof(in));
    in.text = "vocês abrem no natal?";
    in.now = 1797771600;                /* 2026-12-20T10:00:00-03:00 */
    ck_assert_int_eq(cwai_agent_answer(bot, &in, &a), 0);
    ck_assert_msg(strstr(a.reply, "25/12") && strstr(a.reply, "fechad"), "%s", a.reply);
    cwai_answer_free(&a);

    in.text = "e na véspera de natal, que horas fecham?";
    ck_assert_int_eq(cwai_agent_answer(bot, &in, &a), 0);
    ck_assert_msg(strstr(a.reply, "24/12") && strstr(a.reply, "14:00"), "%s", a.reply);
    cwai_answer_free(&a);
}
END_TEST

/* The model is told today's date; answer keys change with it only when the
 * message names a day. */
START_TEST(date_in_prompt_and_keys)
{
    cwai_step_t           s;
    cwai_pipeline_cfg_t   c;
    cwai_pipeline_t      *p;
    char                  faq[128], tomorrow[128];

    cfg_init(&c, 1);
    c.cache_ttl_ms = 60000;
    test_now = 1796043600 + 5 * 86400;          /* Saturday 2026-12-05 */
    p = start(&c, "vocês entregam em Curitiba? frete grátis?", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_LOOKUP);
    snprintf(faq, sizeof(faq), "%s", s.cache_key);
    ck_assert_int_eq(cwai_pipeline_cached(p, NULL, &s), 0);
    expect_request(&s, CWAI_UP_LLM, "/chat/completions");
    ck_assert_msg(strstr(s.req->body, "Today is sábado, 2026-12-05 (time zone "
                         "America/Sao_Paulo, UTC-03:00)") != NULL, "%.600s", s.req->body);
    cwai_pipeline_free(p);
    p = start(&c, "vocês abrem amanhã?", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_LOOKUP);
    snprintf(tomorrow, sizeof(tomorrow), "%s", s.cache_key);
    cwai_pipeline_free(p);

    /* a day later: the FAQ's key is the same, "amanhã" is another day */
    test_now += 86400;
    p = start(&c, "vocês entregam em Curitiba? frete grátis?", &s);
    ck_assert_str_eq(s.cache_key, faq);
    ck_assert_int_eq(cwai_pipeline_cached(p, NULL, &s), 0);
    ck_assert_ptr_nonnull(strstr(s.req->body, "Today is domingo, 2026-12-06"));
    cwai_pipeline_free(p);
    p = start(&c, "vocês abrem amanhã?", &s);
    ck_assert_int_eq(s.kind, CWAI_STEP_LOOKUP);
    ck_assert_str_ne(s.cache_key, tomorrow);
    cwai_pipeline_free(p);
    test_now = 0;
}
END_TEST

CWAI_SUITE(pipeline)
{
    TCase  *tc;
    Suite  *s = unit_suite("pipeline", &tc);

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, embedded_answer_is_posted);
    tcase_add_test(tc, request_for_a_person_hands_off);
    tcase_add_test(tc, model_answer_with_usage);
    tcase_add_test(tc, rate_limited_then_success);
    tcase_add_test(tc, quota_exhausted_falls_back_or_hands_off);
    tcase_add_test(tc, model_down_after_retries);
    tcase_add_test(tc, chatwoot_500_then_success);
    tcase_add_test(tc, hostile_model_bodies);
    tcase_add_test(tc, final_answer_cache);
    tcase_add_test(tc, date_in_prompt_and_keys);
    tcase_add_test(tc, history_is_copied);
    tcase_add_test(tc, holiday_by_name);
    tcase_add_test(tc, no_model_flag);
    return s;
}
