#!/usr/bin/env bash
# Installs what is needed, builds vigild and vigilctl, and runs vigild in the
# foreground on the shipped demo configuration (units/demo). Events and the
# units' output are printed live; Ctrl-C stops every unit and exits.
# In another terminal: "$(bazel info bazel-bin)"/supervisor/vigilctl --socket /tmp/vigil-demo.sock status
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build --jobs=2 //supervisor:vigild //supervisor:vigilctl
exec "$(bazel info bazel-bin)/supervisor/vigild" --config units/demo/vigil.yaml
