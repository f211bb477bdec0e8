/*
 * Business domains: "chatwootai_domain NAME PATH...;" loads and validates
 * YAML layers at configuration time (nginx -t reports file:line:column)
 * and builds the embedded agent; "chatwootai_tenant VALUE;" picks one per
 * request, e.g. from a map on $chatwootai_account_id.
 */

#include "ngx_http_chatwootai_module.h"


static void
ngx_http_cwai_domain_cleanup(void *data)
{
    ngx_http_cwai_domain_t  *dom = data;

    if (dom->bot) {
        cwai_agent_free(dom->bot);
    }
    if (dom->domain) {
        cwai_domain_free(dom->domain);
    }
}


/* chatwootai_domain NAME PATH [PATH ...]; later paths override earlier */
char *
ngx_http_cwai_domain_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cwai_main_conf_t *cmcf = conf;

    const char               **paths;
    ngx_str_t                 *value, path;
    ngx_uint_t                 i;
    cwai_err_t                 err;
    ngx_pool_cleanup_t        *cln;
    ngx_http_cwai_domain_t    *dom;

    value = cf->args->elts;

    if (ngx_http_cwai_domain_find(cmcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "chatwootai_domain \"%V\" is already defined",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    paths = ngx_palloc(cf->pool, (cf->args->nelts - 2) * sizeof(char *));
    if (paths == NULL) {
        return NGX_CONF_ERROR;
    }
    for (i = 2; i < cf->args->nelts; i++) {
        path = value[i];
        /* relative to the configuration directory, like ssl_certificate */
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
        paths[i - 2] = (const char *) path.data;     /* NUL-terminated */
    }

    dom = ngx_array_push(&cmcf->domains);
    if (dom == NULL) {
        return NGX_CONF_ERROR;
    }
    ngx_memzero(dom, sizeof(ngx_http_cwai_domain_t));
    dom->name = value[1];

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_cwai_domain_cleanup;
    cln->data = dom;

    ngx_memzero(&err, sizeof(err));
    dom->domain = cwai_domain_load(paths, cf->args->nelts - 2, &err);
    if (dom->domain == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "chatwootai_domain \"%V\": %s",
                           &value[1], err.detail);
        return NGX_CONF_ERROR;
    }

    dom->bot = cwai_agent_new(dom->domain, &err);
    if (dom->bot == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "chatwootai_domain \"%V\": cannot build the "
                           "embedded agent: %s", &value[1], err.detail);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_http_cwai_domain_t *
ngx_http_cwai_domain_find(ngx_http_cwai_main_conf_t *cmcf, ngx_str_t *name)
{
    ngx_uint_t               i;
    ngx_http_cwai_domain_t  *dom;

    dom = cmcf->domains.elts;
    for (i = 0; i < cmcf->domains.nelts; i++) {
        if (dom[i].name.len == name->len
            && ngx_strncmp(dom[i].name.data, name->data, name->len) == 0)
        {
            return &dom[i];
        }
    }
    return NULL;
}


/*
 * The request's domain: `name` when given (the playground's "domain"),
 * else chatwootai_tenant, else the first domain declared. NGX_DECLINED
 * when a name is given but unknown (never another tenant's data).
 */
ngx_int_t
ngx_http_cwai_domain_for_request(ngx_http_request_t *r, ngx_str_t *name,
    ngx_http_cwai_domain_t **out)
{
    ngx_str_t                   value;
    ngx_http_cwai_loc_conf_t   *lcf;
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_chatwootai_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_chatwootai_module);

    *out = NULL;
    if (cmcf->domains.nelts == 0) {
        return NGX_DECLINED;
    }

    value.len = 0;
    if (name != NULL && name->len) {
        value = *name;
    } else if (lcf->tenant != NULL) {
        if (ngx_http_complex_value(r, lcf->tenant, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (value.len == 0) {
        *out = cmcf->domains.elts;
        return NGX_OK;
    }

    *out = ngx_http_cwai_domain_find(cmcf, &value);
    return *out ? NGX_OK : NGX_DECLINED;
}


ngx_uint_t
ngx_http_cwai_has_domains(ngx_http_request_t *r)
{
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_chatwootai_module);
    return cmcf->domains.nelts > 0;
}
