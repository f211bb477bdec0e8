/*
 * Redis: the L2 behind the zone (L1), shared by every nginx instance of an
 * installation — cross-instance dedupe, cached upstream answers and
 * conversation memory. Redis is never needed: when it is down or slow the
 * module works from L1 alone, and no request fails because of it.
 *
 * The client is hiredis 0.14's async API driven by nginx's event loop, one
 * connection per worker process:
 *
 *   attach    redisAsyncConnect() (non-blocking connect(); the address is
 *             numeric — resolved when nginx read its configuration — so
 *             hiredis's getaddrinfo() never waits for DNS), then
 *             ngx_get_connection() on hiredis's socket. hiredis's
 *             addRead/delRead/addWrite/delWrite hooks add and delete
 *             level-triggered nginx events whose handlers call
 *             redisAsyncHandleRead/Write.
 *   detach    hiredis owns the socket: redisFree() closes it. The ev.cleanup
 *             hook, which hiredis calls just before that close, does what
 *             ngx_close_connection() does except the close: events deleted
 *             with NGX_CLOSE_EVENT, posted events dropped,
 *             ngx_free_connection(), and then c->fd = -1, so that nginx
 *             never closes the fd and a later event of the same epoll batch
 *             is recognised as stale.
 *   timeouts  hiredis 0.14 has no async timeouts: every command has an
 *             nginx timer. On expiry the command's handler gets
 *             NGX_HTTP_CWAI_REDIS_TIMEOUT at once, the connection is closed
 *             (the commands still pending get NGX_HTTP_CWAI_REDIS_ERROR) and
 *             reopened with backoff. Connect + handshake (AUTH, SELECT,
 *             PING) have the same deadline.
 *   backoff   100 ms doubling to 5 s between attempts, reset once a
 *             handshake succeeds.
 *   state     while the connection is not up every command is declined at
 *             once (NGX_DECLINED): callers then use L1 only. Each change of
 *             state is logged once (notice when up, warn when down) and
 *             counted; the password is never logged.
 *
 * The command API (ngx_http_cwai_redis_command/_request) is what later
 * features (debounce, budgets, rate limits, queues) build on; the L2
 * helpers at the end of this file are what the webhook, the pipeline and
 * the memory use.
 */

#include "ngx_http_chatwootai_module.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


#define NGX_HTTP_CWAI_REDIS_BACKOFF_MIN  100
#define NGX_HTTP_CWAI_REDIS_BACKOFF_MAX  5000
#define NGX_HTTP_CWAI_REDIS_SLOTS        128
#define NGX_HTTP_CWAI_REDIS_MAX_TURNS    16
#define NGX_HTTP_CWAI_REDIS_MAX_TURNS_S  "16"

/* a worker's connection */
#define NGX_HTTP_CWAI_REDIS_DOWN         0      /* waiting to reconnect */
#define NGX_HTTP_CWAI_REDIS_CONNECTING   1      /* connect + handshake */
#define NGX_HTTP_CWAI_REDIS_UP           2

/* what a worker last reported (log line, counters, its slot) */
#define NGX_HTTP_CWAI_REDIS_NONE         0
#define NGX_HTTP_CWAI_REDIS_REPORTED_UP  1
#define NGX_HTTP_CWAI_REDIS_REPORTED_DOWN 2

#define NGX_HTTP_CWAI_L2_HIT             0
#define NGX_HTTP_CWAI_L2_MISS            1
#define NGX_HTTP_CWAI_L2_ERROR           2


typedef struct {
    ngx_atomic_t                pid;
    ngx_atomic_t                state;          /* REPORTED_UP/_DOWN, 0 */
} ngx_http_cwai_redis_slot_t;

/* In shared memory: summed over workers by chatwootai_status. */
typedef struct {
    ngx_atomic_t                commands;
    ngx_atomic_t                errors;
    ngx_atomic_t                timeouts;
    ngx_atomic_t                changes[2];     /* to up, to down */
    ngx_atomic_t                l2[NGX_HTTP_CWAI_L2__KINDS][3];
    ngx_http_cwai_redis_slot_t  slots[NGX_HTTP_CWAI_REDIS_SLOTS];
} ngx_http_cwai_redis_stats_t;

typedef struct {
    ngx_str_t                   kind;
    ngx_msec_t                  ttl;
} ngx_http_cwai_redis_ttl_t;

struct ngx_http_cwai_redis_conf_s {
    ngx_str_t                   name;           /* as written, for logs */
    ngx_str_t                   host;           /* numeric, NUL-terminated */
    ngx_str_t                   unix_path;      /* NUL-terminated */
    int                         port;
    ngx_int_t                   db;
    ngx_str_t                   password;
    ngx_msec_t                  timeout;
    ngx_str_t                   prefix;
    ngx_array_t                 ttls;           /* ngx_http_cwai_redis_ttl_t */
    ngx_shm_zone_t             *shm_zone;
    ngx_http_cwai_redis_stats_t *stats;
};

/* A command in flight: malloc'ed, freed when hiredis gives up its
 * callback (with the reply, or NULL when the context is freed). */
typedef struct {
    ngx_event_t                 timer;
    ngx_queue_t                 queue;
    ngx_http_cwai_redis_pt      handler;        /* NULL: cancelled, timed out */
    void                       *data;
    ngx_pool_cleanup_t         *cln;            /* cancels it with its pool */
} ngx_http_cwai_redis_cmd_t;

/* The worker's connection. The parameters are copied out of the
 * configuration: timers and events never read a cycle's memory (with
 * master_process off a reload keeps the first connection; counters, prefix
 * and TTLs are always those of the current cycle). */
typedef struct {
    ngx_log_t                  *log;
    char                       *host;
    char                       *unix_path;
    int                         port;
    ngx_int_t                   db;
    ngx_str_t                   password;
    ngx_msec_t                  timeout;
    u_char                     *name;           /* NUL-terminated */

    redisAsyncContext          *ac;
    ngx_uint_t                  state;
    ngx_uint_t                  reported;
    ngx_event_t                 timer;          /* handshake or backoff */
    ngx_msec_t                  backoff;
    ngx_msec_t                  down_since;
    ngx_queue_t                 cmds;
    unsigned                    started:1;
} ngx_http_cwai_redis_worker_t;


static ngx_http_cwai_redis_worker_t  ngx_http_cwai_redis_worker;

static const char  *ngx_http_cwai_l2_kind_names[NGX_HTTP_CWAI_L2__KINDS] = {
    "cache", "memory", "dedupe"
};

/* kinds of chatwootai_l2_ttl: the kinds in cache keys, then ours */
static const char  *ngx_http_cwai_l2_ttl_kinds[] = {
    "embed", "retrieve", "erp", "answer", "memory", "dedupe", NULL
};


static void ngx_http_cwai_redis_connect(ngx_http_cwai_redis_worker_t *w);
static void ngx_http_cwai_redis_lost(ngx_http_cwai_redis_worker_t *w,
    const redisAsyncContext *ac, const char *reason, ngx_uint_t timeout);
static void ngx_http_cwai_redis_fail(ngx_http_cwai_redis_worker_t *w,
    const char *reason, ngx_uint_t timeout);


static ngx_http_cwai_redis_conf_t *
ngx_http_cwai_redis_conf(void)
{
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_chatwootai_module);
    return cmcf ? cmcf->redis : NULL;
}


static ngx_http_cwai_redis_stats_t *
ngx_http_cwai_redis_stats(void)
{
    ngx_http_cwai_redis_conf_t  *rcf;

    rcf = ngx_http_cwai_redis_conf();
    return rcf ? rcf->stats : NULL;
}

#define ngx_http_cwai_redis_count(field)                                      \
    do {                                                                      \
        ngx_http_cwai_redis_stats_t  *st_ = ngx_http_cwai_redis_stats();      \
        if (st_) {                                                            \
            (void) ngx_atomic_fetch_add(&st_->field, 1);                      \
        }                                                                     \
    } while (0)


static void
ngx_http_cwai_l2_count(ngx_uint_t kind, ngx_uint_t result)
{
    ngx_http_cwai_redis_stats_t  *st;

    st = ngx_http_cwai_redis_stats();
    if (st != NULL && kind < NGX_HTTP_CWAI_L2__KINDS) {
        (void) ngx_atomic_fetch_add(&st->l2[kind][result], 1);
    }
}


