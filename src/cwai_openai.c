/*
 * OpenAI-compatible chat completions and embeddings (see cwai_openai.h).
 */
#include "cwai_openai.h"
#include "cwai_json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX_LEN    (64 * 1024)
#define EMBED_MAX_N     2048
#define EMBED_MAX_DIM   65536

/* ---- the conversation -------------------------------------------------- */

int
cwai_chat_init(cwai_chat_t *c, unsigned max_steps)
{
    memset(c, 0, sizeof(*c));
    if (max_steps == 0) {
        max_steps = CWAI_CHAT_DEFAULT_STEPS;
    }
    if (max_steps > CWAI_CHAT_MAX_STEPS) {
        max_steps = CWAI_CHAT_MAX_STEPS;
    }
    c->max_steps = max_steps;
    c->messages = json_array();
    return c->messages ? 0 : -1;
}

void
cwai_chat_free(cwai_chat_t *c)
{
    if (c) {
        json_decref(c->messages);
        memset(c, 0, sizeof(*c));
    }
}

static int
append_msg(cwai_chat_t *c, json_t *m)
{
    if (m == NULL) {
        return -1;
    }
    if (c->messages == NULL || json_array_append_new(c->messages, m) != 0) {
        if (c->messages == NULL) {
            json_decref(m);
        }
        return -1;
    }
    return 0;
}

