#!/usr/bin/env bash
# run_in_vm.sh [--timeout=SECS] [--] BINARY [ARGS...]
#
# Boots Debian's linux-image-amd64 kernel under qemu (TCG) with the host's
# root filesystem mounted read-only over 9p, pure cgroup v2 with every
# controller enabled, PSI on and module loading possible, and runs BINARY
# inside it (chrooted into the host root). The guest's console is streamed to
# stdout; the script exits with BINARY's exit status. It always ends: a guest
# that does not finish within the timeout is killed and reported as a failure
# with the console's last lines. See vm/README.md.
#
# Exit status: BINARY's own, or (with a "vigil-vm:" message on stderr)
#   124  the guest hit the timeout and was killed
#   125  the harness could not run the guest, or the guest ended without
#        reporting an exit status (kernel panic, init failure)
#
# Optional, for benchmarks (see vm/README.md):
#   VIGIL_VM_DISK_MB=N   a blank ext4 disk of N MiB on virtio-blk, mounted
#                        read-write at /run/vigil-disk (VIGIL_VM_DISK in the
#                        guest's environment); it is discarded after the run
set -euo pipefail

readonly SELF="$(readlink -f "${BASH_SOURCE[0]}")"
# Modules needed for 9p over virtio-pci, in load order. Any of them may be
# built into the kernel instead (then modules.builtin lists it).
readonly MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
  virtio_pci 9pnet 9pnet_virtio netfs fscache 9p)
readonly CONSOLE_TAIL_LINES=30

log() { printf 'vigil-vm: %s\n' "$*" >&2; }
die() { log "$*"; exit 125; }

timeout_secs="${VIGIL_VM_TIMEOUT:-300}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --timeout=*) timeout_secs="${1#--timeout=}"; shift ;;
    --) shift; break ;;
    -*) die "unknown option $1 (usage: run_in_vm.sh [--timeout=SECS] [--] BINARY [ARGS...])" ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || die "usage: run_in_vm.sh [--timeout=SECS] [--] BINARY [ARGS...]"
[[ "$timeout_secs" =~ ^[1-9][0-9]*$ ]] || die "timeout must be a positive number of seconds, got '$timeout_secs'"

