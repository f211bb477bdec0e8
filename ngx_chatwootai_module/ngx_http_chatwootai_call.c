/*
 * One HTTP call to an upstream, as a background subrequest of the webhook's
 * main request (see docs/nginx-techniques notes in docs/design-notes.md):
 *
 *   - POST with our own body and a fresh headers_in (the webhook's headers,
 *     its signature among them, never reach an upstream);
 *   - the response is captured by this module's filters into memory, up to
 *     a limit, instead of NGX_HTTP_SUBREQUEST_IN_MEMORY (whose overflow
 *     kills the whole main request);
 *   - completion is judged from rc, status and whether the body ended
 *     (a truncated body is reported as rc 0 / 200 by nginx);
 *   - the post_subrequest handler may be called twice (502/504 error
 *     pages): only the first call counts.
 *
 * Timers between calls (backoff) hold one reference on the main request.
 */

#include "ngx_http_chatwootai_module.h"


static ngx_int_t ngx_http_cwai_call_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);


static ngx_table_elt_t *
ngx_http_cwai_push_header(ngx_http_request_t *sr, ngx_pool_t *pool,
    const char *name, ngx_str_t *value)
{
    size_t            len;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }
    len = ngx_strlen(name);
    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value = *value;
    h->lowcase_key = ngx_pnalloc(pool, len);
    if (h->lowcase_key == NULL) {
        return NULL;
    }
    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, len);
    return h;
}


ngx_int_t
ngx_http_cwai_call_start(ngx_http_request_t *r, ngx_http_cwai_call_t *call)
{
    ngx_uint_t                   i;
    ngx_buf_t                   *b;
    ngx_str_t                    json = ngx_string("application/json");
    ngx_chain_t                 *cl;
    ngx_table_elt_t             *h;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    r = r->main;

    call->r = r;
    call->handled = 0;
    call->status = 0;
    call->rc = 0;
    call->eof = 0;
    call->overflow = 0;
    call->retry_after = 0;
    call->content_length = -1;
    call->response.len = 0;
    call->started = ngx_current_msec;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }
    ps->handler = ngx_http_cwai_call_done;
    ps->data = call;

    if (ngx_http_subrequest(r, &call->uri, call->args.len ? &call->args : NULL,
                            &sr, ps, NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, call, ngx_http_chatwootai_module);

    /* fresh headers: nothing of the webhook request is forwarded */
    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
    if (ngx_list_init(&sr->headers_in.headers, r->pool, 4 + call->nheaders,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }
    sr->headers_in.server = r->headers_in.server;
    sr->headers_in.content_length_n = -1;

    if (call->method == NGX_HTTP_POST) {
        sr->method = NGX_HTTP_POST;
        ngx_str_set(&sr->method_name, "POST");

        h = ngx_http_cwai_push_header(sr, r->pool, "Content-Type", &json);
        if (h == NULL) {
            return NGX_ERROR;
        }
        sr->headers_in.content_type = h;

        sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
        if (sr->request_body == NULL) {
            return NGX_ERROR;
        }
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }
        b->pos = call->body.data;
        b->last = call->body.data + call->body.len;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;
        b->last_buf = 1;
        b->last_in_chain = 1;
        cl->buf = b;
        cl->next = NULL;
        sr->request_body->bufs = cl;
        sr->headers_in.content_length_n = call->body.len;

    } else {
        sr->method = NGX_HTTP_GET;
        ngx_str_set(&sr->method_name, "GET");
        sr->request_body = NULL;
    }

    for (i = 0; i < call->nheaders; i++) {
        if (ngx_http_cwai_push_header(sr, r->pool, call->headers[i].name,
                                      &call->headers[i].value)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "chatwootai call: %V %V (%uz bytes)",
                   &sr->method_name, &call->uri, call->body.len);
    return NGX_OK;
}


static ngx_int_t
ngx_http_cwai_call_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_cwai_call_t  *call = data;

    if (call->handled) {
        /* the second call after nginx built an error page for 502/504 */
        return NGX_OK;
    }
    call->handled = 1;
    call->rc = rc;
    call->elapsed = ngx_current_msec - call->started;

    if (call->status == 0 && rc == NGX_OK) {
        call->status = sr->headers_out.status;
    }

    call->complete = call->status != 0 && call->eof && !call->overflow
                     && (call->content_length < 0
                         || (off_t) call->response.len == call->content_length);

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "chatwootai call done: rc:%i status:%ui len:%uz complete:%ui "
                   "%Mms", rc, call->status, call->response.len,
                   (ngx_uint_t) call->complete, call->elapsed);

    call->handler(call);
    return NGX_OK;
}


