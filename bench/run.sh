#!/usr/bin/env bash
# Runs every benchmark against one build; see bench/README.md for what each number means.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/dev}
here=$(cd "$(dirname "$0")" && pwd)
echo "== token_bench (one core)"
"$build/bench/token_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== store_bench (SqliteStore group commit)"
"$build/bench/store_bench" --benchmark_repetitions=1
echo "== frame_source_bench (stand-in world, one frame)"
"$build/bench/frame_source_bench" --benchmark_repetitions=1
echo "== mint_http (HTTP mint throughput, wrk beside the server)"
"$here/mint_http.sh" "$build"
