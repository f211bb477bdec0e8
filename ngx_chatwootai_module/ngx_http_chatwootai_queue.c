/*
 * The durable queue: an acknowledged message survives the worker that
 * acknowledged it.
 *
 * A background chain dies with its worker (kill -9, a crash, nginx -s
 * stop, worker_shutdown_timeout on reload; nginx-techniques §7), so each
 * accepted message is recorded before its ack and the record goes only
 * when the message has ended (reply, handoff, merged, counted failure):
 *
 *   - with chatwootai_redis up: an entry of a Redis Stream ("<prefix>q"),
 *     delivered at once to this worker's consumer of group "cwai" (one
 *     script: XADD + XREADGROUP, so the only undelivered entry is always
 *     the one just added). A running message's entry is kept fresh
 *     (XCLAIM JUSTID, only while this consumer still owns it); every
 *     worker of every instance periodically takes over entries left idle
 *     longer than chatwootai_resume_after (XAUTOCLAIM) and resumes them.
 *     The end is XACK + XDEL + a "done" mark the claim script honours; an
 *     XACK that could not reach Redis is replayed when it is back.
 *   - without Redis (or Redis down at the ack): a job record in the L1
 *     zone, owned by the worker's pid; surviving workers of the same nginx
 *     take over the records of a worker that is gone.
 *
 * A resumed message runs on a request of our own: a connection without a
 * socket, the webhook location's configuration, the stored webhook body;
 * the same code then answers it (memory, pipeline, subrequests).
 */

#include "ngx_http_chatwootai_module.h"

#include <hiredis/hiredis.h>


#define NGX_HTTP_CWAI_QUEUE_GROUP      "cwai"
#define NGX_HTTP_CWAI_QUEUE_PER_TICK   16   /* messages resumed per tick */
#define NGX_HTTP_CWAI_QUEUE_ATTEMPTS   5    /* then given up, counted failed */
#define NGX_HTTP_CWAI_QUEUE_BEAT_MAX   256  /* ids per freshness command */


struct ngx_http_cwai_queue_item_s {
    ngx_queue_t                 live;           /* worker's running entries */
    ngx_http_request_t         *r;
    ngx_msec_t                  beat;           /* last freshness */
    u_char                      id[48];         /* stream entry id */
    size_t                      id_len;
    u_char                      key[48];        /* "m:<inbox>:<message>" */
    size_t                      key_len;
    ngx_http_cwai_zone_t       *zone;
    ngx_http_cwai_zone_job_t    job;            /* zone record */
    ngx_event_t                 release;        /* our own request's end */
    unsigned                    in_redis:1;
    unsigned                    in_zone:1;
    unsigned                    linked:1;
    unsigned                    lost:1;
    unsigned                    done:1;
    unsigned                    own_request:1;
};

/* an XACK that did not reach Redis, replayed when it is back */
typedef struct {
    ngx_queue_t                 queue;
    size_t                      id_len;
    size_t                      key_len;
    u_char                      id[48];
    u_char                      key[48];
} ngx_http_cwai_queue_unacked_t;

typedef struct {
    ngx_event_t                 timer;
    ngx_msec_t                  interval;
    ngx_queue_t                 live;
    ngx_queue_t                 unacked;
    ngx_uint_t                  nunacked;
    u_char                      consumer[NGX_MAXHOSTNAMELEN + NGX_INT64_LEN + 2];
    size_t                      consumer_len;
    ngx_uint_t                  ticks;
    unsigned                    claiming:1;
    unsigned                    beating:1;
    unsigned                    started:1;
} ngx_http_cwai_queue_worker_t;

/* a record as stored: in Redis as stream fields, in the zone packed */
typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   loc;
    ngx_str_t                   dom;
    ngx_str_t                   nm;
    ngx_str_t                   body;
} ngx_http_cwai_queue_rec_t;


static ngx_http_cwai_queue_worker_t  ngx_http_cwai_queue_worker;


/* XADD, delivered at once to our consumer: every entry is added by this
 * script, so the single undelivered entry is the one just added. */
static const char  ngx_http_cwai_queue_add_lua[] =
    "pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')\n"
    "local id = redis.call('XADD', KEYS[1], '*', 'k', ARGV[3], 'loc', ARGV[4],"
    " 'dom', ARGV[5], 'nm', ARGV[6], 'body', ARGV[7])\n"
    "redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,"
    " 'STREAMS', KEYS[1], '>')\n"
    "return id\n";

/* the end: the entry goes, and a mark says the message is done (also
 * without an entry id: a queue entry whose XADD timed out here may still
 * have been added, and the mark keeps it from being resumed) */
static const char  ngx_http_cwai_queue_done_lua[] =
    "if ARGV[2] ~= '' then\n"
    "  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "  redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "end\n"
    "redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])\n"
    "return 1\n";

/* freshness of the entries this consumer still owns; the others are
 * returned: another worker took them over */
static const char  ngx_http_cwai_queue_beat_lua[] =
    "local lost = {}\n"
    "for i = 3, #ARGV do\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)\n"
    "  if p[1] and p[1][2] == ARGV[2] then\n"
    "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')\n"
    "  else\n"
    "    lost[#lost + 1] = ARGV[i]\n"
    "  end\n"
    "end\n"
    "return lost\n";

/* entries idle too long: taken over, minus those already done; each with
 * its delivery count. Now and then, consumers of workers gone for an hour
 * with nothing pending leave the group (every worker start adds one). */
