/*
 * ngx_chatwootai: the nginx adapter. Only files in this directory include
 * nginx headers; the agent logic lives in ../src (the core).
 */
#ifndef NGX_HTTP_CHATWOOTAI_MODULE_H
#define NGX_HTTP_CHATWOOTAI_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cwai_webhook.h"
#include "cwai_domain.h"
#include "cwai_agent.h"
#include "cwai_pipeline.h"

extern ngx_module_t  ngx_http_chatwootai_module;


/* ---- counters, held in each zone's shared memory ---------------------- */

typedef enum {
    NGX_HTTP_CWAI_ACCEPTED = 0,
    NGX_HTTP_CWAI_IGNORED,
    NGX_HTTP_CWAI_DUPLICATE,
    NGX_HTTP_CWAI_REJECTED,
    NGX_HTTP_CWAI_OUTCOMES
} ngx_http_cwai_outcome_e;

/* Upper bounds (ms) of the upstream latency histogram; the last is +Inf. */
#define NGX_HTTP_CWAI_LATENCY_BOUNDS  { 50, 100, 250, 500, 1000, 2500, 5000, \
                                        10000 }
#define NGX_HTTP_CWAI_LATENCY_BUCKETS  9

/* Reason names are listed once, in ngx_http_chatwootai_status.c. */
#define NGX_HTTP_CWAI_MAX_REASONS  24

typedef struct {
    ngx_atomic_t                events[CWAI_EV__COUNT];
    ngx_atomic_t                outcomes[NGX_HTTP_CWAI_OUTCOMES];
    ngx_atomic_t                rejected[NGX_HTTP_CWAI_MAX_REASONS];
    ngx_atomic_t                ignored[NGX_HTTP_CWAI_MAX_REASONS];
    ngx_atomic_t                duplicates[2];      /* delivery, message */
    ngx_atomic_t                evictions;
    ngx_atomic_t                expired;

    /* the pipeline (after the ack) */
    ngx_atomic_t                pipeline[3];    /* cwai_outcome_t */
    ngx_atomic_t                cache[2];       /* hits, misses */
    ngx_atomic_t                coalesced;      /* waited for a call in flight */
    ngx_atomic_t                merged;         /* answered with a later one */
    ngx_atomic_t                upstream_requests[CWAI_UP__COUNT];
    ngx_atomic_t                upstream_errors[CWAI_UP__COUNT];
    ngx_atomic_t                upstream_latency[CWAI_UP__COUNT]
                                                [NGX_HTTP_CWAI_LATENCY_BUCKETS];
    ngx_atomic_t                upstream_latency_ms[CWAI_UP__COUNT];

    /* limits (ngx_http_chatwootai_limits.c): messages answered without
     * the model */
    ngx_atomic_t                rate_limited;
    ngx_atomic_t                budget_exceeded;

    /* the durable queue: messages resumed after their worker stopped */
    ngx_atomic_t                resumed;
} ngx_http_cwai_stats_t;

extern const char  *ngx_http_cwai_outcome_names[NGX_HTTP_CWAI_OUTCOMES];
extern const char  *ngx_http_cwai_rejected_names[];
extern const char  *ngx_http_cwai_ignored_names[];

void ngx_http_cwai_count_outcome(ngx_http_cwai_stats_t *st,
    ngx_http_cwai_outcome_e o, const char *reason);


/* ---- the L1 zone: slab + rbtree + LRU, shared by all workers ----------- */

typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 lru;            /* head: most recent */
    ngx_uint_t                  entries;
    ngx_queue_t                 jobs;           /* ngx_http_cwai_zone_job_add */
    ngx_uint_t                  njobs;
    uint64_t                    job_seq;
    ngx_http_cwai_stats_t       stats;
} ngx_http_cwai_shctx_t;

typedef struct {
    ngx_str_t                   name;
    size_t                      size;
    ngx_shm_zone_t             *shm_zone;
    ngx_http_cwai_shctx_t      *sh;
    ngx_slab_pool_t            *shpool;
} ngx_http_cwai_zone_t;

