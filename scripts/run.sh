#!/bin/sh
# Starts mod_ingest for development on 127.0.0.1:8080 (INGEST_PORT to
# change): installs missing Debian packages (as root), builds, starts a
# private PostgreSQL cluster under ./state, applies the migrations, prints a
# demo token with curl examples, and runs httpd in the foreground. Ctrl-C
# stops httpd and the database.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
port=${INGEST_PORT:-8080}
pgport=${INGEST_PGPORT:-54329}
state="$top/state"

"$top/scripts/deps.sh"
"$top/scripts/build.sh"

mkdir -p "$state/run" "$state/logs" "$state/htdocs"
pgdata="$state/pg"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$state"; then
    # The postgres user cannot reach the checkout (a home directory that is
    # not world-searchable): keep the cluster where it can, linked from here.
    alt="/var/tmp/mod_ingest-$(printf '%s' "$top" | md5sum | cut -c1-12)"
    mkdir -p "$alt"
    chmod 755 "$alt"
    [ -L "$pgdata" ] || { rm -rf "$pgdata"; ln -s "$alt/pg" "$pgdata"; }
    pgdata="$alt/pg"
fi
# Uploads are written by httpd's children, as www-data when started as root.
storage="$state/storage"
if [ "$(id -u)" -eq 0 ]; then
    if ! runuser -u www-data -- test -x "$state"; then
        alt="/var/tmp/mod_ingest-$(printf '%s' "$top" | md5sum | cut -c1-12)"
        mkdir -p "$alt" && chmod 755 "$alt"
        [ -L "$storage" ] || { rm -rf "$storage"; ln -s "$alt/storage" "$storage"; }
        storage="$alt/storage"
    fi
    mkdir -p "$storage"
    chown www-data:www-data "$storage"
else
    mkdir -p "$storage"
