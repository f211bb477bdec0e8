/*
 * OpenAI-compatible chat completions (with tools) and embeddings: request
 * builders and response parsers. Works with OpenAI and with compatible
 * servers (Ollama, vLLM, llama.cpp); their differences are per-upstream
 * settings in cwai_llm_cfg_t, never guesses.
 *
 * The tool-call loop (one customer message):
 *
 *   cwai_chat_t chat;  cwai_chat_init(&chat, 4);
 *   cwai_chat_add(&chat, "system", prompt); cwai_chat_add(&chat, "user", text);
 *   loop:
 *     cwai_openai_build_chat(&req, cfg, &chat, &opts, &e)   -> perform req
 *     cwai_openai_parse_chat(&resp, &res, &uerr)             -> error: retry/fatal
 *     cwai_chat_account(&chat, &res)      (adds usage, steps++, echoes the
 *                                          assistant message into the history)
 *     if res.ncalls == 0: the answer is res.content            (done)
 *     for each call: run it (cwai_tools.h), then
 *         cwai_chat_add_tool_result(&chat, call->id, result_json)
 *     if !cwai_chat_can_continue(&chat): give up (hand off)
 *
 * On the last allowed step the builder sends tool_choice "none" so the
 * model has to answer in text. Usage is summed over all steps.
 */
#ifndef CWAI_OPENAI_H
#define CWAI_OPENAI_H

#include "cwai_http.h"

#define CWAI_CHAT_DEFAULT_STEPS   4
#define CWAI_CHAT_MAX_STEPS       16
#define CWAI_LLM_MAX_TOOL_CALLS   16

/* Per-upstream settings (one per configured LLM / embeddings location). */
typedef struct {
    const char  *model;             /* required */
    const char  *chat_path;         /* NULL: "/v1/chat/completions" */
    const char  *embeddings_path;   /* NULL: "/v1/embeddings" */
    int          use_max_tokens;    /* 1: "max_tokens" (Ollama, llama.cpp,
                                       older vLLM); 0: "max_completion_tokens" */
    int          no_temperature;    /* 1: never send temperature (reasoning
                                       models accept only the default) */
    int          no_parallel_tool_calls; /* 1: never send parallel_tool_calls */
    const char  *user_field;        /* name of the end-user id field:
                                       NULL: "safety_identifier" (OpenAI);
                                       "user" for older servers; "" = never */
    uint32_t     timeout_ms;        /* request deadline; 0: the location's */
    uint32_t     embed_cache_ttl_ms;/* cache embeddings this long (0: never) */
} cwai_llm_cfg_t;

/* The conversation sent to the model. messages is a jansson array the
 * struct owns; callers may read it (e.g. to persist memory). */
typedef struct {
    json_t    *messages;
    unsigned   steps;               /* model calls already made */
    unsigned   max_steps;           /* 1..CWAI_CHAT_MAX_STEPS */
    uint64_t   prompt_tokens;       /* summed over the steps */
    uint64_t   completion_tokens;
    uint64_t   cached_tokens;
    uint64_t   reasoning_tokens;
} cwai_chat_t;

/* max_steps 0: CWAI_CHAT_DEFAULT_STEPS. Returns 0 or -1 (allocation). */
int  cwai_chat_init(cwai_chat_t *c, unsigned max_steps);
void cwai_chat_free(cwai_chat_t *c);
/* role: "system", "developer", "user" or "assistant"; content UTF-8.
 * Invalid UTF-8 is refused (-1): the caller must not send it anyway. */
int  cwai_chat_add(cwai_chat_t *c, const char *role, const char *content);
/* One "tool" message answering call id; content is what the tool returned
 * (cwai_tools.h gives a JSON text). */
int  cwai_chat_add_tool_result(cwai_chat_t *c, const char *tool_call_id,
    const char *content);
/* 1 while another model call is allowed. */
int  cwai_chat_can_continue(const cwai_chat_t *c);

typedef struct {
    const json_t  *tools;           /* array of tool declarations or NULL */
    const char    *tool_choice;     /* "auto", "none", "required", NULL (omit),
                                       or a tool name to force it */
    int            parallel_tool_calls;   /* -1 omit, 0 false, 1 true */
    double         temperature;     /* < 0: omit */
    uint32_t       max_tokens;      /* 0: omit */
    const json_t  *response_format; /* e.g. {"type":"json_object"}, or NULL */
    const char    *user;            /* stable pseudonymous end-user id
                                       ("cw-<account>-<contact>"), or NULL */
} cwai_llm_opts_t;

/* Defaults: tool_choice "auto" (when tools), parallel -1, temperature -1. */
void cwai_llm_opts_init(cwai_llm_opts_t *o);

/*
 * POST <chat_path> {"model", "messages", "tools"?, "tool_choice"?,
 * "parallel_tool_calls"?, "temperature"?, "max_completion_tokens" |
 * "max_tokens"?, "response_format"?, <user_field>?, "stream": false}.
 * On the last allowed step (steps + 1 == max_steps) with tools, tool_choice
 * becomes "none". Chat requests are never cached (cache_key NULL).
 * Returns 0, or -1 + err (no model, no messages, steps exhausted, alloc).
 */
