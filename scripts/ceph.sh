#!/usr/bin/env bash
# A throwaway one-host Ceph cluster for cluster mode's tests and for trying `--blobs rados://…`:
# one monitor and one OSD (memstore by default: see below), loopback only, cephx on, and a client
# key "client.hangar" allowed to create its pools. No manager, no radosgw: RADOS needs neither.
# Everything lives under one directory, which `stop` removes.
#
# Usage: scripts/ceph.sh start|stop|conf|status
#   start   starts the cluster (a stale directory from a killed run is stopped and removed first),
#           then prints the ceph.conf path, the client id and a rados:// URI, and writes them to
#           $HANGAR_CEPH_DIR/client.env for `source`
#   stop    kills the daemons (found by their command line, which names this directory's
#           ceph.conf; never by program name) and removes the directory
#   conf    prints the ceph.conf path of a running cluster
#   status  `ceph -s`
#
# Env: HANGAR_CEPH_DIR          (default /tmp/hangar-ceph)
#      HANGAR_CEPH_PORT         the monitor's msgr2 port; default: a free port chosen at start, so
#                               the cluster can share the machine with another Ceph. The OSD takes
#                               free ports in Ceph's usual 6800-7568 range.
#      HANGAR_CEPH_POOL         the pool named in the printed URI (default hangar)
#      HANGAR_CEPH_OBJECTSTORE  memstore (default) or bluestore (on a sparse file in the directory)
#      HANGAR_CEPH_OSD_MB       memstore's capacity or bluestore's file size (default 4096)
#
# Memstore keeps objects in the OSD's memory, so nothing survives `stop`, but it starts several
# seconds faster than bluestore, whose mkfs formats the file and whose start replays its journal;
# for tests that is the better trade. The packages: see scripts/install-deps.sh (ceph-mon, ceph-osd,
# ceph-common). Runs as root, or as any user that may run the Ceph daemons.
set -euo pipefail

DIR=${HANGAR_CEPH_DIR:-/tmp/hangar-ceph}
POOL=${HANGAR_CEPH_POOL:-hangar}
OBJECTSTORE=${HANGAR_CEPH_OBJECTSTORE:-memstore}
OSD_MB=${HANGAR_CEPH_OSD_MB:-4096}
CLIENT=hangar
CONF=$DIR/ceph.conf
MARKER=$DIR/.hangar-ceph  # only a directory with this file is ever removed

log() { echo "ceph.sh: $*" >&2; }

ceph_cli() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

