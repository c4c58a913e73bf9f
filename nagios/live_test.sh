#!/bin/bash
# Live golden comparison: spawns a controlled set of processes (renamed
# copies of sleep, a zombie, a stopped process, a niced one, one owned by
# nobody, a 200 MiB resident process, a CPU burner, a parent with two
# children), then runs the real check_procs and check_vigil back to back on
# the live system for each case and diffs stdout, stderr and exit code.
#
# Cases are restricted by -C/-a/-u/-p to the controlled processes. Values
# that move between two runs (elapsed seconds ticking, lifetime %CPU, other
# processes on the host forking) are the only nondeterminism, so a case may
# be retried; a systematic difference fails every attempt.
set -u
REAL=/usr/lib/nagios/plugins/check_procs
VIGIL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

if [[ ! -x "$REAL" ]]; then
  echo "FAIL: $REAL not found; the live test needs the reference plugin:" >&2
  echo "      apt-get install monitoring-plugins-basic" >&2
  exit 1
fi

WORK="$(mktemp -d)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
  # The vgparent's children are ours too; collect them before it dies.
  for pid in "${PIDS[@]}"; do
    PIDS+=($(cat /proc/"$pid"/task/*/children 2>/dev/null))
  done
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

cp /bin/sleep "$WORK/vgfake"
cp /bin/sleep "$WORK/vgaveryveryverylongname"
cp /bin/bash "$WORK/vgparent"
cp /bin/bash "$WORK/vgburn"
cp /usr/bin/perl "$WORK/vghog"
cp /bin/sleep "$WORK/vgzombiekeeper"

spawn() { "$@" >/dev/null 2>&1 </dev/null & PIDS+=($!); }
spawn "$WORK/vgfake" 71001
spawn "$WORK/vgfake" 71001
spawn setsid "$WORK/vgfake" 71001
spawn setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/vgfake" 71002
spawn nice -n 5 "$WORK/vgfake" 71005
spawn "$WORK/vgaveryveryverylongname" 71006
spawn "$WORK/vgfake" 71004
STOPPED=$!
kill -STOP "$STOPPED"
# The child exits at once and is never reaped: exec'ed sleep does not wait.
spawn bash -c "\"$WORK/vgfake\" 0 & exec \"$WORK/vgzombiekeeper\" 71003"
ZPARENT=$!
spawn "$WORK/vgparent" -c "\"$WORK/vgfake\" 71008 & \"$WORK/vgfake\" 71008 & wait"
PARENT=$!
spawn "$WORK/vghog" -e '$x = "a" x (200*1024*1024); sleep 600' vgmem
spawn "$WORK/vgburn" -c 'while :; do :; done' vgcpu
# Let the hog touch its pages, the zombie die and the burner accumulate CPU.
for _ in $(seq 50); do
  rss=$(awk '/VmRSS/ {print $2}' /proc/"${PIDS[9]}"/status 2>/dev/null)
  [[ ${rss:-0} -gt 200000 ]] && break
  sleep 0.1
done
sleep 1.2

CASES="$WORK/cases"
cat >"$CASES" <<CASES_EOF
1 -C vgfake
1 -C vgfake -w 1:3 -c 1:20
1 -C vgfake -w 1 -c 2
1 -C vgfake -w 20 -c 30
1 -C vgfake -c 1:
1 -C vgaveryveryverylongname
1 -C vgaveryveryverylo
1 -C vgaveryveryverylo -vv
1 -C $WORK/vgfake
1 -a 71001
1 -a 'vgfake 71001' -w 3:3
1 -a 'vgfake 71001' -w 2:2 -c 1:5
1 -a 'vgfake 71001' -c @3
1 -a 'vgfake 71001' -c '~:2'
1 -a 'vgfake 71001' -vv
1 -a 71001 -a 71002
1 --argument-array=71008
1 --ereg-argument-array='vgfake 7100[12]'
1 --ereg-argument-array='^$WORK/vgfake 7100[12]\$'
1 --ereg-argument-array='(71001|71002)' -w 4
1 --ereg-argument-array='defunct' -C vgfake
1 -s Z -C vgfake
1 -s Z -C vgfake -vv
1 -s T -C vgfake
1 -s T -C vgfake -vv
1 -s Ss -C vgfake
1 -s N -C vgfake
1 -s SN -C vgfake -vv
1 -s s -C vgfake
1 -s ZT -C vgfake
1 -p $PARENT
1 -p $PARENT -C vgfake -w 2:2
1 -p $PARENT -vv
1 --ppid=$ZPARENT
1 --ppid=$ZPARENT -vv
1 -u nobody -C vgfake
1 -u 65534 -C vgfake -c 1:1
1 -u nobody -C vgfake -vv
1 -u root -C vgfake
1 -u 0 -a 71001
1 -u root -u nobody -C vgfake
1 -C vghog -r 100000
1 -C vghog -r 100000 -z 100000
1 -C vgfake -z 1
1 -C vgfake -r 999999
1 -m RSS -C vghog -w 100000 -c 1000000 -v
1 -m RSS -C vghog -w 100000 -c 200000 -v
1 -m VSZ -C vghog -w 100000 -v
1 -m VSZ -C vgfake -w 1000 -c 100000 -v
1 -m CPU -C vgburn -w 10 -c 20 -v
1 -m CPU -C vgburn -w 10 -c 200 -v
1 -m CPU -C vgfake -w 50
1 -P 30 -C vgburn
1 -P 30 -a vgcpu
1 -m ELAPSED -C vgfake -w 86400 -c 172800
1 -m ELAPSED -C vgfake -w 0 -c 86400 -v
1 -m ELAPSED -C vgfake -w 1000 -c 1 -v
1 -m PROCS -C vgfake -w 3 -c 20 -v
1 -C vgfake 5 10
1 -C vgfake 5 10 Z
1 -C vgfake 20 30 T
1 -C vgfake -k
1 -k -C kthreadd
1 -C kthreadd
1 -k -C systemd
1 -T -C vgfake
1 -C check_procs
1 -T -C check_procs
1 -C ps
1 -a axwwo
1 -C vgfake -t 5
1 -C vgfake --traditional
1 -C vgfake --no-kthreads=yes
5 -w 100000 -c 100000
5 -k -w 100000
5 -s Z
CASES_EOF

run_case() {
  local plugin="$1" prefix="$2" args="$3"
  PLUGIN="$plugin" bash -c 'P() { exec -a check_procs "$PLUGIN" "$@"; }; P '"$args" \
    >"$prefix.out" 2>"$prefix.err"
  echo $? >"$prefix.rc"
}

same() { cmp -s "$WORK/real.$1" "$WORK/vigil.$1"; }

total=0
failed=0
while read -r retries args; do
  total=$((total + 1))
  ok=0
  for attempt in $(seq "$((retries + 2))"); do
    run_case "$REAL" "$WORK/real" "$args"
    run_case "$VIGIL" "$WORK/vigil" "$args"
    if same out && same err && same rc; then ok=1; break; fi
  done
  if [[ $ok -eq 0 ]]; then
    failed=$((failed + 1))
    echo "MISMATCH: check_procs $args"
    for part in out err rc; do
      diff <(cat -A "$WORK/real.$part") <(cat -A "$WORK/vigil.$part") | head -20
    done
  fi
done <"$CASES"

echo "live cases: $total run, $failed mismatched"
[[ $total -ge 40 && $failed -eq 0 ]]
