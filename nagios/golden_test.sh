#!/bin/bash
# Golden comparison: every case in testdata/golden_cases.txt is run with the
# real check_procs (monitoring-plugins 2.3.3) and with check_vigil, both
# invoked as argv[0] "check_procs" from a directory holding the fixtures;
# stdout, stderr and exit code must be identical.
set -u
REAL=/usr/lib/nagios/plugins/check_procs
VIGIL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
CASES="$2"
FIXTURES="$(cd "$(dirname "$CASES")" && pwd)"

if [[ ! -x "$REAL" ]]; then
  echo "FAIL: $REAL not found; the golden test needs the reference plugin:" >&2
  echo "      apt-get install monitoring-plugins-basic" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -rL "$FIXTURES"/. "$WORK"/
mkdir -p "$WORK/tests/var"
cp "$FIXTURES"/ps-axwo.darwin "$FIXTURES"/ps-axwo.debian "$WORK/tests/var/"
mkfifo "$WORK/fifo"

# Runs one case with plugin $1; writes out/err/rc files with prefix $2.
run_case() {
  local plugin="$1" prefix="$2" snippet="$3"
  (cd "$WORK" && PLUGIN="$plugin" bash -c '
      C() { exec -a check_procs "$PLUGIN" --input-file=ps-axwwo.synthetic "$@"; }
      P() { exec -a check_procs "$PLUGIN" "$@"; }
      '"$snippet" >"$prefix.out" 2>"$prefix.err")
  echo $? >"$prefix.rc"
}

total=0
failed=0
while IFS= read -r snippet; do
  [[ -z "$snippet" || "$snippet" == \#* ]] && continue
  total=$((total + 1))
  run_case "$REAL" "$WORK/real" "$snippet"
  run_case "$VIGIL" "$WORK/vigil" "$snippet"
  for part in out err rc; do
    if ! cmp -s "$WORK/real.$part" "$WORK/vigil.$part"; then
      failed=$((failed + 1))
      echo "MISMATCH ($part): $snippet"
      diff <(cat -A "$WORK/real.$part") <(cat -A "$WORK/vigil.$part") | head -20
      break
    fi
  done
done <"$CASES"

echo "golden cases: $total run, $failed mismatched"
[[ $total -gt 250 && $failed -eq 0 ]]
