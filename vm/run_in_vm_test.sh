#!/usr/bin/env bash
# Tests of vm/run_in_vm.sh itself: run_in_vm_test.sh CASE boots a VM with one
# of the scripts in vm/testdata and checks what the harness reports.
set -uo pipefail

vm_dir="${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE}/vm"
harness="$vm_dir/run_in_vm.sh"
scratch="$(mktemp -d "${TEST_TMPDIR}/case.XXXXXX")"
# The outer test's own protocol files must not be touched by the inner run.
unset XML_OUTPUT_FILE TEST_UNDECLARED_OUTPUTS_DIR TEST_PREMATURE_EXIT_FILE \
  TEST_SHARD_STATUS_FILE TEST_INFRASTRUCTURE_FAILURE_FILE TEST_WARNINGS_OUTPUT_FILE \
  TEST_UNUSED_RUNFILES_LOG_FILE TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_status() { [[ "$status" -eq "$1" ]] || fail "exit status $status, want $1"; }
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { fail "$1 lacks '$2'"; sed 's/^/  | /' "$1"; }
}
expect_not_in() {
  ! grep -qF -- "$2" "$1" || { fail "$1 has '$2'"; sed 's/^/  | /' "$1"; }
}
run_harness() {  # run_harness ARGS...: sets status, fills $scratch/out, $scratch/err
  "$harness" "$@" >"$scratch/out" 2>"$scratch/err"
  status=$?
  echo "--- run_in_vm.sh $* -> $status"
  cat "$scratch/out" "$scratch/err"
}

case "$1" in
  exit_status)
    run_harness "$vm_dir/testdata/exit_with.sh" 3
    expect_status 3
    expect_in "$scratch/out" "in vm: 1;"
    run_harness "$vm_dir/testdata/exit_with.sh" 0
    expect_status 0
    ;;
  timeout)
    start=$SECONDS
    VIGIL_VM_TIMEOUT=20 run_harness "$vm_dir/testdata/hang.sh"
    [[ "$status" -ne 0 ]] || fail "a hung guest made the harness exit 0"
    expect_status 124
    (( SECONDS - start < 60 )) || fail "the harness took $((SECONDS - start))s to kill a 20s guest"
    expect_in "$scratch/err" "TIMEOUT"
    expect_in "$scratch/err" "last 30 console lines"
    expect_in "$scratch/err" "hanging now"  # the console tail reaches the binary's output
    expect_in "$scratch/out" "hanging now"  # and the output streamed before the kill
    ;;
  fake_marker)
    run_harness "$vm_dir/testdata/fake_marker.sh"
    expect_status 7
    expect_in "$scratch/out" "VIGIL-VM-EXIT 0000 0"
    expect_in "$scratch/out" "nonce file gone"
    ;;
  shares_and_env)
    outputs="$scratch/outputs"
    mkdir -p "$outputs"
    cd "$vm_dir/testdata" || exit 1
    XML_OUTPUT_FILE="$scratch/xml/test.xml" TEST_UNDECLARED_OUTPUTS_DIR="$outputs" \
      GTEST_PROBE=g VIGIL_PROBE=v UNRELATED_PROBE=u \
      run_harness "$vm_dir/testdata/shares_and_env.sh" "two words" "it's" '$HOME'
    expect_status 0
    report="$outputs/guest_report.txt"
    if [[ -f "$report" ]]; then
      expect_in "$report" "VIGIL_IN_VM=1"
      expect_in "$report" "GTEST_PROBE=g"
      expect_in "$report" "VIGIL_PROBE=v"
      expect_in "$report" "UNRELATED_PROBE=unset"
      expect_in "$report" "cwd=$vm_dir/testdata"
      expect_in "$report" "arg=[two words]"
      expect_in "$report" "arg=[it's]"
      expect_in "$report" 'arg=[$HOME]'
      expect_in "$report" "tmpdir_writable=yes"
      expect_in "$report" "root_readonly=yes"
    else
      fail "the guest's report did not come back through TEST_UNDECLARED_OUTPUTS_DIR"
    fi
    [[ -f "$scratch/xml/test.xml" ]] || fail "the guest's XML_OUTPUT_FILE was not copied back"
    ;;
  scratch_disk)
    VIGIL_VM_DISK_MB=16 run_harness "$vm_dir/testdata/scratch_disk.sh"
    expect_status 0
    expect_in "$scratch/out" "disk dir: /run/vigil-disk"
    expect_in "$scratch/out" "/dev/vda /run/vigil-disk ext4 rw"
    expect_in "$scratch/out" "read back: written"
    VIGIL_VM_DISK_MB=lots run_harness "$vm_dir/testdata/scratch_disk.sh"
    expect_status 125
    expect_in "$scratch/err" "VIGIL_VM_DISK_MB must be a positive number of MiB"
    ;;
  *) echo "unknown case $1"; exit 2 ;;
esac

rm -rf "$scratch"
[[ $failures -eq 0 ]] && echo "PASS: $1" || { echo "$failures failure(s) in $1"; exit 1; }