/* ---- state changes: one log line and one count each --------------------- */

static void
ngx_http_cwai_redis_slot(ngx_http_cwai_redis_worker_t *w, ngx_uint_t state)
{
    ngx_http_cwai_redis_slot_t   *s;
    ngx_http_cwai_redis_stats_t  *st;

    st = ngx_http_cwai_redis_stats();
    if (st == NULL || ngx_worker >= NGX_HTTP_CWAI_REDIS_SLOTS) {
        return;
    }
    s = &st->slots[ngx_worker];

    if (state == NGX_HTTP_CWAI_REDIS_NONE) {
        /* exiting: only if a newer worker has not taken the slot */
        if (s->pid == (ngx_atomic_uint_t) ngx_pid) {
            s->state = 0;
            s->pid = 0;
        }
        return;
    }
    s->pid = (ngx_atomic_uint_t) ngx_pid;
    s->state = state;
}


static void
ngx_http_cwai_redis_report_up(ngx_http_cwai_redis_worker_t *w)
{
    ngx_http_cwai_redis_stats_t  *st;

    if (w->reported == NGX_HTTP_CWAI_REDIS_REPORTED_UP) {
        return;
    }
    if (w->reported == NGX_HTTP_CWAI_REDIS_REPORTED_DOWN) {
        ngx_log_error(NGX_LOG_NOTICE, w->log, 0,
                      "chatwootai: redis %s is up again after %M ms",
                      w->name, ngx_current_msec - w->down_since);
    } else {
        ngx_log_error(NGX_LOG_NOTICE, w->log, 0,
                      "chatwootai: redis %s is up", w->name);
    }
    w->reported = NGX_HTTP_CWAI_REDIS_REPORTED_UP;

    st = ngx_http_cwai_redis_stats();
    if (st != NULL) {
        (void) ngx_atomic_fetch_add(&st->changes[0], 1);
    }
    ngx_http_cwai_redis_slot(w, NGX_HTTP_CWAI_REDIS_REPORTED_UP);
}


static void
ngx_http_cwai_redis_report_down(ngx_http_cwai_redis_worker_t *w,
    const char *reason)
{
    ngx_http_cwai_redis_stats_t  *st;

    if (w->reported == NGX_HTTP_CWAI_REDIS_REPORTED_DOWN) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                       "chatwootai: redis %s still down: %s", w->name, reason);
        return;
    }
    ngx_log_error(NGX_LOG_WARN, w->log, 0,
                  "chatwootai: redis %s is down (%s): using the zone only "
                  "until it is back", w->name, reason);
    w->reported = NGX_HTTP_CWAI_REDIS_REPORTED_DOWN;
    w->down_since = ngx_current_msec;

    st = ngx_http_cwai_redis_stats();
    if (st != NULL) {
        (void) ngx_atomic_fetch_add(&st->changes[1], 1);
    }
    ngx_http_cwai_redis_slot(w, NGX_HTTP_CWAI_REDIS_REPORTED_DOWN);
}


/* ---- hiredis's event hooks ---------------------------------------------- */

static void
ngx_http_cwai_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    /* may free the context and this connection: touch neither after */
    redisAsyncHandleRead(c->data);
}


static void
ngx_http_cwai_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}


static void
ngx_http_cwai_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->read->active
        && ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
    {
        /* the command's timer closes the connection */
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "chatwootai: redis: cannot add a read event");
    }
}


static void
ngx_http_cwai_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_cwai_redis_add_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (!c->write->active
        && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "chatwootai: redis: cannot add a write event");
    }
}


static void
ngx_http_cwai_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * Called by hiredis when the context is being freed, just before
 * redisFree() closes the socket: release the nginx side without closing.
 */
static void
ngx_http_cwai_redis_cleanup(void *privdata)
{
    ngx_connection_t   *c = privdata;
    redisAsyncContext  *ac = c->data;

    ac->ev.addRead = NULL;
    ac->ev.delRead = NULL;
    ac->ev.addWrite = NULL;
    ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
    ac->ev.data = NULL;

    /* NGX_CLOSE_EVENT: the fd is closed right after, epoll forgets it */
    if (c->read->active || c->read->disabled) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }
    if (c->write->active || c->write->disabled) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }
    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }
    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }
    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);     /* clears ngx_cycle->files[fd] */
    c->fd = (ngx_socket_t) -1;  /* hiredis closes the socket, never nginx */

    /* an unexpected end (EOF, reset, failed connect): hiredis has set err */
    ngx_http_cwai_redis_lost(&ngx_http_cwai_redis_worker, ac,
                             ac->err ? ac->errstr : "connection closed", 0);
}


/* ---- commands ------------------------------------------------------------ */

static ngx_uint_t
ngx_http_cwai_redis_ready(ngx_http_cwai_redis_worker_t *w)
{
    return w->started && w->state == NGX_HTTP_CWAI_REDIS_UP && w->ac != NULL
           && ngx_http_cwai_redis_conf() != NULL;
}


ngx_uint_t
ngx_http_cwai_redis_configured(void)
{
    return ngx_http_cwai_redis_conf() != NULL;
}


ngx_uint_t
ngx_http_cwai_redis_up(void)
{
    return ngx_http_cwai_redis_ready(&ngx_http_cwai_redis_worker);
}


static void
ngx_http_cwai_redis_cmd_cancel(void *data)
{
    ngx_http_cwai_redis_cmd_t  *cmd = data;

    /* the owner's pool goes away: never call it; the command stays until
     * hiredis lets it go, and its timer still guards the connection */
    cmd->handler = NULL;
    cmd->cln = NULL;
}


/* hiredis's callback: once per command, with the reply or, when the
 * context is freed first, with NULL */
static void
ngx_http_cwai_redis_cmd_reply(redisAsyncContext *ac, void *rp, void *privdata)
{
    void                       *data;
    ngx_int_t                   rc;
    redisReply                 *reply = rp;
    ngx_http_cwai_redis_pt      handler;
    ngx_http_cwai_redis_cmd_t  *cmd = privdata;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }
    ngx_queue_remove(&cmd->queue);
    if (cmd->cln) {
        cmd->cln->handler = NULL;
    }
    handler = cmd->handler;
    data = cmd->data;
    ngx_free(cmd);

    if (reply == NULL) {
        /* the context is being freed: this connection is over (a no-op
         * when we closed it ourselves) */
        ngx_http_cwai_redis_lost(&ngx_http_cwai_redis_worker, ac,
                                 ac->err ? ac->errstr : "connection closed", 0);
        rc = NGX_HTTP_CWAI_REDIS_ERROR;

    } else {
        rc = NGX_HTTP_CWAI_REDIS_REPLY;
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_http_cwai_redis_count(errors);
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "chatwootai: redis replied with an error: %*s",
                          ngx_min(reply->len, (size_t) 200), reply->str);
        }
    }

    if (handler != NULL) {
        handler(data, rc, reply);
    }
}


static void
ngx_http_cwai_redis_cmd_timeout(ngx_event_t *ev)
{
    void                          *data;
    ngx_http_cwai_redis_pt         handler;
    ngx_http_cwai_redis_cmd_t     *cmd = ev->data;
    ngx_http_cwai_redis_worker_t  *w = &ngx_http_cwai_redis_worker;

    handler = cmd->handler;
    data = cmd->data;
    cmd->handler = NULL;
    if (cmd->cln) {
        cmd->cln->handler = NULL;
        cmd->cln = NULL;
    }

    /* a slow or stuck connection: close it (hiredis then hands this and
     * every pending command back, freeing them) and reconnect later */
    ngx_http_cwai_redis_fail(w, "a command got no answer within the timeout", 1);

    if (handler != NULL) {
        handler(data, NGX_HTTP_CWAI_REDIS_TIMEOUT, NULL);
    }
}


