#ifndef NGX_HTTP_CHATWOOTAI_MODULE_H
#define NGX_HTTP_CHATWOOTAI_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

extern ngx_module_t  ngx_http_chatwootai_module;

#endif
