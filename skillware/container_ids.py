"""The per-run identity of a container: its name, its uid, and the process that owns it.

Each container runs as its own random unprivileged uid: RLIMIT_NPROC counts processes per
uid across the host, so a shared uid would let one container's fork bomb starve another's
budget, and distinct uids keep containers from ever owning each other's files or processes.
The range stays inside the 65536 ids a rootless user namespace maps by default.
"""

from __future__ import annotations

import os

UID_RANGE = (20000, 60000)
NAME_PREFIX = "skillware-"
MANAGED_LABEL = "io.skillware.managed"
OWNER_LABEL = "io.skillware.owner"


def _below(n: int) -> int:
    """A uniform integer in [0, n) from the OS's CSPRNG (what secrets.randbelow does, without its imports)."""
    limit = (1 << 32) // n * n
    while True:
        value = int.from_bytes(os.urandom(4), "big")
        if value < limit:
            return value % n


def random_uid() -> int:
    return UID_RANGE[0] + _below(UID_RANGE[1] - UID_RANGE[0])


def container_name() -> str:
    return NAME_PREFIX + os.urandom(6).hex()


def owner_token() -> str:
    """`pid:starttime` of this process; the start time tells a reused pid from ours."""
    return f"{os.getpid()}:{process_start_time(os.getpid())}"


def process_start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"