ngx_int_t
ngx_http_cwai_redis_command(ngx_pool_t *pool, ngx_http_cwai_redis_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_cwai_redis_cmd_t     *cmd;
    ngx_http_cwai_redis_worker_t  *w = &ngx_http_cwai_redis_worker;

    if (!ngx_http_cwai_redis_ready(w)) {
        return NGX_DECLINED;
    }

    cmd = ngx_calloc(sizeof(ngx_http_cwai_redis_cmd_t), w->log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }
    if (pool != NULL) {
        cln = ngx_pool_cleanup_add(pool, 0);
        if (cln == NULL) {
            ngx_free(cmd);
            return NGX_ERROR;
        }
        cln->handler = ngx_http_cwai_redis_cmd_cancel;
        cln->data = cmd;
        cmd->cln = cln;
    }
    cmd->handler = handler;
    cmd->data = data;

    if (redisAsyncCommandArgv(w->ac, ngx_http_cwai_redis_cmd_reply, cmd, argc,
                              argv, argvlen)
        != REDIS_OK)
    {
        /* the context is closing: as good as down */
        if (cmd->cln) {
            cmd->cln->handler = NULL;
        }
        ngx_free(cmd);
        return NGX_DECLINED;
    }

    cmd->timer.handler = ngx_http_cwai_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = w->log;
    /* not cancelable: a graceful shutdown waits for the answer (at most
     * the timeout), as it does for the request that may wait on it */
    ngx_add_timer(&cmd->timer, w->timeout);
    ngx_queue_insert_tail(&w->cmds, &cmd->queue);

    ngx_http_cwai_redis_count(commands);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chatwootai: redis command \"%*s\"", argvlen[0], argv[0]);
    return NGX_OK;
}


/* ---- commands that keep a request alive --------------------------------- */

typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_redis_pt      handler;
    void                       *data;
} ngx_http_cwai_redis_req_t;


static void
ngx_http_cwai_redis_req_done(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_cwai_redis_req_t  *rq = data;

    r = rq->r;
    c = r->connection;

    rq->handler(rq->data, rc, reply);

    /* drop the command's reference, then run what the handler posted */
    ngx_http_finalize_request(r, NGX_DONE);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_cwai_redis_request(ngx_http_request_t *r, ngx_http_cwai_redis_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    ngx_int_t                   rc;
    ngx_http_cwai_redis_req_t  *rq;

    r = r->main;

    if (!ngx_http_cwai_redis_ready(&ngx_http_cwai_redis_worker)) {
        return NGX_DECLINED;
    }
    rq = ngx_palloc(r->pool, sizeof(ngx_http_cwai_redis_req_t));
    if (rq == NULL) {
        return NGX_ERROR;
    }
    rq->r = r;
    rq->handler = handler;
    rq->data = data;

    rc = ngx_http_cwai_redis_command(r->pool, ngx_http_cwai_redis_req_done, rq,
                                     argc, argv, argvlen);
    if (rc == NGX_OK) {
        r->count++;
    }
    return rc;
}


ngx_int_t
ngx_http_cwai_redis_eval(ngx_http_request_t *r, ngx_http_cwai_redis_pt handler,
    void *data, const char *script, ngx_str_t *keys, ngx_uint_t nkeys,
    ngx_str_t *args, ngx_uint_t nargs)
{
    u_char       kbuf[NGX_HTTP_CWAI_REDIS_EVAL_KEYS][512];
    size_t       argvlen[3 + NGX_HTTP_CWAI_REDIS_EVAL_KEYS
                         + NGX_HTTP_CWAI_REDIS_EVAL_ARGS];
    ngx_uint_t   i, n;
    const char  *argv[3 + NGX_HTTP_CWAI_REDIS_EVAL_KEYS
                      + NGX_HTTP_CWAI_REDIS_EVAL_ARGS];

    if (nkeys > NGX_HTTP_CWAI_REDIS_EVAL_KEYS
        || nargs > NGX_HTTP_CWAI_REDIS_EVAL_ARGS)
    {
        return NGX_DECLINED;
    }

    /* EVAL each time: Redis caches the compiled script by its SHA1, and
     * the text costs a few hundred bytes on a connection that is there */
    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = ngx_strlen(script);
    argv[2] = "0123" + nkeys;       /* one digit: nkeys <= 3 */
    argvlen[2] = 1;
    n = 3;
    for (i = 0; i < nkeys; i++, n++) {
        argv[n] = (const char *) ngx_http_cwai_l2_key(kbuf[i], sizeof(kbuf[i]),
                                                      &keys[i], &argvlen[n]);
        if (argv[n] == NULL) {
            return NGX_DECLINED;
        }
    }
    for (i = 0; i < nargs; i++, n++) {
        argv[n] = args[i].len ? (const char *) args[i].data : "";
        argvlen[n] = args[i].len;
    }

    return r ? ngx_http_cwai_redis_request(r, handler, data, (int) n, argv,
                                           argvlen)
             : ngx_http_cwai_redis_command(NULL, handler, data, (int) n, argv,
                                           argvlen);
}


/* ---- the connection --------------------------------------------------- */

static void
ngx_http_cwai_redis_retry(ngx_http_cwai_redis_worker_t *w)
{
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }
    ngx_add_timer(&w->timer, w->backoff);
    w->backoff = ngx_min(2 * w->backoff, NGX_HTTP_CWAI_REDIS_BACKOFF_MAX);
}


/* The current connection is gone, whoever noticed first (a callback
 * without reply, the cleanup hook, a timeout, a failed handshake): down,
 * and a reconnect after the backoff. A no-op for an older context. */
static void
ngx_http_cwai_redis_lost(ngx_http_cwai_redis_worker_t *w,
    const redisAsyncContext *ac, const char *reason, ngx_uint_t timeout)
{
    if (ac == NULL || w->ac != ac) {
        return;
    }
    w->ac = NULL;
    w->state = NGX_HTTP_CWAI_REDIS_DOWN;
    if (timeout) {
        ngx_http_cwai_redis_count(timeouts);
    } else {
        ngx_http_cwai_redis_count(errors);
    }
    ngx_http_cwai_redis_report_down(w, reason);
    ngx_http_cwai_redis_retry(w);
}


/* We close the connection: now, or when the hiredis callback we are in
 * returns (redisAsyncFree() defers itself then). */
static void
ngx_http_cwai_redis_fail(ngx_http_cwai_redis_worker_t *w, const char *reason,
    ngx_uint_t timeout)
{
    redisAsyncContext  *ac = w->ac;

    if (ac == NULL) {
        return;
    }
    ngx_http_cwai_redis_lost(w, ac, reason, timeout);
    redisAsyncFree(ac);
}


static void
ngx_http_cwai_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "chatwootai: redis connect: %s %s",
                   status == REDIS_OK ? "ok" : "failed",
                   status == REDIS_OK ? "" : ac->errstr);
    /* a failure: hiredis frees the context next; the cleanup hook reports */
}


#define NGX_HTTP_CWAI_REDIS_HELLO_AUTH    ((void *) 1)
#define NGX_HTTP_CWAI_REDIS_HELLO_SELECT  ((void *) 2)
#define NGX_HTTP_CWAI_REDIS_HELLO_PING    ((void *) 3)

static void
ngx_http_cwai_redis_hello(redisAsyncContext *ac, void *rp, void *privdata)
{
    u_char                         buf[160];
    redisReply                    *reply = rp;
    ngx_http_cwai_redis_worker_t  *w = &ngx_http_cwai_redis_worker;

    if (reply == NULL || w->ac != ac) {
        /* being freed: the cleanup hook reports it */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (privdata == NGX_HTTP_CWAI_REDIS_HELLO_AUTH) {
            /* the reply is not logged: it could quote what was sent */
            ngx_cpystrn(buf, (u_char *) "AUTH failed (check password=)",
                        sizeof(buf));
        } else {
            ngx_snprintf(buf, sizeof(buf), "%s failed: %*s%Z",
                         privdata == NGX_HTTP_CWAI_REDIS_HELLO_SELECT
                         ? "SELECT" : "PING",
                         ngx_min(reply->len, (size_t) 100), reply->str);
        }
        ngx_http_cwai_redis_fail(w, (const char *) buf, 0);
        return;
    }

    if (privdata != NGX_HTTP_CWAI_REDIS_HELLO_PING) {
        return;
    }

    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
    w->state = NGX_HTTP_CWAI_REDIS_UP;
    w->backoff = NGX_HTTP_CWAI_REDIS_BACKOFF_MIN;
    ngx_http_cwai_redis_report_up(w);
}


