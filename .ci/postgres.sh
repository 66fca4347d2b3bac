#!/usr/bin/env bash
# Installs (if missing) and starts a throwaway PostgreSQL on loopback for the tests.
# Prints the SQLAlchemy URL to use as SCIM_TEST_POSTGRES_URL on its last line.
set -euo pipefail
cd /
PORT="${SCIM_PG_PORT:-54329}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
DATA=$(mktemp -d /tmp/scim-pg.XXXXXX)
chown postgres:postgres "$DATA"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
run_pg "$BIN/pg_ctl" -D "$DATA" -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=200" -l "$DATA/log" -w start >&2
run_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres scim_test
echo "$DATA" > "/tmp/scim-pg.$PORT.datadir"
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/scim_test"
