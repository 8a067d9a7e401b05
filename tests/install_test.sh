#!/usr/bin/env bash
# make install into a temporary prefix, build tools/examples/backend_check.cpp
# against it with pkg-config (as another project would), run it on the golden suite.
set -euo pipefail
cxx=${1:-g++}
build=${2:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
MAKEFLAGS= make -s install PREFIX="$prefix" BUILD="$build" CXX="$cxx" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
"$cxx" ${EXTRA_FLAGS:-} tools/examples/backend_check.cpp $(pkg-config --cflags --libs allconv) -o "$prefix/backend_check"
"$prefix/backend_check" data/golden
echo "install-test: 1 passed, 0 failed"
