#!/usr/bin/env bash
# Install everything steth needs on a fresh Debian 12 machine, as root:
# the system packages from DESIGN.md and a virtualenv (.venv) with steth in it.
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(openvswitch-switch iperf3 tcpdump dnsmasq-base iputils-ping iputils-arping
          iptables ebtables iproute2 procps openssl ca-certificates)

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (steth's lab and tests need network namespaces)" >&2
  exit 2
fi

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1 || ! "$PY" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  PACKAGES+=(python3 python3-venv python3-pip)
  PY=/usr/bin/python3
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's openvswitch-switch may start Open vSwitch on the host; steth's lab
# runs its own per-node instances and never uses or changes the host's.

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.steth-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
echo "setup: ready (.venv/bin/steth, .venv/bin/steth-agent)" >&2
