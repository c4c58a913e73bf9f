#!/bin/bash
# Live golden comparison: spawns a controlled set of processes (renamed
# copies of sleep, a zombie, a stopped process, a niced one, one owned by
# nobody, a 200 MiB resident process, a CPU burner, a parent with two
# children), then runs check_vigil between two runs of the real check_procs
# on the live system for each case and diffs stdout, stderr and exit code.
#
# Cases are restricted by -C/-a/-u/-p to the controlled processes. Values
# that move between runs (elapsed seconds ticking, lifetime %CPU, other
# processes on the host forking) are the only nondeterminism: check_vigil
# must equal one of the two real runs exactly, or both but for `etime=`
# values that lie between theirs; else the case is retried. A systematic
# difference fails every attempt.
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
  # The parent shell's children are ours too; collect them before it dies.
  for pid in "${PIDS[@]}"; do
    PIDS+=($(cat /proc/"$pid"/task/*/children 2>/dev/null))
  done
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Names and arguments unique to this run, so concurrent runs of this test
# (or anything else on the host) cannot be counted.
N=$(( $$ % 9000 + 1000 ))
FAKE="vf$N"
LONGNAME="vl${N}averyverylongname"
KEEPER="vk$N"
HOG="vh$N"
BURN="vb$N"
PARENTBIN="vp$N"

cp /bin/sleep "$WORK/$FAKE"
cp /bin/sleep "$WORK/$LONGNAME"
cp /bin/bash "$WORK/$PARENTBIN"
cp /bin/bash "$WORK/$BURN"
cp /usr/bin/perl "$WORK/$HOG"
cp /bin/sleep "$WORK/$KEEPER"

spawn() { "$@" >/dev/null 2>&1 </dev/null & PIDS+=($!); }
spawn "$WORK/$FAKE" ${N}01
spawn "$WORK/$FAKE" ${N}01
spawn setsid "$WORK/$FAKE" ${N}01
spawn setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/$FAKE" ${N}02
spawn nice -n 5 "$WORK/$FAKE" ${N}05
spawn "$WORK/$LONGNAME" ${N}06
spawn "$WORK/$FAKE" ${N}04
STOPPED=$!
kill -STOP "$STOPPED"
# The child exits at once and is never reaped: exec'ed sleep does not wait.
spawn bash -c "\"$WORK/$FAKE\" 0 & exec \"$WORK/$KEEPER\" ${N}03"
ZPARENT=$!
spawn "$WORK/$PARENTBIN" -c "\"$WORK/$FAKE\" ${N}08 & \"$WORK/$FAKE\" ${N}08 & wait"
PARENT=$!
spawn "$WORK/$HOG" -e '$x = "a" x (200*1024*1024); sleep 600' vgmem$N
spawn "$WORK/$BURN" -c 'while :; do :; done' vgcpu$N
# Let the hog touch its pages, the zombie die and the burner accumulate CPU.
for _ in $(seq 300); do
  rss=$(awk '/VmRSS/ {print $2}' /proc/"${PIDS[9]}"/status 2>/dev/null)
  [[ ${rss:-0} -gt 200000 ]] && break
  sleep 0.1
done
sleep 1.2

CASES="$WORK/cases"
cat >"$CASES" <<CASES_EOF
1 -C $FAKE
1 -C $FAKE -w 1:3 -c 1:20
1 -C $FAKE -w 1 -c 2
1 -C $FAKE -w 20 -c 30
1 -C $FAKE -c 1:
1 -C $LONGNAME
1 -C ${LONGNAME:0:15}
1 -C ${LONGNAME:0:15} -vv
1 -C $WORK/$FAKE
1 -a ${N}01
1 -a '$FAKE ${N}01' -w 3:3
1 -a '$FAKE ${N}01' -w 2:2 -c 1:5
1 -a '$FAKE ${N}01' -c @3
1 -a '$FAKE ${N}01' -c '~:2'
1 -a '$FAKE ${N}01' -vv
1 -a ${N}01 -a ${N}02
1 --argument-array=${N}08
1 --ereg-argument-array='$FAKE ${N}0[12]'
1 --ereg-argument-array='^$WORK/$FAKE ${N}0[12]\$'
1 --ereg-argument-array='(${N}01|${N}02)' -w 4
1 --ereg-argument-array='defunct' -C $FAKE
1 -s Z -C $FAKE
1 -s Z -C $FAKE -vv
1 -s T -C $FAKE
1 -s T -C $FAKE -vv
1 -s Ss -C $FAKE
1 -s N -C $FAKE
1 -s SN -C $FAKE -vv
1 -s s -C $FAKE
1 -s ZT -C $FAKE
1 -p $PARENT
1 -p $PARENT -C $FAKE -w 2:2
1 -p $PARENT -vv
1 --ppid=$ZPARENT
1 --ppid=$ZPARENT -vv
1 -u nobody -C $FAKE
1 -u 65534 -C $FAKE -c 1:1
1 -u nobody -C $FAKE -vv
1 -u root -C $FAKE
1 -u 0 -a ${N}01
1 -u root -u nobody -C $FAKE
1 -C $HOG -r 100000
1 -C $HOG -r 100000 -z 100000
1 -C $FAKE -z 1
1 -C $FAKE -r 999999
1 -m RSS -C $HOG -w 100000 -c 1000000 -v
1 -m RSS -C $HOG -w 100000 -c 200000 -v
1 -m VSZ -C $HOG -w 100000 -v
1 -m VSZ -C $FAKE -w 1000 -c 100000 -v
1 -m CPU -C $BURN -w 10 -c 20 -v
1 -m CPU -C $BURN -w 10 -c 200 -v
1 -m CPU -C $FAKE -w 50
1 -P 30 -C $BURN
1 -P 30 -a vgcpu$N
1 -m ELAPSED -C $FAKE -w 86400 -c 172800
1 -m ELAPSED -C $FAKE -w 0 -c 86400 -v
1 -m ELAPSED -C $FAKE -w 1000 -c 1 -v
1 -m PROCS -C $FAKE -w 3 -c 20 -v
1 -C $FAKE 5 10
1 -C $FAKE 5 10 Z
1 -C $FAKE 20 30 T
1 -C $FAKE -k
1 -k -C kthreadd
1 -C kthreadd
1 -k -C systemd
1 -T -C $FAKE
M -C check_procs
M -T -C check_procs
M -C ps
M -a axwwo
1 -C $FAKE -t 5
1 -C $FAKE --traditional
1 -C $FAKE --no-kthreads=yes
M -w 100000 -c 100000
M -k -w 100000
M -s Z
CASES_EOF

run_case() {
  local plugin="$1" prefix="$2" args="$3"
  PLUGIN="$plugin" bash -c 'P() { exec -a check_procs "$PLUGIN" "$@"; }; P '"$args" \
    >"$prefix.out" 2>"$prefix.err"
  echo $? >"$prefix.rc"
}

# Both prefixes' stdout, stderr and exit code identical.
same() { cmp -s "$1.out" "$2.out" && cmp -s "$1.err" "$2.err" && cmp -s "$1.rc" "$2.rc"; }
# The middle run ($2) against the real plugin run just before ($1) and just
# after ($3): identical, except that each `etime=` of a -vv line may be any
# value between the two real runs' (a process's elapsed seconds tick at its
# own moment, and under load a run can take longer than a second). Nothing
# else may differ, and the real runs must agree on everything but etime.
etime_between() {
  cmp -s "$1.err" "$2.err" && cmp -s "$1.rc" "$2.rc" && cmp -s "$2.err" "$3.err" &&
    cmp -s "$2.rc" "$3.rc" && awk '
    function seconds(t,   days, n, part, i, s) {
      days = 0
      if (index(t, "-")) { days = substr(t, 1, index(t, "-") - 1); t = substr(t, index(t, "-") + 1) }
      n = split(t, part, ":")
      for (i = 1; i <= n; i++) s = s * 60 + part[i]
      return days * 86400 + s
    }
    function etime(line) { return match(line, /etime=[0-9:-]+/) ? seconds(substr(line, RSTART + 6, RLENGTH - 6)) : -1 }
    function masked(line) { gsub(/etime=[0-9:-]+/, "etime=", line); return line }
    FILENAME == ARGV[1] { before[FNR] = $0; nbefore = FNR; next }
    FILENAME == ARGV[2] { middle[FNR] = $0; nmiddle = FNR; next }
    { after[FNR] = $0; nafter = FNR }
    END {
      if (nbefore != nmiddle || nmiddle != nafter) exit 1
      for (i = 1; i <= nmiddle; i++) {
        if (masked(before[i]) != masked(middle[i]) || masked(middle[i]) != masked(after[i])) exit 1
        if (etime(middle[i]) < etime(before[i]) || etime(middle[i]) > etime(after[i])) exit 1
      }
    }' "$1.out" "$2.out" "$3.out"
}
# Whole-system counts (marked M; any ps on the host counts for -C ps) race with every other process on the host:
# after five exact attempts they are compared with numbers masked.
same_masked() {
  cmp -s <(sed 's/[0-9][0-9]*/#/g' "$1.out") <(sed 's/[0-9][0-9]*/#/g' "$2.out") &&
    cmp -s "$1.err" "$2.err" && cmp -s "$1.rc" "$2.rc"
}

total=0
failed=0
while read -r retries args; do
  total=$((total + 1))
  ok=0
  masked=0
  [[ "$retries" == M ]] && masked=1 && retries=3
  for attempt in $(seq "$((retries + 2))"); do
    # check_vigil between two runs of the real plugin: whatever moves on the
    # host (elapsed seconds, %CPU, other processes) is bracketed.
    run_case "$REAL" "$WORK/real" "$args"
    run_case "$VIGIL" "$WORK/vigil" "$args"
    run_case "$REAL" "$WORK/later" "$args"
    if same "$WORK/real" "$WORK/vigil" || same "$WORK/later" "$WORK/vigil" ||
      etime_between "$WORK/real" "$WORK/vigil" "$WORK/later"; then
      ok=1
      break
    fi
  done
  if [[ $ok -eq 0 && $masked -eq 1 ]] && same_masked "$WORK/real" "$WORK/vigil"; then
    ok=1
    echo "note: whole-system count raced, compared masked: check_procs $args"
  fi
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