typedef struct {
    ngx_uint_t                  entries;
    size_t                      size;
    size_t                      free;
} ngx_http_cwai_zone_usage_t;

ngx_http_cwai_zone_t *ngx_http_cwai_zone_add_conf(ngx_conf_t *cf,
    ngx_str_t *name, size_t size);
ngx_http_cwai_zone_t *ngx_http_cwai_zone_find(ngx_conf_t *cf, ngx_str_t *name);

/* NGX_OK: found, value copied into pool; NGX_DECLINED: absent or expired.
 * ttl (optional) gets the remaining time in ms, 0 for "never expires". */
ngx_int_t ngx_http_cwai_zone_get(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_pool_t *pool, ngx_str_t *value, ngx_msec_t *ttl);
/* ttl 0 = no expiry. NGX_OK, or NGX_ERROR when the entry cannot fit. */
ngx_int_t ngx_http_cwai_zone_set(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_str_t *value, ngx_msec_t ttl);
/* NGX_OK: added; NGX_DECLINED: a live entry exists; NGX_ERROR. */
ngx_int_t ngx_http_cwai_zone_add(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_str_t *value, ngx_msec_t ttl);
/* Adds delta to a decimal value (absent = 0); ttl applies on creation. */
ngx_int_t ngx_http_cwai_zone_incr(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    int64_t delta, ngx_msec_t ttl, int64_t *result);
/* A token bucket (GCRA) per key: one token every interval ms, burst more
 * at once. NGX_OK: a token was taken; NGX_DECLINED: over the limit (the
 * entry is left as it is); NGX_ERROR: the entry cannot fit (let it pass). */
ngx_int_t ngx_http_cwai_zone_limit(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst);
/* NGX_OK: deleted; NGX_DECLINED: absent. */
ngx_int_t ngx_http_cwai_zone_delete(ngx_http_cwai_zone_t *z, ngx_str_t *key);
void ngx_http_cwai_zone_usage(ngx_http_cwai_zone_t *z,
    ngx_http_cwai_zone_usage_t *u);

/* Job records: a message accepted and not yet ended, owned by the worker
 * running it (the durable queue without Redis). */
typedef struct {
    void                       *rec;            /* in the zone */
    uint64_t                    id;
    ngx_uint_t                  attempts;       /* workers that took it */
} ngx_http_cwai_zone_job_t;

/* NGX_OK, or NGX_ERROR when the record cannot fit */
ngx_int_t ngx_http_cwai_zone_job_add(ngx_http_cwai_zone_t *z, ngx_str_t *data,
    ngx_http_cwai_zone_job_t *job);
void ngx_http_cwai_zone_job_done(ngx_http_cwai_zone_t *z,
    ngx_http_cwai_zone_job_t *job);
/* Gives a record taken over back, for another look (it could not start). */
void ngx_http_cwai_zone_job_release(ngx_http_cwai_zone_t *z,
    ngx_http_cwai_zone_job_t *job);
/* Takes over one record whose worker is gone, its data copied into pool:
 * NGX_OK, NGX_DECLINED (none), NGX_ERROR. */
ngx_int_t ngx_http_cwai_zone_job_claim(ngx_http_cwai_zone_t *z,
    ngx_pool_t *pool, ngx_str_t *data, ngx_http_cwai_zone_job_t *job);


/* ---- Redis: the L2 behind the zone (ngx_http_chatwootai_redis.c) -------- */

struct redisReply;
typedef struct ngx_http_cwai_redis_conf_s  ngx_http_cwai_redis_conf_t;

/* what a command's handler gets */
#define NGX_HTTP_CWAI_REDIS_REPLY    0  /* a reply of any type (errors too) */
#define NGX_HTTP_CWAI_REDIS_ERROR    1  /* the connection ended first; NULL */
#define NGX_HTTP_CWAI_REDIS_TIMEOUT  2  /* no reply within timeout=; NULL */

