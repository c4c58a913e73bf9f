#!/bin/sh
# Runs inside the VM harness: the RFC's open() experiment (bench/fd_watch_bench)
# with rlimit_noti.ko loaded, so that vigild's fd watch goes through the
# module (its exact backend); no watch vs that watch in the same run.
#   vm/run_in_vm.sh kmod/bench/vigild_watch_bench.sh MODULE.ko FD_WATCH_BENCH [ARGS...]
set -eu
ko=$(readlink -f "$1")
bench=$(readlink -f "$2")
shift 2
insmod "$ko"
# The bench finds vigild in its runfiles, relative to the working directory.
[ -d "$bench.runfiles/vigil" ] && cd "$bench.runfiles/vigil"
"$bench" "$@"
