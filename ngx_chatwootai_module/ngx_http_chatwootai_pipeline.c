/*
 * Runs the core's agent pipeline (src/cwai_pipeline.c) for an accepted
 * message, after the webhook was acknowledged: each REQUEST step becomes a
 * background subrequest (through the L1 cache when the step has a cache
 * key), each WAIT a timer, and DONE updates memory, ownership and metrics.
 * The main request lives until the last step (nginx-techniques §1).
 */

#include "ngx_http_chatwootai_module.h"


typedef struct ngx_http_cwai_flight_s  ngx_http_cwai_flight_t;

typedef struct {
    ngx_http_request_t         *r;
    cwai_pipeline_t            *p;
    ngx_http_cwai_wait_t        wait;
    ngx_http_cwai_domain_t     *dom;
    ngx_http_cwai_ctx_t        *ctx;
    const cwai_http_req_t      *req;        /* the step in flight */
    ngx_msec_t                  started;
    time_t                      started_sec;
    u_char                      mem_key[64];
    size_t                      mem_key_len;
    cwai_step_t                 l2_step;    /* waiting for Redis (L2) */
    unsigned                    l2_missed:1;

    /* concurrent misses of one cache key (ngx_http_cwai_flight_t) */
    ngx_http_cwai_flight_t     *flight;     /* the one this job leads */
    ngx_queue_t                 waiting;    /* in another job's flight */
    cwai_step_t                 flight_step;
    ngx_http_cwai_wait_t        flight_wait;
    ngx_str_t                   landed;     /* the leader's answer, copied */
    unsigned                    in_flight:1;
    unsigned                    alone:1;    /* to the origin, no waiting */
} ngx_http_cwai_job_t;


/*
 * One origin call for concurrent misses of the same cache key in a worker
 * (the same question from many customers at once, the same product looked
 * up): the first job calls, the others wait for its answer. A good answer
 * is given to every waiter; otherwise each goes to the origin itself.
 */
struct ngx_http_cwai_flight_s {
    ngx_queue_t                 queue;      /* the worker's flights */
    uint64_t                    hash;
    ngx_str_t                   key;
    ngx_queue_t                 waiters;    /* ngx_http_cwai_job_t.waiting */
    ngx_http_cwai_job_t        *leader;
};

static ngx_queue_t  ngx_http_cwai_flights;


static void ngx_http_cwai_job_step(ngx_http_cwai_job_t *job, cwai_step_t *step);
static ngx_http_cwai_stats_t *ngx_http_cwai_job_stats(ngx_http_cwai_job_t *job);
static void ngx_http_cwai_job_call_done(ngx_http_cwai_call_t *call);
static ngx_int_t ngx_http_cwai_job_l2(ngx_http_cwai_job_t *job,
    cwai_step_t *step, ngx_str_t *key, ngx_msec_t ttl);
static ngx_int_t ngx_http_cwai_flight_join(ngx_http_cwai_job_t *job,
    cwai_step_t *step, const char *key);
static void ngx_http_cwai_flight_land(ngx_http_cwai_job_t *job,
    ngx_http_cwai_call_t *call);


/* An answer from a cache (zone, Redis, another job's call): a complete 200. */
static void
ngx_http_cwai_job_feed_cached(ngx_http_cwai_job_t *job, ngx_str_t *body,
    cwai_step_t *step)
{
    cwai_http_resp_t  resp;

    ngx_memzero(&resp, sizeof(resp));
    resp.status = 200;
    resp.body = (const char *) body->data;
    resp.len = body->len;
    resp.complete = 1;
    resp.now = (int64_t) ngx_time();
    (void) cwai_pipeline_feed(job->p, &resp, step);
}