static const char  ngx_http_cwai_queue_claim_lua[] =
    "local ok, r = pcall(redis.call, 'XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2],"
    " ARGV[3], '0-0', 'COUNT', ARGV[4])\n"
    "if not ok then return {} end\n"
    "if ARGV[6] == '1' then\n"
    "  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do\n"
    "    local n, p, i\n"
    "    for j = 1, #c, 2 do\n"
    "      if c[j] == 'name' then n = c[j + 1]\n"
    "      elseif c[j] == 'pending' then p = c[j + 1]\n"
    "      elseif c[j] == 'idle' then i = c[j + 1] end\n"
    "    end\n"
    "    if n and n ~= ARGV[2] and p == 0 and i and i > 3600000 then\n"
    "      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], n)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for _, e in ipairs(r[2]) do\n"
    "  if e then\n"
    "    local f, k = e[2], nil\n"
    "    for j = 1, #f, 2 do if f[j] == 'k' then k = f[j + 1] end end\n"
    "    if k and redis.call('EXISTS', ARGV[5] .. k) == 1 then\n"
    "      redis.call('XACK', KEYS[1], ARGV[1], e[1])\n"
    "      redis.call('XDEL', KEYS[1], e[1])\n"
    "    else\n"
    "      local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
    "      out[#out + 1] = {e[1], f, p[1] and p[1][4] or 1}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";


static void ngx_http_cwai_queue_tick(ngx_event_t *ev);

static ngx_str_t  ngx_http_cwai_queue_stream = ngx_string("q");
static ngx_str_t  ngx_http_cwai_queue_group = ngx_string(NGX_HTTP_CWAI_QUEUE_GROUP);
static void ngx_http_cwai_queue_resumed_answer(ngx_http_request_t *r,
    void *data);
static void ngx_http_cwai_queue_resume(ngx_http_cwai_queue_rec_t *rec,
    ngx_http_cwai_queue_item_t *from, ngx_uint_t attempts);


static ngx_http_cwai_main_conf_t *
ngx_http_cwai_queue_cmcf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_chatwootai_module);
}


/* ---- configuration ----------------------------------------------------- */

/* chatwootai_resume_after TIME | off; */
char *
ngx_http_cwai_resume_after_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cwai_main_conf_t *cmcf = conf;

    ngx_str_t   *value = cf->args->elts;
    ngx_msec_t   t;

    if (cmcf->resume_after != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    if (ngx_strcmp(value[1].data, "off") == 0) {
        cmcf->resume_after = 0;
        return NGX_CONF_OK;
    }
    t = ngx_parse_time(&value[1], 0);
    if (t == (ngx_msec_t) NGX_ERROR || t < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid time \"%V\" (at least 1s, or off)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    cmcf->resume_after = t;
    return NGX_CONF_OK;
}


/* chatwootai_webhook in a location: remember where, by name */
ngx_int_t
ngx_http_cwai_queue_register(ngx_conf_t *cf)
{
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_cwai_main_conf_t    *cmcf;
    ngx_http_cwai_webhook_loc_t  *w;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chatwootai_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    w = ngx_array_push(&cmcf->webhooks);
    if (w == NULL) {
        return NGX_ERROR;
    }
    w->name = clcf->name;
    w->ctx = cf->ctx;
    return NGX_OK;
}


static ngx_uint_t
ngx_http_cwai_queue_on(void)
{
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_cwai_queue_cmcf();
    return cmcf != NULL && cmcf->resume_after != 0 && cmcf->webhooks.nelts;
}


/* ---- records ------------------------------------------------------------ */

/* zone form: "k\nloc\ndom\nnm\n" + body */
static ngx_int_t
ngx_http_cwai_queue_pack(ngx_pool_t *pool, ngx_http_cwai_queue_rec_t *rec,
    ngx_str_t *out)
{
    u_char  *p;

    out->len = rec->key.len + rec->loc.len + rec->dom.len + rec->nm.len + 4
               + rec->body.len;
    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }
    p = ngx_cpymem(out->data, rec->key.data, rec->key.len);
    *p++ = '\n';
    p = ngx_cpymem(p, rec->loc.data, rec->loc.len);
    *p++ = '\n';
    p = ngx_cpymem(p, rec->dom.data, rec->dom.len);
    *p++ = '\n';
    if (rec->nm.len) {      /* usually empty: its data may be NULL */
        p = ngx_cpymem(p, rec->nm.data, rec->nm.len);
    }
    *p++ = '\n';
    ngx_memcpy(p, rec->body.data, rec->body.len);
    return NGX_OK;
}


static ngx_int_t
ngx_http_cwai_queue_unpack(ngx_str_t *in, ngx_http_cwai_queue_rec_t *rec)
{
    u_char     *p, *last, *nl;
    ngx_str_t  *f[4];
    ngx_uint_t  i;

    f[0] = &rec->key;
    f[1] = &rec->loc;
    f[2] = &rec->dom;
    f[3] = &rec->nm;
    p = in->data;
    last = in->data + in->len;
    for (i = 0; i < 4; i++) {
        nl = ngx_strlchr(p, last, '\n');
        if (nl == NULL) {
            return NGX_ERROR;
        }
        f[i]->data = p;
        f[i]->len = nl - p;
        p = nl + 1;
    }
    rec->body.data = p;
    rec->body.len = last - p;
    return NGX_OK;
}


static void
ngx_http_cwai_queue_item_cleanup(void *data)
{
    ngx_http_cwai_queue_item_t  *item = data;

    /* the request ended before the message did (worker shutdown): the
     * record stays for another worker */
    if (item->linked) {
        ngx_queue_remove(&item->live);
        item->linked = 0;
    }
    if (item->release.timer_set) {
        ngx_del_timer(&item->release);
    }
}


static ngx_http_cwai_queue_item_t *
ngx_http_cwai_queue_item(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_str_t *key)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_cwai_queue_item_t  *item;

    item = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_queue_item_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (item == NULL || cln == NULL || key->len > sizeof(item->key)) {
        return NULL;
    }
    item->r = r;
    item->key_len = ngx_cpymem(item->key, key->data, key->len) - item->key;
    cln->handler = ngx_http_cwai_queue_item_cleanup;
    cln->data = item;
    ctx->queued = item;
    return item;
}


static void
ngx_http_cwai_queue_link(ngx_http_cwai_queue_item_t *item)
{
    item->in_redis = 1;
    item->beat = ngx_current_msec;
    ngx_queue_insert_tail(&ngx_http_cwai_queue_worker.live, &item->live);
    item->linked = 1;
}