static void
ngx_http_cwai_redis_connect(ngx_http_cwai_redis_worker_t *w)
{
    u_char              buf[160], dbuf[NGX_INT_T_LEN];
    const char         *argv[2];
    size_t              argvlen[2];
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "chatwootai: redis connecting to %s", w->name);

    ac = w->unix_path ? redisAsyncConnectUnix(w->unix_path)
                      : redisAsyncConnect(w->host, w->port);
    if (ac == NULL) {
        ngx_cpystrn(buf, (u_char *) "out of memory", sizeof(buf));
        goto failed;
    }
    if (ac->err) {
        ngx_cpystrn(buf, (u_char *) ac->errstr, sizeof(buf));
        redisAsyncFree(ac);
        goto failed;
    }

    c = ngx_get_connection(ac->c.fd, w->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_cpystrn(buf, (u_char *) "no free connection (worker_connections)",
                    sizeof(buf));
        goto failed;
    }
    c->data = ac;
    c->read->handler = ngx_http_cwai_redis_read_handler;
    c->write->handler = ngx_http_cwai_redis_write_handler;
    c->read->log = w->log;
    c->write->log = w->log;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_cwai_redis_add_read;
    ac->ev.delRead = ngx_http_cwai_redis_del_read;
    ac->ev.addWrite = ngx_http_cwai_redis_add_write;
    ac->ev.delWrite = ngx_http_cwai_redis_del_write;
    ac->ev.cleanup = ngx_http_cwai_redis_cleanup;

    w->ac = ac;
    w->state = NGX_HTTP_CWAI_REDIS_CONNECTING;

    if (w->unix_path == NULL) {
        /* a peer gone without a word (host down, NAT dropped) is noticed;
         * on failure hiredis sets err: start again without it */
        if (redisEnableKeepAlive(&ac->c) != REDIS_OK) {
            ac->c.err = 0;
        }
    }
    (void) redisAsyncSetConnectCallback(ac, ngx_http_cwai_redis_connected);

    /* the handshake, pipelined behind the connect */
    if (w->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) w->password.data;
        argvlen[1] = w->password.len;
        (void) redisAsyncCommandArgv(ac, ngx_http_cwai_redis_hello,
                                     NGX_HTTP_CWAI_REDIS_HELLO_AUTH, 2, argv,
                                     argvlen);
    }
    if (w->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (const char *) dbuf;
        argvlen[1] = ngx_sprintf(dbuf, "%i", w->db) - dbuf;
        (void) redisAsyncCommandArgv(ac, ngx_http_cwai_redis_hello,
                                     NGX_HTTP_CWAI_REDIS_HELLO_SELECT, 2, argv,
                                     argvlen);
    }
    argv[0] = "PING";
    argvlen[0] = 4;
    (void) redisAsyncCommandArgv(ac, ngx_http_cwai_redis_hello,
                                 NGX_HTTP_CWAI_REDIS_HELLO_PING, 1, argv, argvlen);

    /* connect + handshake within the timeout */
    ngx_add_timer(&w->timer, w->timeout);
    return;

failed:

    w->state = NGX_HTTP_CWAI_REDIS_DOWN;
    ngx_http_cwai_redis_count(errors);
    ngx_http_cwai_redis_report_down(w, (const char *) buf);
    ngx_http_cwai_redis_retry(w);
}


static void
ngx_http_cwai_redis_timer(ngx_event_t *ev)
{
    ngx_http_cwai_redis_worker_t  *w = ev->data;

    if (w->state == NGX_HTTP_CWAI_REDIS_CONNECTING) {
        ngx_http_cwai_redis_fail(w, "no answer to connect and PING within "
                                 "the timeout", 1);
        return;
    }
    if (w->state == NGX_HTTP_CWAI_REDIS_DOWN
        && !ngx_exiting && !ngx_terminate && !ngx_quit)
    {
        ngx_http_cwai_redis_connect(w);
    }
}


static char *
ngx_http_cwai_redis_strdup(ngx_str_t *s, ngx_log_t *log)
{
    char  *p;

    p = ngx_alloc(s->len + 1, log);
    if (p != NULL) {
        ngx_memcpy(p, s->data, s->len);
        p[s->len] = '\0';
    }
    return p;
}


ngx_int_t
ngx_http_cwai_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cwai_main_conf_t     *cmcf;
    ngx_http_cwai_redis_conf_t    *rcf;
    ngx_http_cwai_redis_worker_t  *w = &ngx_http_cwai_redis_worker;

    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }
    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_chatwootai_module);
    if (cmcf == NULL || cmcf->redis == NULL || w->started) {
        return NGX_OK;
    }
    rcf = cmcf->redis;

    ngx_memzero(w, sizeof(ngx_http_cwai_redis_worker_t));
    w->log = cycle->log;
    w->port = rcf->port;
    w->db = rcf->db;
    w->timeout = rcf->timeout;
    w->name = (u_char *) ngx_http_cwai_redis_strdup(&rcf->name, cycle->log);
    if (rcf->unix_path.len) {
        w->unix_path = ngx_http_cwai_redis_strdup(&rcf->unix_path, cycle->log);
    } else {
        w->host = ngx_http_cwai_redis_strdup(&rcf->host, cycle->log);
    }
    if (rcf->password.len) {
        w->password.data = (u_char *) ngx_http_cwai_redis_strdup(&rcf->password,
                                                                 cycle->log);
        w->password.len = rcf->password.len;
    }
    if (w->name == NULL || (w->unix_path == NULL && w->host == NULL)
        || (rcf->password.len && w->password.data == NULL))
    {
        /* no Redis in this worker: the zone alone */
        return NGX_OK;
    }

    ngx_queue_init(&w->cmds);
    w->timer.handler = ngx_http_cwai_redis_timer;
    w->timer.data = w;
    w->timer.log = cycle->log;
    w->timer.cancelable = 1;
    w->backoff = NGX_HTTP_CWAI_REDIS_BACKOFF_MIN;
    w->started = 1;

    ngx_http_cwai_redis_connect(w);
    return NGX_OK;
}


void
ngx_http_cwai_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                   *q;
    redisAsyncContext             *ac;
    ngx_http_cwai_redis_cmd_t     *cmd;
    ngx_http_cwai_redis_worker_t  *w = &ngx_http_cwai_redis_worker;

    if (!w->started) {
        return;
    }

    /* nobody is called back any more */
    for (q = ngx_queue_head(&w->cmds);
         q != ngx_queue_sentinel(&w->cmds);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_http_cwai_redis_cmd_t, queue);
        cmd->handler = NULL;
        if (cmd->cln) {
            cmd->cln->handler = NULL;
            cmd->cln = NULL;
        }
        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }
    }
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
    ngx_http_cwai_redis_slot(w, NGX_HTTP_CWAI_REDIS_NONE);

    ac = w->ac;
    w->ac = NULL;
    w->state = NGX_HTTP_CWAI_REDIS_DOWN;
    w->started = 0;
    if (ac != NULL) {
        /* frees the commands (callbacks without reply) and, through the
         * cleanup hook, the nginx connection; hiredis closes the socket */
        redisAsyncFree(ac);
    }

    ngx_free(w->name);
    ngx_free(w->host);
    ngx_free(w->unix_path);
    if (w->password.data) {
        ngx_explicit_memzero(w->password.data, w->password.len);
        ngx_free(w->password.data);
    }
    ngx_memzero(w, sizeof(ngx_http_cwai_redis_worker_t));
}


/* ---- the L2: keys, TTLs ------------------------------------------------ */

/* prefix + key into buf; NULL when it does not fit (then no L2) */
u_char *
ngx_http_cwai_l2_key(u_char *buf, size_t size, ngx_str_t *key, size_t *len)
{
    ngx_http_cwai_redis_conf_t  *rcf;

    rcf = ngx_http_cwai_redis_conf();
    if (rcf == NULL || rcf->prefix.len + key->len > size) {
        return NULL;
    }
    *len = ngx_cpymem(ngx_cpymem(buf, rcf->prefix.data, rcf->prefix.len),
                      key->data, key->len) - buf;
    return buf;
}


/* The L2 TTL of a kind ("embed", "memory", ...): chatwootai_l2_ttl, else
 * the L1 TTL given. 0: not kept in Redis. */