static void
ngx_http_cwai_job_cleanup(void *data)
{
    ngx_http_cwai_job_t  *job = data;

    /* the request ends while others wait for its call: they call alone */
    if (job->flight != NULL) {
        ngx_http_cwai_flight_land(job, NULL);
    }
    if (job->in_flight) {
        ngx_queue_remove(&job->waiting);
        job->in_flight = 0;
    }

    if (job->p) {
        /* the request ended before DONE (worker shutdown): the message is
         * not answered by this worker; the log says so */
        ngx_log_error(NGX_LOG_WARN, job->r->connection->log, 0,
                      "chatwootai: pipeline stopped before the message ended");
        (void) ngx_atomic_fetch_add(
                   &ngx_http_cwai_job_stats(job)->pipeline[CWAI_OUTCOME_FAILED], 1);
        cwai_pipeline_free(job->p);
        job->p = NULL;
    }
}


static ngx_http_cwai_stats_t *
ngx_http_cwai_job_stats(ngx_http_cwai_job_t *job)
{
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(job->r, ngx_http_chatwootai_module);
    return &lcf->zone->sh->stats;
}


/* Adds n to a per-tenant counter kept in the zone ("t:<tenant>:<name>"). */
static void
ngx_http_cwai_tenant_count(ngx_http_cwai_job_t *job, const char *name,
    uint64_t n)
{
    u_char                     buf[160];
    ngx_str_t                  key;
    ngx_http_cwai_loc_conf_t  *lcf;

    if (n == 0) {
        return;
    }
    lcf = ngx_http_get_module_loc_conf(job->r, ngx_http_chatwootai_module);
    key.data = buf;
    key.len = ngx_snprintf(buf, sizeof(buf), "t:%V:%s", &job->dom->name, name) - buf;
    (void) ngx_http_cwai_zone_incr(lcf->zone, &key, (int64_t) n, 0, NULL);
}


/* The trailing customer turns of history become the message (joined with
 * newlines, as the embedded agent reads bubbles); *n drops them. */
static ngx_int_t
ngx_http_cwai_burst_text(ngx_http_request_t *r, cwai_turn_t *history,
    size_t *n, const char **text, size_t *len)
{
    u_char  *p;
    size_t   first, i, size;

    for (first = *n; first > 0 && history[first - 1].role == CWAI_ROLE_CUSTOMER;
         first--)
    {
        /* void */
    }
    if (first == *n) {
        return NGX_OK;      /* nothing remembered: the message as it came */
    }
    size = 0;
    for (i = first; i < *n; i++) {
        size += ngx_strlen(history[i].text) + 1;
    }
    p = ngx_pnalloc(r->pool, size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }
    *text = (const char *) p;
    for (i = first; i < *n; i++) {
        if (i > first) {
            *p++ = '\n';
        }
        p = ngx_cpymem(p, history[i].text, ngx_strlen(history[i].text));
    }
    *p = '\0';
    *len = p - (u_char *) *text;
    *n = first;
    return NGX_OK;
}