# Paths the guest replaces with its own filesystems: anything below them on
# the host is invisible inside the VM.
readonly GUEST_PRIVATE_DIRS=(/tmp /run /var/tmp /proc /sys /dev)
is_guest_private() {
  local dir
  for dir in "${GUEST_PRIVATE_DIRS[@]}"; do
    [[ "$1" == "$dir" || "$1" == "$dir"/* ]] && return 0
  done
  return 1
}

binary="$1"; shift
[[ "$binary" == /* ]] || binary="$PWD/$binary"
[[ -x "$binary" && -f "$binary" ]] || die "$binary: not an executable file"
real_binary="$(readlink -f "$binary")"
# A checkout under /tmp (CI may clone anywhere) leaves the binary or its
# runfiles' targets under a directory the guest replaces with a tmpfs. Such
# trees are shared read-only at their own path: the top directory below the
# private one (/tmp/clone/vm/x.sh -> /tmp/clone).
share_root() {
  local dir
  for dir in /tmp /run /var/tmp; do
    if [[ "$1" == "$dir"/* ]]; then
      local rest="${1#"$dir"/}"
      printf '%s/%s\n' "$dir" "${rest%%/*}"
      return 0
    fi
  done
  return 1
}
ro_dirs=()
for path in "$binary" "$real_binary"; do
  if is_guest_private "$path"; then
    root="$(share_root "$path")" \
      || die "$binary: lives under a directory the guest mounts its own proc/sysfs/devtmpfs on; put it elsewhere on the host root"
    ro_dirs+=("$root")
  fi
done
for runfiles in "${RUNFILES_DIR:-}" "$binary.runfiles"; do
  [[ -n "$runfiles" && -d "$runfiles" ]] || continue
  while IFS= read -r target; do
    root="$(share_root "$target")" && ro_dirs+=("$root")
  done < <(find "$runfiles" -type l -printf '%l\n' 2>/dev/null | grep -E '^/(tmp|run|var/tmp)/' | sort -u)
done
guest_cwd="$PWD"
is_guest_private "$guest_cwd" && guest_cwd=/

for tool in qemu-system-x86_64 cpio timeout sed; do
  command -v "$tool" >/dev/null || die "$tool not found (install qemu-system-x86 and cpio)"
done
busybox="${VIGIL_VM_BUSYBOX:-/bin/busybox}"
[[ -x "$busybox" ]] || die "$busybox not found (install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
  die "$busybox is dynamically linked; the initramfs needs busybox-static"
fi

# --- kernel -----------------------------------------------------------------
# The newest /boot/vmlinuz-* with a matching /lib/modules tree, unless
# VIGIL_VM_KERNEL names one.
pick_kernel() {
  local candidate version
  if [[ -n "${VIGIL_VM_KERNEL:-}" ]]; then
    candidate="$VIGIL_VM_KERNEL"
    version="${candidate##*/vmlinuz-}"
    [[ -r "$candidate" ]] || die "VIGIL_VM_KERNEL=$candidate is not readable"
    [[ -d "/lib/modules/$version/kernel" ]] || die "no /lib/modules/$version for VIGIL_VM_KERNEL=$candidate"
    printf '%s %s\n' "$candidate" "$version"
    return
  fi
  while read -r candidate; do
    version="${candidate#/boot/vmlinuz-}"
    if [[ -r "$candidate" && -d "/lib/modules/$version/kernel" ]]; then
      printf '%s %s\n' "$candidate" "$version"
      return
    fi
  done < <(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r)
  die "no kernel in /boot with modules in /lib/modules (install linux-image-amd64)"
}
read -r kernel kernel_version < <(pick_kernel)
moddir="/lib/modules/$kernel_version"

# --- initramfs (cached) -----------------------------------------------------
cache_root="${VIGIL_VM_CACHE:-${XDG_CACHE_HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)/.cache}/vigil-vm}"
cache_key="$( { echo "$kernel_version"; stat -c '%s %Y' "$kernel" "$busybox";
  sha256sum "$SELF"; } | sha256sum | cut -c1-16)"
initramfs="$cache_root/initramfs-$kernel_version-$cache_key.cpio"

# Writes the guest's /init. It reads its instructions from the run's scratch
# share (mounted at /run/vigil-vm inside the guest), so the initramfs itself
# is the same for every run and can be cached.
write_guest_init() {
  cat >"$1" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
halt_without_status() { echo "vigil-vm-init: $*"; poweroff -f; sleep 60; }
for m in $(cat /lib/vigil-modules/order); do
  insmod "/lib/vigil-modules/$m.ko" || halt_without_status "insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host \
  || halt_without_status "cannot mount the host root over 9p"
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /host/tmp
mount -t tmpfs -o mode=1777 tmpfs /host/var/tmp
mount -t tmpfs -o mode=755 tmpfs /host/run
mount -t cgroup2 -o nsdelegate cgroup2 /host/sys/fs/cgroup \
  || halt_without_status "cannot mount cgroup2"
for c in $(cat /host/sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/host/sys/fs/cgroup/cgroup.subtree_control \
    || echo "vigil-vm-init: cannot enable cgroup controller $c"
done
mkdir -p /host/run/vigil-vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vigilrun /host/run/vigil-vm \
  || halt_without_status "cannot mount the run's scratch share"
run=/host/run/vigil-vm
# Each line of rw_mounts: <mount tag> <guest path>.
while read -r tag path; do
  mkdir -p "/host$path"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "$tag" "/host$path" \
    || halt_without_status "cannot mount writable share $path"
done <"$run/rw_mounts"
while read -r tag path; do
  mkdir -p "/host$path"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose "$tag" "/host$path" \
    || halt_without_status "cannot mount read-only share $path"
done <"$run/ro_mounts"
# The optional scratch disk: its modules come from the host's /lib/modules.
if [ -s "$run/disk_modules" ]; then
  for m in $(cat "$run/disk_modules"); do
    insmod "/host$m" || halt_without_status "insmod $m failed"
  done
  mkdir -p /host/run/vigil-disk
  mount -t ext4 /dev/vda /host/run/vigil-disk \
    || halt_without_status "cannot mount the scratch disk"
fi
# The nonce is removed before the binary runs so that it cannot print a
# status line the host would believe.
nonce=$(cat "$run/nonce")
rm -f "$run/nonce"
. "$run/command"
printf '\nVIGIL-VM-BEGIN\n'
chroot /host "$@"
status=$?
sync
# Not necessarily at the start of a line: the binary's last line may lack
# its newline. The host strips it from the output either way.
echo "VIGIL-VM-EXIT $nonce $status"
poweroff -f
sleep 60
EOF
  chmod 755 "$1"
}

# Copies (decompressing if needed) each module in MODULES into DIR and
# writes DIR/order; modules built into the kernel are skipped.
collect_modules() {
  local dir="$1" m found
  : >"$dir/order"
  for m in "${MODULES[@]}"; do
    found="$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \
      -o -name "$m.ko.gz" | head -n1)"
    if [[ -z "$found" ]]; then
      grep -qE "/$m\.ko$" "$moddir/modules.builtin" 2>/dev/null && continue
      die "module $m not found in $moddir/kernel and not built in"
    fi
    case "$found" in
      *.ko) cp "$found" "$dir/$m.ko" ;;
      *.ko.xz) xz -dc "$found" >"$dir/$m.ko" || die "cannot decompress $found (install xz-utils)" ;;
      *.ko.zst) zstd -qdc "$found" >"$dir/$m.ko" || die "cannot decompress $found (install zstd)" ;;
      *.ko.gz) gzip -dc "$found" >"$dir/$m.ko" ;;
    esac
    echo "$m" >>"$dir/order"
  done
}

