#!/bin/sh
# The whole test suite: installs missing Debian packages (as root), builds
# the module and the unit tests (plain and ASan+UBSan), checks that every
# directive is documented, then runs everything through prove: the C unit
# tests, the integration tests against a real httpd and private PostgreSQL
# clusters, and the fuzz targets for FUZZ_SECONDS (30) each (t/fuzz/fuzz.t,
# skipped without clang and libFuzzer). The last lines are prove's summary.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/deps.sh"
"$top/scripts/build.sh"
make -s t/unit/unit_core t/unit/unit_core_san
if [ -x "$top/scripts/check-directives.sh" ]; then
    "$top/scripts/check-directives.sh"
fi

# Temp directories must be reachable by the postgres and www-data users the
# harness runs the database and httpd children as when it runs as root.
export TMPDIR=${TMPDIR:-/tmp}
exec prove -j2 "$@" t/unit/unit_core t/unit/unit_core_san t/unit/valgrind.t t/integration/*.t t/fuzz/fuzz.t