int
cwai_chat_add(cwai_chat_t *c, const char *role, const char *content)
{
    json_t  *s;

    if (role == NULL || content == NULL
        || (strcmp(role, "system") != 0 && strcmp(role, "developer") != 0
            && strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
    {
        return -1;
    }
    s = json_string(content);           /* NULL on invalid UTF-8 */
    if (s == NULL) {
        return -1;
    }
    return append_msg(c, json_pack("{s:s, s:o}", "role", role, "content", s));
}

int
cwai_chat_add_tool_result(cwai_chat_t *c, const char *tool_call_id,
    const char *content)
{
    json_t  *s;

    if (tool_call_id == NULL || content == NULL) {
        return -1;
    }
    s = json_string(content);
    if (s == NULL) {
        return -1;
    }
    return append_msg(c, json_pack("{s:s, s:s, s:o}", "role", "tool",
                                   "tool_call_id", tool_call_id, "content", s));
}

int
cwai_chat_can_continue(const cwai_chat_t *c)
{
    return c->steps < c->max_steps;
}

void
cwai_llm_opts_init(cwai_llm_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->tool_choice = "auto";
    o->parallel_tool_calls = -1;
    o->temperature = -1;
}

/* ---- chat request -------------------------------------------------------- */

int
cwai_openai_build_chat(cwai_http_req_t *req, const cwai_llm_cfg_t *cfg,
    const cwai_chat_t *chat, const cwai_llm_opts_t *opts, cwai_err_t *err)
{
    cwai_llm_opts_t  dflt;
    json_t          *o;
    int              rc = 0, tools, last;
    const char      *uf, *tc;

    cwai_http_req_init(req, CWAI_UP_LLM, "POST");
    if (opts == NULL) {
        cwai_llm_opts_init(&dflt);
        opts = &dflt;
    }
    if (cfg == NULL || cfg->model == NULL || cfg->model[0] == '\0') {
        cwai_err_set(err, "llm_config", "no model configured");
        return -1;
    }
    if (chat == NULL || chat->messages == NULL
        || json_array_size(chat->messages) == 0)
    {
        cwai_err_set(err, "llm_input", "no messages");
        return -1;
    }
    if (chat->steps >= chat->max_steps) {
        cwai_err_set(err, "tool_loop_exhausted",
                     "%u model calls already made", chat->steps);
        return -1;
    }
    tools = opts->tools != NULL && json_is_array(opts->tools)
            && json_array_size(opts->tools) > 0;
    last = chat->steps + 1 >= chat->max_steps;

    o = json_object();
    if (o == NULL) {
        goto nomem;
    }
    rc |= json_object_set_new(o, "model", json_string(cfg->model));
    rc |= json_object_set(o, "messages", chat->messages);
    if (tools) {
        /* a reference, not a copy: o is serialised and dropped below, so
         * only the reference count of the caller's array changes */
        rc |= json_object_set(o, "tools", (json_t *) opts->tools);
        tc = last ? "none" : opts->tool_choice;
        if (tc == NULL) {
            /* omitted: the server's default ("auto") */
        } else if (strcmp(tc, "auto") == 0 || strcmp(tc, "none") == 0
                   || strcmp(tc, "required") == 0)
        {
            rc |= json_object_set_new(o, "tool_choice", json_string(tc));
        } else {
            rc |= json_object_set_new(o, "tool_choice",
                      json_pack("{s:s, s:{s:s}}", "type", "function",
                                "function", "name", tc));
        }
        if (opts->parallel_tool_calls >= 0 && !cfg->no_parallel_tool_calls) {
            rc |= json_object_set_new(o, "parallel_tool_calls",
                                      json_boolean(opts->parallel_tool_calls));
        }
    }
    if (opts->temperature >= 0 && !cfg->no_temperature) {
        rc |= json_object_set_new(o, "temperature",
                  json_real(opts->temperature > 2 ? 2 : opts->temperature));
    }
    if (opts->max_tokens > 0) {
        rc |= json_object_set_new(o, cfg->use_max_tokens ? "max_tokens"
                                  : "max_completion_tokens",
                                  json_integer(opts->max_tokens));
    }
    if (opts->response_format && json_is_object(opts->response_format)) {
        rc |= json_object_set(o, "response_format",
                              (json_t *) opts->response_format);
    }
    uf = cfg->user_field ? cfg->user_field : "safety_identifier";
    if (opts->user && opts->user[0] && uf[0]) {
        rc |= json_object_set_new(o, uf, json_string(opts->user));
    }
    rc |= json_object_set_new(o, "stream", json_false());
    if (rc != 0) {
        json_decref(o);
        goto nomem;
    }
    if (cwai_http_req_set_path(req, "%s", cfg->chat_path ? cfg->chat_path
                               : "/v1/chat/completions") != 0
        || cwai_http_req_set_json(req, o) != 0)
    {
        json_decref(o);
        goto nomem;
    }
    json_decref(o);
    req->timeout_ms = cfg->timeout_ms;
    return 0;

nomem:
    cwai_http_req_free(req);
    cwai_err_set(err, "no_memory", "building the chat request");
    return -1;
}

/* ---- chat response ------------------------------------------------------- */

static const char *
jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A non-negative integer field; reals that are whole numbers accepted. */
static uint64_t
juint(const json_t *o, const char *key)
{
    const json_t  *v = json_object_get(o, key);
    double         d;

    if (json_is_integer(v)) {
        return json_integer_value(v) > 0 ? (uint64_t) json_integer_value(v) : 0;
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        if (d > 0 && d < 9e15 && d == floor(d)) {
            return (uint64_t) d;
        }
    }
    return 0;
}

static void
parse_usage(const json_t *u, cwai_llm_usage_t *usage)
{
    memset(usage, 0, sizeof(*usage));
    if (!json_is_object(u)) {
        return;
    }
    usage->present = 1;
    usage->prompt_tokens = juint(u, "prompt_tokens");
    usage->completion_tokens = juint(u, "completion_tokens");
    usage->total_tokens = juint(u, "total_tokens");
    if (usage->total_tokens == 0) {
        usage->total_tokens = usage->prompt_tokens + usage->completion_tokens;
    }
    usage->cached_tokens = juint(json_object_get(u, "prompt_tokens_details"),
                                 "cached_tokens");
    if (usage->cached_tokens > usage->prompt_tokens) {
        usage->cached_tokens = usage->prompt_tokens;
    }
    usage->reasoning_tokens = juint(json_object_get(u,
                                    "completion_tokens_details"),
                                    "reasoning_tokens");
}

static char *
dupn(const char *s, size_t n)
{
    char  *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int
valid_tool_name(const char *s)
{
    size_t  i;

    for (i = 0; s[i]; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
        {
            return 0;
        }
    }
    return i > 0 && i <= 64;
}

/* Fills one call from a tool_calls[] item; -1 only on allocation failure. */
static int
parse_call(const json_t *tc, size_t i, cwai_tool_call_t *call)
{
    const json_t  *fn = json_object_get(tc, "function");
    const json_t  *a;
    const char    *id = jstr(tc, "id"), *name = jstr(fn, "name");
    char           buf[32];
    json_error_t   je;

    if (id == NULL || id[0] == '\0' || strlen(id) > 128) {
        snprintf(buf, sizeof(buf), "call_%zu", i);
        id = buf;
    }
    call->id = strdup(id);
    call->name = strdup(name ? name : "");
    if (call->id == NULL || call->name == NULL) {
        return -1;
    }
    if (!json_is_object(tc) || !json_is_object(fn)) {
        snprintf(call->args_error, sizeof(call->args_error),
                 "tool call without a function object");
    } else if (name == NULL || !valid_tool_name(name)) {
        snprintf(call->args_error, sizeof(call->args_error),
                 "invalid or missing function name");
    }
    a = json_object_get(fn, "arguments");
    if (json_is_string(a)) {
        call->arguments = dupn(json_string_value(a), json_string_length(a));
    } else if (json_is_object(a)) {     /* some servers send an object */
        call->arguments = json_dumps(a, JSON_COMPACT);
    } else {
        call->arguments = strdup("");
    }
    if (call->arguments == NULL) {
        return -1;
    }
    if (call->args_error[0]) {
        return 0;
    }
    if (strlen(call->arguments) > ARGS_MAX_LEN) {
        snprintf(call->args_error, sizeof(call->args_error),
                 "arguments longer than %d bytes", ARGS_MAX_LEN);
        return 0;
    }
    if (call->arguments[0] == '\0' && !json_is_string(a) && a != NULL) {
        snprintf(call->args_error, sizeof(call->args_error),
                 "arguments are not a string");
        return 0;
    }
    if (call->arguments[0] == '\0') {
        call->args = json_object();      /* "" = no arguments */
        return call->args ? 0 : -1;
    }
    call->args = json_loads(call->arguments, 0, &je);
    if (call->args == NULL) {
        snprintf(call->args_error, sizeof(call->args_error),
                 "arguments are not valid JSON (byte %d: %.60s)",
                 je.position, je.text);
    } else if (!json_is_object(call->args)) {
        json_decref(call->args);
        call->args = NULL;
        snprintf(call->args_error, sizeof(call->args_error),
                 "arguments are not a JSON object");
    }
    return 0;
}

static cwai_finish_t
finish_of(const char *s)
{
    if (s == NULL) {
        return CWAI_FINISH_NONE;
    }
    if (strcmp(s, "stop") == 0 || strcmp(s, "eos") == 0) {
        return CWAI_FINISH_STOP;
    }
    if (strcmp(s, "length") == 0) {
        return CWAI_FINISH_LENGTH;
    }
    if (strcmp(s, "tool_calls") == 0 || strcmp(s, "function_call") == 0) {
        return CWAI_FINISH_TOOL_CALLS;
    }
    if (strcmp(s, "content_filter") == 0) {
        return CWAI_FINISH_CONTENT_FILTER;
    }
    return CWAI_FINISH_OTHER;
}

const char *
cwai_finish_name(cwai_finish_t f)
{
    switch (f) {
    case CWAI_FINISH_STOP:           return "stop";
    case CWAI_FINISH_LENGTH:         return "length";
    case CWAI_FINISH_TOOL_CALLS:     return "tool_calls";
    case CWAI_FINISH_CONTENT_FILTER: return "content_filter";
    case CWAI_FINISH_OTHER:          return "other";
    default:                         return "none";
    }
}

/* The assistant message for the next request, rebuilt from what was
 * parsed (unknown keys of the server are not echoed). */
static json_t *
echo_message(const cwai_llm_result_t *r)
{
    json_t  *m, *calls, *c;
    size_t   i;

    m = json_pack("{s:s, s:o}", "role", "assistant", "content",
                  r->content ? json_string(r->content) : json_null());
    if (m == NULL || r->ncalls == 0) {
        return m;
    }
    calls = json_array();
    if (calls == NULL || json_object_set_new(m, "tool_calls", calls) != 0) {
        json_decref(m);
        return NULL;
    }
    for (i = 0; i < r->ncalls; i++) {
        c = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", r->calls[i].id,
                      "type", "function", "function",
                      "name", r->calls[i].name,
                      "arguments", r->calls[i].arguments);
        if (c == NULL || json_array_append_new(calls, c) != 0) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

int
cwai_openai_parse_chat(const cwai_http_resp_t *resp, cwai_llm_result_t *out,
    cwai_uperr_t *err)
{
    json_t        *j = NULL;
    const json_t  *choices, *choice, *msg, *tcs, *content, *refusal;
    size_t         i, n;

    memset(out, 0, sizeof(*out));
    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        return cwai_openai_error(resp, err);
    }
    j = cwai_http_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    if (json_is_object(json_object_get(j, "error"))) {
        /* some servers answer 200 with an error object */
        json_decref(j);
        return cwai_openai_error(resp, err);
    }
    choices = json_object_get(j, "choices");
    choice = json_array_get(choices, 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(j) || !json_is_array(choices)
        || !json_is_object(choice) || !json_is_object(msg))
    {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "no choices[0].message in the completion");
        goto fail;
    }
    content = json_object_get(msg, "content");
    refusal = json_object_get(msg, "refusal");
    if (json_is_string(content) && json_string_length(content) > 0) {
        out->content = dupn(json_string_value(content),
                            json_string_length(content));
        if (out->content == NULL) {
            goto nomem;
        }
    } else if (json_is_string(refusal) && json_string_length(refusal) > 0) {
        out->content = dupn(json_string_value(refusal),
                            json_string_length(refusal));
        if (out->content == NULL) {
            goto nomem;
        }
        out->refusal = 1;
    } else if (content != NULL && !json_is_null(content)
               && !json_is_string(content))
    {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "message.content is neither a string nor null");
        goto fail;
    }
    if (jstr(choice, "finish_reason")) {
        snprintf(out->finish_reason, sizeof(out->finish_reason), "%s",
                 jstr(choice, "finish_reason"));
    }
    out->finish = finish_of(jstr(choice, "finish_reason"));

    tcs = json_object_get(msg, "tool_calls");
    if (tcs != NULL && !json_is_null(tcs)) {
        if (!json_is_array(tcs)) {
            cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                           "malformed_body", "message.tool_calls is not an array");
            goto fail;
        }
        n = json_array_size(tcs);
        if (n > CWAI_LLM_MAX_TOOL_CALLS) {
            cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                           "too_many_tool_calls", "%zu tool calls (max %d)",
                           n, CWAI_LLM_MAX_TOOL_CALLS);
            goto fail;
        }
        for (i = 0; i < n; i++) {
            out->ncalls = i + 1;
            if (parse_call(json_array_get(tcs, i), i, &out->calls[i]) != 0) {
                goto nomem;
            }
        }
    }
    if (out->content == NULL && out->ncalls == 0) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "empty_completion",
                       "neither content nor tool calls (finish_reason %s)",
                       out->finish_reason[0] ? out->finish_reason : "null");
        goto fail;
    }
    parse_usage(json_object_get(j, "usage"), &out->usage);
    if (jstr(j, "model")) {
        out->model = strdup(jstr(j, "model"));
        if (out->model == NULL) {
            goto nomem;
        }
    }
    out->message = echo_message(out);
    if (out->message == NULL) {
        goto nomem;
    }
    json_decref(j);
    return 0;

