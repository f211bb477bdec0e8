/*
 * The upstream directives: which internal location reaches each peer and
 * how to talk to it. Each takes the location prefix and key=value options:
 *
 *   chatwootai_llm        /_cwai/openai  model=gpt-4o-mini [max_tokens=N]
 *                         [tokens_field=max_completion_tokens|max_tokens]
 *                         [steps=N] [temperature=T];
 *   chatwootai_embeddings /_cwai/openai  model=text-embedding-3-small [dimensions=N];
 *   chatwootai_vector     /_cwai/qdrant  collection=NAME [threshold=S] [limit=N];
 *   chatwootai_erp        /_cwai/odoo    [protocol=json2|jsonrpc] [db=NAME]
 *                         [uid=N] [key=VALUE|file:PATH];
 *   chatwootai_chatwoot   /_cwai/chatwoot;
 *
 * A call goes to <prefix><the peer's own path>, e.g.
 * /_cwai/openai/v1/chat/completions, so "location /_cwai/openai/ {
 * internal; proxy_pass https://api.openai.com/; }" maps it.
 */

#include "ngx_http_chatwootai_module.h"


static char *
ngx_http_cwai_cstr(ngx_conf_t *cf, ngx_str_t *s)
{
    char  *p;

    p = ngx_pnalloc(cf->pool, s->len + 1);
    if (p != NULL) {
        ngx_memcpy(p, s->data, s->len);
        p[s->len] = '\0';
    }
    return p;
}


static ngx_int_t
ngx_http_cwai_parse_double(ngx_str_t *s, double *out)
{
    u_char   *p, *last;
    double    v = 0, scale = 0;

    p = s->data;
    last = p + s->len;
    if (p == last) {
        return NGX_ERROR;
    }
    for ( /* void */ ; p < last; p++) {
        if (*p == '.' && scale == 0) {
            scale = 1;
            continue;
        }
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }
        if (scale) {
            scale /= 10;
            v += (*p - '0') * scale;
        } else {
            v = v * 10 + (*p - '0');
        }
    }
    *out = v;
    return NGX_OK;
}


