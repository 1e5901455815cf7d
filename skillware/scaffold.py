"""`skillware new`: write a bundle that validates and runs as created, with a test."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from .bundle import ID_RE
from .errors import BundleError, UsageError

_MANIFEST = """\
name: {id}
version: 0.1.0
description: >-
  Describe what {name} does, for people and for the LLM that calls it.
short_description: One line about {name}.
category: {category}
execution: in_process
parameters:
  type: object
  properties:
    text:
      type: string
      description: The input text.
  required: [text]
  additionalProperties: false
output:
  type: object
  properties:
    length: {{type: integer}}
    upper: {{type: string}}
  required: [length, upper]
"""

_SKILL = '''\
"""{id}: replace this with what the skill does."""

from skillware.core.base_skill import BaseSkill


class {class_name}(BaseSkill):
    """Returns the length and the upper-case form of `text`."""

    def execute(self, params):
        text = params["text"]
        return {{"length": len(text), "upper": text.upper()}}
'''

_TEST = '''\
"""Tests for {id}; run with `python -m pytest {folder}`."""

from pathlib import Path

import skillware

BUNDLE = str(Path(__file__).resolve().parent)


def test_returns_length_and_upper_case():
    assert skillware.run_skill(BUNDLE, {{"text": "abc"}}) == {{"length": 3, "upper": "ABC"}}
'''

_INSTRUCTIONS = """\
# {id}

Call this skill with `text`. It returns `length` and `upper`.
"""

_CARD = """\
{{"title": "{name}", "description": "One line about {name}.", "icon": "sparkles"}}
"""


def _class_name(name: str) -> str:
    words = [w for w in name.replace("-", "_").replace(".", "_").split("_") if w]
    base = "".join(w[:1].upper() + w[1:] for w in words) or "My"
    if not base[0].isalpha():
        base = "Skill" + base
    return base if base.endswith("Skill") else base + "Skill"


def scaffold(skill_id: str, root: Path) -> Path:
    """Create root/CATEGORY/NAME with manifest, skill, test, instructions and card."""
    if not ID_RE.match(skill_id):
        raise UsageError(f"{skill_id!r} is not a valid skill id",
                         "use category/name with letters, digits, _ . - (e.g. text/shout)")
    category, name = skill_id.split("/")
    folder = root / category / name
    if folder.exists():
        raise BundleError(f"{folder} already exists", "choose another name, or remove the folder")
    values = {"id": skill_id, "name": name, "category": category, "class_name": _class_name(name),
              "folder": str(folder)}
    files: Dict[str, str] = {
        "manifest.yaml": _MANIFEST, "skill.py": _SKILL, "test_skill.py": _TEST,
        "instructions.md": _INSTRUCTIONS, "card.json": _CARD,
    }
    folder.mkdir(parents=True)
    for filename, template in files.items():
        (folder / filename).write_text(template.format(**values), encoding="utf-8")
    return folder
