#!/bin/sh
# Writes what the guest sees into the writable shares: the environment the
# harness passed through, the cwd, and the arguments.
out="$TEST_UNDECLARED_OUTPUTS_DIR/guest_report.txt"
{
  echo "VIGIL_IN_VM=${VIGIL_IN_VM:-}"
  echo "GTEST_PROBE=${GTEST_PROBE:-}"
  echo "VIGIL_PROBE=${VIGIL_PROBE:-}"
  echo "UNRELATED_PROBE=${UNRELATED_PROBE:-unset}"
  echo "cwd=$(pwd)"
  for arg in "$@"; do echo "arg=[$arg]"; done
  echo "tmpdir_writable=$(touch "$TEST_TMPDIR/x" && echo yes)"
  echo "root_readonly=$(touch /vigil-vm-probe 2>/dev/null && echo no || echo yes)"
} >"$out"
echo '<?xml version="1.0"?><testsuites tests="0"/>' >"$XML_OUTPUT_FILE"
echo "wrote $out"
