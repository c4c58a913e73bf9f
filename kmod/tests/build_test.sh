#!/usr/bin/env bash
# Host twin of kmod_test_vm: the module built here must be for the kernel
# the VM harness boots (vermagic), be GPL, and carry the module's
# parameters. Loading it needs CONFIG_MODULES, which this host lacks; the
# VM twin loads and exercises it.
set -euo pipefail
ko="$1"
want="$(kmod/kernel_version.sh)"
vermagic="$(modinfo -F vermagic "$ko")"
[[ "${vermagic%% *}" == "$want" ]] || { echo "FAIL vermagic '$vermagic', VM boots $want" >&2; exit 1; }
[[ "$(modinfo -F license "$ko")" == GPL ]] || { echo "FAIL license" >&2; exit 1; }
for p in watched_processes watches hooks_enabled notification_fds; do
  modinfo -F parm "$ko" | grep -q "^$p:" || { echo "FAIL no parameter $p" >&2; exit 1; }
done
echo "rlimit_noti.ko: vermagic $vermagic (the VM's kernel), GPL"
echo "1 passed, 0 failed"