nomem:
    cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "no_memory",
                   "parsing the completion");
fail:
    json_decref(j);
    cwai_llm_result_free(out);
    return -1;
}

void
cwai_llm_result_free(cwai_llm_result_t *r)
{
    size_t  i;

    if (r == NULL) {
        return;
    }
    free(r->content);
    for (i = 0; i < r->ncalls && i < CWAI_LLM_MAX_TOOL_CALLS; i++) {
        free(r->calls[i].id);
        free(r->calls[i].name);
        free(r->calls[i].arguments);
        json_decref(r->calls[i].args);
    }
    free(r->model);
    json_decref(r->message);
    memset(r, 0, sizeof(*r));
}

int
cwai_chat_account(cwai_chat_t *c, const cwai_llm_result_t *res)
{
    c->steps++;
    c->prompt_tokens += res->usage.prompt_tokens;
    c->completion_tokens += res->usage.completion_tokens;
    c->cached_tokens += res->usage.cached_tokens;
    c->reasoning_tokens += res->usage.reasoning_tokens;
    if (res->message == NULL) {
        return -1;
    }
    return append_msg(c, json_deep_copy(res->message));
}

/* ---- errors ---------------------------------------------------------------- */

int
cwai_openai_error(const cwai_http_resp_t *resp, cwai_uperr_t *err)
{
    json_error_t   je;
    json_t        *j = NULL;
    const json_t  *e, *code;
    const char    *msg = NULL, *type = NULL, *c = NULL;
    int            quota;

    if (resp->body && resp->len > 0 && resp->len <= CWAI_HTTP_MAX_BODY) {
        j = cwai_json_loadb(resp->body, resp->len, JSON_DECODE_ANY, &je);
    }
    e = json_object_get(j, "error");
    if (json_is_object(e)) {
        msg = jstr(e, "message");
        type = jstr(e, "type");
        code = json_object_get(e, "code");
        c = json_string_value(code);
    } else if (json_is_string(e)) {                     /* {"error": "..."} */
        msg = json_string_value(e);
    } else if (json_is_object(j)) {                     /* vLLM's flat shape */
        msg = jstr(j, "message");
        type = jstr(j, "type");
        c = jstr(j, "code");
    }
    if (c == NULL || c[0] == '\0') {
        c = type && type[0] ? type : NULL;
    }
    if (j == NULL && resp->body && resp->len > 0) {
        cwai_http_fail(resp, err, c, resp->body, resp->len);
    } else {
        cwai_http_fail(resp, err, c, msg, msg ? strlen(msg) : 0);
    }
    quota = (c && strcmp(c, "insufficient_quota") == 0)
            || (type && strcmp(type, "insufficient_quota") == 0);
    if (quota) {
        /* out of credit: waiting does not help; alert and hand off */
        cwai_http_copy_text(err->code, sizeof(err->code), "insufficient_quota",
                            18);
        err->cls = CWAI_UPERR_FATAL;
        err->retry_after_ms = 0;
    }
    json_decref(j);
    return -1;
}

