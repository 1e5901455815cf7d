"""Writing skill bundles into a test's tmp_path (shared by the unit and CLI tests)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable, Dict, Optional

ECHO_SKILL = """\
from skillware.core.base_skill import BaseSkill


class EchoSkill(BaseSkill):
    def execute(self, params):
        return params
"""

MakeBundle = Callable[..., Path]


def write_bundle(root: Path, skill_id: str, manifest: Optional[str] = None, skill: Optional[str] = ECHO_SKILL,
                 files: Optional[Dict[str, str]] = None) -> Path:
    """Create root/category/name with manifest.yaml (default: just the name), skill.py and extra files."""
    folder = root / skill_id
    folder.mkdir(parents=True)
    text = f"name: {skill_id}\n" if manifest is None else textwrap.dedent(manifest)
    (folder / "manifest.yaml").write_text(text, encoding="utf-8")
    if skill is not None:
        (folder / "skill.py").write_text(textwrap.dedent(skill), encoding="utf-8")
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return folder


def skill_body(statement: str) -> str:
    """skill.py text whose execute() is the one given statement (sys is imported)."""
    return (
        "import sys\n"
        "from skillware.core.base_skill import BaseSkill\n\n\n"
        "class Skill(BaseSkill):\n"
        "    def execute(self, params):\n"
        f"        {statement}\n"
    )


def billion_laughs(levels: int = 9) -> str:
    """YAML whose aliases expand to 9**levels strings (an alias bomb)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"
