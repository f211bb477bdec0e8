#!/bin/sh
# Renders nginx-conf/local.conf for the container (the same placeholders
# `make run` fills) unless a configuration was mounted, checks it, runs nginx.
set -e
conf=/etc/nginx/chatwootai/nginx.conf
if [ ! -f "$conf" ]; then
    mkdir -p /var/lib/chatwootai/logs
    [ -s /var/lib/chatwootai/webhook.secret ] || \
        head -c 18 /dev/urandom | base64 | tr -d '+/=' > /var/lib/chatwootai/webhook.secret
    sed -e "s#@MODULE@#/usr/lib/nginx/modules/ngx_http_chatwootai_module.so#" \
        -e "s#@PREFIX@#/var/lib/chatwootai#g" -e "s#@ROOT@#/etc/nginx/chatwootai#g" \
        -e "s#listen 127.0.0.1:8080#listen 8080#" \
        /etc/nginx/chatwootai/nginx-conf/local.conf > "$conf"
fi
nginx -p /var/lib/chatwootai/ -c "$conf" -t
exec nginx -p /var/lib/chatwootai/ -c "$conf" -g 'daemon off;'
