#!/usr/bin/env bash
# A PostgreSQL primary and a synchronous streaming standby on one machine, for development and tests.
#
#   scripts/postgres-failover.sh start      initdb a primary, pg_basebackup a standby, start both
#   scripts/postgres-failover.sh failover   kill -9 the primary and promote the standby
#   scripts/postgres-failover.sh promote    promote the standby (the primary is left as it is)
#   scripts/postgres-failover.sh down NODE  stop the primary or the standby (fast shutdown), keeping its data
#   scripts/postgres-failover.sh up NODE    start it again
#   scripts/postgres-failover.sh status     which port answers as primary, which as standby
#   scripts/postgres-failover.sh stop       stop both and remove their data directory
#
# The clusters live beside whatever else runs (the usual 5432 cluster is never touched): ports
# DSVE_PG_PRIMARY_PORT (5433) and DSVE_PG_STANDBY_PORT (5434), data under DSVE_PG_CLUSTER_DIR
# (/tmp/dsve-pg-failover), trust authentication on 127.0.0.1 only, user postgres. The broker takes both:
#
#   DSVE_DATABASE_URL='postgresql+asyncpg://postgres@/dsve?host=127.0.0.1:5433&host=127.0.0.1:5434&target_session_attrs=read-write'
#
# Replication is synchronous (synchronous_standby_names names the standby, synchronous_commit on): a commit
# returns only once the standby has the WAL, so a promoted standby holds every commit a client saw. The
# standby starts with no synchronous standby of its own, so it takes writes alone once promoted.
set -euo pipefail

PRIMARY_PORT="${DSVE_PG_PRIMARY_PORT:-5433}"
STANDBY_PORT="${DSVE_PG_STANDBY_PORT:-5434}"
BASE="${DSVE_PG_CLUSTER_DIR:-/tmp/dsve-pg-failover}"
DATABASE="${DSVE_PG_DATABASE:-dsve}"
STANDBY_NAME=dsve_standby

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$found" ]; then echo "$found"; else dirname "$(command -v pg_ctl)"; fi
}
BIN="$(bindir)"

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_ready() {
  for _ in $(seq 1 100); do
    if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; then return 0; fi
    sleep 0.1
  done
  echo "PostgreSQL on port $1 did not become ready" >&2
  return 1
}

start() {
  if [ -d "$BASE/primary" ]; then echo "already set up in $BASE (stop first)" >&2; exit 1; fi
  mkdir -p "$BASE"
  if [ "$(id -u)" = 0 ]; then chown postgres "$BASE"; fi
  as_pg "$BIN/initdb" -D "$BASE/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$BASE/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$BASE'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
synchronous_commit = on
synchronous_standby_names = '$STANDBY_NAME'
max_connections = 200
EOF
  echo "host replication postgres 127.0.0.1/32 trust" >>"$BASE/primary/pg_hba.conf"
  as_pg "$BIN/pg_ctl" -D "$BASE/primary" -l "$BASE/primary.log" -w start >/dev/null
  wait_ready "$PRIMARY_PORT"
  as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$BASE/standby" -X stream -R
  cat >>"$BASE/standby/postgresql.auto.conf" <<EOF
port = $STANDBY_PORT
primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres application_name=$STANDBY_NAME'
synchronous_standby_names = ''
EOF
  as_pg "$BIN/pg_ctl" -D "$BASE/standby" -l "$BASE/standby.log" -w start >/dev/null
  wait_ready "$STANDBY_PORT"
  # Until the standby streams, a synchronous commit would wait: create the database once it does.
  for _ in $(seq 1 100); do
    state="$("$BIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atc \
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$STANDBY_NAME'" 2>/dev/null || true)"
    if [ "$state" = sync ]; then break; fi
    sleep 0.1
  done
  "$BIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -qc "CREATE DATABASE \"$DATABASE\"" >/dev/null
  echo "primary 127.0.0.1:$PRIMARY_PORT, synchronous standby 127.0.0.1:$STANDBY_PORT, database $DATABASE"
}

postmaster_pid() {
  head -1 "$BASE/$1/postmaster.pid" 2>/dev/null || true
}

promote() {
  as_pg "$BIN/pg_ctl" -D "$BASE/standby" -w promote >/dev/null
  echo "standby on 127.0.0.1:$STANDBY_PORT promoted"
}

failover() {
  local pid
  pid="$(postmaster_pid primary)"
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  promote
}

node_port() {
  if [ "$1" = primary ]; then echo "$PRIMARY_PORT"; else echo "$STANDBY_PORT"; fi
}

down() {
  as_pg "$BIN/pg_ctl" -D "$BASE/$1" -m fast -w stop >/dev/null
}

up() {
  as_pg "$BIN/pg_ctl" -D "$BASE/$1" -l "$BASE/$1.log" -w start >/dev/null
  wait_ready "$(node_port "$1")"
}

stop() {
  for node in standby primary; do
    if [ -f "$BASE/$node/postmaster.pid" ]; then
      as_pg "$BIN/pg_ctl" -D "$BASE/$node" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  # A primary killed with -9 leaves its children and shared memory behind until they notice: end them.
  for node in standby primary; do
    pid="$(postmaster_pid "$node")"
    if [ -n "$pid" ]; then pkill -9 -P "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$BASE"
}

status() {
  for port in "$PRIMARY_PORT" "$STANDBY_PORT"; do
    role="$("$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -Atc \
      "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END" 2>/dev/null || echo down)"
    echo "127.0.0.1:$port $role"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  promote) promote ;;
  failover) failover ;;
  status) status ;;
  down | up)
    case "${2:-}" in primary | standby) "$1" "$2" ;; *) echo "usage: $0 $1 primary|standby" >&2; exit 2 ;; esac ;;
  *) echo "usage: $0 start|failover|promote|down NODE|up NODE|status|stop" >&2; exit 2 ;;
esac
