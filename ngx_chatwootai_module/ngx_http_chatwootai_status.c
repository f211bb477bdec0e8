/*
 * chatwootai_status: counters and zone usage, Prometheus text exposition
 * by default, JSON with ?format=json. Counters live in each zone's shared
 * memory, so every worker's requests are summed.
 */

#include "ngx_http_chatwootai_module.h"


const char  *ngx_http_cwai_outcome_names[NGX_HTTP_CWAI_OUTCOMES] = {
    "accepted", "ignored", "duplicate", "rejected"
};

/* Index 0 collects reasons missing from the lists. */
const char  *ngx_http_cwai_rejected_names[] = {
    "other", "missing_signature", "malformed_signature", "stale_timestamp",
    "bad_signature", "unknown_secret", "missing_token", "bad_token",
    "invalid_json", "invalid_payload", "method_not_allowed",
    "unsupported_media_type", "body_too_large", "body_read_error", NULL
};

const char  *ngx_http_cwai_ignored_names[] = {
    "other", "not_incoming", "private_note", "not_from_contact",
    "empty_message", "conversation_open", "conversation_resolved",
    "conversation_snoozed", "conversation_pending",
    "conversation_status_unknown", "human_assigned", "human_active",
    "conversation_event", "message_updated", "unsupported_event", NULL
};

static const char  *ngx_http_cwai_duplicate_names[] = {
    "delivery_id", "message_id", NULL
};

static const ngx_msec_t  latency_bounds[] = NGX_HTTP_CWAI_LATENCY_BOUNDS;

/* Per-tenant counters the pipeline keeps in the zone as t:<tenant>:<name>. */
static const char  *ngx_http_cwai_tenant_counters[] = {
    "prompt_tokens", "completion_tokens", "cached_tokens", "replied", "handoff",
    "failed", NULL
};


static ngx_uint_t
ngx_http_cwai_reason_index(const char **names, const char *reason)
{
    ngx_uint_t  i;

    for (i = 1; reason && names[i]; i++) {
        if (ngx_strcmp(names[i], reason) == 0) {
            return i;
        }
    }
    return 0;
}


void
ngx_http_cwai_count_outcome(ngx_http_cwai_stats_t *st,
    ngx_http_cwai_outcome_e o, const char *reason)
{
    (void) ngx_atomic_fetch_add(&st->outcomes[o], 1);

    switch (o) {
    case NGX_HTTP_CWAI_REJECTED:
        (void) ngx_atomic_fetch_add(
            &st->rejected[ngx_http_cwai_reason_index(ngx_http_cwai_rejected_names,
                                                     reason)], 1);
        break;
    case NGX_HTTP_CWAI_IGNORED:
        (void) ngx_atomic_fetch_add(
            &st->ignored[ngx_http_cwai_reason_index(ngx_http_cwai_ignored_names,
                                                    reason)], 1);
        break;
    case NGX_HTTP_CWAI_DUPLICATE:
        (void) ngx_atomic_fetch_add(
            &st->duplicates[ngx_strcmp(reason, "message_id") == 0], 1);
        break;
    default:
        break;
    }
}


/* ---- one growing text buffer from the request pool ---------------------- */

typedef struct {
    ngx_pool_t  *pool;
    u_char      *start, *last, *end;
    ngx_uint_t   failed;
} ngx_http_cwai_text_t;


