"""Skillware runs agent skills safely: in process, or in a hardened container.

    import skillware
    skillware.run_skill("compliance/example_skill", {"text": "mail me at a@b.io"})

Attributes are imported lazily so that `skillware --help` and cached runs stay fast.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~2 ms to import, on every command
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["run_skill", "load_skill", "SkillRunner", "SkillwareError", "__version__"]

_LAZY = {
    "run_skill": ("skillware.api", "run_skill"),
    "load_skill": ("skillware.api", "load_skill"),
    "SkillRunner": ("skillware.skill_runner", "SkillRunner"),
    "SkillwareError": ("skillware.errors", "SkillwareError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skillware' has no attribute {name!r}")
