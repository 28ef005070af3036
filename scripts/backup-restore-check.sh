#!/usr/bin/env bash
# Backs up a PostgreSQL database with pg_dump (custom format), restores the backup into a fresh
# database on the same server and checks that every table holds as many rows as the source did at
# the moment of the dump. A backup that has never been restored is a hope, not a backup.
#
# Usage: scripts/backup-restore-check.sh [--keep] <database-url> [backup-file]
#   database-url  postgresql://user:password@host:port/database (the role needs CREATEDB)
#   backup-file   where the dump is written (default: a temporary file, removed afterwards)
#   --keep        keep the restored database (its name is printed) instead of dropping it
# Exit status: 0 when every count matches, 1 on a mismatch, 2 on a usage or tool error.
# Needs pg_dump, pg_restore and psql no older than the server.
set -euo pipefail

keep=false
args=()
for arg in "$@"; do
  case "$arg" in
    --keep) keep=true ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done
url=${args[0]:-}
file=${args[1]:-}
fail() { echo "backup-restore-check: $*" >&2; exit 2; }
[[ "$url" =~ ^postgres(ql)?:// ]] || fail "usage: $0 [--keep] postgresql://user:password@host:port/database [backup-file]"
for tool in pg_dump pg_restore psql; do
  command -v "$tool" >/dev/null || fail "$tool not found (install the PostgreSQL client tools)"
done

workdir=$(mktemp -d)
restored=""
coproc_pid=""
cleanup() {
  [ -n "$coproc_pid" ] && kill "$coproc_pid" 2>/dev/null || true
  if [ -n "$restored" ] && [ "$keep" = false ]; then
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "DROP DATABASE IF EXISTS \"$restored\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
[ -n "$file" ] || file="$workdir/backup.dump"

# Rows per table of the public schema, as "table count" lines, in one statement (so in one snapshot).
COUNTS_SQL="SELECT table_name || ' ' || (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
 ORDER BY table_name"

# The source is counted inside the very snapshot pg_dump takes (an exported snapshot, held open by a
# psql session until the dump is written), so the check holds while the application keeps writing.
coproc SOURCE { psql -X -q -A -t -v ON_ERROR_STOP=1 "$url" 2>&1; }
coproc_pid=$SOURCE_PID
to_source() { printf '%s\n' "$1" >&"${SOURCE[1]}"; }
from_source() {
  local line said=""
  while IFS= read -r -t 60 line <&"${SOURCE[0]}"; do
    [ "$line" = "--end--" ] && return 0
    printf '%s\n' "$line"
    said="$line"
  done
  fail "the source database did not answer${said:+: $said}"
}
to_source "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
to_source "SELECT pg_export_snapshot();"
to_source "SELECT '--end--';"
snapshot=$(from_source)
[[ "$snapshot" =~ ^[0-9A-F-]+$ ]] || fail "could not open a snapshot of the source: $snapshot"
to_source "$COUNTS_SQL;"
to_source "SELECT '--end--';"
from_source >"$workdir/source.counts"
grep -q ' ' "$workdir/source.counts" || fail "could not count the source's rows: $(cat "$workdir/source.counts")"

pg_dump --snapshot="$snapshot" --format=custom --no-owner --file="$file" "$url" || fail "pg_dump failed"
to_source "COMMIT;"
to_source '\q'
wait "$coproc_pid" 2>/dev/null || true
coproc_pid=""

restored="restore_check_$(date +%Y%m%d%H%M%S)_$$"
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE \"$restored\"" >/dev/null || fail "could not create $restored"
# The same URL with the database name replaced (user, password, host and parameters kept).
restored_url=$(sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$restored#" <<<"$url")
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$restored_url" "$file" || fail "pg_restore failed"
psql -X -q -A -t -v ON_ERROR_STOP=1 "$restored_url" -c "$COUNTS_SQL" >"$workdir/restored.counts"

tables=$(wc -l <"$workdir/source.counts")
echo "backup: $file ($(du -h "$file" | cut -f1)), restored into $restored"
printf '%-32s %12s %12s\n' table source restored
LC_ALL=C join -a1 -a2 -e missing -o 0,1.2,2.2 <(LC_ALL=C sort "$workdir/source.counts") <(LC_ALL=C sort "$workdir/restored.counts") |
  while read -r table source copy; do printf '%-32s %12s %12s\n' "$table" "$source" "$copy"; done
if ! diff -q "$workdir/source.counts" "$workdir/restored.counts" >/dev/null; then
  echo "MISMATCH: the restored database differs from the source (see the table above)" >&2
  exit 1
fi
if [ "$keep" = true ]; then echo "kept the restored database: $restored"; fi
echo "OK: $tables tables, every row count matches"
