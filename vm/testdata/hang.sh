#!/bin/sh
# Never ends on its own: the harness must kill the VM at its timeout.
echo "hanging now"
while :; do sleep 1; done