/* The reply is valid during the call only. */
typedef void (*ngx_http_cwai_redis_pt)(void *data, ngx_int_t rc,
    struct redisReply *reply);

char *ngx_http_cwai_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cwai_l2_ttl_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cwai_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_cwai_redis_exit_process(ngx_cycle_t *cycle);
ngx_uint_t ngx_http_cwai_redis_configured(void);
/* this worker's connection is up (a command would be sent now) */
ngx_uint_t ngx_http_cwai_redis_up(void);

/*
 * Sends a command (argv form) on this worker's connection.
 *   NGX_OK        sent: handler (may be NULL) is called exactly once, later
 *                 — never from within this call — unless pool (may be NULL)
 *                 is destroyed first: then it is never called;
 *   NGX_DECLINED  Redis is not up: nothing sent, handler never called (use
 *                 the zone alone);
 *   NGX_ERROR     out of memory.
 * Every command has the timer of chatwootai_redis timeout=; on expiry the
 * handler gets NGX_HTTP_CWAI_REDIS_TIMEOUT and the connection is reopened.
 */
ngx_int_t ngx_http_cwai_redis_command(ngx_pool_t *pool,
    ngx_http_cwai_redis_pt handler, void *data, int argc, const char **argv,
    const size_t *argvlen);
/* The same, holding the main request until the handler has run (then
 * ngx_http_finalize_request(r, NGX_DONE) and its posted requests run). */
ngx_int_t ngx_http_cwai_redis_request(ngx_http_request_t *r,
    ngx_http_cwai_redis_pt handler, void *data, int argc, const char **argv,
    const size_t *argvlen);

/* EVAL script (a Lua script's text) with keys (chatwootai_redis prefix=
 * added) and arguments: as ngx_http_cwai_redis_request() with r, as
 * ngx_http_cwai_redis_command() without a pool when r is NULL.
 * NGX_DECLINED also when a key does not fit or there are too many. */
#define NGX_HTTP_CWAI_REDIS_EVAL_KEYS   3
#define NGX_HTTP_CWAI_REDIS_EVAL_ARGS   272
ngx_int_t ngx_http_cwai_redis_eval(ngx_http_request_t *r,
    ngx_http_cwai_redis_pt handler, void *data, const char *script,
    ngx_str_t *keys, ngx_uint_t nkeys, ngx_str_t *args, ngx_uint_t nargs);

/* the L2 (kinds of chatwootai_l2_total) */
#define NGX_HTTP_CWAI_L2_CACHE   0
#define NGX_HTTP_CWAI_L2_MEMORY  1
#define NGX_HTTP_CWAI_L2_DEDUPE  2
#define NGX_HTTP_CWAI_L2__KINDS  3

/* value: the L2's (NUL-terminated, in r->pool, already copied to the zone),
 * or NULL on a miss or when Redis failed */
typedef void (*ngx_http_cwai_l2_get_pt)(ngx_http_request_t *r, void *data,
    ngx_str_t *value);
/* dup: index of the first key Redis already had, or -1 (new, or Redis
 * could not tell: the zone's decision stands) */
typedef void (*ngx_http_cwai_l2_dedupe_pt)(ngx_http_request_t *r,
    ngx_int_t dup);
typedef void (*ngx_http_cwai_l2_done_pt)(ngx_http_request_t *r, void *data);

/* Each returns NGX_AGAIN when Redis was asked (the handler follows, the
 * request is held meanwhile) or NGX_DECLINED when it is not there or not
 * up (go on with the zone alone). */
ngx_int_t ngx_http_cwai_l2_get(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_str_t *key, ngx_http_cwai_zone_t *zone, ngx_msec_t l1_ttl,
    ngx_http_cwai_l2_get_pt handler, void *data);
