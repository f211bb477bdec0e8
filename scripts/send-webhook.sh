#!/bin/bash
# Sends a Chatwoot webhook, signed the way Chatwoot 4.12+ signs it, to the
# gateway started by `make run` (or URL=...; SECRET=... to override).
#   scripts/send-webhook.sh t/fixtures/chatwoot/message_created_incoming_whatsapp.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
file=${1:?usage: $0 PAYLOAD.json}
url=${URL:-http://127.0.0.1:8080/chatwoot/webhook}
secret=${SECRET:-$(cat "$root/build/run/webhook.secret")}

# Chatwoot sends compact JSON: compact the (pretty-printed) fixture first
body=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), ensure_ascii=False, separators=(",", ":")), end="")' "$file")
ts=$(date +%s)
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/^.*= //')
delivery=$(cat /proc/sys/kernel/random/uuid)

printf '%s' "$body" | curl -sS -X POST "$url" \
    -H 'Content-Type: application/json' \
    -H "X-Chatwoot-Timestamp: $ts" \
    -H "X-Chatwoot-Signature: sha256=$sig" \
    -H "X-Chatwoot-Delivery: $delivery" \
    --data-binary @-
