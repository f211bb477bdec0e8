#!/bin/bash
# make bench: numbers and ratios, never pass/fail.
#   1. the embedded agent: CPU per message, memory of a loaded domain
#   2. webhook ingress: requests/s and latency (parse + filter + dedupe;
#      and with the signature verified)
#   3. the pipeline: fake model at 300 ms and Chatwoot at 5 ms, ~1000
#      conversations in flight: ack latency, messages/s, CPU per message,
#      memory per in-flight conversation. The fakes are build/fake-upstreams
#      (C), or bench/fake_upstreams.py with BENCH_FAKE=python.
#   4. Redis as the L2 (bench/redis.sh): latency of an answer from the zone
#      (L1), from Redis (L2) and of a miss; webhook ingress with the dedupe
#      in Redis against the zone alone
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=$root/build/bench
mkdir -p "$B/logs" "$B/conf"
rm -f "$B/logs/error.log"
NGINX=${NGINX_BIN:-/usr/sbin/nginx}
PORT=${BENCH_PORT:-18480}
FAKE_PORT=${BENCH_FAKE_PORT:-18481}
DUR=${BENCH_SECONDS:-8}
command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }

cleanup() {
    [ -f "$B/logs/nginx.pid" ] && kill "$(cat "$B/logs/nginx.pid")" 2>/dev/null || true
    [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null || true
}
trap cleanup EXIT
# BENCH_ONLY="3 4" runs only those sections (1: agent, 2: ingress,
# 3: pipeline, 4: Redis)
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

if want 1; then
echo "== 1. embedded agent (cosmetics domain)"
if [ -x build/bench-agent ]; then
    build/bench-agent
else
    echo "   (build/bench-agent not built)"
fi

echo
echo "== 1b. the core's share of a message (no nginx): parse, agent, chat and reply requests"
if [ -x build/bench-pipeline ]; then
    build/bench-pipeline -n 2000
fi
fi

python3 -c 'import json; print(json.dumps(json.load(open("t/fixtures/chatwoot/message_created_incoming_whatsapp.json")), ensure_ascii=False, separators=(",", ":")), end="")' > "$B/body.json"
cp t/fixtures/chatwoot/message_created_incoming_whatsapp.wire.json "$B/signed.json"

start_nginx() {     # $1: extra http config
    cat > "$B/conf/nginx.conf" <<CONF
load_module $root/build/ngx_http_chatwootai_module.so;
worker_processes ${WORKERS:-1};
worker_rlimit_nofile 20000;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 8192; }
http {
    access_log off;
    chatwootai_zone cwai 256m;
    $1
}
CONF
    "$NGINX" -p "$B/" -c conf/nginx.conf
    sleep 0.3
}
stop_nginx() {
    kill "$(cat "$B/logs/nginx.pid")"; sleep 0.5
}
workers() { pgrep -P "$(cat "$B/logs/nginx.pid")" | tr '\n' ' '; }
# CPU ticks and private memory (RssAnon: the shared zone is not counted)
# summed over the workers
cpu_ticks() { local t=0 p; for p in $1; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
rss_kb() { local t=0 p; for p in $1; do t=$((t + $(awk '/RssAnon/ {print $2}' "/proc/$p/status"))); done; echo $t; }

if want 2; then
echo
echo "== 2. webhook ingress, 1 worker, wrk 2 threads x 50 connections, ${DUR}s"
start_nginx "
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /hook { chatwootai_webhook; chatwootai_webhook_auth off; chatwootai_dedupe_ttl 10m; }
        location = /hook-signed { chatwootai_webhook; chatwootai_webhook_secret Rk8vX2mP9qT4wZ7nC3bH6jYs; chatwootai_webhook_max_skew 0; }
    }"
CWAI_BODY=$B/body.json wrk -t2 -c50 -d"${DUR}s" --latency -s bench/unique.lua "http://127.0.0.1:$PORT" \
    | grep -E 'Requests/sec|50%|99%|Non-2xx' | sed 's/^/   new messages (parse+filter+dedupe): /'
