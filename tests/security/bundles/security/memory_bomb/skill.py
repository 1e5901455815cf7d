"""Hostile: allocate and touch 1 GiB, 64 MiB at a time."""

from skillware.core.base_skill import BaseSkill


class MemoryBomb(BaseSkill):
    def execute(self, params):
        hoard = []
        for _ in range(16):
            hoard.append(b"x" * (64 * 1024 * 1024))
        return {"allocated_mib": 64 * len(hoard)}
