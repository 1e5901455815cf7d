"""Raises."""

from skillware.core.base_skill import BaseSkill


class Raiser(BaseSkill):
    def execute(self, params):
        raise RuntimeError("hostile failure on purpose")
