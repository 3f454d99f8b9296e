#!/usr/bin/env bash
# Set everything up, build the lab, run steth's checks against it, show the
# results and remove the lab. KEEP=1 leaves the lab up; COMPUTES=N sizes it;
# NEUTRON=1 adds the lab's Neutron and shows `steth doctor` on a healthy and a broken VM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/steth lab demo --computes "${COMPUTES:-2}" ${KEEP:+--keep} ${NEUTRON:+--neutron} "$@"
