#!/usr/bin/env bash
# make test: the GoogleTest binary, split into SHARDS parts run side by side
# (GoogleTest's own sharding: GTEST_TOTAL_SHARDS, GTEST_SHARD_INDEX), each with
# a temporary folder of its own; the logs are printed one after the other.
#   tools/run_tests.sh TESTS_BINARY SHARDS [RUN...]
set -uo pipefail
binary=$1
shards=$2
shift 2
# Directly under /tmp when there is one, not under a possibly long $TMPDIR:
# a Windows build (under wine) cannot see files whose whole path is longer than
# 260 characters, and the golden suite's deepest file is 50 below the folder.
tmp=$(mktemp -d /tmp/allconv-tests.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < shards; i++)); do
    mkdir -p "$tmp/$i"
    TEST_TMPDIR="$tmp/$i/" GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i "$@" "$binary" >"$tmp/log$i" 2>&1 &
done
status=0
for ((i = 0; i < shards; i++)); do wait -n || status=1; done
for ((i = 0; i < shards; i++)); do cat "$tmp/log$i"; done
exit $status
