# shellcheck shell=bash
# PostgreSQL 15: a private cluster under $SLUICE_STACK_DIR/pg, run as the postgres user.

PG_DIR="$SLUICE_STACK_DIR/pg"
PG_DATA="$PG_DIR/data"
PG_SOCK="$PG_DIR/run"
PG_LOG="$LOG_DIR/pg.log"

pg_pidfile() { echo "$PG_DATA/postmaster.pid"; }
pg_running() { pid_alive "$(pg_pidfile)" postgres; }

pg_psql() {
  runuser -u postgres -- "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$SLUICE_PG_PORT" -U postgres "$@"
}

pg_up() {
  ensure_pkgs postgresql-15 postgresql-client-15
  id postgres >/dev/null 2>&1 || die "user postgres does not exist (postgresql-15 package broken?)"
  mkdir -p "$PG_DIR" "$PG_SOCK" "$LOG_DIR"
  touch "$PG_LOG"
  chown postgres:postgres "$PG_DIR" "$PG_SOCK" "$PG_LOG"

  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    say "pg: initdb $PG_DATA"
    rm -rf "$PG_DATA"
    install -d -o postgres -g postgres -m 700 "$PG_DATA"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$LOG_DIR/pg-initdb.log" 2>&1 \
      || die "pg: initdb failed; see $LOG_DIR/pg-initdb.log"
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- sluice local stack (scripts/lib/pg.sh) ---
listen_addresses = '127.0.0.1'
port = $SLUICE_PG_PORT
unix_socket_directories = '$PG_SOCK'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi

  if pg_running; then
    say "pg: already running (pid $(pid_of "$(pg_pidfile)"))"
  else
    # A stale pid file after a crash or reboot would stop pg_ctl; drop it when its pid is gone.
    rm -f "$(pg_pidfile)"
    say "pg: starting on 127.0.0.1:$SLUICE_PG_PORT"
    # -o keeps the command-line port authoritative when SLUICE_PG_PORT changes between runs.
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $SLUICE_PG_PORT -k $PG_SOCK" start >/dev/null \
      || { tail -n 20 "$PG_LOG" >&2; die "pg: failed to start; see $PG_LOG"; }
  fi
  WAIT_PIDFILE="$(pg_pidfile)" WAIT_PATTERN=postgres wait_until 60 "pg" "$PG_LOG" \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$SLUICE_PG_PORT"

  # Role and database (idempotent).
  pg_psql -d postgres <<'EOF' || die "pg: creating role sluice failed; see $PG_LOG"
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') THEN
    CREATE ROLE sluice LOGIN SUPERUSER REPLICATION PASSWORD 'sluice';
  ELSE
    ALTER ROLE sluice LOGIN SUPERUSER REPLICATION PASSWORD 'sluice';
  END IF;
END$$;
EOF
  if [[ -z "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ecommerce'")" ]]; then
    pg_psql -d postgres -c "CREATE DATABASE ecommerce OWNER sluice" || die "pg: CREATE DATABASE failed"
  fi
  say "pg: ready at $SLUICE_PG_DSN"
}

pg_down() {
  if pg_running; then
    say "pg: stopping"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # Escalate if pg_ctl did not manage (stop_pid is a no-op when the pid is gone).
  [[ -f "$(pg_pidfile)" ]] && stop_pid pg "$(pg_pidfile)" 10 postgres
  return 0
}

pg_status() {
  if pg_running && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$SLUICE_PG_PORT"; then
    echo "up 127.0.0.1:$SLUICE_PG_PORT pid=$(pid_of "$(pg_pidfile)")"
  elif pg_running; then
    echo "starting 127.0.0.1:$SLUICE_PG_PORT pid=$(pid_of "$(pg_pidfile)")"
  else
    echo "down 127.0.0.1:$SLUICE_PG_PORT"
  fi
}