static ngx_msec_t
ngx_http_cwai_l2_ttl(const u_char *kind, size_t len, ngx_msec_t l1_ttl)
{
    ngx_uint_t                   i;
    ngx_http_cwai_redis_ttl_t   *t;
    ngx_http_cwai_redis_conf_t  *rcf;

    rcf = ngx_http_cwai_redis_conf();
    if (rcf == NULL) {
        return 0;
    }
    t = rcf->ttls.elts;
    for (i = 0; i < rcf->ttls.nelts; i++) {
        if (t[i].kind.len == len && ngx_strncmp(t[i].kind.data, kind, len) == 0) {
            return t[i].ttl;
        }
    }
    return l1_ttl;
}


/* the kind of a cache key "cwai:<kind>:<hash>" (cwai_http_cache_key) */
static ngx_msec_t
ngx_http_cwai_l2_cache_ttl(ngx_str_t *key, ngx_msec_t l1_ttl)
{
    u_char  *p, *last;

    last = key->data + key->len;
    if (key->len > 5 && ngx_strncmp(key->data, "cwai:", 5) == 0) {
        p = ngx_strlchr(key->data + 5, last, ':');
        if (p != NULL) {
            return ngx_http_cwai_l2_ttl(key->data + 5, p - key->data - 5, l1_ttl);
        }
    }
    return l1_ttl;
}


/* ---- the L2: cache --------------------------------------------------------- */

void
ngx_http_cwai_l2_set(ngx_str_t *key, ngx_str_t *value, ngx_msec_t l1_ttl)
{
    u_char       kbuf[512], tbuf[NGX_INT_T_LEN];
    size_t       argvlen[5];
    ngx_msec_t   ttl;
    const char  *argv[5];

    if (!ngx_http_cwai_redis_configured()) {
        return;
    }
    ttl = ngx_http_cwai_l2_cache_ttl(key, l1_ttl);
    if (ttl == 0) {
        return;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    if (argv[1] == NULL) {
        return;
    }
    argv[0] = "SET";
    argvlen[0] = 3;
    argv[2] = (const char *) value->data;
    argvlen[2] = value->len;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = (const char *) tbuf;
    argvlen[4] = ngx_sprintf(tbuf, "%M", ttl) - tbuf;

    /* fire and forget: a failure is counted and the zone still has it */
    (void) ngx_http_cwai_redis_command(NULL, NULL, NULL, 5, argv, argvlen);
}


/* ---- the L2: shared counters (token budgets) ---------------------------- */

typedef struct {
    ngx_http_cwai_zone_t       *zone;
    ngx_msec_t                  ttl;
    ngx_str_t                   key;            /* the zone's key */
    u_char                      data[1];
} ngx_http_cwai_l2_incr_t;


/* Redis has the total of every instance (INCRBY's integer, GET's
 * string): raise the zone's count to it. */
static void
ngx_http_cwai_l2_incred(void *data, ngx_int_t rc, redisReply *reply)
{
    int64_t                   local, total;
    ngx_int_t                 n;
    ngx_http_cwai_l2_incr_t  *c = data;

    total = -1;
    if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_INTEGER) {
        total = (int64_t) reply->integer;

    } else if (rc == NGX_HTTP_CWAI_REDIS_REPLY
               && reply->type == REDIS_REPLY_STRING)
    {
        n = ngx_atoi((u_char *) reply->str, reply->len);
        total = (n == NGX_ERROR) ? -1 : (int64_t) n;
    }

    if (total > 0
        && ngx_http_cwai_zone_incr(c->zone, &c->key, 0, c->ttl, &local) == NGX_OK
        && total > local)
    {
        (void) ngx_http_cwai_zone_incr(c->zone, &c->key, total - local, c->ttl,
                                       NULL);
    }
    ngx_free(c);
}


static ngx_http_cwai_l2_incr_t *
ngx_http_cwai_l2_incr_data(ngx_http_cwai_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl)
{
    ngx_http_cwai_l2_incr_t  *c;

    /* the handler runs once the reply (or a timeout) is in, whatever
     * request asked: the copy is its own */
    c = ngx_alloc(sizeof(ngx_http_cwai_l2_incr_t) + key->len, ngx_cycle->log);
    if (c == NULL) {
        return NULL;
    }
    c->zone = zone;
    c->ttl = ttl;
    c->key.data = c->data;
    c->key.len = key->len;
    ngx_memcpy(c->data, key->data, key->len);
    return c;
}


void
ngx_http_cwai_l2_counter_sync(ngx_http_cwai_zone_t *zone, ngx_str_t *key,
    ngx_msec_t ttl)
{
    u_char                    kbuf[512];
    size_t                    argvlen[2];
    const char               *argv[2];
    ngx_http_cwai_l2_incr_t  *c;

    if (!ngx_http_cwai_redis_configured() || !ngx_http_cwai_redis_up()) {
        return;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    if (argv[1] == NULL) {
        return;
    }
    c = ngx_http_cwai_l2_incr_data(zone, key, ttl);
    if (c == NULL) {
        return;
    }
    argv[0] = "GET";
    argvlen[0] = 3;
    if (ngx_http_cwai_redis_command(NULL, ngx_http_cwai_l2_incred, c, 2, argv,
                                    argvlen)
        != NGX_OK)
    {
        ngx_free(c);
    }
}


void
ngx_http_cwai_l2_incrby(ngx_http_cwai_zone_t *zone, ngx_str_t *key,
    int64_t by, ngx_msec_t ttl)
{
    u_char                    kbuf[512], nbuf[NGX_INT64_LEN + 2],
                              tbuf[NGX_INT_T_LEN];
    size_t                    argvlen[3];
    const char               *argv[3];
    ngx_http_cwai_l2_incr_t  *c;

    if (!ngx_http_cwai_redis_configured() || !ngx_http_cwai_redis_up()) {
        return;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    if (argv[1] == NULL) {
        return;
    }

    c = ngx_http_cwai_l2_incr_data(zone, key, ttl);
    if (c == NULL) {
        return;
    }

    argv[0] = "INCRBY";
    argvlen[0] = 6;
    argv[2] = (const char *) nbuf;
    argvlen[2] = ngx_sprintf(nbuf, "%L", by) - nbuf;
    if (ngx_http_cwai_redis_command(NULL, ngx_http_cwai_l2_incred, c, 3, argv,
                                    argvlen)
        != NGX_OK)
    {
        ngx_free(c);
        return;
    }

    argv[0] = "PEXPIRE";
    argvlen[0] = 7;
    argv[2] = (const char *) tbuf;
    argvlen[2] = ngx_sprintf(tbuf, "%M", ttl) - tbuf;
    (void) ngx_http_cwai_redis_command(NULL, NULL, NULL, 3, argv, argvlen);
}


typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_zone_t       *zone;
    ngx_str_t                   key;            /* the zone's key */
    ngx_msec_t                  l1_ttl;
    ngx_uint_t                  kind;
    ngx_http_cwai_l2_get_pt     handler;
    void                       *data;
} ngx_http_cwai_l2_get_t;


static void
ngx_http_cwai_l2_got(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_str_t                v, *value;
    ngx_http_cwai_l2_get_t  *g = data;

    value = NULL;

    if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_STRING) {
        v.len = reply->len;
        v.data = ngx_pnalloc(g->r->pool, v.len + 1);
        if (v.data != NULL) {
            ngx_memcpy(v.data, reply->str, v.len);
            v.data[v.len] = '\0';
            value = &v;
            /* fill L1 on a hit */
            if (g->zone != NULL) {
                (void) ngx_http_cwai_zone_set(g->zone, &g->key, &v, g->l1_ttl);
            }
        }
        ngx_http_cwai_l2_count(g->kind, value ? NGX_HTTP_CWAI_L2_HIT
                                              : NGX_HTTP_CWAI_L2_ERROR);

    } else if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_NIL) {
        ngx_http_cwai_l2_count(g->kind, NGX_HTTP_CWAI_L2_MISS);

    } else {
        ngx_http_cwai_l2_count(g->kind, NGX_HTTP_CWAI_L2_ERROR);
    }

    g->handler(g->r, g->data, value);
}


