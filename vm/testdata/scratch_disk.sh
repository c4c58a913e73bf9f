#!/bin/sh
# Reports the scratch disk (VIGIL_VM_DISK_MB): its mount, and whether a file
# written there reads back after the caches are dropped.
echo "disk dir: ${VIGIL_VM_DISK:-unset}"
grep " ${VIGIL_VM_DISK:-/nonexistent} " /proc/mounts
echo written >"$VIGIL_VM_DISK/probe" && sync && echo 3 >/proc/sys/vm/drop_caches \
  && echo "read back: $(cat "$VIGIL_VM_DISK/probe")"
