#!/usr/bin/env bash
# Run the whole test suite. Installs what the tests need: as root, the container engines
# (podman, runc, docker.io), mmdebstrap/debootstrap, a rootless test user, a running dockerd
# and the base image; then ruff, mypy and pytest. As root, container tests are mandatory.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    need=()
    for pkg in podman runc runsc docker.io mmdebstrap debootstrap uidmap slirp4netns fuse-overlayfs jq python3-venv; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        echo "installing: ${need[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    if ! docker info >/dev/null 2>&1; then
        echo "starting dockerd" >&2
        (dockerd >/tmp/skillware-dockerd.log 2>&1 &)
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/skillware-dockerd.log" >&2; exit 1; }
    fi
    # An unprivileged user for the rootless Podman tests; overlay storage (vfs makes each run ~9 s).
    id skillware-test >/dev/null 2>&1 || useradd -m -s /bin/bash skillware-test
    conf=/home/skillware-test/.config/containers/storage.conf
    if [ ! -f "$conf" ]; then
        install -d -o skillware-test -g skillware-test /home/skillware-test/.config /home/skillware-test/.config/containers
        printf '[storage]\ndriver = "overlay"\n' > "$conf"
        chown skillware-test:skillware-test "$conf"
    fi
    export SKILLWARE_REQUIRE_CONTAINERS=1
fi

bash scripts/install.sh ".[test]"
export PATH="$PWD/.venv/bin:$PATH"

if command -v podman >/dev/null || command -v docker >/dev/null; then
    for engine in podman docker; do
        if command -v "$engine" >/dev/null && "$engine" info >/dev/null 2>&1 && \
           ! "$engine" image inspect localhost/skillware-python:3.11 >/dev/null 2>&1; then
            skillware image build-base --engine "$engine"
        fi
    done
fi

ruff check skillware tests benchmarks
mypy
python -m pytest -p no:cacheprovider "$@"