ngx_int_t
ngx_http_cwai_l2_get(ngx_http_request_t *r, ngx_uint_t kind, ngx_str_t *key,
    ngx_http_cwai_zone_t *zone, ngx_msec_t l1_ttl,
    ngx_http_cwai_l2_get_pt handler, void *data)
{
    u_char                  kbuf[512];
    size_t                  argvlen[2];
    const char             *argv[2];
    ngx_http_cwai_l2_get_t *g;

    if (!ngx_http_cwai_redis_configured()) {
        return NGX_DECLINED;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    g = ngx_palloc(r->pool, sizeof(ngx_http_cwai_l2_get_t));
    if (argv[1] == NULL || g == NULL) {
        return NGX_DECLINED;
    }
    g->key.data = ngx_pstrdup(r->pool, key);
    g->key.len = key->len;
    if (g->key.data == NULL) {
        return NGX_DECLINED;
    }
    g->r = r;
    g->zone = zone;
    g->l1_ttl = l1_ttl;
    g->kind = kind;
    g->handler = handler;
    g->data = data;

    argv[0] = "GET";
    argvlen[0] = 3;

    if (ngx_http_cwai_redis_request(r, ngx_http_cwai_l2_got, g, 2, argv, argvlen)
        != NGX_OK)
    {
        /* down: the origin answers, as without Redis */
        ngx_http_cwai_l2_count(kind, NGX_HTTP_CWAI_L2_ERROR);
        return NGX_DECLINED;
    }
    return NGX_AGAIN;
}


/* ---- the L2: dedupe across instances ----------------------------------- */

typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_l2_dedupe_pt  handler;
    ngx_uint_t                  pending;
    ngx_int_t                   dup;            /* first key Redis had */
    unsigned                    error:1;
} ngx_http_cwai_l2_dedupe_t;

typedef struct {
    ngx_http_cwai_l2_dedupe_t  *d;
    ngx_int_t                   index;
} ngx_http_cwai_l2_dedupe_key_t;


static void
ngx_http_cwai_l2_deduped(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_http_cwai_l2_dedupe_t      *d;
    ngx_http_cwai_l2_dedupe_key_t  *k = data;

    d = k->d;

    if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_NIL) {
        /* SET NX did not set: another instance (or worker) had it */
        if (d->dup < 0 || k->index < d->dup) {
            d->dup = k->index;
        }
    } else if (rc != NGX_HTTP_CWAI_REDIS_REPLY
               || reply->type != REDIS_REPLY_STATUS)
    {
        d->error = 1;
    }

    if (--d->pending) {
        return;
    }

    ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_DEDUPE,
                           d->dup >= 0 ? NGX_HTTP_CWAI_L2_HIT
                           : d->error ? NGX_HTTP_CWAI_L2_ERROR
                                      : NGX_HTTP_CWAI_L2_MISS);
    if (d->error && d->dup < 0) {
        ngx_log_error(NGX_LOG_INFO, d->r->connection->log, 0,
                      "chatwootai: redis could not dedupe this delivery: "
                      "the zone decided alone");
    }
    d->handler(d->r, d->dup);
}


ngx_int_t
ngx_http_cwai_l2_dedupe(ngx_http_request_t *r, ngx_str_t *keys, ngx_uint_t n,
    ngx_msec_t l1_ttl, ngx_http_cwai_l2_dedupe_pt handler)
{
    u_char                         kbuf[512], tbuf[NGX_INT_T_LEN];
    size_t                         argvlen[6];
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_msec_t                     ttl;
    const char                    *argv[6];
    ngx_http_cwai_l2_dedupe_t     *d;
    ngx_http_cwai_l2_dedupe_key_t *k;

    if (!ngx_http_cwai_redis_configured()) {
        return NGX_DECLINED;
    }
    ttl = ngx_http_cwai_l2_ttl((u_char *) "dedupe", 6, l1_ttl);
    if (ttl == 0) {
        return NGX_DECLINED;
    }
    if (!ngx_http_cwai_redis_up()) {
        ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_DEDUPE, NGX_HTTP_CWAI_L2_ERROR);
        return NGX_DECLINED;
    }

    d = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_l2_dedupe_t));
    k = ngx_palloc(r->pool, n * sizeof(ngx_http_cwai_l2_dedupe_key_t));
    if (d == NULL || k == NULL) {
        return NGX_DECLINED;
    }
    d->r = r;
    d->handler = handler;
    d->dup = -1;

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = "NX";
    argvlen[3] = 2;
    argv[4] = "PX";
    argvlen[4] = 2;
    argv[5] = (const char *) tbuf;
    argvlen[5] = ngx_sprintf(tbuf, "%M", ttl) - tbuf;

    for (i = 0; i < n; i++) {
        argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), &keys[i],
                                                      &argvlen[1]);
        k[i].d = d;
        k[i].index = (ngx_int_t) i;
        rc = (argv[1] == NULL) ? NGX_DECLINED
             : ngx_http_cwai_redis_request(r, ngx_http_cwai_l2_deduped, &k[i],
                                           6, argv, argvlen);
        if (rc != NGX_OK) {
            d->error = 1;
            break;
        }
        d->pending++;
    }

    if (d->pending == 0) {
        ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_DEDUPE, NGX_HTTP_CWAI_L2_ERROR);
        return NGX_DECLINED;
    }
    return NGX_AGAIN;
}


/* ---- the L2: conversation memory ------------------------------------------ */

/*
 * A conversation's turns are a Redis list of JSON objects, appended by
 * every instance (RPUSH, so two instances never overwrite each other's
 * turns) and trimmed to the last NGX_HTTP_CWAI_REDIS_MAX_TURNS.
 */
