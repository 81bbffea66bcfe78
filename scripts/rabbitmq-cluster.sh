#!/usr/bin/env bash
# A three-node RabbitMQ cluster on one machine, for development and tests.
#
#   scripts/rabbitmq-cluster.sh start          start three nodes and join them into one cluster
#   scripts/rabbitmq-cluster.sh kill N         kill -9 node N (1, 2 or 3)
#   scripts/rabbitmq-cluster.sh restart N      start node N again (it rejoins the cluster by itself)
#   scripts/rabbitmq-cluster.sh leader QUEUE   the number of the node that leads a quorum queue
#   scripts/rabbitmq-cluster.sh urls           the broker's DSVE_AMQP_URL for the three nodes
#   scripts/rabbitmq-cluster.sh status         the cluster as node 1 (or the first that answers) sees it
#   scripts/rabbitmq-cluster.sh stop           stop the nodes and remove their data
#
# The nodes are dsve-c1..3@localhost with AMQP ports DSVE_RABBIT_PORT_BASE+1..3 (5681..5683) and
# distribution ports 25681..25683, data under DSVE_RABBIT_CLUSTER_DIR (/tmp/dsve-rabbitmq-cluster), no
# plugins. The node already running on 5672 is never touched. The nodes run as the rabbitmq user with its
# home, so they share its Erlang cookie (and rabbitmqctl, run the same way, may talk to them).
set -euo pipefail

BASE="${DSVE_RABBIT_CLUSTER_DIR:-/tmp/dsve-rabbitmq-cluster}"
PORT_BASE="${DSVE_RABBIT_PORT_BASE:-5680}"
DIST_BASE="${DSVE_RABBIT_DIST_PORT_BASE:-25680}"
PREFIX="${DSVE_RABBIT_NODE_PREFIX:-dsve-c}"
USER_NAME="${DSVE_RABBIT_USER:-guest}"
PASSWORD="${DSVE_RABBIT_PASSWORD:-guest}"
NODES=(1 2 3)
WAIT_S="${DSVE_RABBIT_WAIT_S:-600}"  # seconds a node may take to start (long on a busy machine)
REGISTER_S="${DSVE_RABBIT_REGISTER_S:-60}"  # seconds a node may take to appear in epmd before it counts as dead

node_name() { echo "$PREFIX$1@localhost"; }
amqp_port() { echo $((PORT_BASE + $1)); }
dist_port() { echo $((DIST_BASE + $1)); }

as_rabbit() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq "$@"
  else
    env HOME="${HOME:-/var/lib/rabbitmq}" "$@"
  fi
}

NODE_ENV=()
node_env() {  # fills NODE_ENV with node N's environment
  local n="$1" dir="$BASE/node$1"
  NODE_ENV=(
    "RABBITMQ_CONF_ENV_FILE=$BASE/rabbitmq-env.conf"
    "RABBITMQ_NODENAME=$(node_name "$n")"
    "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
    "RABBITMQ_NODE_PORT=$(amqp_port "$n")"
    "RABBITMQ_DIST_PORT=$(dist_port "$n")"
    "RABBITMQ_CONFIG_FILE=$dir/rabbitmq"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins"
    "RABBITMQ_MNESIA_BASE=$dir/mnesia"
    "RABBITMQ_MNESIA_DIR=$dir/mnesia/$(node_name "$n")"
    "RABBITMQ_LOG_BASE=$dir/log"
    "RABBITMQ_PID_FILE=$dir/pid"
    "ERL_EPMD_ADDRESS=127.0.0.1"
    "ERL_FLAGS=-kernel inet_dist_use_interface {127,0,0,1}"
  )
}

ctl() {  # ctl N args...: rabbitmqctl against node N
  local n="$1"
  shift
  node_env "$n"
  as_rabbit env "${NODE_ENV[@]}" rabbitmqctl -n "$(node_name "$n")" "$@"
}

launch_node() {
  node_env "$1"
  as_rabbit env "${NODE_ENV[@]}" rabbitmq-server -detached
}

