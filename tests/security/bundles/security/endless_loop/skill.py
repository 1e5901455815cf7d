"""Hostile: never returns."""

from skillware.core.base_skill import BaseSkill


class EndlessLoop(BaseSkill):
    def execute(self, params):
        spins = 0
        while True:
            spins += 1
