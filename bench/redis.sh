#!/bin/bash
# make bench, part 4: Redis as the L2 (chatwootai_redis). Numbers and
# ratios, never pass/fail. Run by bench/run.sh; alone: bench/redis.sh.
#
# A real redis-server is started here on a free loopback port (no
# persistence, as t/lib/Cwai/Redis.pm starts the tests' one) and stopped at
# the end; the nginx instances are private to this script (their own
# prefixes under build/bench/redis/, ports BENCH_PORT+10 and up).
#
#   4a. a cached answer: how long a customer waits when the answer comes
#       from the zone (L1), from Redis (L2), and when it is a miss that goes
#       to a fake model answering in exactly BENCH_MODEL_MS.
#
#       What is cached, and where it is looked up: a single-turn question
#       that needs nobody's data and that the embedded agent is not sure
#       enough of (here every one: chatwootai_confidence answer=1.01) is
#       first looked up as a final answer ("cwai:answer:<hash of tenant,
#       model, normalised words>"): the CWAI_STEP_LOOKUP of the pipeline
#       (ngx_http_chatwootai_pipeline.c), which reads the zone, and on a
#       zone miss asks Redis (ngx_http_cwai_l2_get, GET, which fills the
#       zone on a hit); a miss in both goes on to the model, and the model's
#       answer is written to the zone and to Redis when the message ends.
#       A hit posts the cached reply to Chatwoot: no model call.
#
#       build/cache-latency (bench/cache_latency.c) is the load generator
#       and the fakes in one process, so it times each message with one
#       clock, in microseconds: from connect() of the webhook to the arrival
#       of that conversation's reply POST at the fake Chatwoot (the ack, the
#       memory read, the lookups, the model if any, the reply subrequest).
#       Each message is a new conversation (single-turn), one at a time.
#       Three nginx run side by side: A and B share the Redis (two
#       instances of one gateway, each its own zone), C has no
#       chatwootai_redis (the zone alone). Every phase asks the same N
#       questions; the phases of a group take turns question by question,
#       in a random order (those of one instance in the order given), so
#       that whatever else the machine does slows them alike:
#         miss   A: zone miss, Redis miss, the model     | miss0  C: zone
#                                                         |  miss, the model
#         L1     A again: its zone has them
#         L2     B: its zone never saw them, Redis has them (fills B's zone)
#         L1b    B again, after it: the zone filled by that L2 hit
#         L10    C again: its zone has them; against L1, the cost of Redis
#                on every message (the dedupe SET NX and the conversation
#                memory LRANGE awaited before the pipeline)
#       Model calls per phase and the instances' counters (zone hits and
#       misses, Redis cache hits) are printed, so that each phase is seen to
#       have taken the path it is named after.
#
#   4b. webhook ingress (wrk, unique messages, 1 worker, as in part 2) with
#       the dedupe also in Redis (SET NX PX of the message id, the answer
#       awaited before the acknowledgement: that is what makes two
#       instances agree) against the zone alone: two nginx up side by side,
#       wrk on the zone-alone one, the Redis one, the Redis one, the
#       zone-alone one (each figure the mean of its two runs); requests/s,
#       p50, p99 and the ratios. Then two instances sharing the Redis, each
#       loaded by its own wrk at the same time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=$root/build/bench/redis
mkdir -p "$B"
NGINX=${NGINX_BIN:-/usr/sbin/nginx}
PORT=${BENCH_PORT:-18480}
A_PORT=$((PORT + 10)); B_PORT=$((PORT + 11)); C_PORT=$((PORT + 12))
FAKE_PORT=$((PORT + 13))
DUR=${BENCH_SECONDS:-8}
N=${BENCH_CACHE_SAMPLES:-300}
MODEL_MS=${BENCH_MODEL_MS:-50}
REDIS=$(command -v redis-server || true)
if [ -z "$REDIS" ]; then echo "   (redis-server is missing: make deps)"; exit 0; fi
if [ ! -x build/cache-latency ]; then echo "   (build/cache-latency not built)"; exit 0; fi

