#!/usr/bin/env bash
# Runs every benchmark against one build; see bench/README.md for what each number means.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/dev}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/bench-results"
echo "== token_bench (one core)"
"$build/bench/token_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== store_bench (SqliteStore group commit)"
"$build/bench/store_bench" --benchmark_repetitions=1
echo "== frame_source_bench (stand-in world, one frame)"
"$build/bench/frame_source_bench" --benchmark_repetitions=1
echo "== encode_bench (render + encode per frame, each encoder)"
"$build/bench/encode_bench"
echo "== mint_http (HTTP mint throughput, wrk beside the server)"
"$here/mint_http.sh" "$build"
echo "== spectator_bench (broadcast: streamer CPU per WHEP spectator, spectator time to first frame)"
"$build/bench/spectator_bench" --ithaca "$build/apps/ithaca/ithaca" --out "$build/bench-results/spectator.json"
echo "== mint_cluster (two nodes on Redis beside one on SQLite, same run)"
if command -v redis-server >/dev/null; then "$here/mint_cluster.sh" "$build"; else echo "skipped: no redis-server"; fi
echo "== sdk_size (JS SDK browser bundle: esbuild, minified, gzip -9; fails over 30 kB)"
(cd "$here/../sdks/js" && { [ -d node_modules/esbuild ] || npm ci --no-audit --no-fund >/dev/null; }) && node "$here/../sdks/js/scripts/size.mjs" --out "$build/bench-results"
# Browser benchmarks (bench/streaming/README.md): need Chromium and `make e2e-deps`.
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d "$here/../tests/e2e/node_modules/playwright-core" ]; then
  export ITHACA_BIN="$(cd "$build" && pwd)/apps/ithaca/ithaca"
  out="$build/bench-results"
  echo "== streaming: time to first frame (headless Chromium)"
  node "$here/streaming/ttff.mjs" --out "$out"
  echo "== streaming: prompt to photon"
  node "$here/streaming/prompt_to_photon.mjs" --out "$out"
  echo "== streaming: streamer CPU and memory, one stream"
  node "$here/streaming/streamer_cpu.mjs" --out "$out"
else
  echo "== streaming: skipped (needs Chromium and tests/e2e/node_modules: make e2e-deps)"
fi