ngx_int_t ngx_http_cwai_l2_dedupe(ngx_http_request_t *r, ngx_str_t *keys,
    ngx_uint_t n, ngx_msec_t l1_ttl, ngx_http_cwai_l2_dedupe_pt handler);
ngx_int_t ngx_http_cwai_l2_memory_fetch(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_cwai_zone_t *zone, ngx_msec_t l1_ttl,
    ngx_http_cwai_l2_done_pt handler, void *data);
/* Fire and forget (the zone has the value already). */
void ngx_http_cwai_l2_set(ngx_str_t *key, ngx_str_t *value, ngx_msec_t l1_ttl);
/* INCRBY key by + PEXPIRE ttl in Redis; its reply (the total of every
 * instance) raises the zone's counter under the same key. Fire and forget. */
void ngx_http_cwai_l2_incrby(ngx_http_cwai_zone_t *zone, ngx_str_t *key,
    int64_t by, ngx_msec_t ttl);
/* GET key in Redis; its reply raises the zone's counter. Fire and forget:
 * sent before the conversation's memory is fetched, its reply is handled
 * first (Redis answers in order). */
void ngx_http_cwai_l2_counter_sync(ngx_http_cwai_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl);
void ngx_http_cwai_l2_memory_push(ngx_str_t *key, ngx_str_t *turns,
    ngx_uint_t n, ngx_msec_t l1_ttl);
/* chatwootai_redis prefix= + key into buf (Redis's name of a zone key);
 * NULL without chatwootai_redis or when it does not fit */
u_char *ngx_http_cwai_l2_key(u_char *buf, size_t size, ngx_str_t *key,
    size_t *len);

/* Decisions shared by every instance, each one atomic in Redis (a Lua
 * script): ngx_http_chatwootai_shared.c. The handlers' rc: NGX_OK or
 * NGX_DECLINED as Redis decided, NGX_ERROR when it could not tell (error,
 * timeout: the zone's decision stands). Each returns NGX_AGAIN when Redis
 * was asked (the request is held until the handler has run) or NGX_DECLINED
 * when it is not there or not up. */
typedef void (*ngx_http_cwai_l2_decided_pt)(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_str_t *latest);
/* debounce: message id is the latest of the burst under key (fire and
 * forget); 1 when sent */
ngx_uint_t ngx_http_cwai_l2_burst_mark(ngx_str_t *key, int64_t id,
    ngx_msec_t ttl);
/* debounce: at the end of id's quiet window (after a mark), NGX_OK when id
 * answers the burst (then marked answered: once), NGX_DECLINED when a later
 * message answers or answered it (latest: its id) */
ngx_int_t ngx_http_cwai_l2_burst_claim(ngx_http_request_t *r, ngx_str_t *key,
    int64_t id, ngx_msec_t ttl, ngx_http_cwai_l2_decided_pt handler,
    void *data);
/* rate limit: the token bucket (GCRA) under key, on Redis's clock; NGX_OK:
 * a token was taken, NGX_DECLINED: over the limit */
ngx_int_t ngx_http_cwai_l2_limit(ngx_http_request_t *r, ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst, ngx_http_cwai_l2_decided_pt handler,
    void *data);
/* handler(r, data) once Redis answered every command sent before (Redis
 * answers in order); NGX_AGAIN, or NGX_DECLINED when it is not up */
ngx_int_t ngx_http_cwai_l2_barrier(ngx_http_request_t *r,
    ngx_http_cwai_l2_done_pt handler, void *data);

/* for chatwootai_status; NGX_DECLINED / NULL without chatwootai_redis */
ngx_int_t ngx_http_cwai_redis_metrics(ngx_pool_t *pool, ngx_str_t *text);
json_t *ngx_http_cwai_redis_metrics_json(void);


/* ---- configuration ----------------------------------------------------- */

typedef struct {
    ngx_str_t                   name;
    cwai_domain_t              *domain;
    cwai_bot_t                 *bot;            /* the embedded agent */
} ngx_http_cwai_domain_t;

