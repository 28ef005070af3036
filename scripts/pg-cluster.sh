#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.
# Usage: scripts/pg-cluster.sh start [dir] [port]   → prints the DATABASE_URL
#        scripts/pg-cluster.sh stop  [dir]
# The tests' clusters run with fsync, synchronous_commit and full_page_writes off: a test proves
# behaviour, not durability, and a crash of a throw-away cluster loses nothing of value.
# PG_DURABLE=1 keeps PostgreSQL's shipped durable settings: the benchmark's figures are judged on
# those (a step counted there is on disk when it is answered).
set -euo pipefail
cmd=${1:-start}
dir=${2:-/tmp/mahalla-pg}
port=${3:-54329}
# PG_BIN picks another installation (the tests honour it too, see test/support/servers.ts).
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -n "$bin" ] && [ -x "$bin/postgres" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
# The server refuses to run as root; a dedicated OS user owns the cluster.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && fast=""
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 $fast -c max_connections=300" start >/dev/null
    fi
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop [dir] [port]" >&2; exit 2 ;;
esac