/* ---- embeddings ------------------------------------------------------------ */

int
cwai_openai_build_embeddings(cwai_http_req_t *req, const cwai_llm_cfg_t *cfg,
    const char *const *inputs, size_t n, uint32_t dimensions,
    const char *tenant, cwai_err_t *err)
{
    json_t  *o, *arr, *s;
    size_t   i;
    char     model[160];

    cwai_http_req_init(req, CWAI_UP_EMBEDDINGS, "POST");
    if (cfg == NULL || cfg->model == NULL || cfg->model[0] == '\0') {
        cwai_err_set(err, "llm_config", "no embeddings model configured");
        return -1;
    }
    if (inputs == NULL || n == 0 || n > EMBED_MAX_N) {
        cwai_err_set(err, "embed_input", "%zu inputs (1..%d)", n, EMBED_MAX_N);
        return -1;
    }
    arr = json_array();
    o = json_pack("{s:s, s:o}", "model", cfg->model, "input", arr);
    if (o == NULL) {
        goto nomem;
    }
    for (i = 0; i < n; i++) {
        if (inputs[i] == NULL || inputs[i][0] == '\0') {
            json_decref(o);
            cwai_err_set(err, "embed_input", "input %zu is empty", i);
            return -1;
        }
        s = json_string(inputs[i]);
        if (s == NULL) {
            json_decref(o);
            cwai_err_set(err, "embed_input", "input %zu is not UTF-8", i);
            return -1;
        }
        if (json_array_append_new(arr, s) != 0) {
            json_decref(o);
            goto nomem;
        }
    }
    if ((dimensions > 0
         && json_object_set_new(o, "dimensions", json_integer(dimensions)) != 0)
        || json_object_set_new(o, "encoding_format", json_string("float")) != 0
        || cwai_http_req_set_path(req, "%s", cfg->embeddings_path
                                  ? cfg->embeddings_path : "/v1/embeddings") != 0
        || cwai_http_req_set_json(req, o) != 0)
    {
        json_decref(o);
        goto nomem;
    }
    json_decref(o);
    req->timeout_ms = cfg->timeout_ms;
    if (n == 1 && cfg->embed_cache_ttl_ms > 0) {
        snprintf(model, sizeof(model), "%s/%u", cfg->model, dimensions);
        if (cwai_http_req_set_cache(req, cfg->embed_cache_ttl_ms, tenant,
                                    "embed", model, inputs[0],
                                    strlen(inputs[0])) != 0)
        {
            goto nomem;
        }
    }
    return 0;

nomem:
    cwai_http_req_free(req);
    cwai_err_set(err, "no_memory", "building the embeddings request");
    return -1;
}

