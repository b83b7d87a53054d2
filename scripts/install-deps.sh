#!/usr/bin/env bash
# Installs every Debian package Ithaca needs to build, run and test, skipping what is present.
# Idempotent; safe to run on every `make`. Needs root (or sudo) only when something is missing.
#
#   scripts/install-deps.sh            build + runtime + test packages
set -euo pipefail

BUILD=(g++ cmake ninja-build pkg-config make
       libboost-dev nlohmann-json3-dev libssl-dev libsqlite3-dev libspdlog-dev libcli11-dev
       libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev)
TOOLS=(clang-format wrk curl ca-certificates)

want=("${BUILD[@]}" "${TOOLS[@]}")
missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

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