fi
"$top/scripts/pg.sh" init "$pgdata"
"$top/scripts/pg.sh" start "$pgdata" "$pgport"
stop_all() {
    [ -n "${httpd_pid:-}" ] && kill -TERM "$httpd_pid" 2>/dev/null && wait "$httpd_pid" 2>/dev/null
    "$top/scripts/pg.sh" stop "$pgdata" || true
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=ingest PGDATABASE=ingest "$top/sql/migrate.sh"

for f in jwt.secret upload.secret; do
    [ -s "$state/$f" ] || { umask 077; openssl rand -hex 32 >"$state/$f"; }
done
printf 'id,name,amount\n1,"Ada, Countess",12.50\n2,Grace,7\n3,"Line ""quoted""",3.25\n' >"$state/sample.csv"
[ -s "$state/callback.secret" ] || { umask 077; printf 'whsec_%s\n' "$(openssl rand -base64 32)" >"$state/callback.secret"; }

user_group=""
if [ "$(id -u)" -eq 0 ]; then
    user_group="User www-data
Group www-data"
fi
perl "$top/scripts/render-conf.pl" "$top/conf/httpd.conf.in" "$state/httpd.conf" \
    STATE="$state" PORT="$port" ERROR_LOG="/dev/stderr" LOG_LEVEL="warn ingest:info" \
    USER_GROUP="$user_group" MODULES="$(apxs -q LIBEXECDIR)" MODULE="$top/mod_ingest/.libs/mod_ingest.so" \
    PGHOST=127.0.0.1 PGPORT="$pgport" PGDATABASE=ingest PGUSER=ingest HTDOCS="$state/htdocs" DASHBOARD="$top/htdocs" STORAGE="$storage" \
    EXTRA="IngestProcessor parse
IngestCallbackSecret file:$state/callback.secret
IngestJWTAdminClaim role admin
IngestMockDataset $top/data/mock_jobs.json
LoadModule socache_shmcb_module $(apxs -q LIBEXECDIR)/mod_socache_shmcb.so
IngestStatusCache shmcb:ingest-status(4194304)"
/usr/sbin/apache2 -t -f "$state/httpd.conf" -d "$state" >/dev/null

token=$("$top/scripts/token.sh" "$state/jwt.secret" demo demo-user 86400 '"role":"admin"')
other=$("$top/scripts/token.sh" "$state/jwt.secret" other-org someone 86400)
base="http://127.0.0.1:$port"
cat <<EOT

mod_ingest is starting on $base (database: 127.0.0.1:$pgport, state in $state)

Dashboard (signs this browser tab in as the demo user):
  $base/ingest/#token=$token

Demo token (tenant "demo", user "demo-user", role admin, valid 24 h):
  export TOKEN=$token
A token of another tenant ("other-org"), to see isolation:
  export OTHER=$other

Try:
  curl -s $base/api/ingest/health
  # a file ingestion: init, then PUT the file to the presigned upload_url
  SIZE=\$(wc -c < $state/sample.csv)
  INIT=\$(curl -s -X POST $base/api/ingest/init -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -d "{\\"filename\\":\\"sample.csv\\",\\"file_type\\":\\"csv\\",\\"file_size\\":\$SIZE}")
  JOB=\$(echo "\$INIT" | sed 's/.*"job_id":"\([^"]*\)".*/\\1/')
  UPLOAD=\$(echo "\$INIT" | sed 's/.*"upload_url":"\([^"]*\)".*/\\1/')
  curl -s -X PUT --data-binary @$state/sample.csv "$base\$UPLOAD"
  curl -s $base/api/ingest/status/\$JOB -H "Authorization: Bearer \$TOKEN"   # parsed: records, columns, preview
  curl -sN "$base/api/ingest/events?job_id=\$JOB" -H "Authorization: Bearer \$TOKEN"  # its events (SSE), then it ends
  curl -s "$base/api/ingest/jobs?limit=5" -H "Authorization: Bearer \$TOKEN"
  curl -s $base/api/ingest/stats -H "Authorization: Bearer \$TOKEN"
  curl -s $base/api/ingest/status/\$JOB -H "Authorization: Bearer \$OTHER"     # 404: not your tenant's
  curl -s -X POST $base/api/ingest/init -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -d '{"filename": }'                # 400 with line and column
  # mappings (seed 002): processed in batches of 5 by simulated external calls
  MAP=\$(curl -s -X POST $base/api/ingest/json -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"priority":"HIGH","mappings":[{"id":"m1","source":"crm","target":"erp"},{"id":"m2","source":"crm","target":"dw"}]}' \\
       | sed 's/.*"job_id":"\([^"]*\)".*/\\1/')
  curl -s $base/api/ingest/status/\$MAP/results -H "Authorization: Bearer \$TOKEN"
  curl -s -X DELETE $base/api/ingest/\$JOB -H "Authorization: Bearer \$TOKEN" -w '%{http_code}\\n'
  # ML job metadata (seed 003): load the bundled 30 jobs (admin), then ask what they cost
  curl -s -X POST $base/api/admin/ingest/jobs/mock -H "Authorization: Bearer \$TOKEN"
  curl -s "$base/api/analytics/cost/by-model?start=2026-01-01&end=2026-01-14" -H "Authorization: Bearer \$TOKEN"
  curl -s "$base/api/analytics/cost/by-team?start=2026-01-03&end=2026-01-04" -H "Authorization: Bearer \$TOKEN"
  curl -s "$base/api/analytics/jobs?team=recsys&limit=5" -H "Authorization: Bearer \$TOKEN"

The worker parses uploaded files for real (IngestProcessor parse). An external
pipeline reports through the signed callback instead; to play one on a job
waiting for its upload:
  $top/scripts/callback.sh $base $state/callback.secret \$JOB completed '"records_processed":42,"total_items":42'

Press Ctrl-C to stop.
EOT
/usr/sbin/apache2 -f "$state/httpd.conf" -d "$state" -DFOREGROUND &
httpd_pid=$!
wait "$httpd_pid"