static ngx_int_t
ngx_http_cwai_queue_to_zone(ngx_http_request_t *r, ngx_http_cwai_queue_item_t *item,
    ngx_http_cwai_queue_rec_t *rec)
{
    ngx_str_t                  packed;
    ngx_http_cwai_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);
    if (ngx_http_cwai_queue_pack(r->pool, rec, &packed) != NGX_OK
        || ngx_http_cwai_zone_job_add(lcf->zone, &packed, &item->job) != NGX_OK)
    {
        /* answered all the same, but not durably: say so */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "chatwootai: message %V could not be recorded in zone "
                      "\"%V\" (too small?): it is answered, but lost if this "
                      "worker stops first", &rec->key, &lcf->zone->name);
        return NGX_ERROR;
    }
    item->zone = lcf->zone;
    item->in_zone = 1;
    return NGX_OK;
}


/* ---- accepting a message ------------------------------------------------ */

typedef struct {
    ngx_http_request_t         *r;
    ngx_http_cwai_queue_item_t *item;
    ngx_http_cwai_queue_rec_t   rec;
    void                      (*handler)(ngx_http_request_t *r);
} ngx_http_cwai_queue_add_t;


static void
ngx_http_cwai_queue_added(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_http_cwai_queue_add_t   *a = data;
    ngx_http_cwai_queue_item_t  *item = a->item;

    if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_STRING
        && reply->len > 0 && reply->len <= sizeof(item->id))
    {
        item->id_len = ngx_cpymem(item->id, reply->str, reply->len) - item->id;
        ngx_http_cwai_queue_link(item);

    } else {
        /* not in Redis (down, slow, refused): the zone keeps it; should the
         * script have run after all, its done mark ends the entry */
        if (rc == NGX_HTTP_CWAI_REDIS_REPLY && reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, a->r->connection->log, 0,
                          "chatwootai: redis refused the queue entry: %*s",
                          (size_t) reply->len, reply->str);
        }
        (void) ngx_http_cwai_queue_to_zone(a->r, item, &a->rec);
    }
    a->handler(a->r);
}


ngx_int_t
ngx_http_cwai_queue_add(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx,
    ngx_http_cwai_domain_t *dom, void (*handler)(ngx_http_request_t *r))
{
    u_char                       kbuf[48];
    ngx_str_t                    key, args[7];
    ngx_int_t                    rc;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_cwai_queue_add_t   *a;
    ngx_http_cwai_queue_item_t  *item;
    ngx_http_cwai_queue_worker_t *w = &ngx_http_cwai_queue_worker;

    if (!ngx_http_cwai_queue_on() || !w->started) {
        return NGX_OK;
    }

    key.data = kbuf;
    key.len = ngx_snprintf(kbuf, sizeof(kbuf), "m:%L:%L", ctx->wh.inbox_id,
                           ctx->wh.message_id) - kbuf;
    item = ngx_http_cwai_queue_item(r, ctx, &key);
    a = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_queue_add_t));
    if (item == NULL || a == NULL) {
        return NGX_OK;      /* answered, not durably (out of memory) */
    }
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    a->r = r;
    a->item = item;
    a->handler = handler;
    a->rec.key.data = item->key;
    a->rec.key.len = item->key_len;
    a->rec.loc = clcf->name;
    a->rec.dom = dom->name;
    if (ctx->no_model) {
        a->rec.nm.data = (u_char *) ctx->no_model;
        a->rec.nm.len = ngx_strlen(ctx->no_model);
    }
    a->rec.body = ctx->body;

    args[0] = ngx_http_cwai_queue_group;
    args[1].data = w->consumer;
    args[1].len = w->consumer_len;
    args[2] = a->rec.key;
    args[3] = a->rec.loc;
    args[4] = a->rec.dom;
    args[5] = a->rec.nm;
    args[6] = a->rec.body;

    rc = NGX_DECLINED;
    if (ngx_http_cwai_redis_up()) {
        rc = ngx_http_cwai_redis_eval(r, ngx_http_cwai_queue_added, a,
                                      ngx_http_cwai_queue_add_lua,
                                      &ngx_http_cwai_queue_stream, 1, args, 7);
    }
    if (rc == NGX_OK) {
        return NGX_AGAIN;
    }

    (void) ngx_http_cwai_queue_to_zone(r, item, &a->rec);
    return NGX_OK;
}


/* ---- the end of a message ----------------------------------------------- */

static void ngx_http_cwai_queue_send_done(u_char *id, size_t id_len,
    u_char *key, size_t key_len);


static void
ngx_http_cwai_queue_unacked_add(u_char *id, size_t id_len, u_char *key,
    size_t key_len)
{
    u_char                          kbuf[64];
    ngx_str_t                       k, one = ngx_string("1");
    ngx_uint_t                      i;
    ngx_http_cwai_zone_t          **zones;
    ngx_http_cwai_main_conf_t      *cmcf;
    ngx_http_cwai_queue_unacked_t  *u;
    ngx_http_cwai_queue_worker_t   *w = &ngx_http_cwai_queue_worker;

    /* until Redis has the end, the workers of this nginx check the zone
     * before resuming the message */
    cmcf = ngx_http_cwai_queue_cmcf();
    zones = cmcf->zones.elts;
    k.data = kbuf;
    k.len = ngx_snprintf(kbuf, sizeof(kbuf), "qd:%*s", key_len, key) - kbuf;
    for (i = 0; i < cmcf->zones.nelts; i++) {
        (void) ngx_http_cwai_zone_set(zones[i], &k, &one, 3600000);
    }

    if (w->nunacked >= 65536) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "chatwootai: too many queue acknowledgements waiting for "
                      "redis; message %*s may be answered again", key_len, key);
        return;
    }
    u = ngx_alloc(sizeof(ngx_http_cwai_queue_unacked_t), ngx_cycle->log);
    if (u == NULL) {
        return;
    }
    u->id_len = ngx_cpymem(u->id, id, id_len) - u->id;
    u->key_len = ngx_cpymem(u->key, key, key_len) - u->key;
    ngx_queue_insert_tail(&w->unacked, &u->queue);
    w->nunacked++;
}


