#!/usr/bin/env bash
# Starts a local PostgreSQL 15 on 127.0.0.1:5432 for the PgStore tests (Debian 12, run as root
# or as a user with sudo), creates role "kindred" (password "kindred") and database
# "kindred_test" owned by it, waits until it accepts connections and prints its URL as the
# last line of stdout:
#   export KINDRED_TEST_PG_URL="$(scripts/start-postgres.sh | tail -n1)"
# Running it again is harmless: a running server is left alone, existing role/db are kept.
#
# The Debian cluster 15/main is used when it exists (pg_ctlcluster); otherwise -- or when
# KINDRED_PG_DATA is set -- a throwaway cluster is initialised in $KINDRED_PG_DATA (default
# /tmp/kindred-pg15) as user postgres. KINDRED_PG_PORT overrides the port (default 5432).
set -euo pipefail

readonly HOST=127.0.0.1
readonly PORT="${KINDRED_PG_PORT:-5432}"
readonly OWN_CLUSTER="${KINDRED_PG_DATA:+yes}"
readonly ROLE=kindred
readonly PASSWORD=kindred
readonly DATABASE=kindred_test
readonly BIN=/usr/lib/postgresql/15/bin
readonly DATA="${KINDRED_PG_DATA:-/tmp/kindred-pg15}"

log() { echo "start-postgres: $*" >&2; }

if [ ! -x "$BIN/postgres" ]; then
  log "PostgreSQL 15 is not installed ($BIN/postgres missing); run scripts/install-deps.sh"
  exit 1
fi
if ! id postgres >/dev/null 2>&1; then
  log "the 'postgres' system user is missing (the postgresql-15 package creates it)"
  exit 1
fi

# Runs a command as the postgres user: runuser as root (CI containers may lack sudo), else sudo.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

if [ -z "$OWN_CLUSTER" ] && command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2}' | grep -qx "15 main"; then
  cluster_port="$(pg_lsclusters --no-header | awk '$1 == "15" && $2 == "main" {print $3}')"
  if [ "$cluster_port" != "$PORT" ]; then
    log "the Debian cluster 15/main is configured for port $cluster_port, not $PORT"
    exit 1
  fi
  if as_postgres pg_ctlcluster 15 main status >/dev/null 2>&1; then
    log "cluster 15/main is already running"
  else
    log "starting cluster 15/main"
    if [ "$(id -u)" -eq 0 ]; then
      pg_ctlcluster 15 main start
    else
      sudo pg_ctlcluster 15 main start
    fi
  fi
  # The Debian cluster listens on localhost and keeps its socket in /var/run/postgresql.
  psql_as_superuser() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
else
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initialising a new cluster in $DATA"
    if [ "$(id -u)" -eq 0 ]; then
      mkdir -p "$DATA" && chown postgres:postgres "$DATA"
    else
      sudo mkdir -p "$DATA" && sudo chown postgres:postgres "$DATA"
    fi
    chmod 700 "$DATA" 2>/dev/null || sudo chmod 700 "$DATA"
    # Local (socket) connections trust the OS user; TCP connections need a password.
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 >&2
  fi
  if as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "the cluster in $DATA is already running"
  else
    log "starting the cluster in $DATA"
    as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "-c listen_addresses=$HOST -p $PORT -c unix_socket_directories=$DATA" start >&2
  fi
  psql_as_superuser() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$DATA" -p "$PORT" "$@"; }
fi

# Wait until the server accepts TCP connections (startup, crash recovery).
for _ in $(seq 1 60); do
  if pg_isready -q -h "$HOST" -p "$PORT"; then break; fi
  sleep 1
done
if ! pg_isready -q -h "$HOST" -p "$PORT"; then
  log "PostgreSQL does not accept connections on $HOST:$PORT after 60 s"
  exit 1
fi

psql_as_superuser -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
  END IF;
END
\$\$;
SQL
if [ "$(psql_as_superuser -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
  log "creating database $DATABASE"
  psql_as_superuser -d postgres -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

readonly URL="postgresql://$ROLE:$PASSWORD@$HOST:$PORT/$DATABASE"
# Prove the URL works (password auth over TCP) before handing it out.
if ! psql -X -q -d "$URL" -tA -c "SELECT 1" >/dev/null; then
  log "cannot connect as $ROLE to $HOST:$PORT/$DATABASE"
  exit 1
fi
echo "$URL"
