"""Reads the declared SKILL_TOKEN and reports its digest (not the value), after a pause."""

import hashlib
import time

from skillware.core.base_skill import BaseSkill


class TokenProbe(BaseSkill):
    def execute(self, params):
        token = self.credential("SKILL_TOKEN")
        time.sleep(params.get("sleep", 2))
        return {"sha256": hashlib.sha256(token.encode()).hexdigest() if token else None}