static ngx_int_t
ngx_http_cwai_printf(ngx_http_cwai_text_t *t, const char *fmt, ...)
{
    size_t    size;
    u_char   *p, tmp[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(tmp, tmp + sizeof(tmp), fmt, args);
    va_end(args);

    if (t->failed) {
        return NGX_ERROR;
    }
    if (p - tmp > t->end - t->last) {
        size = 2 * (t->end - t->start) + (p - tmp);
        p = ngx_pnalloc(t->pool, size);
        if (p == NULL) {
            t->failed = 1;
            return NGX_ERROR;
        }
        t->last = ngx_cpymem(p, t->start, t->last - t->start);
        t->start = p;
        t->end = p + size;
        va_start(args, fmt);
        p = ngx_vslprintf(tmp, tmp + sizeof(tmp), fmt, args);
        va_end(args);
    }
    t->last = ngx_cpymem(t->last, tmp, p - tmp);
    return NGX_OK;
}


static void
ngx_http_cwai_prom_family(ngx_http_cwai_text_t *t, const char *name,
    const char *type, const char *help)
{
    (void) ngx_http_cwai_printf(t, "# HELP %s %s\n# TYPE %s %s\n",
                                name, help, name, type);
}


static void
ngx_http_cwai_status_tenants(ngx_http_request_t *r, ngx_http_cwai_text_t *t,
    ngx_http_cwai_zone_t **zones, ngx_uint_t n)
{
    u_char                      buf[160];
    ngx_str_t                   key, val;
    ngx_uint_t                  i, d, k;
    ngx_http_cwai_domain_t     *dom;
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_chatwootai_module);
    dom = cmcf->domains.elts;

    ngx_http_cwai_prom_family(t, "chatwootai_tenant_total", "counter",
                              "Per domain: model tokens (prompt, completion, cached) "
                              "and messages by outcome.");
    for (i = 0; i < n; i++) {
        for (d = 0; d < cmcf->domains.nelts; d++) {
            for (k = 0; ngx_http_cwai_tenant_counters[k]; k++) {
                key.data = buf;
                key.len = ngx_snprintf(buf, sizeof(buf), "t:%V:%s", &dom[d].name,
                                       ngx_http_cwai_tenant_counters[k]) - buf;
                if (ngx_http_cwai_zone_get(zones[i], &key, r->pool, &val, NULL)
                    != NGX_OK)
                {
                    ngx_str_set(&val, "0");
                }
                ngx_http_cwai_printf(t, "chatwootai_tenant_total{zone=\"%V\","
                                     "tenant=\"%V\",counter=\"%s\"} %V\n",
                                     &zones[i]->name, &dom[d].name,
                                     ngx_http_cwai_tenant_counters[k], &val);
            }
        }
    }
}


