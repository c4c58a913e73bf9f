#!/bin/sh
# Prints where it runs, then exits with the status given as $1.
echo "in vm: ${VIGIL_IN_VM:-no}; cwd: $(pwd); args: $*"
exit "$1"
