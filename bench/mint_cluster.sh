#!/usr/bin/env bash
# Mint throughput of two nodes on one Redis, beside one node on SQLite, in the same run.
#
# Each round measures, one after the other on the same 2 cores:
#   sqlite   one node on durable SQLite (WAL, synchronous=FULL, group commit), wrk -t1;
#   redis2   two nodes on one redis-server (AOF, appendfsync as $AOF, default everysec), one
#            wrk -t1 per node at the same time, the req/s summed.
# Every server is ithaca_test_server (the real node plus a stand-in streamer entry of huge
# capacity: this measures the control plane, not media), mint rate limit off, account limit
# 10^8. After each redis2 round it prints where the CPU went (seconds of CPU per process over
# the round) and Redis' own time per script call (INFO commandstats).
#
#   bench/mint_cluster.sh BUILD_DIR [DURATION_S] [CONNECTIONS] [ROUNDS]
set -euo pipefail
build=${1:-build/dev}
duration=${2:-10}
conns=${3:-32}
rounds=${4:-3}
aof=${AOF:-everysec}
here=$(cd "$(dirname "$0")" && pwd)
ithaca="$build/apps/ithaca/ithaca"
test_server="$build/tests/ithaca_test_server"
data=$(mktemp -d /tmp/ithaca-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port_file() {
  for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "server did not start ($1)" >&2
  exit 1
}
cpu_s() {  # utime + stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}
rps() { awk '/Requests\/sec/{print $2}'; }

# ---- Redis and two nodes ----
redis_port=$(free_port)
mkdir -p "$data/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes \
  --appendfsync "$aof" --dir "$data/redis" --daemonize no --logfile "$data/redis/log" &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done

cat >"$data/sqlite.toml" <<TOML
[server]
io_threads = 2
log_level = "warn"
[sessions]
mint_rate_per_second = 0.0
TOML
cat >"$data/redis.toml" <<TOML
[server]
io_threads = 2
log_level = "warn"
store = "redis://127.0.0.1:$redis_port/0"
[tokens]
signing_key = "bench:$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
[sessions]
mint_rate_per_second = 0.0
TOML

sqlite_key=$("$ithaca" keys create --account bench --max-concurrent 100000000 --data "$data/s")
redis_key=$("$ithaca" keys create --account bench --max-concurrent 100000000 \
  --config "$data/redis.toml" --data "$data/r")

node_pids=()
ports=()
for n in a b; do
  "$test_server" --data "$data/node_$n" --config "$data/redis.toml" --port-file "$data/$n.port" \
    --streamer "bench_$n:100000000" 2>"$data/node_$n.log" &
  node_pids+=($!)
  pids+=($!)
done
for n in a b; do wait_port_file "$data/$n.port"; ports+=("$(cat "$data/$n.port")"); done

echo "mint_cluster: ${rounds} rounds of ${duration}s, ${conns} connections in all, AOF appendfsync=$aof"
half=$((conns / 2))
for r in $(seq "$rounds"); do
  # One node on SQLite, alone on the machine for its round.
  rm -rf "$data/s_node"; mkdir -p "$data/s_node"; cp -r "$data/s/." "$data/s_node/"
  "$test_server" --data "$data/s_node" --config "$data/sqlite.toml" --port-file "$data/s.port" \
    --streamer bench:100000000 2>"$data/sqlite.log" &
  s_pid=$!
  wait_port_file "$data/s.port"
  s_rps=$(KEY="$sqlite_key" wrk -t1 -c"$conns" -d"${duration}s" -s "$here/mint.lua" \
    "http://127.0.0.1:$(cat "$data/s.port")/v1/client_credentials" | rps)
  kill "$s_pid"; wait "$s_pid" 2>/dev/null || true; rm -f "$data/s.port"

  # Two nodes on Redis, loaded at once.
  redis-cli -p "$redis_port" config resetstat >/dev/null
  before=()
  for p in "$redis_pid" "${node_pids[@]}"; do before+=("$(cpu_s "$p")"); done
  KEY="$redis_key" wrk -t1 -c"$half" -d"${duration}s" -s "$here/mint.lua" \
    "http://127.0.0.1:${ports[0]}/v1/client_credentials" >"$data/wrk_a" &
  wa=$!
  KEY="$redis_key" wrk -t1 -c"$half" -d"${duration}s" -s "$here/mint.lua" \
    "http://127.0.0.1:${ports[1]}/v1/client_credentials" >"$data/wrk_b" &
  wb=$!
  wait "$wa" "$wb"
  after=()
  for p in "$redis_pid" "${node_pids[@]}"; do after+=("$(cpu_s "$p")"); done
  a_rps=$(rps <"$data/wrk_a"); b_rps=$(rps <"$data/wrk_b")
  r_rps=$(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN{printf "%.0f", a + b}')
  printf "round %d  sqlite 1 node %8.0f mints/s   redis 2 nodes %8.0f mints/s (%s + %s)   ratio %.2f\n" \
    "$r" "$s_rps" "$r_rps" "$a_rps" "$b_rps" "$(awk -v x="$r_rps" -v y="$s_rps" 'BEGIN{print x / y}')"
  printf "         cpu s over the round: redis-server %.1f  node a %.1f  node b %.1f  (wrk: the rest of %d core-s)\n" \
    "$(awk -v a="${after[0]}" -v b="${before[0]}" 'BEGIN{print a - b}')" \
    "$(awk -v a="${after[1]}" -v b="${before[1]}" 'BEGIN{print a - b}')" \
    "$(awk -v a="${after[2]}" -v b="${before[2]}" 'BEGIN{print a - b}')" "$((2 * duration))"
  redis-cli -p "$redis_port" info commandstats | tr -d '\r' |
    awk -F'[:,=]' '/cmdstat_(evalsha|eval|hmget|set|sunion|smembers|exists|pexpire|hget)/{
      printf "         redis %-8s calls %9d  usec/call %6.2f\n", substr($1, 9), $3, $7}'
done
