#!/usr/bin/env bash
# The one command for the side-by-side benchmarks (bench/README.md):
# installs the peers from Debian (monit, supervisor, monitoring-plugins-basic,
# and python3-matplotlib for the plots), builds vigild and the benches
# optimised, runs every benchmark in one go (bench/compare/compare.py) and
# writes bench/RESULTS.md, bench/results.json and bench/plots/*.png.
#
#   bench/compare/run.sh            # the full run, about 20 minutes on 2 cores
#   bench/compare/run.sh --quick    # the same at toy sizes, about 2 minutes
#   bench/compare/run.sh --merge --only scale,scale_exe
#                                   # re-measure sections into the existing report
#                                   # (any compare.py option after --quick)
#
# Needs root. Set VIGIL_BAZEL_OUTPUT_BASE to build in your own Bazel output
# base on a shared machine. Every daemon runs in a temp dir, in the
# foreground, and is killed by pid at the end, also on Ctrl-C. On a host
# whose init starts services, installing monit and supervisor also starts
# their system instances: they are not the ones measured, but they add load.
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=()
out=bench
if [[ ${1:-} == --quick ]]; then
  quick=(--quick)
  out=${TMPDIR:-/tmp}/vigil-bench-quick
  shift
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "bench/compare/run.sh: needs root (cgroups for vigild, drop_caches, apt-get)" >&2
  exit 1
fi
tools/setup.sh
peers=(monit supervisor monitoring-plugins-basic python3-matplotlib)
missing=()
for p in "${peers[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

bazel=(bazel)
[[ -n ${VIGIL_BAZEL_OUTPUT_BASE:-} ]] && bazel+=(--output_base="$VIGIL_BAZEL_OUTPUT_BASE")
"${bazel[@]}" build -c opt --jobs=2 //supervisor:vigild //bench:marker //bench:exit_latency \
  //bench:rss_units //bench:maze_bench //bench:watch_latency //bench:fd_watch_bench \
  //bench:check_vigil_bench
bin=$("${bazel[@]}" info -c opt bazel-bin 2>/dev/null)

# Debian's interpreter: python3-matplotlib is installed for it.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
ulimit -n "$(ulimit -Hn)"  # supervisord's minfds, the scale run's units
mkdir -p "$out"
"$python" bench/compare/compare.py "${quick[@]}" "$@" --vigild "$bin/supervisor/vigild" \
  --marker "$bin/bench/marker" --bench-dir "$bin/bench" --out "$out/results.json"
"$python" bench/compare/report.py "$out/results.json" --markdown "$out/RESULTS.md" \
  --plots "$out/plots" --kmod-section kmod/bench/RESULTS.md
echo "bench: see $out/RESULTS.md"
