#!/usr/bin/env bash
# HTTP mint throughput: POST /v1/client_credentials on loopback with keep-alive, against a node
# on durable SQLite (WAL, synchronous=FULL: every 201 is fsync'd, shared by group commit), wrk as
# the load generator on the same 2 cores. The same run measures GET /healthz on the same node
# (an authenticated-free route with one store read) as the machine's HTTP ceiling, so the ratio
# mint/healthz can be compared across noisy runs.
#
#   bench/mint_http.sh BUILD_DIR [DURATION_S] [CONNECTIONS] [ROUNDS]
set -euo pipefail
build=${1:-build/dev}
duration=${2:-10}
conns=${3:-32}
rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d /tmp/ithaca-bench-XXXXXX)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT

cat >"$data/bench.toml" <<TOML
[server]
io_threads = 2
log_level = "warn"
[sessions]
mint_rate_per_second = 0.0
TOML
key=$("$build/apps/ithaca/ithaca" keys create --account bench --max-concurrent 100000000 --data "$data")
"$build/tests/ithaca_test_server" --data "$data" --config "$data/bench.toml" \
  --port-file "$data/port" --streamer bench:100000000 2>"$data/server.log" &
server=$!
for _ in $(seq 200); do [ -s "$data/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$data/port")"

report() {  # wrk output -> "N req/s, p50 X, p99 Y"
  awk '/Requests\/sec/{rps=$2} / 50%/{p50=$2} / 99%/{p99=$2} /Non-2xx/{bad=$NF}
       END{printf "%8.0f req/s  p50 %-8s p99 %-8s non-2xx %s\n", rps, p50, p99, bad+0}'
}

echo "mint_http: ${rounds} rounds of ${duration}s, ${conns} connections, wrk -t1 beside the server"
for r in $(seq "$rounds"); do
  printf "round %d  mint     " "$r"
  KEY="$key" wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$here/mint.lua" \
    "$url/v1/client_credentials" | report
  printf "round %d  healthz  " "$r"
  wrk -t1 -c"$conns" -d"${duration}s" --latency "$url/healthz" | report
done
kill "$server"
wait "$server" 2>/dev/null || true
server=""