ngx_int_t
ngx_http_cwai_pipeline_run(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_http_cwai_domain_t *dom)
{
    size_t                     nturns;
    json_t                    *turns, *labels, *l;
    ngx_str_t                  key;
    cwai_err_t                 err;
    cwai_step_t                step;
    cwai_turn_t                history[NGX_HTTP_CWAI_MAX_TURNS];
    const char               **lv;
    size_t                     i, nl;
    ngx_pool_cleanup_t        *cln;
    ngx_http_cwai_job_t       *job;
    cwai_pipeline_input_t      in;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    job = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_job_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (job == NULL || cln == NULL) {
        return NGX_ERROR;
    }
    job->r = r;
    job->dom = dom;
    job->ctx = ctx;
    job->started = ngx_current_msec;
    job->started_sec = ngx_time();
    cln->handler = ngx_http_cwai_job_cleanup;
    cln->data = job;

    /* the conversation so far, then this message */
    job->mem_key_len = ngx_http_cwai_conv_key(job->mem_key, sizeof(job->mem_key),
                                              "mem", ctx);
    key.data = job->mem_key;
    key.len = job->mem_key_len;
    turns = ngx_http_cwai_memory_load(r, &key, history, &nturns);
    if (turns == NULL) {
        return NGX_ERROR;
    }

    labels = json_object_get(json_object_get(ctx->wh.root, "conversation"), "labels");
    nl = json_is_array(labels) ? json_array_size(labels) : 0;
    lv = ngx_palloc(r->pool, (nl + 1) * sizeof(char *));
    if (lv == NULL) {
        json_decref(turns);
        return NGX_ERROR;
    }
    nl = 0;
    json_array_foreach(labels, i, l) {
        if (json_is_string(l)) {
            lv[nl++] = json_string_value(l);
        }
    }

    ngx_memzero(&in, sizeof(in));
    in.cfg = &lcf->pipeline;
    in.domain = dom->domain;
    in.bot = dom->bot;
    in.tenant = (const char *) dom->name.data;
    in.account_id = ctx->wh.account_id;
    in.inbox_id = ctx->wh.inbox_id;
    in.conversation_id = ctx->wh.conversation_id;
    in.message_id = ctx->wh.message_id;
    in.contact_id = ctx->wh.contact_id;
    in.contact_name = ctx->wh.contact_name;
    in.contact_phone = ctx->wh.contact_phone;
    in.contact_email = ctx->wh.contact_email;
    in.channel = ctx->wh.channel;
    in.labels = lv;
    in.nlabels = nl;
    in.text = ctx->wh.content ? ctx->wh.content : "";
    in.len = ctx->wh.content ? ctx->wh.content_len : 0;
    in.attachments = ctx->wh.attachments;
    in.history = history;
    in.nhistory = nturns;

    if (ctx->burst) {
        /* debounced: the burst's messages are already the last customer
         * turns of the memory; answer them together */
        if (ngx_http_cwai_burst_text(r, history, &nturns, &in.text, &in.len)
            != NGX_OK)
        {
            json_decref(turns);
            return NGX_ERROR;
        }
        in.nhistory = nturns;
    }
    in.now = (int64_t) ngx_time();
    in.random = (unsigned) ngx_random();

    /* over a limit: no model for this message (embedded, else handoff) */
    if (ctx->no_model != NULL) {
        in.no_model = 1;
        in.no_model_reason = ctx->no_model;
    } else if (ngx_http_cwai_budget_exceeded(r, dom)) {
        in.no_model = 1;
        in.no_model_reason = "token_budget";
    }

    job->p = cwai_pipeline_new(&in, &err);

    /* remember the customer's message whatever happens next (a burst's
     * messages were remembered as they came) */
    if (!ctx->burst) {
        ngx_http_cwai_memory_append(turns, CWAI_ROLE_CUSTOMER, in.text, in.len,
                                    NULL);
        ngx_http_cwai_memory_store(r, &key, turns);
    }
    json_decref(turns);

    if (job->p == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: cannot start the pipeline: %s", err.detail);
        return NGX_ERROR;
    }

    (void) cwai_pipeline_start(job->p, &step);
    ngx_http_cwai_job_step(job, &step);
    return NGX_OK;
}


static void
ngx_http_cwai_job_resume(void *data)
{
    cwai_step_t           step;
    ngx_http_cwai_job_t  *job = data;

    (void) cwai_pipeline_resume(job->p, &step);
    ngx_http_cwai_job_step(job, &step);
}


