from skillware.core.base_skill import BaseSkill


class Unprintable(Exception):
    def __str__(self):
        raise ValueError("no message for you")


class BadStr(BaseSkill):
    def execute(self, params):
        raise Unprintable()
