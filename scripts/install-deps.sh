#!/usr/bin/env bash
# Installs every Debian package Ithaca needs to build, run and test, skipping what is present.
# Idempotent; safe to run on every `make`. Needs root (or sudo) only when something is missing.
#
#   scripts/install-deps.sh            build + runtime + test packages
set -euo pipefail

BUILD=(g++ cmake ninja-build pkg-config make
       libboost-dev nlohmann-json3-dev libssl-dev libsqlite3-dev libspdlog-dev libcli11-dev
       libtomlplusplus-dev libhiredis-dev libgtest-dev libgmock-dev libbenchmark-dev ccache
       libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
       libnice-dev libsrtp2-dev zlib1g-dev libyuv-dev)
# The streamer's GStreamer elements: webrtcbin, DTLS, SRTP, SCTP (bad), ICE (nice), x264 (ugly).
RUNTIME=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
         gstreamer1.0-plugins-ugly gstreamer1.0-nice)
# Browser end-to-end tests drive Debian's Chromium with npm playwright-core.
TEST=(chromium fonts-liberation)
# The Redis store's contract tests and the cluster tests start their own redis-server.
TEST+=(redis-server)
# The Python SDK's tests run in a venv (make test-python); Debian's python3 needs this for venv.
TEST+=(python3-venv)
TOOLS=(clang-format wrk curl ca-certificates)

want=("${BUILD[@]}" "${RUNTIME[@]}" "${TEST[@]}" "${TOOLS[@]}")
missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Node.js may come from elsewhere (nodesource bundles npm): ask Debian only for what is absent.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
