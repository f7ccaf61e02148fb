#!/bin/sh
# Builds mod_ingest in the source tree (autogen + configure on first use).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
[ -f Makefile ] || ./configure >/dev/null
make -s
