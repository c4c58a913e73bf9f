#!/usr/bin/env bash
# Builds rlimit_noti.ko for the kernel the VM harness boots, in a scratch
# copy of the sources (kbuild writes beside its sources), and copies the
# module to OUT.
#   kmod/build.sh OUT.ko [SOURCE_DIR]
# Needs linux-headers-<version> for that kernel (tools/setup.sh installs
# linux-headers-amd64, which matches linux-image-amd64).
set -euo pipefail
out="$1"
src="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
version="$("$src/kernel_version.sh")"
kdir="/lib/modules/$version/build"
if [[ ! -e "$kdir/Makefile" ]]; then
  echo "build.sh: no kernel build tree at $kdir: install linux-headers-$version" >&2
  exit 1
fi
scratch="$(mktemp -d "${TMPDIR:-/tmp}/rlimit_noti_build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/include/linux"
cp "$src/Kbuild" "$src/rlimit_noti.c" "$scratch/"
cp "$src/include/linux/rlimit_noti.h" "$scratch/include/linux/"
if ! make -s -C "$kdir" M="$scratch" modules >"$scratch/build.log" 2>&1; then
  cat "$scratch/build.log" >&2
  exit 1
fi
# Warnings are errors: the module must build clean.
if grep -q "warning:" "$scratch/build.log"; then
  cat "$scratch/build.log" >&2
  echo "build.sh: the module built with warnings" >&2
  exit 1
fi
cp "$scratch/rlimit_noti.ko" "$out"
