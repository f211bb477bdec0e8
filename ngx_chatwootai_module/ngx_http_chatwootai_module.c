/*
 * ngx_chatwootai: configuration (directives, zones, merge) and the
 * module definition. Handlers live in their own files.
 */

#include "ngx_http_chatwootai_module.h"


static void *ngx_http_cwai_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cwai_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cwai_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_cwai_init_main_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_http_cwai_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_cwai_init_process(ngx_cycle_t *cycle);

static char *ngx_http_cwai_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_cwai_handler_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cwai_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cwai_statuses(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cwai_debounce(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_enum_t  ngx_http_cwai_auth_modes[] = {
    { ngx_string("signature"), NGX_HTTP_CWAI_AUTH_SIGNATURE },
    { ngx_string("token"), NGX_HTTP_CWAI_AUTH_TOKEN },
    { ngx_string("off"), NGX_HTTP_CWAI_AUTH_OFF },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_cwai_commands[] = {

    { ngx_string("chatwootai_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_cwai_zone,
      0,
      0,
      NULL },

    { ngx_string("chatwootai_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_cwai_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_cwai_webhook_handler },

    { ngx_string("chatwootai_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_cwai_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_cwai_status_handler },

    { ngx_string("chatwootai_zone_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_cwai_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_cwai_zone_api_handler },

    { ngx_string("chatwootai_playground"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_cwai_handler_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_cwai_playground_handler },

    { ngx_string("chatwootai_domain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_cwai_domain_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_tenant"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, tenant),
      NULL },

    { ngx_string("chatwootai_debounce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cwai_debounce,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, debounce),
      NULL },

    { ngx_string("chatwootai_history_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, history_ttl),
      NULL },

    { ngx_string("chatwootai_llm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_upstream_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) CWAI_UP_LLM },

    { ngx_string("chatwootai_embeddings"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_upstream_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) CWAI_UP_EMBEDDINGS },

    { ngx_string("chatwootai_vector"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_upstream_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) CWAI_UP_VECTOR },

    { ngx_string("chatwootai_erp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_upstream_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) CWAI_UP_ERP },

    { ngx_string("chatwootai_chatwoot"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cwai_upstream_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) CWAI_UP_CHATWOOT },

    { ngx_string("chatwootai_confidence"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_confidence_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_response_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, response_max),
      NULL },

    { ngx_string("chatwootai_retries"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, retries),
      NULL },

    { ngx_string("chatwootai_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, cache_ttl),
      NULL },

    { ngx_string("chatwootai_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cwai_rate_limit_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_token_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cwai_token_budget_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_webhook_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, auth),
      &ngx_http_cwai_auth_modes },

    { ngx_string("chatwootai_webhook_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cwai_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, secret),
      NULL },

    { ngx_string("chatwootai_webhook_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cwai_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, token),
      NULL },

    { ngx_string("chatwootai_webhook_max_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, max_skew),
      NULL },

    { ngx_string("chatwootai_dedupe_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, dedupe_ttl),
      NULL },

    { ngx_string("chatwootai_human_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cwai_loc_conf_t, owner_ttl),
      NULL },

    /* Redis as L2 (ngx_http_chatwootai_redis.c) */
    { ngx_string("chatwootai_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    /* the durable queue (ngx_http_chatwootai_queue.c) */
    { ngx_string("chatwootai_resume_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cwai_resume_after_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_l2_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_cwai_l2_ttl_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("chatwootai_bot_statuses"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cwai_statuses,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_chatwootai_module_ctx = {
    ngx_http_cwai_preconfiguration,        /* preconfiguration */
    ngx_http_cwai_filter_init,             /* postconfiguration */

    ngx_http_cwai_create_main_conf,        /* create main configuration */
    ngx_http_cwai_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cwai_create_loc_conf,         /* create location configuration */
    ngx_http_cwai_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_chatwootai_module = {
    NGX_MODULE_V1,
    &ngx_http_chatwootai_module_ctx,       /* module context */
    ngx_http_cwai_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_cwai_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_cwai_redis_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_cwai_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_cwai_add_variables(cf);
}


/* the Redis connection, then the durable queue's timer */
static ngx_int_t
ngx_http_cwai_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_cwai_redis_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }
    return ngx_http_cwai_queue_init_process(cycle);
}


static void *
ngx_http_cwai_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cwai_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }
    if (ngx_array_init(&cmcf->zones, cf->pool, 2, sizeof(ngx_http_cwai_zone_t *))
        != NGX_OK
        || ngx_array_init(&cmcf->domains, cf->pool, 4,
                          sizeof(ngx_http_cwai_domain_t))
           != NGX_OK
        || ngx_array_init(&cmcf->webhooks, cf->pool, 2,
                          sizeof(ngx_http_cwai_webhook_loc_t))
           != NGX_OK)
    {
        return NULL;
    }
    cmcf->resume_after = NGX_CONF_UNSET_MSEC;
    return cmcf;
}


static char *
ngx_http_cwai_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_cwai_main_conf_t *cmcf = conf;

    /* a message left by a stopped worker waits this long before another
     * worker resumes it; running ones are kept fresh three times as often */
    ngx_conf_init_msec_value(cmcf->resume_after, 15000);
    return NGX_CONF_OK;
}


static void *
ngx_http_cwai_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cwai_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cwai_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->zone = NULL;
     *     conf->zone_name = { 0, NULL };
     *     conf->statuses = 0;
     */

    conf->auth = NGX_CONF_UNSET_UINT;
    conf->secret = NGX_CONF_UNSET_PTR;
    conf->token = NGX_CONF_UNSET_PTR;
    conf->max_skew = NGX_CONF_UNSET;
    conf->dedupe_ttl = NGX_CONF_UNSET_MSEC;
    conf->owner_ttl = NGX_CONF_UNSET_MSEC;
    conf->tenant = NGX_CONF_UNSET_PTR;
    conf->history_ttl = NGX_CONF_UNSET_MSEC;
    conf->debounce = NGX_CONF_UNSET_MSEC;
    conf->response_max = NGX_CONF_UNSET_SIZE;
    conf->retries = NGX_CONF_UNSET_UINT;
    conf->cache_ttl = NGX_CONF_UNSET_MSEC;
    conf->rate_interval = NGX_CONF_UNSET_MSEC;
    conf->rate_burst = NGX_CONF_UNSET_UINT;
    conf->token_budget = NGX_CONF_UNSET;
    conf->pipeline.temperature = -1;
    conf->pipeline.answer_threshold = -1;
    conf->pipeline.fallback_threshold = -1;

    return conf;
}


static char *
ngx_http_cwai_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cwai_loc_conf_t *prev = parent;
    ngx_http_cwai_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_uint_value(conf->auth, prev->auth, NGX_HTTP_CWAI_AUTH_SIGNATURE);
    ngx_conf_merge_ptr_value(conf->secret, prev->secret, NULL);
    ngx_conf_merge_ptr_value(conf->token, prev->token, NULL);
    ngx_conf_merge_sec_value(conf->max_skew, prev->max_skew, 300);
    ngx_conf_merge_msec_value(conf->dedupe_ttl, prev->dedupe_ttl, 86400000);
    ngx_conf_merge_msec_value(conf->owner_ttl, prev->owner_ttl, 86400000);
    ngx_conf_merge_ptr_value(conf->tenant, prev->tenant, NULL);
    ngx_conf_merge_msec_value(conf->history_ttl, prev->history_ttl, 3600000);
    ngx_conf_merge_msec_value(conf->debounce, prev->debounce, 2000);
    ngx_conf_merge_size_value(conf->response_max, prev->response_max, 1024 * 1024);
    ngx_conf_merge_uint_value(conf->retries, prev->retries, 2);
    ngx_conf_merge_msec_value(conf->cache_ttl, prev->cache_ttl, 600000);
    if (conf->rate_interval == NGX_CONF_UNSET_MSEC) {
        conf->rate_interval = (prev->rate_interval == NGX_CONF_UNSET_MSEC)
                              ? 0 : prev->rate_interval;
        conf->rate_burst = (prev->rate_burst == NGX_CONF_UNSET_UINT)
                           ? 0 : prev->rate_burst;
    }
    ngx_conf_merge_value(conf->token_budget, prev->token_budget, 0);
    ngx_http_cwai_upstreams_merge(prev, conf);
    ngx_http_cwai_upstreams_finish(conf);

    if (conf->statuses == 0) {
        conf->statuses = prev->statuses ? prev->statuses
                                        : CWAI_STATUS_BIT(CWAI_STATUS_PENDING);
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    if (clcf->handler == ngx_http_cwai_webhook_handler) {
        if (conf->auth == NGX_HTTP_CWAI_AUTH_SIGNATURE && conf->secret == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "chatwootai_webhook needs chatwootai_webhook_secret "
                               "(the agent bot's secret in Chatwoot), or "
                               "\"chatwootai_webhook_auth token|off;\"");
            return NGX_CONF_ERROR;
        }
        if (conf->auth == NGX_HTTP_CWAI_AUTH_TOKEN && conf->token == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"chatwootai_webhook_auth token\" needs "
                               "chatwootai_webhook_token");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* chatwootai_debounce TIME; (off or 0 .. 10s) */
static char *
ngx_http_cwai_debounce(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    char       *rv;
    ngx_str_t  *value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (lcf->debounce != NGX_CONF_UNSET_MSEC) {
            return "is duplicate";
        }
        lcf->debounce = 0;
        return NGX_CONF_OK;
    }
    rv = ngx_conf_set_msec_slot(cf, cmd, conf);
    if (rv == NGX_CONF_OK && lcf->debounce > 10000) {
        return "must be at most 10s";
    }
    return rv;
}


/* chatwootai_zone NAME SIZE; */
static char *
ngx_http_cwai_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t     size;
    ngx_str_t  *value;

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }
    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, at least %uz bytes",
                           &value[1], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_cwai_zone_add_conf(cf, &value[1], (size_t) size) == NULL) {
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}


/* chatwootai_webhook | chatwootai_status | chatwootai_zone_api [zone=NAME]; */
static char *
ngx_http_cwai_handler_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    ngx_str_t                 *value, name;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    if (clcf->handler != NULL) {
        return "is duplicate: this location already has a content handler";
    }
    clcf->handler = (ngx_http_handler_pt) cmd->post;
    lcf->json_errors = 1;

    if (clcf->handler == ngx_http_cwai_webhook_handler
        && ngx_http_cwai_queue_register(cf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strncmp(value[1].data, "zone=", 5) != 0 || value[1].len == 5) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected zone=NAME",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
        name.data = value[1].data + 5;
        name.len = value[1].len - 5;
        lcf->zone_name = name;
        lcf->zone = ngx_http_cwai_zone_find(cf, &name);
        if (lcf->zone == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown chatwootai_zone \"%V\" (declare it "
                               "at http level before use)", &name);
            return NGX_CONF_ERROR;
        }
        return NGX_CONF_OK;
    }

    lcf->zone = ngx_http_cwai_zone_find(cf, NULL);
    if (lcf->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a shared memory zone: add "
                           "\"chatwootai_zone NAME SIZE;\" at http level "
                           "before it", &cmd->name);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}


/*
 * chatwootai_webhook_secret / chatwootai_webhook_token:
 *   a literal, a value with variables, or file:/path (read now, so that
 *   "nginx -t" fails when the file is missing; one trailing newline and
 *   surrounding whitespace are dropped).
 */
static char *
ngx_http_cwai_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t                         *value, content;
    ngx_http_complex_value_t         **cvp, *cv;
    ngx_http_compile_complex_value_t   ccv;

    cvp = (ngx_http_complex_value_t **) (p + cmd->offset);
    if (*cvp != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    content = value[1];

    if (content.len > 5 && ngx_strncmp(content.data, "file:", 5) == 0) {
        if (ngx_http_cwai_conf_secret(cf, &cmd->name, &content, &content)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        /* a constant complex value: no variable syntax in file contents */
        cv = ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }
        cv->value = content;
        *cvp = cv;
        return NGX_CONF_OK;
    }

    if (content.len == 0) {
        return "must not be empty";
    }

    cv = ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        return NGX_CONF_ERROR;
    }
    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
    ccv.cf = cf;
    ccv.value = &content;
    ccv.complex_value = cv;
    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    *cvp = cv;
    return NGX_CONF_OK;
}


/* chatwootai_bot_statuses pending [open ...]; */
static char *
ngx_http_cwai_statuses(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    ngx_str_t           *value;
    ngx_uint_t           i;
    cwai_conv_status_t   st;

    if (lcf->statuses) {
        return "is duplicate";
    }
    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        st = cwai_status_from_name((const char *) value[i].data, value[i].len);
        if (st == CWAI_STATUS_UNKNOWN || st == CWAI_STATUS_RESOLVED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid status \"%V\", expected pending, open "
                               "or snoozed", &value[i]);
            return NGX_CONF_ERROR;
        }
        lcf->statuses |= CWAI_STATUS_BIT(st);
    }
    return NGX_CONF_OK;
}