int  cwai_openai_build_chat(cwai_http_req_t *req, const cwai_llm_cfg_t *cfg,
    const cwai_chat_t *chat, const cwai_llm_opts_t *opts, cwai_err_t *err);

typedef enum {
    CWAI_FINISH_NONE = 0,           /* absent or null */
    CWAI_FINISH_STOP,
    CWAI_FINISH_LENGTH,             /* cut at the token cap */
    CWAI_FINISH_TOOL_CALLS,
    CWAI_FINISH_CONTENT_FILTER,
    CWAI_FINISH_OTHER
} cwai_finish_t;

typedef struct {
    uint64_t  prompt_tokens;
    uint64_t  completion_tokens;
    uint64_t  total_tokens;
    uint64_t  cached_tokens;        /* prompt_tokens_details.cached_tokens */
    uint64_t  reasoning_tokens;     /* completion_tokens_details.reasoning_tokens */
    int       present;              /* 0: the server sent no usage */
} cwai_llm_usage_t;

typedef struct {
    char     *id;                   /* "call_..." (synthesised "call_<n>" when
                                       a compatible server omits it) */
    char     *name;                 /* function name */
    char     *arguments;            /* the raw JSON text the model wrote */
    json_t   *args;                 /* parsed object, or NULL when invalid */
    char      args_error[128];      /* why args is NULL ("" when valid) */
} cwai_tool_call_t;

typedef struct {
    char              *content;     /* text, or NULL (tool calls only) */
    int                refusal;     /* 1: content is the model's refusal */
    cwai_finish_t      finish;
    char               finish_reason[32];
    cwai_tool_call_t   calls[CWAI_LLM_MAX_TOOL_CALLS];
    size_t             ncalls;
    cwai_llm_usage_t   usage;
    char              *model;       /* as reported, or NULL */
    json_t            *message;     /* the assistant message to echo back:
                                       {"role","content","tool_calls"?} */
} cwai_llm_result_t;

/*
 * Parses a chat completion (any status). 2xx with a usable choice -> 0.
 * Errors -> -1 + err:
 *   429 rate_limit_exceeded / 408 / 409 / 5xx / 503 overloaded -> RETRY
 *   (retry_after_ms from retry-after-ms, Retry-After, x-ratelimit-reset-*);
 *   insufficient_quota (any status), invalid_api_key, other 4xx -> FATAL;
 *   a 2xx with a malformed body, no choices, or neither content nor tool
 *   calls -> FATAL "malformed_body" / "empty_completion".
 * err->code is error.code (string, or llama.cpp's integer as text), else
 * error.type, else "http_<status>". A tool call whose arguments are not a
 * JSON object is kept with args NULL and args_error set (not an error of
 * the whole response); answer it with cwai_tools_error_result().
 * out is always initialised; free it with cwai_llm_result_free().
 */
int  cwai_openai_parse_chat(const cwai_http_resp_t *resp,
    cwai_llm_result_t *out, cwai_uperr_t *err);
void cwai_llm_result_free(cwai_llm_result_t *r);

/* Adds res's usage to the totals, counts the step and appends the
 * assistant message (content + tool_calls) to the history. 0 or -1. */
int  cwai_chat_account(cwai_chat_t *c, const cwai_llm_result_t *res);

/* "stop", "length", ... for logs. */
const char *cwai_finish_name(cwai_finish_t f);

/*
 * Classifies an OpenAI-style error body (any of the shapes: OpenAI
 * {"error":{message,type,param,code}}, llama.cpp integer code, vLLM's flat
 * {"object":"error",...}, plain text) for status. Returns -1 always.
 */
int  cwai_openai_error(const cwai_http_resp_t *resp, cwai_uperr_t *err);

/* ---- embeddings ------------------------------------------------------- */

/*
 * POST <embeddings_path> {"model", "input": [...], "dimensions"?,
 * "encoding_format": "float"}. n in 1..2048; empty strings and invalid
 * UTF-8 are refused. dimensions 0: omit (the model's default; Ollama and
 * llama.cpp may not support it). With cfg->embed_cache_ttl_ms and n == 1,
 * the request gets a cache key over (tenant, "embed", model+dimensions,
 * input). Returns 0 or -1 + err.
 */
int  cwai_openai_build_embeddings(cwai_http_req_t *req,
    const cwai_llm_cfg_t *cfg, const char *const *inputs, size_t n,
    uint32_t dimensions, const char *tenant, cwai_err_t *err);

typedef struct {
    float             *vectors;     /* n * dim floats, row i = input i */
    size_t             n;
    uint32_t           dim;
    cwai_llm_usage_t   usage;       /* prompt_tokens == total_tokens */
} cwai_embeddings_t;

/*
 * Parses an embeddings reply for a request of expect_n inputs; vectors are
 * placed by "index". Every index 0..expect_n-1 must appear once with the
 * same dimension (== expect_dim when non-zero), every value finite, else
 * FATAL "malformed_body". 0 or -1 + err; out always initialised.
 */
int  cwai_openai_parse_embeddings(const cwai_http_resp_t *resp,
    size_t expect_n, uint32_t expect_dim, cwai_embeddings_t *out,
    cwai_uperr_t *err);
void cwai_embeddings_free(cwai_embeddings_t *e);

#endif