void
ngx_http_cwai_l2_memory_push(ngx_str_t *key, ngx_str_t *turns, ngx_uint_t n,
    ngx_msec_t l1_ttl)
{
    u_char       kbuf[512], tbuf[NGX_INT_T_LEN];
    size_t       argvlen[2 + NGX_HTTP_CWAI_REDIS_MAX_TURNS];
    ngx_uint_t   i;
    ngx_msec_t   ttl;
    const char  *argv[2 + NGX_HTTP_CWAI_REDIS_MAX_TURNS];

    if (n == 0 || !ngx_http_cwai_redis_configured()) {
        return;
    }
    ttl = ngx_http_cwai_l2_ttl((u_char *) "memory", 6, l1_ttl);
    if (ttl == 0) {
        return;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    if (argv[1] == NULL) {
        return;
    }
    if (n > NGX_HTTP_CWAI_REDIS_MAX_TURNS) {
        turns += n - NGX_HTTP_CWAI_REDIS_MAX_TURNS;
        n = NGX_HTTP_CWAI_REDIS_MAX_TURNS;
    }

    argv[0] = "RPUSH";
    argvlen[0] = 5;
    for (i = 0; i < n; i++) {
        argv[2 + i] = (const char *) turns[i].data;
        argvlen[2 + i] = turns[i].len;
    }
    if (ngx_http_cwai_redis_command(NULL, NULL, NULL, (int) (2 + n), argv,
                                    argvlen)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "LTRIM";
    argvlen[0] = 5;
    argv[2] = "-" NGX_HTTP_CWAI_REDIS_MAX_TURNS_S;
    argvlen[2] = sizeof("-" NGX_HTTP_CWAI_REDIS_MAX_TURNS_S) - 1;
    argv[3] = "-1";
    argvlen[3] = 2;
    (void) ngx_http_cwai_redis_command(NULL, NULL, NULL, 4, argv, argvlen);

    argv[0] = "PEXPIRE";
    argvlen[0] = 7;
    argv[2] = (const char *) tbuf;
    argvlen[2] = ngx_sprintf(tbuf, "%M", ttl) - tbuf;
    (void) ngx_http_cwai_redis_command(NULL, NULL, NULL, 3, argv, argvlen);
}


typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_zone_t       *zone;
    ngx_str_t                   key;
    ngx_msec_t                  l1_ttl;
    ngx_http_cwai_l2_done_pt    handler;
    void                       *data;
} ngx_http_cwai_l2_memory_t;


/* The zone has turns that Redis lost (restarted, flushed): give them back,
 * so that the list other instances read is whole again. */
static void
ngx_http_cwai_l2_memory_restore(ngx_http_cwai_l2_memory_t *m)
{
    char       *s;
    json_t     *turns, *t;
    size_t      i, n;
    ngx_str_t   value, items[NGX_HTTP_CWAI_REDIS_MAX_TURNS];

    if (ngx_http_cwai_zone_get(m->zone, &m->key, m->r->pool, &value, NULL)
        != NGX_OK)
    {
        return;
    }
    turns = json_loadb((const char *) value.data, value.len, 0, NULL);
    n = 0;
    json_array_foreach(turns, i, t) {
        if (n == NGX_HTTP_CWAI_REDIS_MAX_TURNS || !json_is_object(t)) {
            continue;
        }
        s = json_dumps(t, JSON_COMPACT);
        if (s == NULL) {
            continue;
        }
        items[n].len = ngx_strlen(s);
        items[n].data = ngx_pnalloc(m->r->pool, items[n].len);
        if (items[n].data != NULL) {
            ngx_memcpy(items[n].data, s, items[n].len);
            n++;
        }
        free(s);
    }
    json_decref(turns);
    ngx_http_cwai_l2_memory_push(&m->key, items, n, m->l1_ttl);
}


static void
ngx_http_cwai_l2_memory_got(void *data, ngx_int_t rc, redisReply *reply)
{
    char                       *s;
    json_t                     *turns, *t;
    size_t                      i;
    ngx_str_t                   value;
    redisReply                 *e;
    ngx_http_cwai_l2_memory_t  *m = data;

    if (rc != NGX_HTTP_CWAI_REDIS_REPLY || reply->type != REDIS_REPLY_ARRAY) {
        /* the zone's turns, as without Redis */
        ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_MEMORY, NGX_HTTP_CWAI_L2_ERROR);
        m->handler(m->r, m->data);
        return;
    }

    if (reply->elements == 0) {
        ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_MEMORY, NGX_HTTP_CWAI_L2_MISS);
        ngx_http_cwai_l2_memory_restore(m);
        m->handler(m->r, m->data);
        return;
    }

    /* Redis has the conversation as every instance saw it: the zone gets
     * that copy (the zone's may be stale or evicted) */
    turns = json_array();
    for (i = 0; turns && i < reply->elements; i++) {
        e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }
        t = json_loadb(e->str, e->len, 0, NULL);
        if (json_is_object(t)) {
            json_array_append_new(turns, t);
        } else {
            json_decref(t);
        }
    }
    s = turns ? json_dumps(turns, JSON_COMPACT) : NULL;
    json_decref(turns);
    if (s != NULL) {
        value.data = (u_char *) s;
        value.len = ngx_strlen(s);
        (void) ngx_http_cwai_zone_set(m->zone, &m->key, &value, m->l1_ttl);
        free(s);
    }
    ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_MEMORY, NGX_HTTP_CWAI_L2_HIT);
    m->handler(m->r, m->data);
}


ngx_int_t
ngx_http_cwai_l2_memory_fetch(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_cwai_zone_t *zone, ngx_msec_t l1_ttl,
    ngx_http_cwai_l2_done_pt handler, void *data)
{
    u_char                     kbuf[512];
    size_t                     argvlen[4];
    const char                *argv[4];
    ngx_http_cwai_l2_memory_t *m;

    if (!ngx_http_cwai_redis_configured()
        || ngx_http_cwai_l2_ttl((u_char *) "memory", 6, l1_ttl) == 0)
    {
        return NGX_DECLINED;
    }
    argv[1] = (const char *) ngx_http_cwai_l2_key(kbuf, sizeof(kbuf), key,
                                                  &argvlen[1]);
    m = ngx_palloc(r->pool, sizeof(ngx_http_cwai_l2_memory_t));
    if (argv[1] == NULL || m == NULL) {
        return NGX_DECLINED;
    }
    m->key.data = ngx_pstrdup(r->pool, key);
    m->key.len = key->len;
    if (m->key.data == NULL) {
        return NGX_DECLINED;
    }
    m->r = r;
    m->zone = zone;
    m->l1_ttl = l1_ttl;
    m->handler = handler;
    m->data = data;

    argv[0] = "LRANGE";
    argvlen[0] = 6;
    argv[2] = "-" NGX_HTTP_CWAI_REDIS_MAX_TURNS_S;
    argvlen[2] = sizeof("-" NGX_HTTP_CWAI_REDIS_MAX_TURNS_S) - 1;
    argv[3] = "-1";
    argvlen[3] = 2;

    if (ngx_http_cwai_redis_request(r, ngx_http_cwai_l2_memory_got, m, 4, argv,
                                    argvlen)
        != NGX_OK)
    {
        ngx_http_cwai_l2_count(NGX_HTTP_CWAI_L2_MEMORY, NGX_HTTP_CWAI_L2_ERROR);
        return NGX_DECLINED;
    }
    return NGX_AGAIN;
}


/* ---- configuration --------------------------------------------------------- */

static ngx_int_t
ngx_http_cwai_redis_stats_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t             *shpool;
    ngx_http_cwai_redis_conf_t  *orcf = data;
    ngx_http_cwai_redis_conf_t  *rcf = shm_zone->data;

    if (orcf) {
        /* reload: the counters go on */
        rcf->stats = orcf->stats;
        return NGX_OK;
    }
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    if (shm_zone->shm.exists) {
        rcf->stats = shpool->data;
        return NGX_OK;
    }
    rcf->stats = ngx_slab_calloc(shpool, sizeof(ngx_http_cwai_redis_stats_t));
    if (rcf->stats == NULL) {
        return NGX_ERROR;
    }
    shpool->data = rcf->stats;
    return NGX_OK;
}


/* chatwootai_redis host:port|unix:/path [db=N] [password=...] [timeout=T]
 *                  [prefix=STR]; */
char *
ngx_http_cwai_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_main_conf_t *cmcf = conf;

    u_char                      *p;
    size_t                       len;
    ngx_str_t                   *value, name, v;
    ngx_url_t                    u;
    ngx_int_t                    n;
    ngx_uint_t                   i;
    ngx_http_cwai_redis_conf_t  *rcf;

    if (cmcf->redis != NULL) {
        return "is duplicate";
    }
    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cwai_redis_conf_t));
    if (rcf == NULL
        || ngx_array_init(&rcf->ttls, cf->pool, 4,
                          sizeof(ngx_http_cwai_redis_ttl_t)) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }
    value = cf->args->elts;

    rcf->name = value[1];
    rcf->timeout = 200;
    ngx_str_set(&rcf->prefix, "cwai:");

    if (value[1].len > 5 && ngx_strncasecmp(value[1].data, (u_char *) "unix:", 5)
                            == 0)
    {
        rcf->unix_path.len = value[1].len - 5;
        rcf->unix_path.data = ngx_pnalloc(cf->pool, rcf->unix_path.len + 1);
        if (rcf->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }
        ngx_cpystrn(rcf->unix_path.data, value[1].data + 5,
                    rcf->unix_path.len + 1);

    } else {
        /* resolved now, like proxy_pass: hiredis then gets a numeric
         * address and its getaddrinfo() never waits for DNS */
        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[1];
        u.default_port = 6379;
        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "chatwootai_redis: invalid address \"%V\"%s%s",
                               &value[1], u.err ? ": " : "",
                               u.err ? u.err : "");
            return NGX_CONF_ERROR;
        }
        rcf->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (rcf->host.data == NULL) {
            return NGX_CONF_ERROR;
        }
        rcf->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                      rcf->host.data, NGX_SOCKADDR_STRLEN, 0);
        rcf->host.data[rcf->host.len] = '\0';
        rcf->port = (int) u.port;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        p = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');
        if (p == NULL) {
            goto invalid;
        }
        name.data = value[i].data;
        name.len = p - value[i].data;
        v.data = p + 1;
        v.len = value[i].len - name.len - 1;

        if (name.len == 2 && ngx_strncmp(name.data, "db", 2) == 0) {
            n = ngx_atoi(v.data, v.len);
            if (n == NGX_ERROR) {
                goto invalid;
            }
            rcf->db = n;

        } else if (name.len == 8 && ngx_strncmp(name.data, "password", 8) == 0) {
            if (v.len == 0) {
                goto invalid;
            }
            if (ngx_http_cwai_conf_secret(cf, &cmd->name, &v, &rcf->password)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

        } else if (name.len == 7 && ngx_strncmp(name.data, "timeout", 7) == 0) {
            n = ngx_parse_time(&v, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }
            rcf->timeout = (ngx_msec_t) n;

        } else if (name.len == 6 && ngx_strncmp(name.data, "prefix", 6) == 0) {
            if (v.len > 64) {
                goto invalid;
            }
            rcf->prefix = v;

        } else {
            goto invalid;
        }
    }

    /* the counters: a small zone of their own, summed by chatwootai_status */
    ngx_str_set(&name, "chatwootai_redis");
    len = 8 * ngx_pagesize;
    rcf->shm_zone = ngx_shared_memory_add(cf, &name, len,
                                          &ngx_http_chatwootai_module);
    if (rcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }
    if (rcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the shared memory zone \"chatwootai_redis\" is "
                           "already used (rename the chatwootai_zone)");
        return NGX_CONF_ERROR;
    }
    rcf->shm_zone->init = ngx_http_cwai_redis_stats_init;
    rcf->shm_zone->data = rcf;

    cmcf->redis = rcf;
    return NGX_CONF_OK;