static void
ngx_http_cwai_job_done(ngx_http_cwai_job_t *job, cwai_step_t *step)
{
    u_char                        kbuf[64], vbuf[64];
    ngx_str_t                     key, val;
    ngx_http_request_t           *r = job->r;
    ngx_http_cwai_ctx_t          *ctx;
    ngx_http_cwai_stats_t        *st;
    const cwai_pipeline_stats_t  *ps;
    ngx_http_cwai_loc_conf_t     *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    st = ngx_http_cwai_job_stats(job);
    ps = cwai_pipeline_stats(job->p);

    (void) ngx_atomic_fetch_add(&st->pipeline[step->outcome], 1);
    ctx->outcome = cwai_outcome_name(step->outcome);
    ctx->agent = ps->agent;     /* static or the domain's: outlives the pipeline */
    ctx->tokens = ps->prompt_tokens + ps->completion_tokens;
    ngx_http_cwai_tenant_count(job, "prompt_tokens", ps->prompt_tokens);
    ngx_http_cwai_tenant_count(job, "completion_tokens", ps->completion_tokens);
    ngx_http_cwai_tenant_count(job, "cached_tokens", ps->cached_tokens);
    ngx_http_cwai_tenant_count(job, cwai_outcome_name(step->outcome), 1);
    ngx_http_cwai_budget_add(r, job->dom, ps->prompt_tokens + ps->completion_tokens);

    if (step->cache_key != NULL && step->reply != NULL) {
        key.data = (u_char *) step->cache_key;
        key.len = ngx_strlen(step->cache_key);
        val.data = (u_char *) step->reply;
        val.len = ngx_strlen(step->reply);
        (void) ngx_http_cwai_zone_set(lcf->zone, &key, &val, step->cache_ttl_ms);
        ngx_http_cwai_l2_set(&key, &val, step->cache_ttl_ms);
    }

    if (step->reply != NULL) {
        key.data = job->mem_key;
        key.len = job->mem_key_len;
        ngx_http_cwai_memory_add(r, &key, CWAI_ROLE_ASSISTANT, step->reply,
                                 ngx_strlen(step->reply), ps->agent);
    }

    if (step->outcome == CWAI_OUTCOME_HANDOFF) {
        /* the bot stays silent until the conversation is handed back */
        key.data = kbuf;
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "h", ctx);
        val.data = vbuf;
        val.len = ngx_snprintf(vbuf, sizeof(vbuf), "handoff:%s:%T",
                               step->reason ? step->reason : "", ngx_time()) - vbuf;
        (void) ngx_http_cwai_zone_set(lcf->zone, &key, &val, lcf->owner_ttl);
    }

    if (step->outcome == CWAI_OUTCOME_FAILED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: message %L of conversation %L failed: %s",
                      ctx->wh.message_id, ctx->wh.conversation_id,
                      step->reason ? step->reason : "unknown");
    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "chatwootai: message %L of conversation %L: %s%s%s "
                      "(agent %s, by %s, %M ms)",
                      ctx->wh.message_id, ctx->wh.conversation_id,
                      cwai_outcome_name(step->outcome),
                      step->reason ? ": " : "", step->reason ? step->reason : "",
                      ps->agent ? ps->agent : "-",
                      ps->answered_by ? ps->answered_by : "-",
                      ngx_current_msec - job->started);
    }

    cwai_pipeline_free(job->p);
    job->p = NULL;

    /* ended: the conversation's next message may go, and the durable
     * queue lets this one go */
    ngx_http_cwai_order_release(r, ctx);
    ngx_http_cwai_queue_done(r, ctx);
}


