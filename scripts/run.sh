#!/bin/bash
# make run: the gateway on 127.0.0.1:8080 with the embedded default.
#   scripts/run.sh        start (foreground; Ctrl-C stops it)
#   scripts/run.sh stop   stop one started in the background
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$root/build/run
nginx=${NGINX_BIN:-/usr/sbin/nginx}

if [ "${1:-}" = stop ]; then
    [ -f "$prefix/logs/nginx.pid" ] && kill "$(cat "$prefix/logs/nginx.pid")" && echo "stopped"
    exit 0
fi

mkdir -p "$prefix/logs" "$prefix/conf"
# a local secret for the agent bot's webhooks, made once
if [ ! -s "$prefix/webhook.secret" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '+/=' > "$prefix/webhook.secret"
fi
sed -e "s#@MODULE@#$root/build/ngx_http_chatwootai_module.so#" \
    -e "s#@PREFIX@#$prefix#g" -e "s#@ROOT@#$root#g" \
    "$root/nginx-conf/local.conf" > "$prefix/conf/nginx.conf"

"$nginx" -p "$prefix/" -c conf/nginx.conf -t -q

cat <<MSG
ngx_chatwootai is running on http://127.0.0.1:8080 (Ctrl-C stops it)

  webhook   POST http://127.0.0.1:8080/chatwoot/webhook
            secret: $prefix/webhook.secret
            try:    scripts/send-webhook.sh t/fixtures/chatwoot/message_created_incoming_whatsapp.json
            answers: tail -f $prefix/logs/chatwoot.log   (what would be posted to Chatwoot)
  playground http://127.0.0.1:8080/playground/   (chat with a domain in the browser)
  status    curl http://127.0.0.1:8080/status
            curl 'http://127.0.0.1:8080/status?format=json'
  logs      $prefix/logs/
MSG
exec "$nginx" -p "$prefix/" -c conf/nginx.conf -g 'daemon off;'
