#!/usr/bin/env bash
# Install everything steth needs on a fresh Debian 12 machine, as root:
# the system packages from DESIGN.md and a virtualenv (.venv) with steth in it.
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(openvswitch-switch iperf3 tcpdump dnsmasq-base iputils-ping iputils-arping
          iptables ebtables iproute2 procps openssl ca-certificates
          # the Neutron lab (`steth lab up --neutron`): Debian's Neutron, run by hand
          neutron-server neutron-openvswitch-agent neutron-dhcp-agent neutron-l3-agent conntrack
          mariadb-server rabbitmq-server socat busybox
          # report tests render pages in a real browser
          chromium
          # deployment (deploy/, tests/deploy): containers booted with systemd, the agent's image, Ansible
          systemd-container mmdebstrap podman runc ansible-core ansible-lint
          # `steth watch`: promtool checks the alert rules; the e2e test runs its own Prometheus
          prometheus
          # the ML2/OVN lab (`steth lab up --neutron --backend ovn`): OVN central (NB/SB ovsdb, northd),
          # ovn-controller per node, the metadata agent (+ haproxy) and ovn-trace
          ovn-central ovn-host neutron-ovn-metadata-agent haproxy
          # the ML2/Linux bridge lab (`steth lab up --neutron --backend linuxbridge`)
          neutron-linuxbridge-agent)
# services the L3 agent's packages would enable at boot; the lab runs its own L3 agent and
# neutron starts keepalived/haproxy/radvd per router itself, never the host's
L3_SERVICES=(neutron-l3-agent keepalived haproxy radvd neutron-linuxbridge-agent)
# the host's Prometheus service stays off: steth's tests start their own on loopback
WATCH_SERVICES=(prometheus prometheus-node-exporter)
# and those of the OVN packages: the OVN lab runs its own clustered NB/SB, northd and ovn-controllers
OVN_SERVICES=(ovn-central ovn-host ovn-northd ovn-controller ovn-ovsdb-server-nb ovn-ovsdb-server-sb
              neutron-ovn-metadata-agent)

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
  # keep Debian's postinst scripts from starting neutron, rabbitmq, mariadb or OVS
  # on the host: a policy-rc.d that forbids starting services, only while installing
  # and only if there is none already (an existing one is left alone)
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
  if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" != 0 ]; then echo "setup: apt-get failed (exit $rc)" >&2; exit "$rc"; fi
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    for s in "${WATCH_SERVICES[@]}"; do
      update-rc.d "$s" disable >/dev/null 2>&1 || true
      if [ -d /run/systemd/system ]; then systemctl disable --now "$s.service" >/dev/null 2>&1 || true; fi
    done
  fi
  if [[ " ${missing[*]} " == *" neutron-l3-agent "* || " ${missing[*]} " == *" neutron-linuxbridge-agent "* ]]; then
    for s in "${L3_SERVICES[@]}"; do
      # update-rc.d also removes the systemd unit's links; --now stops one systemd may have started
      update-rc.d "$s" disable >/dev/null 2>&1 || true
      if [ -d /run/systemd/system ]; then systemctl disable --now "$s.service" >/dev/null 2>&1 || true; fi
    done
  fi
  if [[ " ${missing[*]} " == *" ovn-central "* || " ${missing[*]} " == *" ovn-host "* ]]; then
    for s in "${OVN_SERVICES[@]}"; do
      update-rc.d "$s" disable >/dev/null 2>&1 || true
      if [ -d /run/systemd/system ]; then systemctl disable --now "$s.service" >/dev/null 2>&1 || true; fi
    done
  fi
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
