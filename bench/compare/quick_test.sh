#!/bin/sh
# The side-by-side benchmark in quick mode (seconds): compare.py measures
# every section at toy sizes (monit and supervisord only if installed), then
# report.py writes the report and plots into the test's temp dir. Passes
# when both finish and the report has each section's table; no figure is
# judged.
set -u
root=${TEST_SRCDIR:-.}/vigil
out=${TEST_TMPDIR:-$(mktemp -d)}
py=/usr/bin/python3; [ -x "$py" ] || py=python3
"$py" "$root/bench/compare/compare.py" --quick \
  --vigild "$root/supervisor/vigild" --marker "$root/bench/marker" \
  --bench-dir "$root/bench" --out "$out/results.json" || exit 1
"$py" "$root/bench/compare/report.py" "$out/results.json" \
  --markdown "$out/RESULTS.md" --plots "$out/plots" || exit 1
cat "$out/RESULTS.md"
for heading in '## Idle' '## Detection' '## Storm' '## Scale' '## Scale: 10,000 processes of one' \
    '## Memory, tasks, runaway' \
    '## open() under an fd watch' '## check_vigil vs check_procs'; do
  if ! grep -q "^$heading" "$out/RESULTS.md"; then
    echo "FAIL: the report has no \"$heading\" section" >&2
    exit 1
  fi
done
if grep -q "^| vigild storm .* | no |" "$out/RESULTS.md"; then
  echo "FAIL: the storm lost exit events" >&2
  exit 1
fi
# The attach-exe storms: every process spawned is attached and exited exactly
# once (those gone before vigild read their exec event included), nothing else.
"$py" - "$out/results.json" <<'PY' || exit 1
import json, sys
storms = json.load(open(sys.argv[1]))["scale_exe"]["storms"]
bad = [(s["arg"], {k: s[k] for k in ("missed", "attached_without_exit", "exits_without_attach",
                                      "attached_not_spawned", "overflow_lost", "exec_events_lost")
                   if s[k]})
       for s in storms]
bad = [b for b in bad if b[1]]
if bad:
    sys.exit(f"FAIL: attach-exe storms lost events: {bad}")
print("attach-exe storms: every spawned process attached and exited once")
PY
# A running unit with output: null holds 1 fd in vigild (its pidfd): more
# would cut how many units fit under the fd limit (10,000 need 10,000 +
# vigild's own).
"$py" - "$out/results.json" <<'PY' || exit 1
import json, sys
scale = json.load(open(sys.argv[1]))["scale"]
if scale["fds_per_unit"] > 1.1:
    sys.exit(f"FAIL: {scale['fds_per_unit']:.2f} fds per unit (1 expected: the pidfd)")
print(f"scale: {scale['fds_per_unit']:.2f} fds per unit")
PY
