#!/usr/bin/env bash
# Install skillware into ./.venv (Debian/Ubuntu). Usage: bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# compat mode: a plain path entry in a .pth file. The default editable finder imports pathlib,
# urllib and more at every interpreter start (~8 ms on each `skillware` command).
# Its deprecation notice is noise here: the output is shown only when the install fails.
if ! out=$(.venv/bin/python -m pip install -q -e "${1:-.}" --config-settings editable_mode=compat 2>&1); then
    printf '%s\n' "$out" >&2
    exit 1
fi
echo "installed: $(.venv/bin/skillware --version)" >&2
