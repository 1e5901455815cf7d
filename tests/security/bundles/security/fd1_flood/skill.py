"""Hostile: 100 MB to fd 1 with os.write (bypassing sys.stdout)."""

import os

from skillware.core.base_skill import BaseSkill


class Fd1Flood(BaseSkill):
    def execute(self, params):
        chunk = b"A" * (1024 * 1024)
        total = 0
        for _ in range(100):
            view = memoryview(chunk)
            while view:
                written = os.write(1, view)
                view = view[written:]
                total += written
        return {"flooded": total}
