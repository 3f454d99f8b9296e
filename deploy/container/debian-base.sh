#!/usr/bin/env bash
# A Debian 12 root file system made from Debian's packages only (mmdebstrap), as a tarball:
#   deploy/container/debian-base.sh OUT.tar            the agent's runtime (for `podman import`)
#   deploy/container/debian-base.sh OUT.tar --systemd  the same plus systemd, to boot (systemd-nspawn -b)
# From deb.debian.org (MIRROR=... to use another). Needs root and mmdebstrap (scripts/setup.sh installs it).
set -euo pipefail
out=${1:?usage: debian-base.sh OUT.tar [--systemd]}
packages=python3,python3-venv,iproute2,iperf3,tcpdump,iptables,ca-certificates,procps
if [ "${2:-}" = "--systemd" ]; then
  packages+=,systemd,systemd-sysv,dbus
fi
tmp="$out.tmp-$$"
trap 'rm -f "$tmp"' EXIT
mmdebstrap --quiet --variant=minbase --include="$packages" --format=tar bookworm "$tmp" ${MIRROR:+"$MIRROR"}
mv "$tmp" "$out"
trap - EXIT
echo "debian-base: $out ($(du -h "$out" | cut -f1))"
