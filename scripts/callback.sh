#!/bin/sh
# callback.sh BASE_URL SECRET_FILE JOB_ID STATUS [EXTRA_JSON_MEMBERS]
# Sends a signed pipeline callback (Standard Webhooks) the way an external
# pipeline would, e.g.
#   scripts/callback.sh http://127.0.0.1:8080 state/callback.secret "$JOB" completed '"records_processed":42'
set -eu
base=$1 secret_file=$2 job=$3 status=$4 extra=${5:-}
secret=$(cat "$secret_file")
case "$secret" in
whsec_*) keyhex=$(printf '%s' "${secret#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n') ;;
*) keyhex=$(printf '%s' "$secret" | od -An -v -tx1 | tr -d ' \n') ;;
esac
id="msg_$(openssl rand -hex 12)"
ts=$(date +%s)
body="{\"job_id\":\"$job\",\"status\":\"$status\"${extra:+,$extra}}"
sig=$(printf '%s.%s.%s' "$id" "$ts" "$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$keyhex" -binary | openssl base64 -A)
curl -s -X POST "$base/api/pipeline/callback" -H 'Content-Type: application/json' \
    -H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig" \
    --data-binary "$body" -w '\n'