static u_char *
ngx_pstrdup_n(ngx_pool_t *pool, const u_char *s, size_t len)
{
    u_char  *p;

    if (s == NULL) {
        return NULL;
    }
    p = ngx_pnalloc(pool, len + 1);
    if (p != NULL) {
        ngx_memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}


/* Splits "/path?query" for ngx_http_subrequest. */
static void
ngx_http_cwai_split_path(ngx_str_t *prefix, const char *path, ngx_pool_t *pool,
    ngx_str_t *uri, ngx_str_t *args)
{
    size_t   len, plen;
    u_char  *q;

    len = ngx_strlen(path);
    q = (u_char *) ngx_strchr(path, '?');
    plen = q ? (size_t) (q - (u_char *) path) : len;

    uri->data = ngx_pnalloc(pool, prefix->len + plen);
    if (uri->data == NULL) {
        uri->len = 0;
        return;
    }
    ngx_memcpy(uri->data, prefix->data, prefix->len);
    ngx_memcpy(uri->data + prefix->len, path, plen);
    uri->len = prefix->len + plen;

    if (q) {
        args->len = len - plen - 1;
        args->data = ngx_pstrdup_n(pool, q + 1, args->len);
        if (args->data == NULL) {
            uri->len = 0;
        }
    } else {
        args->len = 0;
    }
}


static void
ngx_http_cwai_job_step(ngx_http_cwai_job_t *job, cwai_step_t *step)
{
    size_t                     i;
    ngx_str_t                  key, cached;
    ngx_http_request_t        *r = job->r;
    cwai_http_resp_t           resp;
    ngx_http_cwai_call_t      *call;
    ngx_http_cwai_stats_t     *st;
    const cwai_http_req_t     *req;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    for ( ;; ) {

        if (step->kind == CWAI_STEP_DONE) {
            ngx_http_cwai_job_done(job, step);
            return;
        }

        if (step->kind == CWAI_STEP_LOOKUP) {
            key.data = (u_char *) step->cache_key;
            key.len = ngx_strlen(step->cache_key);
            st = ngx_http_cwai_job_stats(job);
            if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &cached, NULL)
                == NGX_OK)
            {
                (void) ngx_atomic_fetch_add(&st->cache[0], 1);
                job->ctx->cache_hits++;
                (void) cwai_pipeline_cached(job->p, (const char *) cached.data, step);
            } else {
                (void) ngx_atomic_fetch_add(&st->cache[1], 1);
                job->ctx->cache_misses++;
                /* L2: Redis (ngx_http_cwai_job_l2_got() goes on) */
                if (ngx_http_cwai_job_l2(job, step, &key,
                                         lcf->pipeline.cache_ttl_ms)
                    == NGX_AGAIN)
                {
                    return;
                }
                (void) cwai_pipeline_cached(job->p, NULL, step);
            }
            continue;
        }

        if (step->kind == CWAI_STEP_WAIT) {
            job->wait.handler = ngx_http_cwai_job_resume;
            job->wait.data = job;
            if (ngx_http_cwai_wait(r, &job->wait, step->delay_ms) != NGX_OK) {
                step->kind = CWAI_STEP_DONE;
                step->outcome = CWAI_OUTCOME_FAILED;
                step->reason = "internal_error";
                continue;
            }
            return;
        }

        /* REQUEST: the L1 cache first */
        req = step->req;
        job->req = req;

        /* never talk over a human who took the conversation meanwhile */
        if (req->upstream == CWAI_UP_CHATWOOT && ngx_strcmp(step->what, "reply") == 0
            && ngx_http_cwai_taken_over(r, job->ctx, job->started_sec))
        {
            (void) cwai_pipeline_cancel(job->p, "human_took_over", step);
            continue;
        }

        /* another worker resumed this message (this one looked stopped):
         * only one of them answers */
        if (req->upstream == CWAI_UP_CHATWOOT && ngx_http_cwai_queue_lost(job->ctx)) {
            (void) cwai_pipeline_cancel(job->p, "resumed_elsewhere", step);
            continue;
        }

        if (req->cache_key != NULL && !job->l2_missed) {
            key.data = (u_char *) req->cache_key;
            key.len = ngx_strlen(req->cache_key);
            if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &cached, NULL)
                == NGX_OK)
            {
                (void) ngx_atomic_fetch_add(&ngx_http_cwai_job_stats(job)->cache[0], 1);
                job->ctx->cache_hits++;
                ngx_http_cwai_job_feed_cached(job, &cached, step);
                continue;
            }
            (void) ngx_atomic_fetch_add(&ngx_http_cwai_job_stats(job)->cache[1], 1);
            job->ctx->cache_misses++;
            /* L2: Redis (ngx_http_cwai_job_l2_got() goes on) */
            if (ngx_http_cwai_job_l2(job, step, &key,
                                     req->cache_ttl_ms ? req->cache_ttl_ms
                                                       : lcf->pipeline.cache_ttl_ms)
                == NGX_AGAIN)
            {
                return;
            }
        }
        job->l2_missed = 0;

        /* the same key already on its way to the origin: wait for it */
        if (req->cache_key != NULL && !job->alone
            && ngx_http_cwai_flight_join(job, step, req->cache_key) == NGX_AGAIN)
        {
            return;
        }
        job->alone = 0;

        if (lcf->prefix[req->upstream].len == 0) {
            /* the core only asks for configured upstreams; be safe anyway */
            ngx_memzero(&resp, sizeof(resp));
            resp.status = 0;
            resp.complete = 0;
            (void) cwai_pipeline_feed(job->p, &resp, step);
            continue;
        }

        call = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_call_t));
        if (call == NULL) {
            break;
        }
        ngx_http_cwai_split_path(&lcf->prefix[req->upstream], req->path, r->pool,
                                 &call->uri, &call->args);
        if (call->uri.len == 0) {
            break;
        }
        /* nginx may read the body and headers after the core has moved on
         * (the log phase, $request_body): copies live in the request pool */
        call->method = (req->body != NULL) ? NGX_HTTP_POST : NGX_HTTP_GET;
        call->body.len = req->body_len;
        call->body.data = ngx_pstrdup_n(r->pool, (u_char *) req->body, req->body_len);
        if (req->body != NULL && call->body.data == NULL) {
            break;
        }
        for (i = 0; i < req->nheaders && i < 4; i++) {
            call->headers[i].name = (const char *) ngx_pstrdup_n(r->pool,
                                        (u_char *) req->headers[i].name,
                                        ngx_strlen(req->headers[i].name));
            call->headers[i].value.len = ngx_strlen(req->headers[i].value);
            call->headers[i].value.data = ngx_pstrdup_n(r->pool,
                                              (u_char *) req->headers[i].value,
                                              call->headers[i].value.len);
            if (call->headers[i].value.data == NULL
                || call->headers[i].name == NULL)
            {
                break;
            }
        }
        call->nheaders = i;
        call->max_response = lcf->response_max;
        call->handler = ngx_http_cwai_job_call_done;
        call->data = job;

        (void) ngx_atomic_fetch_add(
            &ngx_http_cwai_job_stats(job)->upstream_requests[req->upstream], 1);

        if (ngx_http_cwai_call_start(r, call) != NGX_OK) {
            break;
        }
        return;
    }

    /* allocation failure while starting a step */
    step->kind = CWAI_STEP_DONE;
    step->outcome = CWAI_OUTCOME_FAILED;
    step->reason = "internal_error";
    ngx_http_cwai_job_done(job, step);
}