build_initramfs() {
  local root applet tmp_out
  mkdir -p "$cache_root"
  root="$(mktemp -d "$cache_root/build.XXXXXX")"
  mkdir -p "$root"/{bin,dev,proc,sys,host,lib/vigil-modules}
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  collect_modules "$root/lib/vigil-modules"
  write_guest_init "$root/init"
  mknod "$root/dev/console" c 5 1 2>/dev/null || true
  tmp_out="$(mktemp "$cache_root/initramfs.XXXXXX")"
  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$tmp_out"
  rm -rf "$root"
  mv -f "$tmp_out" "$initramfs"  # atomic: concurrent runs never see half a file
  # Images for other kernels or script versions are stale; a day's grace
  # keeps those a concurrent run of another checkout may be booting.
  find "$cache_root" -maxdepth 1 \( -name 'initramfs-*.cpio' -o -name 'initramfs.*' -o -name 'build.*' \) \
    ! -path "$initramfs" -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
}
[[ -s "$initramfs" ]] || build_initramfs

# --- the run's scratch share --------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/vigil-vm.XXXXXX")"
qemu_pid=""
cleanup() {
  [[ -n "$qemu_pid" ]] && kill -TERM "$qemu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
share="$work/share"
mkdir -p "$share/files"
readonly GUEST_RUN=/run/vigil-vm

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

nonce="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$nonce" >"$share/nonce"

# Files Bazel's test protocol asks the binary to write. The host root is
# read-only in the guest, so the guest writes them into the scratch share and
# they are copied to where the host expects them after the run.
readonly OUTPUT_FILE_VARS=(XML_OUTPUT_FILE TEST_SHARD_STATUS_FILE TEST_PREMATURE_EXIT_FILE
  TEST_INFRASTRUCTURE_FAILURE_FILE TEST_WARNINGS_OUTPUT_FILE TEST_UNUSED_RUNFILES_LOG_FILE)

guest_env=()
while IFS= read -r name; do
  case "$name" in
    TEST_*|GTEST_*|TESTBRIDGE_*|VIGIL_*|RUNFILES_*|XML_OUTPUT_FILE|JAVA_RUNFILES|PYTHON_RUNFILES|LANG|LC_*|TZ|USER|LOGNAME|TERM) ;;
    *) continue ;;
  esac
  value="${!name}"
  if [[ " ${OUTPUT_FILE_VARS[*]} " == *" $name "* ]]; then
    value="$GUEST_RUN/files/$name"
  elif [[ "$name" == TEST_TMPDIR ]] || [[ "$name" == GTEST_TMP_DIR && "$value" == "${TEST_TMPDIR:-}" ]]; then
    value=/tmp/vigil-test-tmpdir  # tmpfs: fast, and unix sockets work there
  fi
  guest_env+=("$name=$value")
