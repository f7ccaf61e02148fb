#!/bin/sh
# Applies the sql/NNN_*.sql files the database has not seen yet, in file-name
# order, each in one transaction together with its schema_migrations row.
# Running it twice is a no-op. Connection settings come from the usual libpq
# environment (PGHOST, PGPORT, PGUSER, PGDATABASE) or from arguments passed
# through to psql, e.g.  sql/migrate.sh -h /tmp -p 5433 -d ingest
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q "$@" -c "CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())"

applied=$(psql_q "$@" -At -c "SELECT version FROM schema_migrations ORDER BY version")
count=0
for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
    [ -e "$f" ] || continue
    base=$(basename "$f")
    version=$(echo "$base" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
    if printf '%s\n' $applied | grep -qx "$version"; then
        continue
    fi
    echo "migrate: applying $base"
    psql_q "$@" --single-transaction -f "$f" \
        -c "INSERT INTO schema_migrations (version, name) VALUES ($version, '$base')"
    count=$((count + 1))
done
current=$(psql_q "$@" -At -c "SELECT coalesce(max(version), 0) FROM schema_migrations")
echo "migrate: $count applied, schema version $current"