/* a location with chatwootai_webhook, found again by name to resume a
 * message that a stopped worker left (ngx_http_chatwootai_queue.c) */
typedef struct {
    ngx_str_t                   name;
    ngx_http_conf_ctx_t        *ctx;
} ngx_http_cwai_webhook_loc_t;

typedef struct {
    ngx_array_t                 zones;          /* ngx_http_cwai_zone_t * */
    ngx_array_t                 domains;        /* ngx_http_cwai_domain_t */
    ngx_http_cwai_redis_conf_t *redis;          /* chatwootai_redis, or NULL */
    ngx_array_t                 webhooks;       /* ngx_http_cwai_webhook_loc_t */
    ngx_msec_t                  resume_after;   /* 0: no durable queue */
} ngx_http_cwai_main_conf_t;

#define NGX_HTTP_CWAI_AUTH_SIGNATURE  1
#define NGX_HTTP_CWAI_AUTH_TOKEN      2
#define NGX_HTTP_CWAI_AUTH_OFF        3

typedef struct {
    ngx_http_cwai_zone_t       *zone;
    ngx_str_t                   zone_name;      /* zone=NAME on a handler */

    ngx_uint_t                  auth;
    ngx_http_complex_value_t   *secret;
    ngx_http_complex_value_t   *token;
    time_t                      max_skew;
    ngx_msec_t                  dedupe_ttl;
    ngx_msec_t                  owner_ttl;
    ngx_uint_t                  statuses;       /* CWAI_STATUS_BIT mask */
    ngx_flag_t                  json_errors;    /* one of our handlers */
    ngx_http_complex_value_t   *tenant;         /* domain name per request */
    ngx_msec_t                  history_ttl;
    ngx_msec_t                  debounce;       /* quiet window, 0: off */

    /* the pipeline: location prefix per upstream, and its settings */
    ngx_str_t                   prefix[CWAI_UP__COUNT];
    cwai_pipeline_cfg_t         pipeline;
    size_t                      response_max;
    ngx_uint_t                  retries;
    ngx_msec_t                  cache_ttl;

    /* chatwootai_rate_limit (0: off) and chatwootai_token_budget (0: off) */
    ngx_msec_t                  rate_interval;  /* ms per message */
    ngx_uint_t                  rate_burst;
    ngx_int_t                   token_budget;
} ngx_http_cwai_loc_conf_t;


/* A timer that keeps the main request alive (backoff, debounce). */
typedef struct {
    ngx_event_t                 ev;
    ngx_http_request_t         *r;
    void                      (*handler)(void *data);
    void                       *data;
} ngx_http_cwai_wait_t;


/* ---- per-request context (of the main request) ------------------------- */

typedef struct ngx_http_cwai_queue_item_s  ngx_http_cwai_queue_item_t;

typedef struct {
    cwai_webhook_t              wh;             /* strings valid until the
                                                   pipeline has started */
    ngx_str_t                   event;          /* a copy, for $chatwootai_event */
    unsigned                    parsed:1;
    unsigned                    burst:1;        /* debounced */
    ngx_int_t                   rc;             /* of a rejection sent */
    ngx_buf_t                  *error_body;     /* JSON replacing nginx's page */

    /* the pipeline's result, for the access log (written when it ends) */
    const char                 *agent;
    const char                 *outcome;
    ngx_uint_t                  cache_hits;
    ngx_uint_t                  cache_misses;
    uint64_t                    tokens;
    const char                 *status;         /* $chatwootai_status */
    const char                 *no_model;       /* "rate_limited", or NULL */

    /* the durable queue (ngx_http_chatwootai_queue.c) */
    ngx_http_cwai_domain_t     *dom;            /* the business answering */
    ngx_str_t                   body;           /* the webhook as received */
    ngx_http_cwai_queue_item_t *queued;         /* its record, until it ends */
    unsigned                    resumed:1;      /* left by a stopped worker */

    /* the conversation's turn (one answer at a time, in order) */
    ngx_http_cwai_wait_t        order_wait;
    unsigned                    ordered:1;      /* the turn is this message's */
    unsigned                    order_waited:1;
    unsigned                    order_redis:1;  /* held in Redis */
} ngx_http_cwai_ctx_t;