static void
ngx_http_cwai_queue_done_reply(void *data, ngx_int_t rc, redisReply *reply)
{
    ngx_http_cwai_queue_unacked_t  *u = data;

    if (rc != NGX_HTTP_CWAI_REDIS_REPLY || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_cwai_queue_unacked_add(u->id, u->id_len, u->key, u->key_len);
    }
    ngx_free(u);
}


static void
ngx_http_cwai_queue_send_done(u_char *id, size_t id_len, u_char *key,
    size_t key_len)
{
    u_char                          mbuf[64], tbuf[NGX_INT_T_LEN];
    ngx_str_t                       keys[2], args[3];
    ngx_http_cwai_queue_unacked_t  *u;

    u = ngx_alloc(sizeof(ngx_http_cwai_queue_unacked_t), ngx_cycle->log);
    if (u == NULL) {
        return;
    }
    u->id_len = ngx_cpymem(u->id, id, id_len) - u->id;
    u->key_len = ngx_cpymem(u->key, key, key_len) - u->key;

    keys[0] = ngx_http_cwai_queue_stream;
    keys[1].data = mbuf;
    keys[1].len = ngx_snprintf(mbuf, sizeof(mbuf), "done:%*s", key_len, key)
                  - mbuf;
    args[0] = ngx_http_cwai_queue_group;
    args[1].data = u->id;
    args[1].len = u->id_len;
    args[2].data = tbuf;
    args[2].len = ngx_sprintf(tbuf, "%M", (ngx_msec_t) 86400000) - tbuf;

    if (ngx_http_cwai_redis_eval(NULL, ngx_http_cwai_queue_done_reply, u,
                                 ngx_http_cwai_queue_done_lua, keys, 2, args, 3)
        != NGX_OK)
    {
        ngx_http_cwai_queue_unacked_add(u->id, u->id_len, u->key, u->key_len);
        ngx_free(u);
    }
}


static void
ngx_http_cwai_queue_release(ngx_event_t *ev)
{
    ngx_pool_t                  *pool;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_cwai_queue_item_t  *item = ev->data;

    r = item->r;

    /* a subrequest or a Redis command may still hold the request */
    if (r->count > 1) {
        ngx_add_timer(ev, 10);
        return;
    }

    c = r->connection;
    ngx_http_free_request(r, 0);    /* cleanups, the access log line */

    c->destroyed = 1;
    pool = c->pool;
    c->fd = 0;                      /* as taken from ngx_get_connection() */
    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
    ngx_destroy_pool(pool);
}


void
ngx_http_cwai_queue_done(ngx_http_request_t *r, ngx_http_cwai_ctx_t *ctx)
{
    ngx_http_cwai_queue_item_t  *item;

    item = ctx->queued;
    if (item == NULL || item->done) {
        return;
    }
    item->done = 1;

    if (item->linked) {
        ngx_queue_remove(&item->live);
        item->linked = 0;
    }

    if (!item->lost && ngx_http_cwai_redis_configured()) {
        ngx_http_cwai_queue_send_done(item->id, item->id_len, item->key,
                                      item->key_len);
    }

    if (item->in_zone) {
        ngx_http_cwai_zone_job_done(item->zone, &item->job);
    }

    if (item->own_request) {
        /* after the subrequest that ended the message is finalized */
        item->release.handler = ngx_http_cwai_queue_release;
        item->release.data = item;
        item->release.log = ngx_cycle->log;
        item->release.cancelable = 1;
        ngx_add_timer(&item->release, 0);
    }
}


ngx_uint_t
ngx_http_cwai_queue_lost(ngx_http_cwai_ctx_t *ctx)
{
    return ctx->queued != NULL && ctx->queued->lost;
}


/* ---- the worker's timer: freshness, replays, claims ------------------------ */

static void
ngx_http_cwai_queue_beaten(void *data, ngx_int_t rc, redisReply *reply)
{
    size_t                        i;
    ngx_queue_t                  *q;
    redisReply                   *e;
    ngx_http_cwai_queue_item_t   *item;
    ngx_http_cwai_queue_worker_t *w = &ngx_http_cwai_queue_worker;

    w->beating = 0;
    if (rc != NGX_HTTP_CWAI_REDIS_REPLY || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING) {
            continue;
        }
        for (q = ngx_queue_head(&w->live); q != ngx_queue_sentinel(&w->live);
             q = ngx_queue_next(q))
        {
            item = ngx_queue_data(q, ngx_http_cwai_queue_item_t, live);
            if (item->id_len == e->len
                && ngx_memcmp(item->id, e->str, e->len) == 0)
            {
                ngx_log_error(NGX_LOG_WARN, item->r->connection->log, 0,
                              "chatwootai: message %*s was taken over by "
                              "another worker; this one will not post",
                              item->key_len, item->key);
                item->lost = 1;
                break;
            }
        }
    }
}


static void
ngx_http_cwai_queue_beat(ngx_http_cwai_main_conf_t *cmcf)
{
    size_t                        n;
    ngx_str_t                     args[2 + NGX_HTTP_CWAI_QUEUE_BEAT_MAX];
    ngx_queue_t                  *q;
    ngx_http_cwai_queue_item_t   *item;
    ngx_http_cwai_queue_worker_t *w = &ngx_http_cwai_queue_worker;

    if (w->beating || ngx_queue_empty(&w->live)) {
        return;
    }
    args[0] = ngx_http_cwai_queue_group;
    args[1].data = w->consumer;
    args[1].len = w->consumer_len;

    /* the entries not refreshed for a third of resume_after, oldest first;
     * the ids are copied by hiredis when the command is formatted */
    n = 2;
    for (q = ngx_queue_head(&w->live);
         q != ngx_queue_sentinel(&w->live) && n < 2 + NGX_HTTP_CWAI_QUEUE_BEAT_MAX;
         q = ngx_queue_next(q))
    {
        item = ngx_queue_data(q, ngx_http_cwai_queue_item_t, live);
        if (item->lost || ngx_current_msec - item->beat < cmcf->resume_after / 3) {
            continue;
        }
        item->beat = ngx_current_msec;
        args[n].data = item->id;
        args[n].len = item->id_len;
        n++;
    }
    if (n == 2) {
        return;
    }
    if (ngx_http_cwai_redis_eval(NULL, ngx_http_cwai_queue_beaten, NULL,
                                 ngx_http_cwai_queue_beat_lua,
                                 &ngx_http_cwai_queue_stream, 1, args, n)
        == NGX_OK)
    {
        w->beating = 1;
    }
}