CWAI_BODY=$B/signed.json wrk -t2 -c50 -d"${DUR}s" --latency -s bench/signed.lua "http://127.0.0.1:$PORT" \
    | grep -E 'Requests/sec|50%|99%|Non-2xx' | sed 's/^/   signed (HMAC + parse + dedupe hit): /'
stop_nginx
fi

if want 3; then
echo
echo "== 3. pipeline: fake model 300 ms, Chatwoot 5 ms; every message goes to the model; 2 workers"
WORKERS=2
# the C fake (one epoll loop) unless BENCH_FAKE=python: the Python one
# takes about a core of this 2-core box at 2,000 messages/s
if [ "${BENCH_FAKE:-c}" != python ] && [ -x build/fake-upstreams ]; then
    echo "   fakes: build/fake-upstreams (C)"
    build/fake-upstreams "$FAKE_PORT" 300 5 t/fixtures &
else
    echo "   fakes: bench/fake_upstreams.py"
    python3 bench/fake_upstreams.py "$FAKE_PORT" 300 5 t/fixtures &
fi
FAKE_PID=$!
sleep 0.5
PIPELINE_CONF="
    chatwootai_domain cosmetics $root/domains/cosmetics.yaml;
    upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 1024; }
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_llm /_cwai/llm model=gpt-4.1-mini;
            chatwootai_chatwoot /_cwai/chatwoot;
            chatwootai_confidence answer=1.01;
            chatwootai_cache_ttl 0;     # every message to the model
            chatwootai_debounce off;    # answered at once, not 2 s later
        }
        location /_cwai/ {
            internal;
            rewrite ^/_cwai/[a-z]+(/.*)\$ \$1 break;
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
        }
        location = /status { chatwootai_status; }
    }"
start_nginx "$PIPELINE_CONF"
W=$(workers)