char *
ngx_http_cwai_upstream_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    u_char               *eq;
    double                d;
    ngx_int_t             n;
    ngx_str_t            *value, key, val;
    ngx_uint_t            i, up;
    cwai_pipeline_cfg_t  *pc;

    up = (ngx_uint_t) cmd->post;
    value = cf->args->elts;

    if (lcf->prefix[up].len) {
        return "is duplicate";
    }
    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" must be a location "
                           "prefix such as /_cwai/%s", &value[1],
                           cwai_upstream_name((cwai_upstream_t) up));
        return NGX_CONF_ERROR;
    }
    /* "/_cwai/openai/" and "/_cwai/openai" both work: paths start with / */
    lcf->prefix[up] = value[1];
    if (lcf->prefix[up].data[lcf->prefix[up].len - 1] == '/') {
        lcf->prefix[up].len--;
    }

    pc = &lcf->pipeline;

    for (i = 2; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');
        if (eq == NULL || eq == value[i].data || eq == value[i].data + value[i].len - 1) {
            goto invalid;
        }
        key.data = value[i].data;
        key.len = eq - value[i].data;
        val.data = eq + 1;
        val.len = value[i].data + value[i].len - val.data;

#define KEY(s)  (key.len == sizeof(s) - 1 && ngx_strncmp(key.data, s, key.len) == 0)

        switch (up) {

        case CWAI_UP_LLM:
            if (KEY("model")) {
                pc->llm.model = ngx_http_cwai_cstr(cf, &val);
            } else if (KEY("max_tokens")) {
                n = ngx_atoi(val.data, val.len);
                if (n == NGX_ERROR || n == 0) {
                    goto invalid;
                }
                pc->max_tokens = (uint32_t) n;
            } else if (KEY("tokens_field")) {
                if (val.len == 10 && ngx_strncmp(val.data, "max_tokens", 10) == 0) {
                    pc->llm.use_max_tokens = 1;
                } else if (val.len == 21
                           && ngx_strncmp(val.data, "max_completion_tokens", 21) == 0)
                {
                    pc->llm.use_max_tokens = 0;
                } else {
                    goto invalid;
                }
            } else if (KEY("steps")) {
                n = ngx_atoi(val.data, val.len);
                if (n == NGX_ERROR || n < 1 || n > CWAI_CHAT_MAX_STEPS) {
                    goto invalid;
                }
                pc->max_steps = (unsigned) n;
            } else if (KEY("temperature")) {
                if (ngx_http_cwai_parse_double(&val, &d) != NGX_OK || d > 2) {
                    goto invalid;
                }
                pc->temperature = d;
            } else {
                goto invalid;
            }
            break;

        case CWAI_UP_EMBEDDINGS:
            if (KEY("model")) {
                pc->embeddings_model = ngx_http_cwai_cstr(cf, &val);
            } else if (KEY("dimensions")) {
                n = ngx_atoi(val.data, val.len);
                if (n == NGX_ERROR || n == 0) {
                    goto invalid;
                }
                pc->embeddings_dim = (uint32_t) n;
            } else {
                goto invalid;
            }
            break;

        case CWAI_UP_VECTOR:
            if (KEY("collection")) {
                pc->collection = ngx_http_cwai_cstr(cf, &val);
            } else if (KEY("threshold")) {
                if (ngx_http_cwai_parse_double(&val, &d) != NGX_OK || d > 1) {
                    goto invalid;
                }
                pc->score_threshold = d;
            } else if (KEY("limit")) {
                n = ngx_atoi(val.data, val.len);
                if (n == NGX_ERROR || n < 1 || n > 50) {
                    goto invalid;
                }
                pc->retrieve_limit = (unsigned) n;
            } else {
                goto invalid;
            }
            break;

        case CWAI_UP_ERP:
            if (KEY("protocol")) {
                if (val.len == 5 && ngx_strncmp(val.data, "json2", 5) == 0) {
                    pc->erp.transport = CWAI_ODOO_JSON2;
                } else if (val.len == 7 && ngx_strncmp(val.data, "jsonrpc", 7) == 0) {
                    pc->erp.transport = CWAI_ODOO_JSONRPC;
                } else {
                    goto invalid;
                }
            } else if (KEY("db")) {
                pc->erp.db = ngx_http_cwai_cstr(cf, &val);
            } else if (KEY("uid")) {
                n = ngx_atoi(val.data, val.len);
                if (n == NGX_ERROR) {
                    goto invalid;
                }
                pc->erp.uid = n;
            } else if (KEY("key")) {
                if (ngx_http_cwai_conf_secret(cf, &cmd->name, &val, &val)
                    != NGX_CONF_OK)
                {
                    return NGX_CONF_ERROR;
                }
                pc->erp.api_key = ngx_http_cwai_cstr(cf, &val);
            } else {
                goto invalid;
            }
            break;

        default:
            goto invalid;
        }
#undef KEY
    }

    switch (up) {
    case CWAI_UP_LLM:
        if (pc->llm.model == NULL) {
            return "needs model=NAME";
        }
        break;
    case CWAI_UP_EMBEDDINGS:
        if (pc->embeddings_model == NULL) {
            return "needs model=NAME";
        }
        break;
    case CWAI_UP_VECTOR:
        if (pc->collection == NULL) {
            return "needs collection=NAME";
        }
        break;
    case CWAI_UP_ERP:
        if (pc->erp.transport == CWAI_ODOO_JSONRPC
            && (pc->erp.db == NULL || pc->erp.uid == 0 || pc->erp.api_key == NULL))
        {
            return "with protocol=jsonrpc needs db=, uid= and key=";
        }
        break;
    }
    return NGX_CONF_OK;

invalid:
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* chatwootai_confidence [answer=0.85] [fallback=0.6]; */
char *
ngx_http_cwai_confidence_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cwai_loc_conf_t *lcf = conf;

    double      d;
    ngx_str_t  *value, v;
    ngx_uint_t  i;

    value = cf->args->elts;
    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len > 7 && ngx_strncmp(value[i].data, "answer=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;
            if (ngx_http_cwai_parse_double(&v, &d) != NGX_OK || d > 1.01) {
                goto invalid;
            }
            lcf->pipeline.answer_threshold = d;
        } else if (value[i].len > 9
                   && ngx_strncmp(value[i].data, "fallback=", 9) == 0)
        {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;
            if (ngx_http_cwai_parse_double(&v, &d) != NGX_OK || d > 1.01) {
                goto invalid;
            }
            lcf->pipeline.fallback_threshold = d;
        } else {
            goto invalid;
        }
    }
    return NGX_CONF_OK;