static void
ngx_http_cwai_job_call_done(ngx_http_cwai_call_t *call)
{
    char                     ra[16];
    ngx_str_t                key, val;
    ngx_uint_t               b;
    cwai_step_t              step;
    cwai_http_resp_t         resp;
    ngx_http_cwai_job_t     *job = call->data;
    ngx_http_cwai_stats_t   *st;
    const cwai_http_req_t   *req = job->req;
    ngx_http_cwai_loc_conf_t *lcf;

    static const ngx_msec_t  bounds[] = NGX_HTTP_CWAI_LATENCY_BOUNDS;

    if (job->p == NULL) {
        return;
    }
    lcf = ngx_http_get_module_loc_conf(job->r, ngx_http_chatwootai_module);
    st = ngx_http_cwai_job_stats(job);

    for (b = 0; b < NGX_HTTP_CWAI_LATENCY_BUCKETS - 1; b++) {
        if (call->elapsed <= bounds[b]) {
            break;
        }
    }
    (void) ngx_atomic_fetch_add(&st->upstream_latency[req->upstream][b], 1);
    (void) ngx_atomic_fetch_add(&st->upstream_latency_ms[req->upstream],
                                call->elapsed);
    if (call->status == 0 || call->status >= 400 || !call->complete) {
        (void) ngx_atomic_fetch_add(&st->upstream_errors[req->upstream], 1);
    }

    ngx_memzero(&resp, sizeof(resp));
    resp.status = (int) call->status;
    resp.body = call->response.data ? (const char *) call->response.data : "";
    resp.len = call->response.len;
    resp.complete = call->complete;
    resp.now = (int64_t) ngx_time();
    if (call->retry_after) {
        ngx_snprintf((u_char *) ra, sizeof(ra), "%M%Z", call->retry_after / 1000);
        resp.retry_after = ra;
    }

    /* fill the cache with good answers only */
    if (req->cache_key != NULL && call->complete
        && call->status >= 200 && call->status < 300)
    {
        key.data = (u_char *) req->cache_key;
        key.len = ngx_strlen(req->cache_key);
        val = call->response;
        (void) ngx_http_cwai_zone_set(lcf->zone, &key, &val,
                                      req->cache_ttl_ms ? req->cache_ttl_ms
                                                        : lcf->pipeline.cache_ttl_ms);
        ngx_http_cwai_l2_set(&key, &val, req->cache_ttl_ms ? req->cache_ttl_ms
                                         : lcf->pipeline.cache_ttl_ms);
    }

    /* the jobs waiting for this key get the answer (or call alone) */
    if (job->flight != NULL) {
        ngx_http_cwai_flight_land(job, call);
    }

    (void) cwai_pipeline_feed(job->p, &resp, &step);
    ngx_http_cwai_job_step(job, &step);
}


