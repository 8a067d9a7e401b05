#!/usr/bin/env bash
# make deps (run by make test): what the tests need, installed when this user
# may install packages (root, or sudo without a password), otherwise the one
# command to run is printed.
#   libgtest-dev            GoogleTest (headers, library and sources): required
#   dataset-fashion-mnist   Fashion-MNIST: the dataset tests skip without it
set -uo pipefail

gtest=${GTEST:-system}
gtest_src=${GTEST_SRC:-/usr/src/googletest/googletest}
need=()
if [ "$gtest" = source ]; then
    [ -f "$gtest_src/src/gtest-all.cc" ] || need+=(libgtest-dev)
else
    [ -f /usr/include/gtest/gtest.h ] || [ -f /usr/local/include/gtest/gtest.h ] || need+=(libgtest-dev)
fi
optional=()
[ -d /usr/share/datasets/fashion-mnist ] || optional+=(dataset-fashion-mnist)
[ ${#need[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
fi
if [ "$sudo" != none ] && command -v apt-get >/dev/null; then
    pkgs=("${need[@]}" "${optional[@]}")
    echo "deps: installing ${pkgs[*]} (apt-get)"
    if $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1 ||
       { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null; }; then
        exit 0
    fi
    echo "deps: apt-get could not install ${pkgs[*]}"
fi
if [ ${#optional[@]} -gt 0 ]; then
    echo "deps: Fashion-MNIST is missing; its tests will be skipped. To run them: sudo apt-get install dataset-fashion-mnist"
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "deps: GoogleTest is missing. Install it with:  sudo apt-get install libgtest-dev"
    exit 1
fi
exit 0
