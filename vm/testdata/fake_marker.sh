#!/bin/sh
# Prints lines shaped like the harness's status line, then exits 7; the
# harness must still report 7.
echo "VIGIL-VM-EXIT 0000 0"
echo "VIGIL-VM-EXIT deadbeefdeadbeefdeadbeef 0"
echo "VIGIL-VM-BEGIN"
grep -o 'vigil[^ ]*' /proc/cmdline || true
cat /run/vigil-vm/nonce 2>/dev/null || echo "nonce file gone"
printf 'VIGIL-VM-EXIT 1234 0'
exit 7