static void
ngx_http_cwai_queue_replay(void)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_cwai_queue_unacked_t  *u;
    ngx_http_cwai_queue_worker_t   *w = &ngx_http_cwai_queue_worker;

    for (n = 0; n < 256 && !ngx_queue_empty(&w->unacked)
                && ngx_http_cwai_redis_up(); n++)
    {
        q = ngx_queue_head(&w->unacked);
        u = ngx_queue_data(q, ngx_http_cwai_queue_unacked_t, queue);
        ngx_queue_remove(q);
        w->nunacked--;
        ngx_http_cwai_queue_send_done(u->id, u->id_len, u->key, u->key_len);
        ngx_free(u);
    }
}


/* a stream entry's fields (k, loc, dom, nm, body) into rec */
static ngx_int_t
ngx_http_cwai_queue_fields(redisReply *f, ngx_http_cwai_queue_rec_t *rec)
{
    size_t       i;
    ngx_str_t   *s;
    redisReply  *k, *v;

    ngx_memzero(rec, sizeof(ngx_http_cwai_queue_rec_t));
    if (f->type != REDIS_REPLY_ARRAY) {
        return NGX_ERROR;
    }
    for (i = 0; i + 1 < f->elements; i += 2) {
        k = f->element[i];
        v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            return NGX_ERROR;
        }
        s = (k->len == 1 && k->str[0] == 'k') ? &rec->key
            : (k->len == 3 && ngx_strncmp(k->str, "loc", 3) == 0) ? &rec->loc
            : (k->len == 3 && ngx_strncmp(k->str, "dom", 3) == 0) ? &rec->dom
            : (k->len == 2 && ngx_strncmp(k->str, "nm", 2) == 0) ? &rec->nm
            : (k->len == 4 && ngx_strncmp(k->str, "body", 4) == 0) ? &rec->body
            : NULL;
        if (s != NULL) {
            s->data = (u_char *) v->str;
            s->len = v->len;
        }
    }
    return (rec->key.len && rec->body.len) ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_cwai_queue_claimed(void *data, ngx_int_t rc, redisReply *reply)
{
    size_t                        i;
    redisReply                   *e;
    ngx_http_cwai_queue_rec_t     rec;
    ngx_http_cwai_queue_item_t    from;
    ngx_http_cwai_queue_worker_t *w = &ngx_http_cwai_queue_worker;

    w->claiming = 0;
    if (rc != NGX_HTTP_CWAI_REDIS_REPLY || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (i = 0; i < reply->elements; i++) {
        e = reply->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 3
            || e->element[0]->type != REDIS_REPLY_STRING
            || e->element[0]->len > sizeof(from.id))
        {
            continue;
        }
        ngx_memzero(&from, sizeof(from));
        from.in_redis = 1;
        from.id_len = ngx_cpymem(from.id, e->element[0]->str,
                                 e->element[0]->len) - from.id;
        if (ngx_http_cwai_queue_fields(e->element[1], &rec) != NGX_OK
            || rec.key.len > sizeof(from.key))
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "chatwootai: queue entry %*s is malformed; dropped",
                          from.id_len, from.id);
            ngx_http_cwai_queue_send_done(from.id, from.id_len,
                                          (u_char *) "malformed", 9);
            continue;
        }
        from.key_len = ngx_cpymem(from.key, rec.key.data, rec.key.len) - from.key;
        ngx_http_cwai_queue_resume(&rec, &from,
                                   e->element[2]->type == REDIS_REPLY_INTEGER
                                   ? (ngx_uint_t) e->element[2]->integer : 1);
    }
}


static void
ngx_http_cwai_queue_claim_redis(ngx_http_cwai_main_conf_t *cmcf)
{
    u_char                        dbuf[128], ibuf[NGX_INT_T_LEN],
                                  cbuf[NGX_INT_T_LEN];
    ngx_str_t                     d = ngx_string("done:"), args[6];
    ngx_http_cwai_queue_worker_t *w = &ngx_http_cwai_queue_worker;

    if (w->claiming) {
        return;
    }
    args[0] = ngx_http_cwai_queue_group;
    args[1].data = w->consumer;
    args[1].len = w->consumer_len;
    args[2].data = ibuf;
    args[2].len = ngx_sprintf(ibuf, "%M", cmcf->resume_after) - ibuf;
    args[3].data = cbuf;
    args[3].len = ngx_sprintf(cbuf, "%d", NGX_HTTP_CWAI_QUEUE_PER_TICK) - cbuf;
    /* the done marks' prefix, as the script names them */
    args[4].data = ngx_http_cwai_l2_key(dbuf, sizeof(dbuf), &d, &args[4].len);
    ngx_str_set(&args[5], "0");
    if (w->ticks % 128 == 1) {
        ngx_str_set(&args[5], "1");
    }
    if (args[4].data == NULL) {
        return;
    }
    if (ngx_http_cwai_redis_eval(NULL, ngx_http_cwai_queue_claimed, NULL,
                                 ngx_http_cwai_queue_claim_lua,
                                 &ngx_http_cwai_queue_stream, 1, args, 6)
        == NGX_OK)
    {
        w->claiming = 1;
    }
}