/* ---- upstream calls (background subrequests) ---------------------------- */

typedef struct ngx_http_cwai_call_s  ngx_http_cwai_call_t;
typedef void (*ngx_http_cwai_call_pt)(ngx_http_cwai_call_t *call);

typedef struct {
    const char                 *name;
    ngx_str_t                   value;
} ngx_http_cwai_header_t;

struct ngx_http_cwai_call_s {
    /* the request: an internal location prefix + the peer's own path */
    ngx_str_t                   uri;
    ngx_str_t                   args;
    ngx_uint_t                  method;         /* NGX_HTTP_POST or _GET */
    ngx_str_t                   body;
    ngx_http_cwai_header_t      headers[4];
    ngx_uint_t                  nheaders;
    size_t                      max_response;

    ngx_http_cwai_call_pt       handler;        /* when it ends */
    void                       *data;

    /* the result */
    ngx_int_t                   rc;             /* as seen by post_subrequest */
    ngx_uint_t                  status;         /* 0: no response at all */
    ngx_str_t                   response;       /* NUL-terminated */
    size_t                      capacity;
    off_t                       content_length;
    ngx_msec_t                  retry_after;
    ngx_msec_t                  started;
    ngx_msec_t                  elapsed;
    unsigned                    handled:1;
    unsigned                    eof:1;
    unsigned                    overflow:1;
    unsigned                    complete:1;     /* whole body received */

    ngx_http_request_t         *r;              /* the main request */
};



ngx_int_t ngx_http_cwai_call_start(ngx_http_request_t *r,
    ngx_http_cwai_call_t *call);
ngx_int_t ngx_http_cwai_call_header(ngx_http_request_t *sr,
    ngx_http_cwai_call_t *call);
ngx_int_t ngx_http_cwai_call_body(ngx_http_request_t *sr,
    ngx_http_cwai_call_t *call, ngx_chain_t *in);
ngx_int_t ngx_http_cwai_wait(ngx_http_request_t *r, ngx_http_cwai_wait_t *w,
    ngx_msec_t delay);


/* ---- conversation memory ---------------------------------------------- */

#define NGX_HTTP_CWAI_MAX_TURNS  16

size_t ngx_http_cwai_conv_key(u_char *buf, size_t size, const char *kind,
    ngx_http_cwai_ctx_t *ctx);
json_t *ngx_http_cwai_memory_load(ngx_http_request_t *r, ngx_str_t *key,
    cwai_turn_t *history, size_t *nhistory);
void ngx_http_cwai_memory_append(json_t *turns, cwai_role_t role,
    const char *text, size_t len, const char *agent);
void ngx_http_cwai_memory_store(ngx_http_request_t *r, ngx_str_t *key,
    json_t *turns);
void ngx_http_cwai_memory_add(ngx_http_request_t *r, ngx_str_t *key,
    cwai_role_t role, const char *text, size_t len, const char *agent);
ngx_int_t ngx_http_cwai_memory_fetch(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_http_cwai_l2_done_pt handler, void *data);


/* ---- the durable queue (ngx_http_chatwootai_queue.c) -------------------- */

char *ngx_http_cwai_resume_after_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cwai_queue_register(ngx_conf_t *cf);
ngx_int_t ngx_http_cwai_queue_init_process(ngx_cycle_t *cycle);
/* Records an accepted message (ctx->body, ctx->no_model) before its ack:
 * NGX_OK (recorded in the zone, or not at all when the queue is off),
 * NGX_AGAIN (Redis is asked; handler(r) follows, the request is held). */