/* ---- concurrent misses of one cache key --------------------------------- */

static void
ngx_http_cwai_flight_resume(void *data)
{
    cwai_step_t           step;
    ngx_http_cwai_job_t  *job = data;

    if (job->p == NULL) {
        return;
    }
    step = job->flight_step;

    if (job->landed.data == NULL) {
        /* the leader got no good answer: this job tries the origin itself */
        job->alone = 1;
        ngx_http_cwai_job_step(job, &step);
        return;
    }

    ngx_http_cwai_job_feed_cached(job, &job->landed, &step);
    ngx_http_cwai_job_step(job, &step);
}


/* NGX_AGAIN: the job waits for another job's call of the same key (it is
 * resumed by ngx_http_cwai_flight_resume()); NGX_OK: it leads a new
 * flight and calls; NGX_DECLINED: it calls alone. */
static ngx_int_t
ngx_http_cwai_flight_join(ngx_http_cwai_job_t *job, cwai_step_t *step,
    const char *key)
{
    size_t                   len;
    uint64_t                 hash;
    ngx_queue_t             *q;
    ngx_http_cwai_flight_t  *f;

    if (ngx_http_cwai_flights.next == NULL) {
        ngx_queue_init(&ngx_http_cwai_flights);
    }
    len = ngx_strlen(key);
    hash = cwai_hash64(key, len);

    for (q = ngx_queue_head(&ngx_http_cwai_flights);
         q != ngx_queue_sentinel(&ngx_http_cwai_flights);
         q = ngx_queue_next(q))
    {
        f = ngx_queue_data(q, ngx_http_cwai_flight_t, queue);
        if (f->hash == hash && f->key.len == len
            && ngx_memcmp(f->key.data, key, len) == 0 && f->leader != job)
        {
            job->flight_step = *step;
            job->landed.data = NULL;
            ngx_queue_insert_tail(&f->waiters, &job->waiting);
            job->in_flight = 1;
            job->r->main->count++;      /* held until the flight lands */
            (void) ngx_atomic_fetch_add(&ngx_http_cwai_job_stats(job)->coalesced, 1);
            return NGX_AGAIN;
        }
    }

    if (job->flight != NULL) {
        return NGX_DECLINED;
    }
    f = ngx_palloc(job->r->pool, sizeof(ngx_http_cwai_flight_t));
    if (f == NULL) {
        return NGX_DECLINED;
    }
    f->key.len = len;
    f->key.data = ngx_pnalloc(job->r->pool, len);
    if (f->key.data == NULL) {
        return NGX_DECLINED;
    }
    ngx_memcpy(f->key.data, key, len);
    f->hash = hash;
    f->leader = job;
    ngx_queue_init(&f->waiters);
    ngx_queue_insert_tail(&ngx_http_cwai_flights, &f->queue);
    job->flight = f;
    return NGX_OK;
}


