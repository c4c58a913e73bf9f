#!/bin/sh
# Usage: quick_test.sh BENCH_BINARY ROW_REGEX...
# Runs a benchmark in quick mode; passes when it exits 0 and prints every
# ROW_REGEX as the start of a line followed by figures.
set -u
bench=$1
shift
out=$("$bench" --quick 2>&1)
status=$?
printf '%s\n' "$out"
if [ "$status" -ne 0 ]; then
  echo "FAIL: $bench --quick exited with $status" >&2
  exit 1
fi
for row in "$@"; do
  if ! printf '%s\n' "$out" | grep -Eq "^$row +[0-9.x]+"; then
    echo "FAIL: $bench --quick printed no \"$row\" row with figures" >&2
    exit 1
  fi
done
