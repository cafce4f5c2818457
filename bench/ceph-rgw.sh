#!/bin/bash
# ceph-rgw.sh: a throwaway one-host Ceph cluster with radosgw, the peer of bench/sse_bench.py.
#
#   1 ceph-mon, optionally 1 ceph-mgr (RGW does not need it), 1 ceph-osd (bluestore on a sparse
#   file), 1 radosgw (Beast frontend, loopback only) with the SSE-KMS "testing" backend and two
#   keys, testkey-1 and testkey-2, plus an S3 user "test". Debian 12's packages (Ceph 16.2
#   "pacific"), brought up by hand: no cephadm, no containers, no systemd. Starts in about 20 s and
#   uses 1-2 GiB of memory. Everything lives under $CEPH_DIR, which `stop` removes.
#
# Runs as root (it installs packages; the daemons run as the caller). Debian's ceph packages are
# installed with apt-get when missing (`install` alone does just that; it is idempotent).
#
# Usage: bench/ceph-rgw.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   CEPH_DIR [/tmp/hangar-ceph-rgw]   everything: config, keyrings, mon/osd data, logs, pid files
#   RGW_PORT [8000]                   radosgw's S3 endpoint, http://127.0.0.1:$RGW_PORT
#   MON_PORT [3300], MON_PORT_V1 [6789]  monitor ports (msgr2 and legacy); change them to run
#                                     beside another cluster on the same host
#   OSD_SIZE_GB [10]                  size of the sparse bluestore file (only written blocks use disk)
#   WITH_MGR [0]                      1: also start a ceph-mgr (for `ceph -s` health, dashboards)
#   DEFAULT_ENCRYPTION [1]            1: `rgw crypt default encryption key`: objects sent without SSE
#                                     headers are encrypted at rest with a fixed server key, the
#                                     closest this RGW comes to SSE-S3 (its real SSE-S3 needs Vault);
#                                     0: they are stored in plaintext
#   QUIET_RGW_LOG [0]                 1: `debug rgw = 0/0`: no access-log lines per request (Ceph's
#                                     default, 1/5, writes about three log lines per request)
#   ACCESS_KEY, SECRET_KEY            the S3 user's keys [TESTACCESSKEY0000000 / testsecretkey000...]
#   NO_INSTALL [0]                    1: fail instead of running apt-get
#
# What it prints on a successful start, one per line, for scripts: `endpoint=...`,
# `access_key=...`, `secret_key=...`, `kms_key_ids=testkey-1,testkey-2`, `startup_seconds=...`.
#
# The Beast frontend runs with tcp_nodelay=1: without it a small GET waits for the client's delayed
# ACK (about 40 ms), which caps 32 connections at ~700 GETs/s on loopback.
#
# Caveats: SSE-KMS and SSE-C normally need HTTPS on RGW; `rgw crypt require ssl = false` allows
# them over plain HTTP on loopback. The "testing" KMS backend keeps its keys in this config file:
# for benchmarks and tests only. Repeated overwrites of large objects fill the OSD until RGW's
# garbage collection runs (`radosgw-admin -c $CEPH_DIR/ceph.conf gc process --include-all`), so
# size OSD_SIZE_GB for the run or restart the cluster.
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-/tmp/hangar-ceph-rgw}
RGW_PORT=${RGW_PORT:-8000}
MON_PORT=${MON_PORT:-3300}
MON_PORT_V1=${MON_PORT_V1:-6789}
OSD_SIZE_GB=${OSD_SIZE_GB:-10}
WITH_MGR=${WITH_MGR:-0}
DEFAULT_ENCRYPTION=${DEFAULT_ENCRYPTION:-1}
QUIET_RGW_LOG=${QUIET_RGW_LOG:-0}
ACCESS_KEY=${ACCESS_KEY:-TESTACCESSKEY0000000}
SECRET_KEY=${SECRET_KEY:-testsecretkey0000000000000000000000000000}
NO_INSTALL=${NO_INSTALL:-0}
PACKAGES=(ceph-mon ceph-osd ceph-mgr ceph-common radosgw)
CONF=$CEPH_DIR/ceph.conf

log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }

ceph_cli() { ceph -c "$CONF" "$@"; }

osd_up() {
  ceph_cli osd stat -f json |
    python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["num_up_osds"] == 1 else 1)'
}