/* The leader's call ended (call NULL: the leader's request ended first). */
static void
ngx_http_cwai_flight_land(ngx_http_cwai_job_t *job, ngx_http_cwai_call_t *call)
{
    ngx_uint_t               good;
    ngx_queue_t             *q;
    ngx_http_request_t      *wr;
    ngx_http_cwai_job_t     *w;
    ngx_http_cwai_flight_t  *f = job->flight;

    ngx_queue_remove(&f->queue);
    job->flight = NULL;

    good = call != NULL && call->complete && call->status >= 200
           && call->status < 300;

    while (!ngx_queue_empty(&f->waiters)) {
        q = ngx_queue_head(&f->waiters);
        ngx_queue_remove(q);
        w = ngx_queue_data(q, ngx_http_cwai_job_t, waiting);
        w->in_flight = 0;
        wr = w->r;

        if (good) {
            /* the leader's pool may go first: the waiter keeps a copy */
            w->landed.len = call->response.len;
            w->landed.data = ngx_pnalloc(wr->pool, call->response.len + 1);
            if (w->landed.data != NULL) {
                ngx_memcpy(w->landed.data, call->response.data,
                           call->response.len);
                w->landed.data[call->response.len] = '\0';
            }
        }

        /* resumed from its own timer, so that its subrequests run on its
         * own connection; then the flight's hold is dropped */
        w->flight_wait.handler = ngx_http_cwai_flight_resume;
        w->flight_wait.data = w;
        if (ngx_http_cwai_wait(wr, &w->flight_wait, 0) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, wr->connection->log, 0,
                          "chatwootai: a job waiting for a cached answer "
                          "could not be resumed");
        }
        ngx_http_finalize_request(wr, NGX_DONE);
    }
}


/* ---- the L2 (Redis) after an L1 miss ------------------------------------ */

static void
ngx_http_cwai_job_l2_got(ngx_http_request_t *r, void *data, ngx_str_t *value)
{
    cwai_step_t           step;
    ngx_http_cwai_job_t  *job = data;

    if (job->p == NULL) {
        return;
    }
    step = job->l2_step;

    if (value != NULL) {
        /* the zone missed, Redis had it: a hit for $chatwootai_cache */
        job->ctx->cache_misses--;
        job->ctx->cache_hits++;
    }

    if (step.kind == CWAI_STEP_LOOKUP) {
        (void) cwai_pipeline_cached(job->p,
                                    value ? (const char *) value->data : NULL,
                                    &step);
    } else if (value != NULL) {
        ngx_http_cwai_job_feed_cached(job, value, &step);
    } else {
        /* the same step again, straight to the origin */
        job->l2_missed = 1;
    }
    ngx_http_cwai_job_step(job, &step);
}


/* NGX_AGAIN: Redis is asked, ngx_http_cwai_job_l2_got() goes on with a
 * copy of the step; else go on without it. */
static ngx_int_t
ngx_http_cwai_job_l2(ngx_http_cwai_job_t *job, cwai_step_t *step,
    ngx_str_t *key, ngx_msec_t ttl)
{
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(job->r, ngx_http_chatwootai_module);
    job->l2_step = *step;
    return ngx_http_cwai_l2_get(job->r, NGX_HTTP_CWAI_L2_CACHE, key, lcf->zone,
                                ttl, ngx_http_cwai_job_l2_got, job);
}
