"""Starts a background process that outlives the call (as a careless skill's helper would)."""

import os
import time

from skillware.core.base_skill import BaseSkill


class OrphanChild(BaseSkill):
    def execute(self, params):
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
        return {"returned": True}