ngx_int_t ngx_http_cwai_queue_add(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_http_cwai_domain_t *dom,
    void (*handler)(ngx_http_request_t *r));
/* The message ended (replied, handed off, merged, failed): its record goes. */
void ngx_http_cwai_queue_done(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx);
/* 1 when another worker took the message over (this one must not post) */
ngx_uint_t ngx_http_cwai_queue_lost(ngx_http_cwai_ctx_t *ctx);


/* ---- handlers and helpers ---------------------------------------------- */

void ngx_http_cwai_webhook_run(ngx_http_request_t *r, void *data);
/* a message of a burst that a later one (latest) answers: it ends merged */
void ngx_http_cwai_burst_merged(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *latest);
ngx_int_t ngx_http_cwai_order_acquire(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_http_cwai_domain_t *dom);
void ngx_http_cwai_order_release(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx);
ngx_int_t ngx_http_cwai_ctx_parse(ngx_pool_t *pool, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *body, cwai_err_t *err);
ngx_int_t ngx_http_cwai_webhook_handler(ngx_http_request_t *r);
ngx_uint_t ngx_http_cwai_taken_over(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, time_t since);
ngx_int_t ngx_http_cwai_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_cwai_zone_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_cwai_playground_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_cwai_pipeline_run(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx, ngx_http_cwai_domain_t *dom);
char *ngx_http_cwai_upstream_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cwai_confidence_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_cwai_upstreams_merge(ngx_http_cwai_loc_conf_t *prev,
    ngx_http_cwai_loc_conf_t *conf);
void ngx_http_cwai_upstreams_finish(ngx_http_cwai_loc_conf_t *conf);
ngx_int_t ngx_http_cwai_add_variables(ngx_conf_t *cf);
char *ngx_http_cwai_domain_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_cwai_domain_t *ngx_http_cwai_domain_find(
    ngx_http_cwai_main_conf_t *cmcf, ngx_str_t *name);
ngx_uint_t ngx_http_cwai_has_domains(ngx_http_request_t *r);
ngx_int_t ngx_http_cwai_domain_for_request(ngx_http_request_t *r,
    ngx_str_t *name, ngx_http_cwai_domain_t **out);
ngx_int_t ngx_http_cwai_filter_init(ngx_conf_t *cf);

/* limits (ngx_http_chatwootai_limits.c) */
char *ngx_http_cwai_rate_limit_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cwai_token_budget_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* 1 when the contact of the accepted message is over chatwootai_rate_limit
 * (counted and logged) */
ngx_uint_t ngx_http_cwai_rate_limited(ngx_http_request_t *r,
    ngx_http_cwai_ctx_t *ctx);
/* 1 when the tenant spent its chatwootai_token_budget today (counted and
 * logged once per message) */
ngx_uint_t ngx_http_cwai_budget_exceeded(ngx_http_request_t *r,
    ngx_http_cwai_domain_t *dom);
/* with Redis up: brings the tenant's shared counter of the day into the
 * zone before the pipeline reads it (fire and forget) */
void ngx_http_cwai_budget_sync(ngx_http_request_t *r,
    ngx_http_cwai_domain_t *dom);
/* adds a message's model tokens to the tenant's counter of the day */
void ngx_http_cwai_budget_add(ngx_http_request_t *r,
    ngx_http_cwai_domain_t *dom, uint64_t tokens);

/* Sends a JSON document (takes ownership of it). */
ngx_int_t ngx_http_cwai_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *doc);
/* Sends {"error": code, "detail": detail}. */
ngx_int_t ngx_http_cwai_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail);
/* The request body as one contiguous buffer (memory or temp file). */
ngx_int_t ngx_http_cwai_read_body(ngx_http_request_t *r, ngx_str_t *body);
char *ngx_http_cwai_conf_secret(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *value, ngx_str_t *out);
ngx_table_elt_t *ngx_http_cwai_find_header(ngx_http_request_t *r,
    const char *lowcase_name, size_t len);

#endif
