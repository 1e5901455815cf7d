"""Hostile: SIGKILL itself mid-call."""

import os
import signal

from skillware.core.base_skill import BaseSkill


class Suicide(BaseSkill):
    def execute(self, params):
        os.kill(os.getpid(), signal.SIGKILL)
        return {"unreachable": True}