# open loop first: requests start at fixed rates on new connections (as
# Chatwoot sends them); the ack latency of each, how many answers are in
# flight (rate x ~305 ms) and the workers' private memory then, each rate on
# a fresh nginx so that memory and counters start from zero
open_loop() {   # LABEL CONF RATE: 5 s at RATE on a fresh nginx
    local r0 r1 inflight LP
    stop_nginx; start_nginx "$2"; W=$(workers); r0=$(rss_kb "$W")
    build/webhook-load 127.0.0.1 "$PORT" /hook "$B/body.json" "$3" 5 > "$B/load.txt" &
    LP=$!
    sleep 3
    r1=$(rss_kb "$W")
    inflight=$(curl -s -m 2 "http://127.0.0.1:$PORT/status?format=json" | python3 -c '
import json,sys
try:
    z=json.load(sys.stdin)["zones"]["cwai"]; print(z["outcomes"]["accepted"] - sum(z["messages"].values()))
except Exception: print(0)')
    wait $LP
    echo "   $1: $(cat "$B/load.txt")"
    python3 -c "import sys; r0,r1,n=map(int,sys.argv[1:]); print('      in flight at 3 s: %d; workers private memory %d kB -> %d kB = %.1f kB per in-flight conversation' % (n, r0, r1, (r1-r0)/max(n,1)))" "$r0" "$r1" "$inflight"
}
if [ -x build/webhook-load ]; then
    build/webhook-load 127.0.0.1 "$PORT" /hook "$B/body.json" 200 1 > /dev/null  # warm-up
    for RATE in ${BENCH_RATES:-500 1000 2000 3300}; do
        open_loop "open loop" "$PIPELINE_CONF" "$RATE"
    done
    # the product's default: each message waits chatwootai_debounce's 2 s
    # of quiet before its answer, so 1,000 conversations are in flight at
    # ~450 messages/s (2.3 s each) rather than at 3,300/s
    open_loop "open loop, default chatwootai_debounce (2 s)" \
              "${PIPELINE_CONF/chatwootai_debounce off;/}" "${BENCH_DEFAULT_RATE:-450}"
    stop_nginx; start_nginx "$PIPELINE_CONF"; W=$(workers)
fi

rss0=$(rss_kb "$W"); cpu0=$(cpu_ticks "$W")
curl -s "http://127.0.0.1:$PORT/status?format=json" > "$B/status3-before.json"
CONNS=${BENCH_CONNECTIONS:-1000}
echo "   closed loop (wrk, $CONNS connections):"
CWAI_BODY=$B/body.json wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/unique.lua "http://127.0.0.1:$PORT" > "$B/wrk3.txt" &
WRK=$!
sleep $((DUR / 2))
peak_rss=$(rss_kb "$W")
inflight=$(curl -s "http://127.0.0.1:$PORT/status?format=json" | python3 -c '
import json,sys; z=json.load(sys.stdin)["zones"]["cwai"]
print(z["outcomes"]["accepted"] - sum(z["messages"].values()))')
wait $WRK
sleep 1.5    # the last chains end
cpu1=$(cpu_ticks "$W"); rss1=$(rss_kb "$W")
curl -s "http://127.0.0.1:$PORT/status?format=json" > "$B/status3.json"
python3 - "$B/status3.json" "$B/wrk3.txt" "$rss0" "$peak_rss" "$rss1" "$inflight" "$cpu0" "$cpu1" "$DUR" "$B/status3-before.json" <<'PY'
import json, sys, re, os
st = json.load(open(sys.argv[1]))["zones"]["cwai"]
b4 = json.load(open(sys.argv[10]))["zones"]["cwai"]
# this run only: counters minus the open-loop runs before it
st["outcomes"]["accepted"] -= b4["outcomes"]["accepted"]
for k in st["messages"]: st["messages"][k] -= b4["messages"][k]
for u in st["upstreams"]:
    for k in ("requests", "errors"): st["upstreams"][u][k] -= b4["upstreams"][u][k]
wrk = open(sys.argv[2]).read()
rss0, peak, rss1, inflight, cpu0, cpu1, dur = map(int, sys.argv[3:10])
inflight -= b4["outcomes"]["accepted"] - sum(b4["messages"].values())
hz = os.sysconf("SC_CLK_TCK")
acc = st["outcomes"]["accepted"]; msgs = st["messages"]
done = sum(msgs.values())
def lat(p):
    m = re.search(r"%s%%\s+([\d.]+)(us|ms|s)" % p, wrk)
    if not m: return "?"
    v, u = float(m.group(1)), m.group(2)
    return "%.2f ms" % (v / 1000 if u == "us" else v * 1000 if u == "s" else v)
print("   webhooks acknowledged: %d in %ds = %.0f/s; ack latency p50 %s, p99 %s" % (acc, dur, acc / dur, lat(50), lat(99)))
print("   messages ended: %d (replied %d, handoff %d, failed %d) = %.0f/s" % (done, msgs["replied"], msgs["handoff"], msgs["failed"], done / dur))
print("   conversations in flight at mid-run: %d" % inflight)
cpu_ms = (cpu1 - cpu0) * 1000 / hz
print("   workers' CPU: %.0f ms for %d messages = %.0f us per message (ack + embedded agent + 2 subrequests)" % (cpu_ms, done, cpu_ms * 1000 / max(done, 1)))
print("   workers' private memory (RssAnon): %d kB idle, %d kB with %d in flight (%.1f kB per in-flight conversation), %d kB after" % (rss0, peak, inflight, (peak - rss0) / max(inflight, 1), rss1))
print("   llm calls %d, chatwoot calls %d, upstream errors %d" % (st["upstreams"]["llm"]["requests"], st["upstreams"]["chatwoot"]["requests"], sum(u["errors"] for u in st["upstreams"].values())))
PY

stop_nginx
kill "$FAKE_PID" 2>/dev/null || true; FAKE_PID=
fi
if want 4; then
echo
echo "== 4. Redis as the L2 (a redis-server of its own on a free port)"
bench/redis.sh
fi
