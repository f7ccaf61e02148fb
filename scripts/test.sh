#!/bin/sh
# The whole test suite: installs missing Debian packages (as root), builds
# the module plain and under ASan+UBSan and the unit tests (plain and
# ASan+UBSan), checks that every directive is documented, then runs
# everything through prove: the C unit tests, the integration tests against
# a real httpd and private PostgreSQL clusters, and the integration tests
# linked under t/sanitize/ once more against the sanitized module, the
# dashboard in Debian's chromium (t/browser/, with the node packages of
# package-lock.json, installed by npm ci when node_modules is missing or
# older than the lock), and the fuzz targets for FUZZ_SECONDS (30) each
# (t/fuzz/fuzz.t, skipped without clang and libFuzzer). The last lines are
# prove's summary.
#
# scripts/test.sh --sanitize [TEST.t ...] runs only integration tests (all
# of them unless some are named) against the sanitized module.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sanitize=
if [ "${1:-}" = --sanitize ]; then
    sanitize=1
    shift
fi

"$top/scripts/deps.sh"
"$top/scripts/build.sh" --sanitize

# playwright-core and axe-core for t/browser/ (npm ci never downloads a
# browser: the tests drive Debian's chromium). With the packages installed
# the browser test may not skip for want of them: INGEST_BROWSER_REQUIRED.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
export INGEST_BROWSER_REQUIRED=1

# Temp directories must be reachable by the postgres and www-data users the
# harness runs the database and httpd children as when it runs as root.
export TMPDIR=${TMPDIR:-/tmp}

if [ -n "$sanitize" ]; then
    export INGEST_SANITIZE=1
    named=
    for a in "$@"; do
        case "$a" in *.t) named=1 ;; esac
    done
    if [ -z "$named" ]; then
        set -- "$@" t/integration/*.t
    fi
    exec prove -j2 "$@"
fi

make -s t/unit/unit_core t/unit/unit_core_san
if [ -x "$top/scripts/check-directives.sh" ]; then
    "$top/scripts/check-directives.sh"
fi
# The longest tests first, so that neither of prove's two slots is left
# with one of them alone at the end (the fuzzers, 2 min at nice 19, used to
# be that one: they take the CPU the tests beside them leave); then the
# rest in name order.
first="t/integration/26-notify.t t/integration/13-restarts.t t/integration/14-worker-faults.t t/fuzz/fuzz.t"
rest=
for f in t/sanitize/*.t t/unit/unit_core t/unit/unit_core_san t/unit/valgrind.t t/integration/*.t t/browser/*.t t/fuzz/fuzz.t; do
    case " $first " in *" $f "*) ;; *) rest="$rest $f" ;; esac
done
# shellcheck disable=SC2086
exec prove --timer -j2 "$@" $first $rest