wait_for() {  # wait_for <seconds> <cmd...>
  local t=$1; shift
  for ((i = 0; i < t * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "ceph-rgw.sh: timeout waiting for: $*" >&2
  return 1
}

# Installs Debian's ceph packages unless all are installed already.
install() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$NO_INSTALL" = 1 ]; then
    echo "ceph-rgw.sh: missing packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "ceph-rgw.sh: run as root to install ${missing[*]}" >&2
    exit 1
  fi
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  local opts=(-y -q --no-install-recommends)
  if ! apt-get install "${opts[@]}" "${missing[@]}" >&2; then
    apt-get update -q >&2
    apt-get install "${opts[@]}" "${missing[@]}" >&2
  fi
}

start() {
  install
  local t0; t0=$(date +%s.%N)
  if [ -e "$CEPH_DIR" ]; then
    echo "ceph-rgw.sh: $CEPH_DIR exists; run '$0 stop' first" >&2
    exit 1
  fi
  mkdir -p "$CEPH_DIR"/{mon,mgr,osd,rgw,run,log}
  local fsid; fsid=$(uuidgen)
  # 32-byte keys for the SSE-KMS "testing" backend and the default encryption (NOT for production).
  local k1 k2 kdefault
  k1=$(openssl rand -base64 32); k2=$(openssl rand -base64 32); kdefault=$(openssl rand -base64 32)
  local mon_addr="[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]"
  local default_encryption=""
  if [ "$DEFAULT_ENCRYPTION" = 1 ]; then
    default_encryption="rgw crypt default encryption key = $kdefault"
  fi
  local rgw_debug=""
  if [ "$QUIET_RGW_LOG" = 1 ]; then rgw_debug="debug rgw = 0/0"; fi

  cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = $mon_addr
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $CEPH_DIR/keyring.\$name
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$cluster-\$name.asok
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
osd objectstore = bluestore
# small-box memory limits
osd memory target = 1073741824
bluestore cache autotune = true

[mon]
mon data = $CEPH_DIR/mon/\$cluster-\$id
keyring = $CEPH_DIR/mon/\$cluster-\$id/keyring

[mgr]
mgr data = $CEPH_DIR/mgr/\$cluster-\$id

[osd]
osd data = $CEPH_DIR/osd/\$cluster-\$id
keyring = $CEPH_DIR/osd/\$cluster-\$id/keyring
bluestore block create = true
bluestore block size = $((OSD_SIZE_GB << 30))
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $CEPH_DIR/rgw/\$cluster-\$id
rgw crypt require ssl = false
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey-1=$k1 testkey-2=$k2
$default_encryption
$rgw_debug
log file = $CEPH_DIR/log/\$name.log
EOF

  log "mon: keyrings, monmap, mkfs"
  ceph-authtool --create-keyring "$CEPH_DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$CEPH_DIR/keyring.client.admin" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$CEPH_DIR/mon.keyring" --import-keyring "$CEPH_DIR/keyring.client.admin" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "$mon_addr" "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/mon.keyring"
  log "mon: start"
  ceph-mon -c "$CONF" -i a
  wait_for 60 ceph_cli -s --connect-timeout 5
  ceph_cli config set mon auth_allow_insecure_global_id_reclaim false >/dev/null 2>&1 || true

  if [ "$WITH_MGR" = 1 ]; then
    log "mgr: start"
    mkdir -p "$CEPH_DIR/mgr/ceph-x"
    ceph_cli auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
      > "$CEPH_DIR/keyring.mgr.x"
    ceph-mgr -c "$CONF" -i x
  fi

  local uuid id
  uuid=$(uuidgen)
  id=$(ceph_cli osd new "$uuid")
  log "osd.$id: mkfs (bluestore on a ${OSD_SIZE_GB} GiB sparse file)"
  mkdir -p "$CEPH_DIR/osd/ceph-$id"
  ceph-osd -c "$CONF" -i "$id" --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" \
    >"$CEPH_DIR/log/osd.$id.mkfs.log" 2>&1
  ceph_cli auth add "osd.$id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$CEPH_DIR/osd/ceph-$id/keyring" >/dev/null
  log "osd.$id: start"
  ceph-osd -c "$CONF" -i "$id"
  wait_for 120 osd_up
  log "osd up"

  log "rgw: key, start"
  mkdir -p "$CEPH_DIR/rgw/ceph-rgw.a"
  ceph_cli auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    > "$CEPH_DIR/keyring.client.rgw.a"
  radosgw -c "$CONF" -n client.rgw.a
  wait_for 180 curl -sf "http://127.0.0.1:$RGW_PORT/"
  log "rgw: answering on 127.0.0.1:$RGW_PORT"

  radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null
  log "rgw: user 'test' created"
  local t1; t1=$(date +%s.%N)
  echo "endpoint=http://127.0.0.1:$RGW_PORT"
  echo "access_key=$ACCESS_KEY"
  echo "secret_key=$SECRET_KEY"
  echo "kms_key_ids=testkey-1,testkey-2"
  echo "default_encryption=$DEFAULT_ENCRYPTION"
  echo "startup_seconds=$(python3 -c "print(round($t1 - $t0, 1))")"
}

stop() {
  # Our daemons only, by the pid files they wrote (never by process name).
  for p in "$CEPH_DIR"/run/*.pid; do
    [ -e "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || true
  done
  for p in "$CEPH_DIR"/run/*.pid; do
    [ -e "$p" ] || continue
    local pid; pid=$(cat "$p")
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$CEPH_DIR"
  log "stopped; $CEPH_DIR removed"
}

status() {
  [ -e "$CONF" ] || { echo "not running ($CONF missing)"; exit 1; }
  ceph_cli -s --connect-timeout 5
  for p in "$CEPH_DIR"/run/*.pid; do
    [ -e "$p" ] || continue
    local pid; pid=$(cat "$p")
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$p" .pid): pid $pid"; fi
  done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
