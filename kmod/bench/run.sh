#!/usr/bin/env bash
# The full open() bench in the VM: builds the module and the bench with
# Bazel, boots the VM harness and prints the table. Measure on a quiet host:
#   flock /tmp/vigil_quiet.lock kmod/bench/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bazel_cmd=(bazel --output_base="${VIGIL_BAZEL_OUTPUT_BASE:-/root/.cache/bazel-kmod}")
"${bazel_cmd[@]}" build --jobs=2 //kmod:open_bench //kmod:rlimit_noti_ko >&2
bin="$("${bazel_cmd[@]}" info bazel-bin 2>/dev/null)"
# The cold file lives on a scratch ext4 disk (virtio-blk), not on 9p.
VIGIL_VM_DISK_MB=64 exec vm/run_in_vm.sh --timeout=600 "$bin/kmod/open_bench" "$bin/kmod/rlimit_noti.ko"
