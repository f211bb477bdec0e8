/*
 * The agent pipeline as a sans-I/O state machine.
 *
 * Fed one accepted customer message (with the conversation's recent turns,
 * the domain and its embedded agent), it answers with the next step:
 *
 *   REQUEST  perform step.req (an upstream call), then cwai_pipeline_feed()
 *   WAIT     wait step.delay_ms (a retry's backoff), then cwai_pipeline_resume()
 *   DONE     the message has ended: step.outcome says how
 *
 * The flow: the embedded agent answers first (free). A handoff it detects
 * (a request for a person, a handoff-policy topic) goes straight to the
 * handoff steps. Without a language model configured, a confident embedded
 * answer is posted, else the conversation is handed off. With one: rules are
 * retrieved (embeddings + Qdrant, or the built-in index), the model answers
 * with tools (the tool-call loop), and the reply is posted. Every failure
 * ends in a retry, a fallback (the embedded answer, the built-in index) or a
 * handoff; a failure to post to Chatwoot ends as FAILED (the adapter logs
 * and counts it).
 *
 * Handoff steps: a public reply telling the customer (from the domain's
 * phrases), a private note for the agents saying why, the labels, then
 * toggle_status "open" (Chatwoot's bot handoff).
 */
#ifndef CWAI_PIPELINE_H
#define CWAI_PIPELINE_H

#include "cwai_agent.h"
#include "cwai_domain.h"
#include "cwai_http.h"
#include "cwai_odoo.h"
#include "cwai_openai.h"

typedef struct cwai_pipeline_s  cwai_pipeline_t;

/* What the operator configured (directives); shared by many messages. */
typedef struct {
    int              has_llm;
    int              has_embeddings;    /* with has_vector: Qdrant retrieval */
    int              has_vector;
    int              has_erp;           /* Odoo tools */
    int              has_chatwoot;      /* 0: nothing is posted (playground-like) */

    cwai_llm_cfg_t   llm;
    const char      *embeddings_model;
    uint32_t         embeddings_dim;    /* 0: the model's default */
    const char      *collection;        /* Qdrant collection */
    double           score_threshold;
    unsigned         retrieve_limit;
    cwai_odoo_cfg_t  erp;

    unsigned         max_steps;         /* model calls per message (tool loop) */
    unsigned         max_retries;       /* per upstream call */
    uint32_t         max_tokens;
    double           temperature;       /* < 0: the server's default */
    double           answer_threshold;  /* embedded answers at or above this
                                           confidence are posted without the
                                           model (cheap tier); > 1: never */
    double           fallback_threshold;/* model down: post the embedded answer
                                           when at least this confident */
    uint32_t         cache_ttl_ms;      /* embeddings, retrieval, ERP reads */
} cwai_pipeline_cfg_t;

/* One message. cwai_pipeline_new() copies the text, the contact, the
 * labels and the history; cfg, domain, bot, tenant and channel are
 * borrowed for the pipeline's lifetime. */
typedef struct {
    const cwai_pipeline_cfg_t  *cfg;
    const cwai_domain_t        *domain;
    const cwai_bot_t           *bot;
    const char                 *tenant;         /* the domain's name */

    int64_t                     account_id;
    int64_t                     inbox_id;
    int64_t                     conversation_id;
    int64_t                     message_id;
    int64_t                     contact_id;
    const char                 *contact_name;
    const char                 *contact_phone;  /* the verified sender: tools */
    const char                 *contact_email;  /* never read anyone else's */
    const char                 *channel;
    const char * const         *labels;         /* the conversation's labels */
    size_t                      nlabels;

    const char                 *text;
    size_t                      len;
    size_t                      attachments;
    const cwai_turn_t          *history;
    size_t                      nhistory;
    int64_t                     now;
    unsigned                    random;         /* retry jitter */

    /* No model for this message (the contact is over its rate limit, the
     * tenant over its token budget): it is answered as without
     * cfg->has_llm — the embedded answer when confident, else a handoff
     * whose reason is no_model_reason (static, e.g. "rate_limited",
     * "token_budget"; NULL: the embedded agent's own reason). */
    int                         no_model;
    const char                 *no_model_reason;
} cwai_pipeline_input_t;

typedef enum {
    CWAI_STEP_REQUEST = 0,
    CWAI_STEP_WAIT,
    CWAI_STEP_LOOKUP,       /* look step.cache_key up in the cache, then
                               cwai_pipeline_cached() with the value or NULL */
    CWAI_STEP_DONE
} cwai_step_kind_t;

typedef enum {
    CWAI_OUTCOME_REPLIED = 0,
    CWAI_OUTCOME_HANDOFF,
    CWAI_OUTCOME_FAILED
} cwai_outcome_t;

typedef struct {
    cwai_step_kind_t    kind;
    const cwai_http_req_t *req;     /* REQUEST: valid until the next call */
    const char         *what;       /* REQUEST: "chat", "embeddings",
                                       "retrieve", "tool:<name>", "reply",
                                       "note", "labels", "status" (static) */
    uint32_t            delay_ms;   /* WAIT */

    cwai_outcome_t      outcome;    /* DONE */
    const char         *reason;     /* DONE: handoff or failure reason */
    const char         *reply;      /* DONE: the text posted, or NULL */

    /* LOOKUP: the key; DONE: when set, store reply under it for ttl_ms
     * (a model's answer to a single-turn question that used no personal
     * data: the next customer asking the same costs no tokens) */
    const char         *cache_key;
    uint32_t            cache_ttl_ms;
} cwai_step_t;

/* Counters of one message, for metrics. */
typedef struct {
    const char  *agent;             /* sales | support | ... */
    const char  *intent;
    double       confidence;
    const char  *answered_by;       /* "embedded" | "llm" | "fallback" | "cache" */
    unsigned     llm_calls;
    unsigned     tool_calls;
    unsigned     retries;
    uint64_t     prompt_tokens;
    uint64_t     completion_tokens;
    uint64_t     cached_tokens;
    unsigned     errors[CWAI_UP__COUNT];
    int          used_personal_data;    /* an answer that read the sender's data */
} cwai_pipeline_stats_t;

cwai_pipeline_t *cwai_pipeline_new(const cwai_pipeline_input_t *in,
    cwai_err_t *err);
void cwai_pipeline_free(cwai_pipeline_t *p);

/* Each returns 0, or -1 on allocation failure (the step is then DONE,
 * FAILED, reason "internal_error"). */
int  cwai_pipeline_start(cwai_pipeline_t *p, cwai_step_t *step);
int  cwai_pipeline_feed(cwai_pipeline_t *p, const cwai_http_resp_t *resp,
    cwai_step_t *step);
int  cwai_pipeline_resume(cwai_pipeline_t *p, cwai_step_t *step);
/* After LOOKUP: the cached answer (NUL-terminated), or NULL on a miss. */
int  cwai_pipeline_cached(cwai_pipeline_t *p, const char *value,
    cwai_step_t *step);

/* A human took the conversation over while the message was being answered:
 * nothing more is posted. The step is DONE, HANDOFF, with the reason. */
int  cwai_pipeline_cancel(cwai_pipeline_t *p, const char *reason,
    cwai_step_t *step);

const cwai_pipeline_stats_t *cwai_pipeline_stats(const cwai_pipeline_t *p);

const char *cwai_outcome_name(cwai_outcome_t o);

#endif
