#!/usr/bin/env bash
# Build the steth-agent image with podman from Debian's packages and this checkout:
#   deploy/container/build.sh [TAG [PODMAN BUILD OPTIONS...]]   (default localhost/steth-agent:latest)
# e.g. --runtime runc --ulimit nofile=20000:20000 where crun or podman's default limits cannot run
# 1. deploy/container/debian-base.sh makes a Debian 12 root (mmdebstrap), cached in
#    $STETH_DEPLOY_CACHE (default /var/tmp/steth-deploy), imported as localhost/steth-debian-base:bookworm
# 2. pip wheel makes the wheelhouse of steth and its dependencies
# 3. podman build with deploy/container/Containerfile
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-localhost/steth-agent:latest}
shift || true
cache=${STETH_DEPLOY_CACHE:-/var/tmp/steth-deploy}
base_tar="$cache/debian-agent.tar"
base_image=localhost/steth-debian-base:bookworm
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$cache"
[ -f "$base_tar" ] || deploy/container/debian-base.sh "$base_tar"
podman image exists "$base_image" || podman import --quiet "$base_tar" "$base_image" >/dev/null
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$PY" -m pip wheel -q --disable-pip-version-check . -w "$ctx/wheels"
cp deploy/container/Containerfile "$ctx/"
podman build --quiet "$@" --build-arg "BASE=$base_image" -t "$tag" -f "$ctx/Containerfile" "$ctx"
echo "built $tag"
