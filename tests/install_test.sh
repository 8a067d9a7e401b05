#!/usr/bin/env bash
# make install into a temporary prefix, build tools/examples/backend_check.cpp
# against it with pkg-config (as another project would), run it on the golden suite.
#   tests/install_test.sh CXX BUILD     (RUN: how to start a cross-built program,
#                                        LDLIBS: extra link flags, as in the Makefile)
set -euo pipefail
cxx=${1:-g++}
build=${2:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
MAKEFLAGS= make -s install PREFIX="$prefix" BUILD="$build" CXX="$cxx" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046,SC2086
"$cxx" ${EXTRA_FLAGS:-} tools/examples/backend_check.cpp $(pkg-config --cflags --libs allconv) ${LDLIBS:-} -o "$prefix/backend_check"
bin="$prefix/backend_check"
[ -f "$bin.exe" ] && bin="$bin.exe" # MinGW names its programs .exe
# shellcheck disable=SC2086
${RUN:-} "$bin" data/golden
echo "install-test: 1 passed, 0 failed"