# wait_for SECONDS CMD...: retries CMD every quarter second.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${seconds}s waiting for: $*"
      return 1
    fi
    sleep 0.25
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Our daemons: the processes with our ceph.conf as an argument (`-c $CONF`), whether or not they
# got to write a pid file. Nothing else is ever signalled, whatever its name.
our_pids() {
  local f
  for f in $(grep -lzxF -- "$CONF" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    f=${f#/proc/}
    echo "${f%/cmdline}"
  done
}

# True while a process runs (a zombie has stopped; in a container nobody may reap it).
running() {
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop() {
  if [ ! -e "$DIR" ]; then
    return 0
  fi
  if [ ! -e "$MARKER" ]; then
    log "$DIR exists but was not made by this script; not touching it"
    exit 1
  fi
  # The data is thrown away, so there is nothing to shut down cleanly (memstore would even write
  # its whole contents to disk on a clean stop).
  local pids pid i
  pids=$(our_pids)
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for ((i = 0; i < 50; i++)); do
      running "$pid" || break
      sleep 0.1
    done
  done
  rm -rf "$DIR"
}

start() {
  local t0=$SECONDS tool
  for tool in ceph-mon ceph-osd ceph ceph-authtool monmaptool python3; do
    if ! command -v "$tool" >/dev/null; then
      log "$tool not found: run scripts/install-deps.sh (it installs ceph-mon, ceph-osd, ceph-common)"
      exit 1
    fi
  done
  stop  # a stale directory from a killed run
  mkdir -p "$DIR"/{mon,osd,run,log}
  touch "$MARKER"
  local port=${HANGAR_CEPH_PORT:-$(free_port)}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  local mon_addr="[v2:127.0.0.1:$port]"

  cat >"$CONF" <<EOF
# Written by hangar scripts/ceph.sh: a throwaway one-host cluster.
[global]
fsid = $fsid
mon initial members = a
mon host = $mon_addr
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring.\$name
run dir = $DIR/run
admin socket = $DIR/run/\$cluster-\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
# Every test server makes a pool of its own (8 PGs) and leaves it to the cluster's removal: a whole
# test run makes about a hundred, past the default limit of 250 PGs per OSD.
mon max pg per osd = 4000
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
# Commit map changes (a new pool, the OSD going up) at once rather than batching them for 1 s.
paxos propose interval = 0.05
paxos min wait = 0.01
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false
osd objectstore = $OBJECTSTORE

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/mon/\$cluster-\$id/keyring

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/osd/\$cluster-\$id/keyring
memstore device bytes = $((OSD_MB << 20))
bluestore block create = true
bluestore block size = $((OSD_MB << 20))
bluestore fsck on mount = false
osd memory target = 1073741824
EOF

  # 1. Keys: the monitor's, an admin's (for this script), the client's, the OSD's. The monitor
  #    takes all of them with their capabilities at mkfs, so no `ceph auth` round trips are needed.
  #    client.hangar may create pools and enable an application on them (mon 'allow rw'), and read
  #    and write objects (osd 'allow rwx').
  local keyring=$DIR/mon.keyring
  ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/keyring.client.admin" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/keyring.client.$CLIENT" --gen-key -n "client.$CLIENT" \
    --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  mkdir -p "$DIR/osd/ceph-0"
  ceph-authtool --create-keyring "$DIR/osd/ceph-0/keyring" --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
  local k
  for k in "$DIR/keyring.client.admin" "$DIR/keyring.client.$CLIENT" "$DIR/osd/ceph-0/keyring"; do
    ceph-authtool "$keyring" --import-keyring "$k" >/dev/null
  done
  chmod 600 "$DIR"/keyring.* "$keyring"

  # 2. The monitor.
  monmaptool --create --fsid "$fsid" --addv a "$mon_addr" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$keyring" \
    >>"$DIR/log/mkfs.log" 2>&1
  ceph-mon -c "$CONF" -i a </dev/null >>"$DIR/log/daemons.log" 2>&1
  wait_for 60 ceph_cli mon stat

  # 3. The OSD: registered in the OSD map, formatted, started, then up.
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph_cli osd new "$uuid" 0 >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --no-mon-config --osd-uuid "$uuid" >>"$DIR/log/mkfs.log" 2>&1
  ceph-osd -c "$CONF" -i 0 </dev/null >>"$DIR/log/daemons.log" 2>&1
  wait_for 120 osd_up

  local uri="rados://$POOL?conf=$CONF&id=$CLIENT"
  cat >"$DIR/client.env" <<EOF
HANGAR_CEPH_CONF='$CONF'
HANGAR_CEPH_CLIENT='$CLIENT'
HANGAR_RADOS_URI='$uri'
EOF
  log "up in $((SECONDS - t0))s: mon on 127.0.0.1:$port, 1 OSD ($OBJECTSTORE), in $DIR"
  echo "conf=$CONF"
  echo "id=$CLIENT"
  echo "uri=$uri"
}

osd_up() {
  ceph_cli osd dump 2>/dev/null | grep -q '^osd\.0 up'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  conf)
    if [ ! -e "$CONF" ]; then
      log "no cluster in $DIR: run scripts/ceph.sh start"
      exit 1
    fi
    echo "$CONF"
    ;;
  status) ceph_cli -s ;;
  *)
    echo "usage: $0 start|stop|conf|status" >&2
    exit 2
    ;;
esac
