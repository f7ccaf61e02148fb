#!/bin/sh
# Installs the Debian packages mod_ingest builds, runs and tests with, when
# any is missing. As root it runs apt-get; otherwise it names what to install.
# The browser tests (t/browser/) need Debian's chromium, and node with npm for
# playwright-core and axe-core (package-lock.json; scripts/test.sh runs npm ci).
set -eu
PKGS="apache2 apache2-dev libapr1-dev libaprutil1-dev libaprutil1-dbd-pgsql libpq-dev
postgresql postgresql-client libjansson-dev libjwt-dev libssl-dev libcsv-dev libyajl-dev libcurl4-openssl-dev
check autoconf automake libtool pkg-config make gcc perl openssl curl valgrind
clang libclang-rt-14-dev strace chromium redis-server"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm by command, not by package: a nodejs from elsewhere (one that
# bundles npm and conflicts with Debian's npm package) does as well.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: install them with: sudo apt-get install$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Debian's postinst scripts would start the packaged apache2 and PostgreSQL
# services; this project runs its own private instances instead.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
[ "$created_policy" = 1 ] && rm -f "$policy"
exit 0