/* ---- capture: called from the module's filters for our subrequests ---- */

ngx_int_t
ngx_http_cwai_call_header(ngx_http_request_t *sr, ngx_http_cwai_call_t *call)
{
    ngx_int_t         secs;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    call->status = sr->headers_out.status;
    call->content_length = sr->headers_out.content_length_n;

    /* Retry-After: seconds (OpenAI, Qdrant); HTTP dates are not used by them */
    part = &sr->headers_out.headers.part;
    h = part->elts;
    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        if (h[i].hash && h[i].key.len == 11
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Retry-After", 11) == 0)
        {
            secs = ngx_atoi(h[i].value.data, h[i].value.len);
            if (secs != NGX_ERROR) {
                call->retry_after = (ngx_msec_t) ngx_min(secs, 3600) * 1000;
            }
        }
    }

    sr->filter_need_in_memory = 1;
    return NGX_OK;
}


ngx_int_t
ngx_http_cwai_call_body(ngx_http_request_t *sr, ngx_http_cwai_call_t *call,
    ngx_chain_t *in)
{
    u_char       *p;
    size_t        n, size;
    ngx_chain_t  *cl;

    for (cl = in; cl; cl = cl->next) {
        n = ngx_buf_in_memory(cl->buf) ? (size_t) (cl->buf->last - cl->buf->pos) : 0;

        if (n && !call->overflow) {
            if (call->response.len + n > call->max_response) {
                /* keep the chain going: the caller sees an incomplete body */
                call->overflow = 1;
                ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                              "chatwootai: response of \"%V\" is larger than "
                              "%uz bytes, discarded", &call->uri,
                              call->max_response);
            } else {
                if (call->response.len + n > call->capacity) {
                    size = ngx_max(2 * call->capacity, call->response.len + n);
                    size = ngx_min(size, call->max_response);
                    p = ngx_pnalloc(sr->main->pool, size + 1);
                    if (p == NULL) {
                        return NGX_ERROR;
                    }
                    if (call->response.len) {
                        ngx_memcpy(p, call->response.data, call->response.len);
                    }
                    call->response.data = p;
                    call->capacity = size;
                }
                ngx_memcpy(call->response.data + call->response.len,
                           cl->buf->pos, n);
                call->response.len += n;
                call->response.data[call->response.len] = '\0';
            }
        }

        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (cl->buf->last_buf || cl->buf->last_in_chain) {
            call->eof = 1;
        }
    }
    return NGX_OK;
}


/* ---- timers between calls --------------------------------------------- */

static void
ngx_http_cwai_timer_cleanup(void *data)
{
    ngx_event_t  *ev = data;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


static void
ngx_http_cwai_timer_fired(ngx_event_t *ev)
{
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_http_cwai_wait_t  *w = ev->data;

    r = w->r;
    c = r->connection;

    w->handler(w->data);

    /* drop the timer's reference, then run what the handler posted */
    ngx_http_finalize_request(r, NGX_DONE);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_cwai_wait(ngx_http_request_t *r, ngx_http_cwai_wait_t *w,
    ngx_msec_t delay)
{
    ngx_pool_cleanup_t  *cln;

    r = r->main;
    w->r = r;

    if (w->ev.handler == NULL) {
        w->ev.handler = ngx_http_cwai_timer_fired;
        w->ev.data = w;
        w->ev.log = r->connection->log;
        /* not cancelable: a graceful reload lets the chain finish */
        w->ev.cancelable = 0;

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }
        cln->handler = ngx_http_cwai_timer_cleanup;
        cln->data = &w->ev;
    }

    ngx_add_timer(&w->ev, delay);
    r->count++;
    return NGX_OK;
}