int
cwai_openai_parse_embeddings(const cwai_http_resp_t *resp, size_t expect_n,
    uint32_t expect_dim, cwai_embeddings_t *out, cwai_uperr_t *err)
{
    json_t         *j = NULL;
    const json_t   *data, *item, *vec, *v;
    size_t          i, k, dim = expect_dim;
    unsigned char  *seen = NULL;
    json_int_t      idx;
    double          d;

    memset(out, 0, sizeof(*out));
    cwai_uperr_clear(err);
    if (cwai_http_precheck(resp, err) != 0) {
        return -1;
    }
    if (resp->status < 200 || resp->status > 299) {
        return cwai_openai_error(resp, err);
    }
    if (expect_n == 0 || expect_n > EMBED_MAX_N || expect_dim > EMBED_MAX_DIM) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "bad_call",
                       "expect_n %zu / expect_dim %u out of range",
                       expect_n, expect_dim);
        return -1;
    }
    j = cwai_http_json(resp, err);
    if (j == NULL) {
        return -1;
    }
    data = json_object_get(j, "data");
    if (!json_is_array(data) || json_array_size(data) != expect_n) {
        cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status, "malformed_body",
                       "expected %zu embeddings, got %zu", expect_n,
                       json_is_array(data) ? json_array_size(data) : 0);
        goto fail;
    }
    seen = calloc(expect_n, 1);
    if (seen == NULL) {
        goto nomem;
    }
    for (i = 0; i < expect_n; i++) {
        item = json_array_get(data, i);
        vec = json_object_get(item, "embedding");
        if (!json_is_integer(json_object_get(item, "index"))
            || !json_is_array(vec))
        {
            cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                           "malformed_body", "data[%zu] lacks index/embedding "
                           "(encoding_format must be float)", i);
            goto fail;
        }
        idx = json_integer_value(json_object_get(item, "index"));
        if (idx < 0 || (size_t) idx >= expect_n || seen[idx]) {
            cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                           "malformed_body", "data[%zu]: bad or repeated index",
                           i);
            goto fail;
        }
        seen[idx] = 1;
        if (dim == 0) {
            dim = json_array_size(vec);
            if (dim == 0 || dim > EMBED_MAX_DIM) {
                cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                               "malformed_body", "embedding dimension %zu", dim);
                goto fail;
            }
        }
        if (json_array_size(vec) != dim) {
            cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                           "dimension_mismatch", "data[%zu] has %zu values, "
                           "expected %zu", i, json_array_size(vec), dim);
            goto fail;
        }
        if (out->vectors == NULL) {
            out->vectors = calloc(expect_n * dim, sizeof(float));
            if (out->vectors == NULL) {
                goto nomem;
            }
        }
        for (k = 0; k < dim; k++) {
            v = json_array_get(vec, k);
            if (!json_is_number(v)) {
                cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                               "malformed_body", "data[%zu][%zu] not a number",
                               i, k);
                goto fail;
            }
            d = json_number_value(v);
            if (!isfinite(d) || fabs(d) > FLT_MAX) {
                cwai_uperr_set(err, CWAI_UPERR_FATAL, resp->status,
                               "malformed_body", "data[%zu][%zu] out of range",
                               i, k);
                goto fail;
            }
            out->vectors[(size_t) idx * dim + k] = (float) d;
        }
    }
    out->n = expect_n;
    out->dim = (uint32_t) dim;
    parse_usage(json_object_get(j, "usage"), &out->usage);
    free(seen);
    json_decref(j);
    return 0;

nomem:
    cwai_uperr_set(err, CWAI_UPERR_RETRY, resp->status, "no_memory",
                   "parsing embeddings");
fail:
    free(seen);
    json_decref(j);
    cwai_embeddings_free(out);
    return -1;
}

void
cwai_embeddings_free(cwai_embeddings_t *e)
{
    if (e) {
        free(e->vectors);
        memset(e, 0, sizeof(*e));
    }
}
