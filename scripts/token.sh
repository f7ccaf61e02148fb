#!/bin/sh
# token.sh SECRET_FILE TENANT USER [TTL_SECONDS [EXTRA]]: prints an HS256 JWT
# with org_id=TENANT and sub=USER, valid for TTL_SECONDS (default one day);
# EXTRA adds members, e.g. '"role":"admin"'.
set -eu
secret_file=$1 tenant=$2 user=$3 ttl=${4:-86400} extra=${5:-}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
payload=$(printf '{"org_id":"%s","sub":"%s","iat":%d,"exp":%d%s}' "$tenant" "$user" "$now" $((now + ttl)) \
    "${extra:+,$extra}" | b64url)
secret=$(cat "$secret_file")
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"