static void
ngx_http_cwai_queue_claim_zones(ngx_http_cwai_main_conf_t *cmcf)
{
    ngx_int_t                    rc;
    ngx_str_t                    data;
    ngx_uint_t                   i, n;
    ngx_pool_t                  *pool;
    ngx_http_cwai_zone_t       **zones;
    ngx_http_cwai_queue_rec_t    rec;
    ngx_http_cwai_queue_item_t   from;

    zones = cmcf->zones.elts;
    for (i = 0; i < cmcf->zones.nelts; i++) {
        if (zones[i]->sh->njobs == 0) {
            continue;       /* read without the lock: a hint */
        }
        for (n = 0; n < NGX_HTTP_CWAI_QUEUE_PER_TICK; n++) {
            pool = ngx_create_pool(4096, ngx_cycle->log);
            if (pool == NULL) {
                return;
            }
            ngx_memzero(&from, sizeof(from));
            rc = ngx_http_cwai_zone_job_claim(zones[i], pool, &data, &from.job);
            if (rc != NGX_OK) {
                ngx_destroy_pool(pool);
                break;
            }
            from.in_zone = 1;
            from.zone = zones[i];
            if (ngx_http_cwai_queue_unpack(&data, &rec) != NGX_OK
                || rec.key.len > sizeof(from.key))
            {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "chatwootai: a queue record of zone \"%V\" is "
                              "malformed; dropped", &zones[i]->name);
                ngx_http_cwai_zone_job_done(zones[i], &from.job);
                ngx_destroy_pool(pool);
                continue;
            }
            from.key_len = ngx_cpymem(from.key, rec.key.data, rec.key.len)
                           - from.key;
            ngx_http_cwai_queue_resume(&rec, &from, from.job.attempts);
            ngx_destroy_pool(pool);
        }
    }
}


static void
ngx_http_cwai_queue_tick(ngx_event_t *ev)
{
    ngx_http_cwai_main_conf_t     *cmcf;
    ngx_http_cwai_queue_worker_t  *w = &ngx_http_cwai_queue_worker;

    if (ngx_terminate) {
        return;
    }
    cmcf = ngx_http_cwai_queue_cmcf();
    w->ticks++;

    /* a worker shutting down gracefully (a reload) still finishes its
     * messages and keeps their entries fresh, but takes nothing new */
    if (ngx_http_cwai_redis_up()) {
        ngx_http_cwai_queue_replay();
        ngx_http_cwai_queue_beat(cmcf);
        if (!ngx_exiting && !ngx_quit) {
            ngx_http_cwai_queue_claim_redis(cmcf);
        }
    }
    if (!ngx_exiting && !ngx_quit) {
        ngx_http_cwai_queue_claim_zones(cmcf);
    }

    ngx_add_timer(&w->timer, w->interval);
}


ngx_int_t
ngx_http_cwai_queue_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cwai_main_conf_t     *cmcf;
    ngx_http_cwai_queue_worker_t  *w = &ngx_http_cwai_queue_worker;

    ngx_memzero(w, sizeof(ngx_http_cwai_queue_worker_t));
    ngx_queue_init(&w->live);
    ngx_queue_init(&w->unacked);

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_chatwootai_module);
    if (cmcf == NULL || cmcf->resume_after == 0 || cmcf->webhooks.nelts == 0
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    /* unique per worker and instance: the owner of its stream entries */
    w->consumer_len = ngx_snprintf(w->consumer, sizeof(w->consumer), "%V:%P",
                                   &cycle->hostname, ngx_pid) - w->consumer;

    /* a third of resume_after keeps running entries fresh well before
     * another worker may take them; at most a second, so that the records
     * of a worker that died are taken over at once. The first look comes
     * soon after start: a worker respawned after a crash finds its
     * predecessor's messages. */
    w->interval = ngx_max(cmcf->resume_after / 3, 200);
    w->interval = ngx_min(w->interval, 1000);
    w->timer.handler = ngx_http_cwai_queue_tick;
    w->timer.data = w;
    w->timer.log = cycle->log;
    w->timer.cancelable = 1;
    ngx_add_timer(&w->timer, 100);
    w->started = 1;
    return NGX_OK;
}


/* ---- resuming a message on a request of our own --------------------------- */

static u_char *
ngx_http_cwai_queue_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char              *p;
    ngx_http_request_t  *r;
    ngx_http_log_ctx_t  *ctx;

    p = buf;
    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }
    ctx = log->data;
    p = ngx_snprintf(buf, len, ", client: %V", &ctx->connection->addr_text);
    len -= p - buf;

    r = ctx->request;
    if (r != NULL) {
        return r->log_handler(r, ctx->current_request, p, len);
    }
    return p;
}


static ngx_http_cwai_webhook_loc_t *
ngx_http_cwai_queue_location(ngx_str_t *name)
{
    ngx_uint_t                    i;
    ngx_http_cwai_main_conf_t    *cmcf;
    ngx_http_cwai_webhook_loc_t  *w;

    cmcf = ngx_http_cwai_queue_cmcf();
    w = cmcf->webhooks.elts;
    for (i = 0; i < cmcf->webhooks.nelts; i++) {
        if (w[i].name.len == name->len
            && ngx_strncmp(w[i].name.data, name->data, name->len) == 0)
        {
            return &w[i];
        }
    }
    /* the configuration changed: the first webhook location answers */
    return cmcf->webhooks.nelts ? &w[0] : NULL;
}


/* A request without a client: the webhook location's configuration, a
 * connection that has no socket. Torn down by ngx_http_cwai_queue_release(). */
