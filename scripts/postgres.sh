#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's postgresql-15) for cluster mode's tests and for trying it out:
# one server on loopback only, trust authentication, with a database `hangar`.
#
# Usage: scripts/postgres.sh start|stop|uri|down|up
#   start  initialises and starts the server (unless it already runs), creates database `hangar`,
#          prints its libpq URI and writes it to $HANGAR_POSTGRES_DIR/uri
#   stop   stops the server and removes $HANGAR_POSTGRES_DIR (also after a killed run)
#   uri    prints the URI of the running server
#   down   stops the server and keeps its data (an outage: tests of nodes riding it out)
#   up     starts the stopped server again, on the same port, with the same data
# Env:
#   HANGAR_POSTGRES_PORT  TCP port on 127.0.0.1 (default: a free one)
#   HANGAR_POSTGRES_DIR   data, socket, log and the uri file; as root, somewhere the postgres user
#                         can reach (default /tmp/hangar-postgres-$HANGAR_POSTGRES_PORT, or -auto)
#   HANGAR_POSTGRES_BIN   server binaries (default /usr/lib/postgresql/15/bin)
#
# fsync and synchronous_commit stay on: tests may rely on a commit surviving a crash. initdb and
# the server refuse to run as root, so a root shell runs them as the `postgres` system user (the
# Debian package creates it). Trust authentication on loopback: for tests only, never for data.
set -euo pipefail

BIN=${HANGAR_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
PORT=${HANGAR_POSTGRES_PORT:-}
DIR=${HANGAR_POSTGRES_DIR:-/tmp/hangar-postgres-${PORT:-auto}}
DATA=$DIR/data
SOCK=$DIR/sock
DATABASE=hangar

if [ "$(id -u)" -eq 0 ]; then
  AS_PG=(runuser -u postgres --)
else
  AS_PG=()
fi

die() { echo "postgres.sh: $*" >&2; exit 1; }

# Runs the server's tools as the user that owns the data directory, without the lock's descriptor
# (a server started with it would hold the lock for its whole life).
pg() { "${AS_PG[@]}" "$@" 9>&-; }

# The server of $DIR runs and accepts connections (a pid file alone may be left by a killed run).
running() {
  [ -f "$DIR/uri" ] && pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 &&
    "$BIN/pg_isready" -q -h "$SOCK" -p "$(sed -E 's|.*:([0-9]+)/.*|\1|' "$DIR/uri")" -d "$DATABASE"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! port_in_use "$candidate"; then echo "$candidate"; return; fi
  done
  die "no free port found"
}

server_options() {
  echo "-p $1 -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200"
}

uri_of() { echo "postgresql://postgres@127.0.0.1:$1/$DATABASE"; }

stop_server() {
  [ -f "$DATA/postmaster.pid" ] || return 0
  pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  # A postmaster that ignored both (or a stale pid file from a killed run): its first line is the
  # pid; kill it only if that process really is a postgres of this data directory.
  local pid
  pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
     tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$DATA"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

start() {
  if running; then
    cat "$DIR/uri"
    return
  fi
  # Anything else there is left over from a killed or failed run.
  stop_server
  rm -rf "$DIR"
  if [ ${#AS_PG[@]} -gt 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  [ -x "$BIN/initdb" ] || die "$BIN/initdb not found: run scripts/install-deps.sh (postgresql-15)"
  mkdir -p "$DATA" "$SOCK"
  chmod 700 "$DATA"
  if [ ${#AS_PG[@]} -gt 0 ]; then chown -R postgres:postgres "$DIR"; fi
  # -N: initdb's own files need no fsync (a crash now only means starting again); the server
  # itself runs with fsync on.
  pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C -N >"$DIR/initdb.log" 2>&1 ||
    die "initdb failed, see $DIR/initdb.log"

  # A free port may be taken between the check and the bind: then try another.
  local attempts=1 port=$PORT
  [ -n "$PORT" ] || attempts=5
  for _ in $(seq 1 "$attempts"); do
    [ -n "$PORT" ] || port=$(pick_port)
    if pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 -o \
         "$(server_options "$port")" \
         start >/dev/null; then
      pg "$BIN/psql" -h "$SOCK" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DATABASE" >/dev/null
      uri_of "$port" >"$DIR/uri"
      cat "$DIR/uri"
      return
    fi
  done
  tail -n 20 "$DIR/server.log" >&2 || true
  die "the server did not start, see $DIR/server.log"
}

stop() {
  stop_server
  rm -rf "$DIR"
}

uri() {
  running || die "no server runs in $DIR: run '$0 start'"
  cat "$DIR/uri"
}

down() {
  [ -f "$DIR/uri" ] || die "no server in $DIR: run '$0 start'"
  pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
}

up() {
  [ -f "$DIR/uri" ] || die "no server in $DIR: run '$0 start'"
  running && return
  local port
  port=$(sed -E 's|.*:([0-9]+)/.*|\1|' "$DIR/uri")
  pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 -o \
    "$(server_options "$port")" \
    start >/dev/null || die "the server did not start again, see $DIR/server.log"
}

# One command at a time per directory: a second `start` waits and then finds the server running.
# The lock file stays after `stop` (removing it would let a waiting and a new run go together).
exec 9>"$DIR.lock"
flock 9

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  uri) uri ;;
  down) down ;;
  up) up ;;
  *) echo "usage: $0 start|stop|uri|down|up" >&2; exit 2 ;;
esac