invalid:

    /* never echo a password */
    if (value[i].len >= 9 && ngx_strncmp(value[i].data, "password=", 9) == 0) {
        return "has an invalid \"password=\"";
    }
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "chatwootai_redis: invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* chatwootai_l2_ttl KIND TIME; */
char *
ngx_http_cwai_l2_ttl_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_main_conf_t *cmcf = conf;

    ngx_str_t                  *value;
    ngx_msec_t                  ttl;
    ngx_uint_t                  i, k;
    ngx_http_cwai_redis_ttl_t  *t;

    if (cmcf->redis == NULL) {
        return "needs \"chatwootai_redis\" before it";
    }
    value = cf->args->elts;

    for (k = 0; ngx_http_cwai_l2_ttl_kinds[k]; k++) {
        if (value[1].len == ngx_strlen(ngx_http_cwai_l2_ttl_kinds[k])
            && ngx_strncmp(value[1].data, ngx_http_cwai_l2_ttl_kinds[k],
                           value[1].len) == 0)
        {
            break;
        }
    }
    if (ngx_http_cwai_l2_ttl_kinds[k] == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown kind \"%V\", expected embed, retrieve, erp, "
                           "answer, memory or dedupe", &value[1]);
        return NGX_CONF_ERROR;
    }

    ttl = ngx_parse_time(&value[2], 0);
    if (ttl == (ngx_msec_t) NGX_ERROR) {
        return "has an invalid time";
    }

    t = cmcf->redis->ttls.elts;
    for (i = 0; i < cmcf->redis->ttls.nelts; i++) {
        if (t[i].kind.len == value[1].len
            && ngx_strncmp(t[i].kind.data, value[1].data, value[1].len) == 0)
        {
            return "is duplicate";
        }
    }
    t = ngx_array_push(&cmcf->redis->ttls);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }
    t->kind = value[1];
    t->ttl = ttl;
    return NGX_CONF_OK;
}


/* ---- chatwootai_status ---------------------------------------------------- */

static void
ngx_http_cwai_redis_workers(ngx_http_cwai_redis_stats_t *st, ngx_uint_t *up,
    ngx_uint_t *down)
{
    ngx_uint_t  i;

    *up = 0;
    *down = 0;
    for (i = 0; i < NGX_HTTP_CWAI_REDIS_SLOTS; i++) {
        if (st->slots[i].pid == 0) {
            continue;
        }
        if (st->slots[i].state == NGX_HTTP_CWAI_REDIS_REPORTED_UP) {
            (*up)++;
        } else if (st->slots[i].state == NGX_HTTP_CWAI_REDIS_REPORTED_DOWN) {
            (*down)++;
        }
    }
}


/* Prometheus lines, each shorter than 256 bytes; NGX_DECLINED without
 * chatwootai_redis. */
ngx_int_t
ngx_http_cwai_redis_metrics(ngx_pool_t *pool, ngx_str_t *text)
{
    u_char                       *p, *last;
    size_t                        size;
    ngx_uint_t                    k, res, up, down;
    ngx_http_cwai_redis_stats_t  *st;

    static const char  *results[3] = { "hit", "miss", "error" };

    st = ngx_http_cwai_redis_stats();
    if (st == NULL) {
        return NGX_DECLINED;
    }
    ngx_http_cwai_redis_workers(st, &up, &down);

    size = 4096;
    p = ngx_pnalloc(pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }
    text->data = p;
    last = p + size;

    p = ngx_slprintf(p, last,
        "# HELP chatwootai_redis_up 1 when every worker is connected to Redis.\n"
        "# TYPE chatwootai_redis_up gauge\n"
        "chatwootai_redis_up %ui\n"
        "# HELP chatwootai_redis_workers Workers by the state of their Redis "
        "connection.\n"
        "# TYPE chatwootai_redis_workers gauge\n"
        "chatwootai_redis_workers{state=\"up\"} %ui\n"
        "chatwootai_redis_workers{state=\"down\"} %ui\n"
        "# HELP chatwootai_redis_state_changes_total Connection state changes "
        "(each logged once).\n"
        "# TYPE chatwootai_redis_state_changes_total counter\n"
        "chatwootai_redis_state_changes_total{state=\"up\"} %uA\n"
        "chatwootai_redis_state_changes_total{state=\"down\"} %uA\n"
        "# HELP chatwootai_redis_commands_total Commands sent.\n"
        "# TYPE chatwootai_redis_commands_total counter\n"
        "chatwootai_redis_commands_total %uA\n"
        "# HELP chatwootai_redis_errors_total Failed connects, lost connections "
        "and error replies.\n"
        "# TYPE chatwootai_redis_errors_total counter\n"
        "chatwootai_redis_errors_total %uA\n"
        "# HELP chatwootai_redis_timeouts_total Commands or handshakes without "
        "an answer within the timeout.\n"
        "# TYPE chatwootai_redis_timeouts_total counter\n"
        "chatwootai_redis_timeouts_total %uA\n"
        "# HELP chatwootai_l2_total Lookups in Redis after the zone: hit, miss, "
        "or error (Redis down or slow: the zone alone decided).\n"
        "# TYPE chatwootai_l2_total counter\n",
        (ngx_uint_t) (up > 0 && down == 0), up, down,
        st->changes[0], st->changes[1], st->commands, st->errors,
        st->timeouts);

    for (k = 0; k < NGX_HTTP_CWAI_L2__KINDS; k++) {
        for (res = 0; res < 3; res++) {
            p = ngx_slprintf(p, last,
                             "chatwootai_l2_total{kind=\"%s\",result=\"%s\"} %uA\n",
                             ngx_http_cwai_l2_kind_names[k], results[res],
                             st->l2[k][res]);
        }
    }

    text->len = p - text->data;
    return NGX_OK;
}


json_t *
ngx_http_cwai_redis_metrics_json(void)
{
    json_t                       *doc, *l2, *o;
    ngx_uint_t                    k, up, down;
    ngx_http_cwai_redis_stats_t  *st;

    st = ngx_http_cwai_redis_stats();
    if (st == NULL) {
        return NULL;
    }
    ngx_http_cwai_redis_workers(st, &up, &down);

    l2 = json_object();
    for (k = 0; l2 && k < NGX_HTTP_CWAI_L2__KINDS; k++) {
        o = json_pack("{s:I, s:I, s:I}",
                      "hit", (json_int_t) st->l2[k][0],
                      "miss", (json_int_t) st->l2[k][1],
                      "error", (json_int_t) st->l2[k][2]);
        json_object_set_new(l2, ngx_http_cwai_l2_kind_names[k], o);
    }

    doc = json_pack("{s:b, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:I, s:I, s:o}",
                    "up", (int) (up > 0 && down == 0),
                    "workers", "up", (json_int_t) up, "down", (json_int_t) down,
                    "state_changes", "up", (json_int_t) st->changes[0],
                                     "down", (json_int_t) st->changes[1],
                    "commands", (json_int_t) st->commands,
                    "errors", (json_int_t) st->errors,
                    "timeouts", (json_int_t) st->timeouts,
                    "l2", l2);
    return doc;
}