REDIS_PORT=${BENCH_REDIS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

INSTANCES=""
cleanup() {
    local i
    for i in $INSTANCES; do
        [ -f "$B/$i/logs/nginx.pid" ] && kill "$(cat "$B/$i/logs/nginx.pid")" 2>/dev/null || true
    done
    [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
}
trap cleanup EXIT

"$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$B" > "$B/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done

# instance NAME PORT REDIS(0|1) SERVER_CONTENT: a private nginx, 1 worker
instance() {
    local d=$B/$1
    mkdir -p "$d/logs" "$d/conf"
    rm -f "$d/logs/error.log" "$d/logs/access.log"
    cat > "$d/conf/nginx.conf" <<CONF
load_module $root/build/ngx_http_chatwootai_module.so;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 8192; }
http {
    access_log off;
    log_format cache '\$chatwootai_cache \$chatwootai_outcome \$request_time';
    chatwootai_zone cwai 64m;
    $([ "$3" = 1 ] && echo "chatwootai_redis 127.0.0.1:$REDIS_PORT;")
    chatwootai_domain cosmetics $root/domains/cosmetics.yaml;
    upstream fake { server 127.0.0.1:$FAKE_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location = /status { chatwootai_status; }
        $4
    }
}
CONF
    "$NGINX" -p "$d/" -c conf/nginx.conf
    INSTANCES="$INSTANCES $1"
}
stop() {
    kill "$(cat "$B/$1/logs/nginx.pid")"
    INSTANCES=$(echo "$INSTANCES" | sed "s/ $1\b//")
    sleep 0.3
}
# the instance's counters: zone hits/misses, Redis cache hits/misses
counters() {
    curl -s "http://127.0.0.1:$1/status" | awk '
        /^chatwootai_cache_total.*result="hit"/ {h=$2}
        /^chatwootai_cache_total.*result="miss"/ {m=$2}
        /^chatwootai_l2_total.*kind="cache".*result="hit"/ {l2h=$2}
        /^chatwootai_l2_total.*kind="cache".*result="miss"/ {l2m=$2}
        /^chatwootai_upstream_requests_total.*upstream="llm"/ {llm=$2}
        END {printf "zone hit %d miss %d; redis hit %d miss %d; model calls %d", h, m, l2h, l2m, llm}'
}
wait_up() {   # the worker's Redis connection
    for _ in $(seq 50); do
        curl -s "http://127.0.0.1:$1/status" | grep -q '^chatwootai_redis_up 1' && return 0
        sleep 0.1
    done
    echo "   (instance on $1: redis not up)"
}

PIPELINE="
        location = /hook {
            chatwootai_webhook;
            chatwootai_webhook_auth off;
            chatwootai_llm /_cwai/llm model=gpt-4.1-mini;
            chatwootai_chatwoot /_cwai/chatwoot;
            chatwootai_confidence answer=1.01;  # every question to the model (or the cache)
            chatwootai_debounce off;            # answered at once, not 2 s later
            access_log logs/access.log cache;
        }
        location /_cwai/ {
            internal;
            rewrite ^/_cwai/[a-z]+(/.*)\$ \$1 break;
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
        }"

python3 -c 'import json; print(json.dumps(json.load(open("t/fixtures/chatwoot/message_created_incoming_whatsapp.json")), ensure_ascii=False, separators=(",", ":")), end="")' > "$B/body.json"

echo "== 4a. a cached answer: webhook to reply posted, one message at a time, $N questions per phase; fake model ${MODEL_MS} ms, fake Chatwoot 0 ms"
instance a "$A_PORT" 1 "$PIPELINE"
instance b "$B_PORT" 1 "$PIPELINE"
instance c "$C_PORT" 0 "$PIPELINE"
sleep 0.3
wait_up "$A_PORT"; wait_up "$B_PORT"
build/cache-latency "$FAKE_PORT" "$MODEL_MS" "$B/body.json" "$N" "r$$x" \
    "miss:$A_PORT,miss0:$C_PORT" "L1:$A_PORT,L2:$B_PORT,L1b:$B_PORT,L10:$C_PORT" > "$B/cache.txt"
echo "   instance A: $(counters "$A_PORT")"
echo "   instance B: $(counters "$B_PORT")"
echo "   instance C (no Redis): $(counters "$C_PORT")"
stop a; stop b; stop c
python3 - "$B/cache.txt" "$MODEL_MS" <<'PY'
import re, sys
def load(path):
    out = {}
    for line in open(path):
        name, rest = line.split(": ", 1)
        m = dict((k, float(v)) for k, v in re.findall(r"(min|p50|p90|p99|max|mean) ([\d.]+)", rest))
        m["calls"] = int(re.search(r"model calls (\d+)", rest).group(1)) if "model calls" in rest else -1
        m["line"] = rest.strip()
        out[name] = m
    return out
r, model = load(sys.argv[1]), float(sys.argv[2])
z = {"miss": r["miss0"], "L1": r["L10"]}
def show(label, m):
    print("   %-44s p50 %7.3f ms  p90 %7.3f  p99 %7.3f  (model calls %d)" % (label, m["p50"], m["p90"], m["p99"], m["calls"]))
print("   with chatwootai_redis (instances A and B share one Redis):")
show("miss (zone, Redis, model %g ms) on A" % model, r["miss"])
show("L2 hit (Redis) on B", r["L2"])
show("L1 hit (zone) on A", r["L1"])
show("L1 hit (zone) on B, filled by its L2 hit", r["L1b"])
print("   the zone alone (instance C, no chatwootai_redis):")
show("miss (zone, model %g ms)" % model, z["miss"])
show("L1 hit (zone)", z["L1"])
p = lambda a, b: a["p50"] - b["p50"]
print("   medians: L2 hit - L1 hit = %.3f ms (the Redis GET); miss - model = %.3f ms with Redis, %.3f ms without;"
      % (p(r["L2"], r["L1"]), r["miss"]["p50"] - model, z["miss"]["p50"] - model))
print("            L1 hit with Redis - without = %.3f ms (dedupe SET NX + memory LRANGE per message); miss / L1 hit = %.0fx"
      % (p(r["L1"], z["L1"]), r["miss"]["p50"] / r["L1"]["p50"]))
PY

echo
echo "== 4b. webhook ingress with the dedupe in Redis (SET NX) against the zone alone; 1 worker, wrk 2 threads x 50 connections, 2 x ${DUR}s each"
# the accept path as in production (dedupe, the durable queue's record, the
# embedded answer with no upstream), each message answered at once
INGRESS="
        location = /hook { chatwootai_webhook; chatwootai_webhook_auth off; chatwootai_dedupe_ttl 10m;
                           chatwootai_debounce off; }"
run_wrk() {   # PORT OUT
    CWAI_BODY=$B/body.json wrk -t2 -c50 -d"${DUR}s" --latency -s bench/unique.lua "http://127.0.0.1:$1" > "$2"
}
redis-cli -p "$REDIS_PORT" flushall > /dev/null
instance c "$C_PORT" 0 "$INGRESS"; instance a "$A_PORT" 1 "$INGRESS"; sleep 0.3; wait_up "$A_PORT"
# in the order zone, Redis, Redis, zone (each result the mean of its two
# runs), so that a load that changes steadily meanwhile weighs on both alike
run_wrk "$C_PORT" "$B/wrk-l1-1.txt"
run_wrk "$A_PORT" "$B/wrk-redis-1.txt"
run_wrk "$A_PORT" "$B/wrk-redis-2.txt"
run_wrk "$C_PORT" "$B/wrk-l1-2.txt"
l2=$(curl -s "http://127.0.0.1:$A_PORT/status" | sed -n 's/^chatwootai_l2_total{.*kind="dedupe",result="\([a-z]*\)"} \([0-9]*\)$/\1 \2/p' | tr '\n' ' ')
stop a; stop c
# two instances sharing the Redis, loaded together (the two wrk and
# redis-server share the same two cores with both nginx)
redis-cli -p "$REDIS_PORT" flushall > /dev/null
instance a "$A_PORT" 1 "$INGRESS"; instance b "$B_PORT" 1 "$INGRESS"; sleep 0.3
wait_up "$A_PORT"; wait_up "$B_PORT"
run_wrk "$A_PORT" "$B/wrk-a.txt" & W1=$!
run_wrk "$B_PORT" "$B/wrk-b.txt" & W2=$!
wait $W1 $W2
stop a; stop b
python3 - "$B" "$l2" <<'PY'
import re, sys
d = sys.argv[1]
def wrk(name):
    s = open("%s/%s" % (d, name)).read()
    def lat(p):
        m = re.search(r"%s%%\s+([\d.]+)(us|ms|s)\b" % p, s)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", s).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", s)
    return rps, lat(50), lat(99), int(non2xx.group(1)) if non2xx else 0
mean = lambda x, y: tuple((p + q) / 2 for p, q in zip(x, y))
z = mean(wrk("wrk-l1-1.txt"), wrk("wrk-l1-2.txt"))
r = mean(wrk("wrk-redis-1.txt"), wrk("wrk-redis-2.txt"))
a, b = wrk("wrk-a.txt"), wrk("wrk-b.txt")
for label, w in (("the zone alone", z), ("zone + Redis SET NX", r)):
    print("   %-22s %8.0f req/s, p50 %6.2f ms, p99 %6.2f ms%s" % (label, w[0], w[1], w[2], ", %d non-2xx" % (2 * w[3]) if w[3] else ""))
l2 = dict(zip(sys.argv[2].split()[::2], sys.argv[2].split()[1::2]))
print("   Redis / zone alone: throughput x%.2f, p99 x%.2f (SET NX answers: %s new, %s duplicate, %s errors)"
      % (r[0] / z[0], r[2] / z[2], l2.get("miss", "?"), l2.get("hit", "?"), l2.get("error", "?")))
print("   two instances sharing the Redis, each its own wrk: %.0f + %.0f = %.0f req/s, p99 %.2f / %.2f ms"
      % (a[0], b[0], a[0] + b[0], a[2], b[2]))
PY
