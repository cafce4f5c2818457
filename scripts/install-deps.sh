#!/usr/bin/env bash
# Installs everything Hangar needs to build, run and test, from Debian's packages. Idempotent:
# packages already present are left alone, and nothing is fetched when all are installed.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  libboost-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libpugixml-dev
  libspdlog-dev libfmt-dev libcli11-dev libisal-dev libboost-context-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 curl openssl s3cmd rclone
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; retry once after an update.
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
