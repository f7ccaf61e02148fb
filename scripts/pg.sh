#!/bin/sh
# A private PostgreSQL cluster for development and tests, never the system
# one: pg.sh init|start|stop|destroy DATADIR PORT
#   init     initdb with a superuser "ingest" (trust auth, loopback only)
#   start    start it on 127.0.0.1:PORT and create database "ingest"
#   stop     fast shutdown
#   destroy  stop and remove DATADIR
# PostgreSQL refuses to run as root; as root the cluster belongs to the
# "postgres" system user the Debian package creates.
set -eu
cmd=$1 data=$2 port=${3:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
init)
    if [ -f "$data/PG_VERSION" ]; then exit 0; fi
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    as_owner "$bindir/initdb" -D "$data" -U ingest -A trust -E UTF8 --locale=C.UTF-8 ${PG_NOSYNC:+--no-sync} >"$data.init.log" 2>&1 \
        || { cat "$data.init.log" >&2; exit 1; }
    ;;
start)
    opts="-p $port -c listen_addresses=127.0.0.1 -k $data -c max_connections=200"
    [ -n "${PG_NOSYNC:-}" ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # more server settings, e.g. PG_OPTS="-c shared_buffers=1GB" (benchmarks)
    [ -n "${PG_OPTS:-}" ] && opts="$opts $PG_OPTS"
    as_owner "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -o "$opts" -w -t 60 start >/dev/null \
        || { tail -n 20 "$data/server.log" >&2; exit 1; }
    if ! psql -X -h 127.0.0.1 -p "$port" -U ingest -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'ingest'" | grep -q 1; then
        psql -X -q -h 127.0.0.1 -p "$port" -U ingest -d postgres -c "CREATE DATABASE ingest"
    fi
    ;;
stop)
    [ -f "$data/postmaster.pid" ] || exit 0
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    ;;
destroy)
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$data" "$data.init.log"
    ;;
*)
    echo "usage: pg.sh init|start|stop|destroy DATADIR [PORT]" >&2
    exit 2
    ;;
esac