static ngx_http_request_t *
ngx_http_cwai_queue_request(ngx_http_cwai_webhook_loc_t *loc)
{
    ngx_log_t               *log;
    ngx_pool_t              *pool;
    ngx_connection_t        *c;
    struct sockaddr_in      *sin;
    ngx_http_request_t      *r;
    ngx_http_log_ctx_t      *lctx;
    ngx_http_connection_t   *hc;

    c = ngx_get_connection(0, ngx_cycle->log);
    if (c == NULL) {
        return NULL;
    }
    c->fd = (ngx_socket_t) -1;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
    }
    c->pool = pool;

    log = ngx_pcalloc(pool, sizeof(ngx_log_t));
    lctx = ngx_pcalloc(pool, sizeof(ngx_http_log_ctx_t));
    hc = ngx_pcalloc(pool, sizeof(ngx_http_connection_t));
    sin = ngx_pcalloc(pool, sizeof(struct sockaddr_in));
    c->buffer = ngx_create_temp_buf(pool, 1);
    if (log == NULL || lctx == NULL || hc == NULL || sin == NULL
        || c->buffer == NULL)
    {
        goto failed;
    }

    *log = *ngx_cycle->log;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    log->connection = c->number;
    log->handler = ngx_http_cwai_queue_log_error;
    log->data = lctx;
    log->action = NULL;
    lctx->connection = c;
    c->log = log;
    c->log_error = NGX_ERROR_INFO;
    c->read->log = log;
    c->write->log = log;
    /* "registered, never ready, always writable": nginx then neither adds
     * the socketless connection to epoll nor waits on it */
    c->read->active = 1;
    c->write->active = 1;
    c->write->ready = 1;
    c->read->handler = ngx_http_empty_handler;
    c->write->handler = ngx_http_empty_handler;
    c->tcp_nodelay = NGX_TCP_NODELAY_DISABLED;
    c->tcp_nopush = NGX_TCP_NOPUSH_DISABLED;

    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->sockaddr = (struct sockaddr *) sin;
    c->socklen = sizeof(struct sockaddr_in);
    c->local_sockaddr = c->sockaddr;
    c->local_socklen = c->socklen;
    ngx_str_set(&c->addr_text, "chatwootai-queue");

    hc->conf_ctx = loc->ctx;
    c->data = hc;

    r = ngx_http_create_request(c);
    if (r == NULL) {
        goto failed;
    }
    c->data = r;

    if (ngx_list_init(&r->headers_in.headers, r->pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        ngx_http_free_request(r, 0);
        goto failed;
    }
    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    r->uri = loc->name;
    r->unparsed_uri = loc->name;
    r->request_line.len = loc->name.len + sizeof("POST  (resumed)") - 1;
    r->request_line.data = ngx_pnalloc(r->pool, r->request_line.len);
    if (r->request_line.data == NULL) {
        ngx_http_free_request(r, 0);
        goto failed;
    }
    ngx_sprintf(r->request_line.data, "POST %V (resumed)", &loc->name);
    ngx_str_set(&r->http_protocol, "HTTP/1.1");
    r->http_version = NGX_HTTP_VERSION_11;
    r->keepalive = 0;
    return r;

failed:

    c->destroyed = 1;
    c->fd = 0;
    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
    if (pool) {
        ngx_destroy_pool(pool);
    }
    return NULL;
}


/* Redis said which message of the burst answers: a later one (merged), or
 * this one — also when it had claimed the burst before its worker stopped
 * (Redis then names it) — or could not tell (the zone's answer stands). */
static void
ngx_http_cwai_queue_burst_decided(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_str_t *latest)
{
    ngx_http_cwai_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    if (rc == NGX_DECLINED && latest != NULL
        && ngx_atoi(latest->data, latest->len) != (ngx_int_t) ctx->wh.message_id)
    {
        ngx_http_cwai_burst_merged(r, ctx, latest);
        return;
    }
    ngx_http_cwai_queue_resumed_answer(r, data);
}


static void
ngx_http_cwai_queue_resumed_run(ngx_http_request_t *r, void *data)
{
    u_char                     kbuf[64];
    ngx_str_t                  key, val;
    ngx_http_cwai_ctx_t       *ctx;
    ngx_http_cwai_loc_conf_t  *lcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    /* a message of a burst (chatwootai_debounce) that a later one answers:
     * as if its quiet window had ended here — Redis decides across
     * instances, else this nginx's zone */
    if (lcf->debounce) {
        key.data = kbuf;
        key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "b", ctx);
        if (ngx_http_cwai_l2_burst_claim(r, &key, ctx->wh.message_id,
                                         4 * lcf->debounce,
                                         ngx_http_cwai_queue_burst_decided, data)
            == NGX_AGAIN)
        {
            return;
        }
        if (ngx_http_cwai_zone_get(lcf->zone, &key, r->pool, &val, NULL) == NGX_OK
            && ngx_atoi(val.data, val.len) != (ngx_int_t) ctx->wh.message_id)
        {
            ngx_http_cwai_burst_merged(r, ctx, &val);
            return;
        }
    }
    ngx_http_cwai_queue_resumed_answer(r, data);
}


static void
ngx_http_cwai_queue_resumed_answer(ngx_http_request_t *r, void *data)
{
    u_char                     kbuf[64];
    size_t                     n;
    json_t                    *turns;
    ngx_str_t                  key;
    cwai_turn_t                history[NGX_HTTP_CWAI_MAX_TURNS];
    ngx_http_cwai_ctx_t       *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);

    /* the stopped worker may have remembered the message already; it must
     * be there once, as the last customer turn the answer reads */
    key.data = kbuf;
    key.len = ngx_http_cwai_conv_key(kbuf, sizeof(kbuf), "mem", ctx);
    turns = ngx_http_cwai_memory_load(r, &key, history, &n);
    if (turns != NULL) {
        if (n == 0 || history[n - 1].role != CWAI_ROLE_CUSTOMER
            || ctx->wh.content == NULL
            || ngx_strcmp(history[n - 1].text, ctx->wh.content) != 0)
        {
            ngx_http_cwai_memory_append(turns, CWAI_ROLE_CUSTOMER,
                                        ctx->wh.content ? ctx->wh.content : "",
                                        ctx->wh.content ? ctx->wh.content_len : 0,
                                        NULL);
            ngx_http_cwai_memory_store(r, &key, turns);
        }
        json_decref(turns);
    }
    ctx->burst = 1;     /* the trailing customer turns are the question */

    ngx_http_cwai_webhook_run(r, data);
}


