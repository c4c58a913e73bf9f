#!/usr/bin/env bash
# Installs every Debian package vigil needs to build, run and test.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java bazel-platforms g++ pkg-config
  liburing-dev libyaml-cpp-dev libabsl-dev libgtest-dev libgmock-dev
  # tests: the VM harness (full cgroup v2 kernel), the summary, the golden
  # comparison against the real check_procs
  qemu-system-x86 linux-image-amd64 busybox-static cpio python3
  monitoring-plugins-basic procps
  # check_vigil's passive results: Icinga 2 API over HTTPS (libcurl), the
  # real Nagios of the end-to-end test, send_nsca for NSCA targets
  libcurl4-openssl-dev nagios4-core nsca-client
  # kmod/: build rlimit_noti.ko with kbuild for the VM's kernel (headers of
  # the same version as linux-image-amd64: install both in one go) and
  # inspect it (modinfo); mkfs.ext4 for the VM's scratch disk (cold open())
  linux-headers-amd64 make kmod e2fsprogs
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
