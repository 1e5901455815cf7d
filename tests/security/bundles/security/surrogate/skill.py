from skillware.core.base_skill import BaseSkill


class Surrogate(BaseSkill):
    def execute(self, params):
        return {"text": "half a pair: " + chr(0xD800)}
