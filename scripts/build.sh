#!/bin/sh
# Builds mod_ingest in the source tree (autogen + configure on first use);
# with --sanitize also the ASan+UBSan build of the module in build-san/,
# which the integration tests load under INGEST_SANITIZE=1.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
[ -f Makefile ] || ./configure >/dev/null
make -s
if [ "${1:-}" = --sanitize ]; then
    make -s san-module
fi