invalid:
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\", expected "
                       "answer=0..1 or fallback=0..1", &value[i]);
    return NGX_CONF_ERROR;
}


/* Inherits each upstream, as a group, from the enclosing level. */
void
ngx_http_cwai_upstreams_merge(ngx_http_cwai_loc_conf_t *prev,
    ngx_http_cwai_loc_conf_t *conf)
{
    cwai_pipeline_cfg_t  *c = &conf->pipeline, *p = &prev->pipeline;

    if (conf->prefix[CWAI_UP_LLM].len == 0) {
        conf->prefix[CWAI_UP_LLM] = prev->prefix[CWAI_UP_LLM];
        c->llm = p->llm;
        c->max_tokens = p->max_tokens;
        c->max_steps = p->max_steps;
        c->temperature = p->temperature;
    }
    if (conf->prefix[CWAI_UP_EMBEDDINGS].len == 0) {
        conf->prefix[CWAI_UP_EMBEDDINGS] = prev->prefix[CWAI_UP_EMBEDDINGS];
        c->embeddings_model = p->embeddings_model;
        c->embeddings_dim = p->embeddings_dim;
    }
    if (conf->prefix[CWAI_UP_VECTOR].len == 0) {
        conf->prefix[CWAI_UP_VECTOR] = prev->prefix[CWAI_UP_VECTOR];
        c->collection = p->collection;
        c->score_threshold = p->score_threshold;
        c->retrieve_limit = p->retrieve_limit;
    }
    if (conf->prefix[CWAI_UP_ERP].len == 0) {
        conf->prefix[CWAI_UP_ERP] = prev->prefix[CWAI_UP_ERP];
        c->erp = p->erp;
    }
    if (conf->prefix[CWAI_UP_CHATWOOT].len == 0) {
        conf->prefix[CWAI_UP_CHATWOOT] = prev->prefix[CWAI_UP_CHATWOOT];
    }
    if (c->answer_threshold < 0) {
        c->answer_threshold = p->answer_threshold >= 0 ? p->answer_threshold : 0.85;
    }
    if (c->fallback_threshold < 0) {
        c->fallback_threshold = p->fallback_threshold >= 0 ? p->fallback_threshold
                                                           : 0.6;
    }
}


/* Defaults and derived flags, once per location after merging. */
void
ngx_http_cwai_upstreams_finish(ngx_http_cwai_loc_conf_t *conf)
{
    cwai_pipeline_cfg_t  *c = &conf->pipeline;

    /* the embeddings default to the LLM's location when a model is named */
    if (conf->prefix[CWAI_UP_EMBEDDINGS].len == 0 && c->embeddings_model) {
        conf->prefix[CWAI_UP_EMBEDDINGS] = conf->prefix[CWAI_UP_LLM];
    }

    c->has_llm = conf->prefix[CWAI_UP_LLM].len > 0;
    c->has_embeddings = conf->prefix[CWAI_UP_EMBEDDINGS].len > 0;
    c->has_vector = conf->prefix[CWAI_UP_VECTOR].len > 0 && c->has_embeddings;
    c->has_erp = conf->prefix[CWAI_UP_ERP].len > 0;
    c->has_chatwoot = conf->prefix[CWAI_UP_CHATWOOT].len > 0;

    if (c->max_steps == 0) {
        c->max_steps = CWAI_CHAT_DEFAULT_STEPS;
    }
    if (c->retrieve_limit == 0) {
        c->retrieve_limit = 5;
    }
    c->max_retries = (unsigned) conf->retries;
    c->cache_ttl_ms = (uint32_t) conf->cache_ttl;
    c->llm.embed_cache_ttl_ms = (uint32_t) conf->cache_ttl;
    c->erp.cache_ttl_ms = (uint32_t) conf->cache_ttl;
}
