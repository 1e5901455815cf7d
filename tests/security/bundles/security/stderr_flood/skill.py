"""Hostile: 200 MB to fd 2."""

import os

from skillware.core.base_skill import BaseSkill


class StderrFlood(BaseSkill):
    def execute(self, params):
        chunk = b"E" * (1024 * 1024)
        total = 0
        for _ in range(200):
            view = memoryview(chunk)
            while view:
                written = os.write(2, view)
                view = view[written:]
                total += written
        return {"flooded": total}