static ngx_int_t
ngx_http_cwai_status_prometheus(ngx_http_request_t *r,
    ngx_http_cwai_zone_t **zones, ngx_uint_t n)
{
    u_char                     *p, *q, *last;
    ngx_str_t                   redis;
    ngx_uint_t                  i, k;
    ngx_buf_t                  *b;
    ngx_int_t                   rc;
    ngx_chain_t                 out;
    ngx_http_cwai_text_t        t;
    ngx_http_cwai_stats_t      *st;
    ngx_http_cwai_zone_usage_t  u;

    t.pool = r->pool;
    t.start = ngx_pnalloc(r->pool, 4096);
    if (t.start == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    t.last = t.start;
    t.end = t.start + 4096;
    t.failed = 0;

    ngx_http_cwai_prom_family(&t, "chatwootai_events_total", "counter",
                              "Authenticated webhook events by event type.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; k < CWAI_EV__COUNT; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_events_total{zone=\"%V\","
                                 "event=\"%s\"} %uA\n", &zones[i]->name,
                                 cwai_event_name((cwai_event_type_t) k),
                                 st->events[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_webhooks_total", "counter",
                              "Webhook requests by outcome.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; k < NGX_HTTP_CWAI_OUTCOMES; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_webhooks_total{zone=\"%V\","
                                 "outcome=\"%s\"} %uA\n", &zones[i]->name,
                                 ngx_http_cwai_outcome_names[k],
                                 st->outcomes[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_rejected_total", "counter",
                              "Rejected webhook requests by reason.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; ngx_http_cwai_rejected_names[k]; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_rejected_total{zone=\"%V\","
                                 "reason=\"%s\"} %uA\n", &zones[i]->name,
                                 ngx_http_cwai_rejected_names[k],
                                 st->rejected[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_ignored_total", "counter",
                              "Ignored webhook events by reason.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; ngx_http_cwai_ignored_names[k]; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_ignored_total{zone=\"%V\","
                                 "reason=\"%s\"} %uA\n", &zones[i]->name,
                                 ngx_http_cwai_ignored_names[k],
                                 st->ignored[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_duplicates_total", "counter",
                              "Duplicate deliveries by the key that caught them.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; ngx_http_cwai_duplicate_names[k]; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_duplicates_total{zone=\"%V\","
                                 "key=\"%s\"} %uA\n", &zones[i]->name,
                                 ngx_http_cwai_duplicate_names[k],
                                 st->duplicates[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_messages_total", "counter",
                              "Accepted messages by how they ended.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; k < 3; k++) {
            ngx_http_cwai_printf(&t, "chatwootai_messages_total{zone=\"%V\","
                                 "outcome=\"%s\"} %uA\n", &zones[i]->name,
                                 cwai_outcome_name((cwai_outcome_t) k),
                                 st->pipeline[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_rate_limited_total", "counter",
                              "Messages over chatwootai_rate_limit, answered "
                              "without the model.");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_rate_limited_total{zone=\"%V\"} %uA\n",
                             &zones[i]->name, zones[i]->sh->stats.rate_limited);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_budget_exceeded_total", "counter",
                              "Messages of a tenant over chatwootai_token_budget, "
                              "answered without the model.");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_budget_exceeded_total{zone=\"%V\"} %uA\n",
                             &zones[i]->name, zones[i]->sh->stats.budget_exceeded);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_merged_total", "counter",
                              "Messages of a burst answered together with a later one "
                              "(chatwootai_debounce).");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_merged_total{zone=\"%V\"} %uA\n",
                             &zones[i]->name, zones[i]->sh->stats.merged);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_resumed_total", "counter",
                              "Messages resumed after the worker (or instance) "
                              "that accepted them stopped.");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_resumed_total{zone=\"%V\"} %uA\n",
                             &zones[i]->name, zones[i]->sh->stats.resumed);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_queue_records", "gauge",
                              "Accepted messages recorded in the zone and not "
                              "ended yet (the durable queue without Redis).");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_queue_records{zone=\"%V\"} %ui\n",
                             &zones[i]->name, zones[i]->sh->njobs);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_cache_total", "counter",
                              "Upstream calls answered from the L1 zone (hit) or not.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        ngx_http_cwai_printf(&t, "chatwootai_cache_total{zone=\"%V\",result=\"hit\"} %uA\n"
                             "chatwootai_cache_total{zone=\"%V\",result=\"miss\"} %uA\n",
                             &zones[i]->name, st->cache[0], &zones[i]->name,
                             st->cache[1]);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_cache_coalesced_total", "counter",
                              "Cache misses that waited for the same call already "
                              "on its way to the upstream (one call for all).");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_printf(&t, "chatwootai_cache_coalesced_total{zone=\"%V\"} %uA\n",
                             &zones[i]->name, zones[i]->sh->stats.coalesced);
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_upstream_requests_total", "counter",
                              "Calls to each upstream.");
    ngx_http_cwai_prom_family(&t, "chatwootai_upstream_errors_total", "counter",
                              "Calls that failed: no response, an HTTP error or a "
                              "truncated body.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; k < CWAI_UP__COUNT; k++) {
            ngx_http_cwai_printf(&t,
                "chatwootai_upstream_requests_total{zone=\"%V\",upstream=\"%s\"} %uA\n"
                "chatwootai_upstream_errors_total{zone=\"%V\",upstream=\"%s\"} %uA\n",
                &zones[i]->name, cwai_upstream_name((cwai_upstream_t) k),
                st->upstream_requests[k], &zones[i]->name,
                cwai_upstream_name((cwai_upstream_t) k), st->upstream_errors[k]);
        }
    }

    ngx_http_cwai_prom_family(&t, "chatwootai_upstream_latency_seconds", "histogram",
                              "Latency of upstream calls.");
    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        for (k = 0; k < CWAI_UP__COUNT; k++) {
            ngx_atomic_uint_t  cum = 0;
            ngx_uint_t         b;

            for (b = 0; b < NGX_HTTP_CWAI_LATENCY_BUCKETS; b++) {
                cum += st->upstream_latency[k][b];
                if (b < NGX_HTTP_CWAI_LATENCY_BUCKETS - 1) {
                    ngx_http_cwai_printf(&t,
                        "chatwootai_upstream_latency_seconds_bucket{zone=\"%V\","
                        "upstream=\"%s\",le=\"%.3f\"} %uA\n", &zones[i]->name,
                        cwai_upstream_name((cwai_upstream_t) k),
                        (double) latency_bounds[b] / 1000, cum);
                } else {
                    ngx_http_cwai_printf(&t,
                        "chatwootai_upstream_latency_seconds_bucket{zone=\"%V\","
                        "upstream=\"%s\",le=\"+Inf\"} %uA\n", &zones[i]->name,
                        cwai_upstream_name((cwai_upstream_t) k), cum);
                }
            }
            ngx_http_cwai_printf(&t,
                "chatwootai_upstream_latency_seconds_sum{zone=\"%V\",upstream=\"%s\"} %.3f\n"
                "chatwootai_upstream_latency_seconds_count{zone=\"%V\",upstream=\"%s\"} %uA\n",
                &zones[i]->name, cwai_upstream_name((cwai_upstream_t) k),
                (double) st->upstream_latency_ms[k] / 1000,
                &zones[i]->name, cwai_upstream_name((cwai_upstream_t) k), cum);
        }
    }

    ngx_http_cwai_status_tenants(r, &t, zones, n);

    ngx_http_cwai_prom_family(&t, "chatwootai_zone_size_bytes", "gauge",
                              "Size of the shared memory zone.");
    ngx_http_cwai_prom_family(&t, "chatwootai_zone_free_bytes", "gauge",
                              "Free pages of the zone, in bytes.");
    ngx_http_cwai_prom_family(&t, "chatwootai_zone_entries", "gauge",
                              "Entries stored in the zone.");
    ngx_http_cwai_prom_family(&t, "chatwootai_zone_evictions_total", "counter",
                              "Live entries evicted because the zone was full.");
    ngx_http_cwai_prom_family(&t, "chatwootai_zone_expired_total", "counter",
                              "Expired entries removed.");
    for (i = 0; i < n; i++) {
        ngx_http_cwai_zone_usage(zones[i], &u);
        st = &zones[i]->sh->stats;
        ngx_http_cwai_printf(&t,
            "chatwootai_zone_size_bytes{zone=\"%V\"} %uz\n"
            "chatwootai_zone_free_bytes{zone=\"%V\"} %uz\n"
            "chatwootai_zone_entries{zone=\"%V\"} %ui\n"
            "chatwootai_zone_evictions_total{zone=\"%V\"} %uA\n"
            "chatwootai_zone_expired_total{zone=\"%V\"} %uA\n",
            &zones[i]->name, u.size, &zones[i]->name, u.free,
            &zones[i]->name, u.entries, &zones[i]->name, st->evictions,
            &zones[i]->name, st->expired);
    }

    /* Redis (L2), with chatwootai_redis: lines shorter than printf's buffer */
    if (ngx_http_cwai_redis_metrics(r->pool, &redis) == NGX_OK) {
        for (p = redis.data, last = p + redis.len; p < last; p = q + 1) {
            q = ngx_strlchr(p, last, '\n');
            q = q ? q : last;
            ngx_http_cwai_printf(&t, "%*s\n", (size_t) (q - p), p);
        }
    }

    if (t.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->pos = t.start;
    b->last = t.last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}


static json_t *
ngx_http_cwai_counter_map(ngx_atomic_t *values, const char **names,
    ngx_uint_t n)
{
    json_t      *o;
    ngx_uint_t   k;

    o = json_object();
    for (k = 0; o && (n ? k < n : names[k] != NULL); k++) {
        json_object_set_new(o, names[k], json_integer((json_int_t) values[k]));
    }
    return o;
}


static ngx_int_t
ngx_http_cwai_status_json(ngx_http_request_t *r, ngx_http_cwai_zone_t **zones,
    ngx_uint_t n)
{
    json_t                      *doc, *zs, *z, *events;
    ngx_uint_t                   i, k;
    ngx_http_cwai_stats_t       *st;
    ngx_http_cwai_zone_usage_t   u;

    doc = json_object();
    zs = json_object();
    if (doc == NULL || zs == NULL) {
        json_decref(doc);
        json_decref(zs);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    json_object_set_new(doc, "zones", zs);

    for (i = 0; i < n; i++) {
        st = &zones[i]->sh->stats;
        ngx_http_cwai_zone_usage(zones[i], &u);

        events = json_object();
        for (k = 0; events && k < CWAI_EV__COUNT; k++) {
            json_object_set_new(events, cwai_event_name((cwai_event_type_t) k),
                                json_integer((json_int_t) st->events[k]));
        }

        z = json_pack("{s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I}}",
            "events", events,
            "outcomes", ngx_http_cwai_counter_map(st->outcomes,
                            ngx_http_cwai_outcome_names, NGX_HTTP_CWAI_OUTCOMES),
            "rejected", ngx_http_cwai_counter_map(st->rejected,
                            ngx_http_cwai_rejected_names, 0),
            "ignored", ngx_http_cwai_counter_map(st->ignored,
                            ngx_http_cwai_ignored_names, 0),
            "duplicates", ngx_http_cwai_counter_map(st->duplicates,
                            ngx_http_cwai_duplicate_names, 0),
            "zone",
              "size", (json_int_t) u.size,
              "free", (json_int_t) u.free,
              "entries", (json_int_t) u.entries,
              "evictions", (json_int_t) st->evictions,
              "expired", (json_int_t) st->expired);
        if (z == NULL) {
            json_decref(doc);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        {
            json_t *msgs = json_object(), *ups = json_object();
            for (k = 0; msgs && k < 3; k++) {
                json_object_set_new(msgs, cwai_outcome_name((cwai_outcome_t) k),
                                    json_integer((json_int_t) st->pipeline[k]));
            }
            for (k = 0; ups && k < CWAI_UP__COUNT; k++) {
                json_object_set_new(ups, cwai_upstream_name((cwai_upstream_t) k),
                    json_pack("{s:I, s:I, s:I}",
                              "requests", (json_int_t) st->upstream_requests[k],
                              "errors", (json_int_t) st->upstream_errors[k],
                              "latency_ms_sum", (json_int_t) st->upstream_latency_ms[k]));
            }
            json_object_set_new(msgs, "merged",
                                json_integer((json_int_t) st->merged));
            json_object_set_new(msgs, "resumed",
                                json_integer((json_int_t) st->resumed));
            json_object_set_new(z, "queue_records",
                                json_integer((json_int_t) zones[i]->sh->njobs));
            json_object_set_new(z, "messages", msgs);
            json_object_set_new(z, "upstreams", ups);
            json_object_set_new(z, "limits", json_pack("{s:I, s:I}",
                                "rate_limited", (json_int_t) st->rate_limited,
                                "budget_exceeded",
                                (json_int_t) st->budget_exceeded));
            json_object_set_new(z, "cache", json_pack("{s:I, s:I, s:I}",
                                "hits", (json_int_t) st->cache[0],
                                "misses", (json_int_t) st->cache[1],
                                "coalesced", (json_int_t) st->coalesced));
        }
        json_object_setn_new(zs, (const char *) zones[i]->name.data,
                             zones[i]->name.len, z);
    }

    /* Redis (L2), with chatwootai_redis */
    z = ngx_http_cwai_redis_metrics_json();
    if (z != NULL) {
        json_object_set_new(doc, "redis", z);
    }

    return ngx_http_cwai_send_json(r, NGX_HTTP_OK, doc);
}


ngx_int_t
ngx_http_cwai_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   format;
    ngx_http_cwai_main_conf_t  *cmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }
    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_chatwootai_module);

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
        && format.len == 4 && ngx_strncmp(format.data, "json", 4) == 0)
    {
        return ngx_http_cwai_status_json(r, cmcf->zones.elts, cmcf->zones.nelts);
    }
    return ngx_http_cwai_status_prometheus(r, cmcf->zones.elts,
                                           cmcf->zones.nelts);
}
