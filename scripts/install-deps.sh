#!/usr/bin/env bash
# Installs everything Hangar needs to build, run and test, from Debian's packages. Idempotent:
# packages already present are left alone, and nothing is fetched when all are installed.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # the sanitizer tree and its fuzz targets: clang++ with libFuzzer and the sanitizer runtimes
  clang libclang-rt-dev
  # libraries
  libboost-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libpugixml-dev libsimdjson-dev
  libspdlog-dev libfmt-dev libcli11-dev libisal-dev libboost-context-dev prometheus-cpp-dev
  libp11-kit-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 curl openssl s3cmd rclone restic
  # the web console's browser tests (tests/e2e/test_console.py): Debian's Chromium, driven by
  # Playwright (npm playwright-core), which never downloads a browser of its own
  chromium
  # the root key in a PKCS#11 token (--root-key-pkcs11): SoftHSM2 stands in for the HSM
  softhsm2
  # cluster mode: librados for blobs in a Ceph pool (--blobs rados://…), and for its tests a
  # throwaway one-host Ceph (scripts/ceph.sh: a monitor, an OSD and the ceph/ceph-authtool tools)
  librados-dev ceph-mon ceph-osd ceph-common
  # cluster mode: libpq for metadata in PostgreSQL, and for its tests a throwaway PostgreSQL 15
  # (scripts/postgres.sh)
  libpq-dev postgresql-15
  # cluster mode's end-to-end runs: HAProxy spreads each client's requests round-robin over three
  # nodes (tests/e2e/harness.py, HANGAR_E2E_CLUSTER_NODES)
  haproxy
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The end-to-end tests' clients (tests/e2e; tests/CMakeLists.txt picks them the same way): boto3 for
# `python3` on PATH or Debian's /usr/bin/python3, and an aws CLI, `aws` on PATH or /usr/bin/aws. A
# machine that has them (e.g. pip-installed) keeps its own; otherwise Debian's python3-boto3 and
# awscli (boto3 1.26, aws CLI 2.9 on Debian 12; tests that need a newer client say which in their
# failure message). s3cmd, rclone and openssl, the other clients, are in PACKAGES above.
imports_boto3() { command -v "$1" >/dev/null 2>&1 && "$1" -c 'import boto3' >/dev/null 2>&1; }
runs_aws() { command -v "$1" >/dev/null 2>&1 && "$1" --version >/dev/null 2>&1; }
if ! imports_boto3 python3 && ! imports_boto3 /usr/bin/python3; then
  missing+=(python3-boto3)
fi
if ! runs_aws aws && ! runs_aws /usr/bin/aws; then
  missing+=(awscli)
fi

# Node.js and npm to build the web console and for the JavaScript interop tests (tests/interop): a
# node already on PATH is kept.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty package lists; retry once after an update.
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# npm packages of the web console (console/: the AWS SDK for JavaScript v3, esbuild, Playwright,
# axe-core) and of the interop tests, exactly as their package-lock.json pins them; skipped when
# node_modules already matches the lock file.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
for dir in "$ROOT"/console/ "$ROOT"/tests/interop/*/; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