static void
ngx_http_cwai_queue_give_up(ngx_http_cwai_queue_item_t *from,
    ngx_http_cwai_stats_t *st, const char *why)
{
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "chatwootai: message %*s not resumed: %s; counted as failed",
                  from->key_len, from->key, why);
    if (st != NULL) {
        (void) ngx_atomic_fetch_add(&st->pipeline[CWAI_OUTCOME_FAILED], 1);
    }
    if (from->in_redis) {
        ngx_http_cwai_queue_send_done(from->id, from->id_len, from->key,
                                      from->key_len);
    }
    if (from->in_zone) {
        ngx_http_cwai_zone_job_done(from->zone, &from->job);
    }
}


static void
ngx_http_cwai_queue_resume(ngx_http_cwai_queue_rec_t *rec,
    ngx_http_cwai_queue_item_t *from, ngx_uint_t attempts)
{
    u_char                        kbuf[64];
    ngx_int_t                     rc;
    ngx_str_t                     key;
    ngx_uint_t                    gave_up = 0;
    cwai_err_t                    err;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_cwai_ctx_t          *ctx;
    ngx_http_cwai_domain_t       *dom;
    ngx_http_cwai_loc_conf_t     *lcf;
    ngx_http_cwai_main_conf_t    *cmcf;
    ngx_http_cwai_queue_item_t   *item;
    ngx_http_cwai_webhook_loc_t  *loc;

    cmcf = ngx_http_cwai_queue_cmcf();
    loc = ngx_http_cwai_queue_location(&rec->loc);
    if (loc == NULL) {
        ngx_http_cwai_queue_give_up(from, NULL, "no chatwootai_webhook location");
        return;
    }
    lcf = loc->ctx->loc_conf[ngx_http_chatwootai_module.ctx_index];

    /* its XACK may still be on its way to Redis */
    if (from->in_redis) {
        key.data = kbuf;
        key.len = ngx_snprintf(kbuf, sizeof(kbuf), "qd:%*s", from->key_len,
                               from->key) - kbuf;
        if (ngx_http_cwai_zone_get(lcf->zone, &key, NULL, NULL, NULL) == NGX_OK) {
            ngx_http_cwai_queue_send_done(from->id, from->id_len, from->key,
                                          from->key_len);
            return;
        }
    }

    if (attempts > NGX_HTTP_CWAI_QUEUE_ATTEMPTS) {
        /* a message that stops every worker that takes it must not stop
         * them all, forever */
        ngx_http_cwai_queue_give_up(from, &lcf->zone->sh->stats,
                                    "too many attempts");
        return;
    }

    r = ngx_http_cwai_queue_request(loc);
    if (r == NULL) {
        /* out of memory: the record stays, taken again later */
        if (from->in_zone) {
            ngx_http_cwai_zone_job_release(from->zone, &from->job);
        }
        return;
    }
    c = r->connection;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_ctx_t));
    item = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_queue_item_t));
    if (ctx == NULL || item == NULL) {
        goto failed;
    }
    ngx_http_set_ctx(r, ctx, ngx_http_chatwootai_module);

    ctx->body.len = rec->body.len;
    ctx->body.data = ngx_pnalloc(r->pool, rec->body.len + 1);
    if (ctx->body.data == NULL) {
        goto failed;
    }
    ngx_memcpy(ctx->body.data, rec->body.data, rec->body.len);
    ctx->body.data[rec->body.len] = '\0';

    dom = ngx_http_cwai_domain_find(cmcf, &rec->dom);
    rc = dom ? ngx_http_cwai_ctx_parse(r->pool, ctx, &ctx->body, &err)
             : NGX_DECLINED;
    if (rc != NGX_OK) {
        if (rc == NGX_DECLINED) {
            ngx_http_cwai_queue_give_up(from, &lcf->zone->sh->stats,
                                        dom ? "its webhook does not parse"
                                            : "its domain is not configured");
            gave_up = 1;
        }
        goto failed;
    }
    ctx->status = "resumed";
    ctx->resumed = 1;
    if (rec->nm.len == sizeof("rate_limited") - 1
        && ngx_strncmp(rec->nm.data, "rate_limited", rec->nm.len) == 0)
    {
        ctx->no_model = "rate_limited";
    }

    /* the record now belongs to this request */
    *item = *from;
    item->r = r;
    item->own_request = 1;
    ctx->queued = item;
    {
        ngx_pool_cleanup_t  *cln;

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            goto failed;
        }
        cln->handler = ngx_http_cwai_queue_item_cleanup;
        cln->data = item;
    }
    if (item->in_redis) {
        ngx_http_cwai_queue_link(item);
    }

    (void) ngx_atomic_fetch_add(&lcf->zone->sh->stats.resumed, 1);
    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "chatwootai: resuming message %L of conversation %L that a "
                  "stopped worker left (attempt %ui)", ctx->wh.message_id,
                  ctx->wh.conversation_id, attempts);

    if (ctx->no_model == NULL) {
        ngx_http_cwai_budget_sync(r, dom);
    }
    if (ngx_http_cwai_memory_fetch(r, ctx, ngx_http_cwai_queue_resumed_run, dom)
        != NGX_AGAIN)
    {
        ngx_http_cwai_queue_resumed_run(r, dom);
    }
    ngx_http_run_posted_requests(c);
    return;

failed:

    /* the record stays, for another look (Redis: once idle again) */
    if (from->in_zone && !gave_up) {
        ngx_http_cwai_zone_job_release(from->zone, &from->job);
    }
    ctx = ngx_http_get_module_ctx(r, ngx_http_chatwootai_module);
    if (ctx != NULL) {
        ctx->queued = NULL;
    }
    item = ngx_pcalloc(r->pool, sizeof(ngx_http_cwai_queue_item_t));
    if (item != NULL) {
        item->r = r;
        item->release.data = item;
        ngx_http_cwai_queue_release(&item->release);
    }
}