await_node() {
  # A node that cannot bind its distribution port exits before it writes its pid file, and rabbitmqctl wait
  # would wait out its whole timeout for that file: give up as soon as the node is neither registered with
  # epmd nor has written the file, after a grace of REGISTER_S seconds for a slow boot.
  local n="$1" waited=0
  while [ ! -s "$BASE/node$n/pid" ]; do
    if [ "$waited" -ge "$REGISTER_S" ] && ! epmd -names 2>/dev/null | grep -q "^name $PREFIX$n at "; then
      echo "$(node_name "$n") did not start: is port $(amqp_port "$n") or $(dist_port "$n") taken? (log: $BASE/node$n/log)" >&2
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  ctl "$n" wait --timeout "$WAIT_S" "$BASE/node$n/pid" >/dev/null
}

start_node() {
  launch_node "$1"
  await_node "$1"
}

setup_node() {
  local n="$1" dir="$BASE/node$1"
  mkdir -p "$dir/log" "$dir/mnesia"
  echo "[]." >"$dir/enabled_plugins"
  echo "[]." >"$dir/advanced.config"
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
loopback_users = none
default_user = $USER_NAME
default_pass = $PASSWORD
cluster_partition_handling = pause_minority
EOF
}

start() {
  if [ -d "$BASE" ]; then echo "already set up in $BASE (stop first)" >&2; exit 1; fi
  mkdir -p "$BASE"
  : >"$BASE/rabbitmq-env.conf"
  for n in "${NODES[@]}"; do setup_node "$n"; done
  if [ "$(id -u)" = 0 ]; then chown -R rabbitmq:rabbitmq "$BASE"; fi
  for n in "${NODES[@]}"; do launch_node "$n"; done  # the three boot side by side
  for n in "${NODES[@]}"; do await_node "$n"; done
  for n in 2 3; do
    ctl "$n" stop_app >/dev/null 2>&1
    ctl "$n" join_cluster "$(node_name 1)" >/dev/null 2>&1
    ctl "$n" start_app >/dev/null 2>&1
  done
  ctl 1 await_online_nodes 3 --timeout "$WAIT_S" >/dev/null
  echo "three-node cluster up: $(urls)"
}

pid_of() { cat "$BASE/node$1/pid" 2>/dev/null || true; }

kill_node() {
  local pid
  pid="$(pid_of "$1")"
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  echo "killed $(node_name "$1")"
}

restart_node() {
  start_node "$1"
  echo "started $(node_name "$1")"
}

first_alive() {
  for n in "${NODES[@]}"; do
    if ctl "$n" -q ping >/dev/null 2>&1; then echo "$n"; return; fi
  done
  echo "no node answers" >&2
  exit 1
}

leader() {
  local n line
  n="$(first_alive)"
  line="$(ctl "$n" -q list_queues name leader --no-table-headers | awk -v q="$1" '$1 == q {print $2}')"
  for m in "${NODES[@]}"; do
    if [ "$line" = "$(node_name "$m")" ]; then echo "$m"; return; fi
  done
  echo "no quorum queue $1 (or no leader)" >&2
  exit 1
}

urls() {
  local list=()
  for n in "${NODES[@]}"; do list+=("amqp://$USER_NAME:$PASSWORD@127.0.0.1:$(amqp_port "$n")/"); done
  (IFS=,; echo "${list[*]}")
}

status() {
  ctl "$(first_alive)" cluster_status
}

stop() {
  for n in "${NODES[@]}"; do
    if [ -n "$(pid_of "$n")" ]; then ctl "$n" stop >/dev/null 2>&1 || kill -9 "$(pid_of "$n")" 2>/dev/null || true; fi
  done
  for n in "${NODES[@]}"; do
    pid="$(pid_of "$n")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$BASE"
}

node_arg() {
  case "${1:-}" in 1 | 2 | 3) ;; *) echo "node must be 1, 2 or 3" >&2; exit 2 ;; esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) node_arg "${2:-}"; kill_node "$2" ;;
  restart) node_arg "${2:-}"; restart_node "$2" ;;
  leader) leader "${2:?queue name}" ;;
  urls) urls ;;
  status) status ;;
  *) echo "usage: $0 start|kill N|restart N|leader QUEUE|urls|status|stop" >&2; exit 2 ;;
esac
