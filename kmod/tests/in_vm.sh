#!/bin/sh
# Runs inside the VM harness (Debian kernel with module loading):
#   in_vm.sh MODULE.ko NOTI_TEST [BENCH]
# noti_test loads the module itself, runs every case and unloads it; then
# the kernel log of the whole run must hold no WARN, BUG, oops or lockdep
# report, and the kernel must not have been tainted by one (W, D).
set -u
ko="$1"
noti_test="$2"

dmesg -C
tainted_before=$(cat /proc/sys/kernel/tainted)
"$noti_test" "$ko"
status=$?

log=$(dmesg)
printf '%s\n' "$log" | grep rlimit_noti
splats=$(printf '%s\n' "$log" | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|possible (circular|recursive) locking|INFO: task .* blocked|rcu.* stall|UBSAN|list_(add|del) corruption|refcount_t:|scheduling while atomic|sleeping function called')
if [ -n "$splats" ]; then
  echo "FAIL kernel log: a splat during the run:" >&2
  printf '%s\n' "$log" >&2
  status=1
fi
tainted_after=$(cat /proc/sys/kernel/tainted)
# bit 9 W (a WARN fired), bit 7 D (the kernel died: oops/BUG)
if [ $(( (tainted_after & ~tainted_before) & ((1 << 9) | (1 << 7)) )) -ne 0 ]; then
  echo "FAIL kernel taint went from $tainted_before to $tainted_after (W or D)" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "kernel log: no WARN, BUG, oops or lockdep report; taint $tainted_after (out-of-tree, unsigned module only)"
exit "$status"
