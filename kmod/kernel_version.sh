#!/usr/bin/env bash
# Prints the kernel version the VM harness boots (vm/run_in_vm.sh's rule:
# VIGIL_VM_KERNEL, else the newest /boot/vmlinuz-* that has /lib/modules),
# which is the one the module must be built for.
set -euo pipefail
if [[ -n "${VIGIL_VM_KERNEL:-}" ]]; then
  echo "${VIGIL_VM_KERNEL##*/vmlinuz-}"
  exit 0
fi
while read -r image; do
  version="${image#/boot/vmlinuz-}"
  if [[ -d "/lib/modules/$version/kernel" ]]; then
    echo "$version"
    exit 0
  fi
done < <(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r)
echo "kernel_version.sh: no /boot/vmlinuz-* with /lib/modules (install linux-image-amd64)" >&2
exit 1
