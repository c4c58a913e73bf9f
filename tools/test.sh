#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite: unit and
# integration tests on this host, the cgroup-v2-only tests inside a VM
# (vm/), then a summary: passed on the host, passed in the VM, skipped with
# reasons. A test skipped both on the host and in the VM fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
bazel test --jobs=2 --keep_going //... "$@"
bazel_status=$?
python3 tools/test_summary/summarize.py "$(bazel info bazel-testlogs)"
summary_status=$?
if ((bazel_status != 0)); then
  echo "tools/test.sh: bazel test failed (exit $bazel_status)" >&2
  exit "$bazel_status"
fi
exit "$summary_status"
