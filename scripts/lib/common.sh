# shellcheck shell=bash
# Shared settings and helpers for scripts/stack and scripts/connectors/*.
# Sourced, never executed. Expects REPO_DIR to be set by the caller.

: "${REPO_DIR:?REPO_DIR must be set before sourcing common.sh}"

SLUICE_STACK_DIR="${SLUICE_STACK_DIR:-$REPO_DIR/.stack}"
SLUICE_CACHE_DIR="${SLUICE_CACHE_DIR:-${HOME:-/root}/.cache/sluice}"
SLUICE_PG_PORT="${SLUICE_PG_PORT:-54329}"
SLUICE_KAFKA_PORT="${SLUICE_KAFKA_PORT:-19092}"
SLUICE_KAFKA_CONTROLLER_PORT="${SLUICE_KAFKA_CONTROLLER_PORT:-19093}"
SLUICE_CONNECT_PORT="${SLUICE_CONNECT_PORT:-18083}"
SLUICE_CH_TCP_PORT="${SLUICE_CH_TCP_PORT:-19000}"
SLUICE_CH_HTTP_PORT="${SLUICE_CH_HTTP_PORT:-18123}"
SLUICE_CHDB_VERSION="${SLUICE_CHDB_VERSION:-3.4.0}"

KAFKA_VERSION=4.1.1
DEBEZIUM_VERSION=3.6.1.Final
KAFKA_LIBS="$SLUICE_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
DEBEZIUM_PLUGIN_PATH="$SLUICE_CACHE_DIR/debezium-$DEBEZIUM_VERSION"
DEBEZIUM_LIBS="$DEBEZIUM_PLUGIN_PATH/debezium-connector-postgres"
CHDB_DIR="$SLUICE_CACHE_DIR/chdb"
CHDB_LIB="$CHDB_DIR/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so"
PG_BIN=/usr/lib/postgresql/15/bin
LOG_DIR="$SLUICE_STACK_DIR/logs"
STACK_D="$REPO_DIR/scripts/stack.d"

export SLUICE_STACK_DIR SLUICE_CACHE_DIR SLUICE_PG_PORT SLUICE_KAFKA_PORT SLUICE_KAFKA_CONTROLLER_PORT \
  SLUICE_CONNECT_PORT SLUICE_CH_TCP_PORT SLUICE_CH_HTTP_PORT

SLUICE_PG_DSN="${SLUICE_PG_DSN:-postgres://sluice:sluice@127.0.0.1:$SLUICE_PG_PORT/ecommerce?sslmode=disable}"
SLUICE_KAFKA_BROKERS="${SLUICE_KAFKA_BROKERS:-127.0.0.1:$SLUICE_KAFKA_PORT}"
SLUICE_CONNECT_URL="${SLUICE_CONNECT_URL:-http://127.0.0.1:$SLUICE_CONNECT_PORT}"
SLUICE_CLICKHOUSE_ADDR="${SLUICE_CLICKHOUSE_ADDR:-127.0.0.1:$SLUICE_CH_TCP_PORT}"
SLUICE_CLICKHOUSE_URL="${SLUICE_CLICKHOUSE_URL:-clickhouse://$SLUICE_CLICKHOUSE_ADDR/default}"
CHDB_LIB_PATH="${CHDB_LIB_PATH:-$CHDB_LIB}"

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_until TIMEOUT_S DESCRIPTION LOGFILE CMD...: polls CMD every 0.25 s.
# PIDFILE (optional env) lets us fail fast when the process died.
wait_until() {
  local timeout=$1 what=$2 log=$3; shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@"; do
    if [[ -n "${WAIT_PIDFILE:-}" ]] && ! pid_alive "$WAIT_PIDFILE" "${WAIT_PATTERN:-}"; then
      tail -n 30 "$log" >&2 2>/dev/null || true
      die "$what: process exited before becoming ready; see $log"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$log" >&2 2>/dev/null || true
      die "$what: not ready after ${timeout}s; see $log"
    fi
    sleep 0.25
  done
}

# pid_of PIDFILE: prints the pid (first line) when the file exists.
pid_of() {
  [[ -s "$1" ]] && head -n1 "$1" | tr -d ' \n'
}

# pid_alive PIDFILE [PATTERN]: true when the pid in the file is a running process (whose command
# line contains PATTERN, so a pid reused after a reboot is not mistaken for ours).
pid_alive() {
  local pid
  pid=$(pid_of "$1") || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (exited, not yet reaped by its new parent) answers kill -0 but is gone.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  [[ -z "${2:-}" ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid NAME PIDFILE [TIMEOUT_S [PATTERN]]: SIGTERM, wait, then SIGKILL. Removes the pid file.
stop_pid() {
  local name=$1 pidfile=$2 timeout=${3:-30} pattern=${4:-} pid
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(pid_of "$pidfile")
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while pid_alive "$pidfile" "$pattern"; do
    if ((SECONDS >= deadline)); then
      say "$name did not stop within ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.25
  done
  rm -f "$pidfile"
}

# ensure_pkgs PKG...: apt-get install the missing ones (apt-get update first, once).
APT_UPDATED=
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$APT_UPDATED" ]]; then
    apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

ensure_java() {
  command -v java >/dev/null || ensure_pkgs openjdk-17-jre-headless
  command -v mvn >/dev/null || ensure_pkgs maven
}