done < <(compgen -e)
guest_env+=(VIGIL_IN_VM=1 HOME=/root TMPDIR=/tmp
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

# Directories shared writable at their own path: the test's undeclared outputs
# and anything listed in VIGIL_VM_RW_DIRS (colon-separated).
rw_dirs=()
for dir in "${TEST_UNDECLARED_OUTPUTS_DIR:-}" "${TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR:-}"; do
  [[ -n "$dir" ]] && rw_dirs+=("$dir")
done
IFS=: read -r -a extra_rw_dirs <<<"${VIGIL_VM_RW_DIRS:-}"
for dir in "${extra_rw_dirs[@]}"; do
  [[ -n "$dir" ]] && rw_dirs+=("$dir")
done
virtfs_args=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$share,mount_tag=vigilrun,security_model=none,multidevs=remap")
: >"$share/rw_mounts"
index=0
# Parents before children, so nested shares stack correctly.
while IFS= read -r dir; do
  [[ -n "$dir" ]] || continue
  [[ "$dir" == /* && "$dir" != *[[:space:]]* ]] || die "writable share '$dir' must be an absolute path without spaces"
  mkdir -p "$dir"
  virtfs_args+=(-virtfs "local,path=$dir,mount_tag=rw$index,security_model=none,multidevs=remap")
  printf 'rw%d %s\n' "$index" "$dir" >>"$share/rw_mounts"
  index=$((index + 1))
done < <(printf '%s\n' "${rw_dirs[@]+"${rw_dirs[@]}"}" | LC_ALL=C sort -u)
: >"$share/ro_mounts"
while IFS= read -r dir; do
  [[ -n "$dir" ]] || continue
  [[ "$dir" != *[[:space:]]* ]] || die "read-only share '$dir' must not contain spaces"
  virtfs_args+=(-virtfs "local,path=$dir,mount_tag=ro$index,security_model=none,readonly=on,multidevs=remap")
  printf 'ro%d %s\n' "$index" "$dir" >>"$share/ro_mounts"
  index=$((index + 1))
done < <(printf '%s\n' "${ro_dirs[@]+"${ro_dirs[@]}"}" | LC_ALL=C sort -u)

# The optional scratch disk (VIGIL_VM_DISK_MB) and the modules that mount it,
# in load order, skipping those built into the kernel.
readonly DISK_MODULES=(virtio_blk crc16 mbcache jbd2 crc32c_generic ext4)
: >"$share/disk_modules"
disk_args=()
if [[ -n "${VIGIL_VM_DISK_MB:-}" ]]; then
  [[ "$VIGIL_VM_DISK_MB" =~ ^[1-9][0-9]*$ ]] || die "VIGIL_VM_DISK_MB must be a positive number of MiB, got '$VIGIL_VM_DISK_MB'"
  command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found (install e2fsprogs)"
  for m in "${DISK_MODULES[@]}"; do
    found="$(find "$moddir/kernel" -name "$m.ko" | head -n1)"
    if [[ -z "$found" ]]; then
      grep -qE "/$m\.ko" "$moddir/modules.builtin" 2>/dev/null && continue
      die "module $m.ko (uncompressed) not found in $moddir/kernel and not built in"
    fi
    echo "$found" >>"$share/disk_modules"
  done
  truncate -s "${VIGIL_VM_DISK_MB}M" "$work/disk.img"
  mkfs.ext4 -q -F "$work/disk.img" || die "mkfs.ext4 failed on $work/disk.img"
  disk_args=(-drive "file=$work/disk.img,if=virtio,format=raw")
  guest_env+=(VIGIL_VM_DISK=/run/vigil-disk)
fi

{
  printf 'set -- /usr/bin/env -i'
  for kv in "${guest_env[@]}"; do printf ' %s' "$(quote "$kv")"; done
  # shellcheck disable=SC2016  # expanded inside the guest
  printf ' /bin/sh -c %s vigil-vm' "$(quote 'mkdir -p "$TEST_TMPDIR" "$HOME" 2>/dev/null; cd "$1" 2>/dev/null || cd /; shift; exec "$@"')"
  printf ' %s' "$(quote "$guest_cwd")" "$(quote "$binary")"
  for arg in "$@"; do printf ' %s' "$(quote "$arg")"; done
  printf '\n'
} >"$share/command"

# --- boot -----------------------------------------------------------------------
console="$work/console.log"
mkfifo "$work/console.fifo"
marker_re="VIGIL-VM-EXIT $nonce [0-9]+\$"
# The binary's output goes to stdout as it arrives: the console between init's
# begin line and the status line, without the tty's carriage returns. The
# full console (firmware, kernel, init) is kept for the status and the tail.
# A sed state machine; the hold space holds the state: "" before the begin
# line, "on" while passing output through, "off" after the status line.
sed -u 's/\r$//' <"$work/console.fifo" | tee "$console" | sed -u -n -E "
  x
  /^on\$/ { x; /$marker_re/ { s/$marker_re//; /^\$/!p; s/.*/off/; h; d; }; p; d; }
  /^\$/ { x; /^VIGIL-VM-BEGIN\$/ { s/.*/on/; h; }; d; }
  x; d" &
filter_pid=$!

start_us=${EPOCHREALTIME/./}
log "booting $kernel in qemu (TCG, timeout ${timeout_secs}s): $binary $*"
# --foreground keeps qemu in our process group, so whoever kills the test's
# group (Bazel at its own timeout) kills the VM too.
timeout --foreground --kill-after=5 "$timeout_secs" qemu-system-x86_64 \
  -accel tcg -cpu max -smp 2 -m 2G \
  -nographic -nodefaults -serial stdio -no-reboot \
  -kernel "$kernel" -initrd "$initramfs" \
  -append "console=ttyS0 psi=1 panic=-1 quiet" \
  "${virtfs_args[@]}" "${disk_args[@]+"${disk_args[@]}"}" </dev/null >"$work/console.fifo" 2>&1 &
qemu_pid=$!
interrupted=""
trap 'interrupted=1; kill -TERM "$qemu_pid" 2>/dev/null' TERM INT HUP
qemu_status=0
while true; do
  wait "$qemu_pid" && qemu_status=0 || qemu_status=$?
  kill -0 "$qemu_pid" 2>/dev/null || break
done
qemu_pid=""
wait "$filter_pid" || true
elapsed_ds=$(( (${EPOCHREALTIME/./} - start_us) / 100000 ))
elapsed="$((elapsed_ds / 10)).$((elapsed_ds % 10))"

print_console_tail() {
  log "last $CONSOLE_TAIL_LINES console lines:"
  tail -n "$CONSOLE_TAIL_LINES" "$console" | sed 's/^/  | /' >&2
}

if [[ -n "$interrupted" ]]; then
  log "interrupted: killed the VM"
  print_console_tail
  exit 143
fi
if [[ $qemu_status -eq 124 || $qemu_status -eq 137 ]]; then
  log "TIMEOUT: the guest did not finish within ${timeout_secs}s and was killed"
  print_console_tail
  exit 124
fi
status_line="$(grep -aoE "$marker_re" "$console" | tail -n1 || true)"
if [[ -z "$status_line" ]]; then
  log "the guest ended without reporting an exit status (qemu exit $qemu_status; kernel panic or init failure?)"
  print_console_tail
  exit 125
fi
status="${status_line##* }"

for name in "${OUTPUT_FILE_VARS[@]}"; do
  dest="${!name:-}"
  if [[ -n "$dest" && -e "$share/files/$name" ]]; then
    mkdir -p "$(dirname "$dest")" && cp -f "$share/files/$name" "$dest"
  fi
done
log "guest exit status $status after ${elapsed}s"
exit "$status"
