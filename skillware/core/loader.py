"""Upstream-compatible SkillLoader: load a bundle into the dict upstream callers expect."""

from __future__ import annotations

import json
from typing import Any, Dict, Sequence

from .. import tool_export
from ..api import prepare
from ..errors import BundleError

_MAX_SIDE_FILE = 1024 * 1024


class SkillLoader:
    """Loads skills by id or path, bundling manifest, instructions, card and code."""

    @staticmethod
    def load_skill(skill_path: str, check_requirements: bool = True, execute_module: bool = True,
                   skills_dirs: Sequence[str] = ()) -> Dict[str, Any]:
        """Return {module, class, manifest, instructions, card, registry_id} for a skill."""
        from ..runners import in_process

        bundle, manifest = prepare(skill_path, skills_dirs)
        if check_requirements:
            in_process.check_requirements(manifest)
        module = skill_class = None
        if execute_module:
            loaded = in_process.load_skill_module(bundle)
            module, skill_class = loaded.module, loaded.skill_class
        instructions = _read_text(bundle.path / "instructions.md")
        card_text = _read_text(bundle.path / "card.json")
        try:
            card = json.loads(card_text) if card_text.strip() else {}
        except ValueError as exc:
            raise BundleError(f"{bundle.path / 'card.json'}: invalid JSON: {exc}", "fix card.json") from None
        return {
            "module": module,
            "class": skill_class,
            "manifest": dict(manifest.raw),
            "instructions": instructions,
            "card": card,
            "registry_id": manifest.id,
            "path": str(bundle.path),
        }

    @staticmethod
    def to_claude_tool(skill_bundle: Dict[str, Any]) -> Dict[str, Any]:
        return tool_export.to_claude_tool(skill_bundle.get("manifest", {}))

    @staticmethod
    def to_openai_tool(skill_bundle: Dict[str, Any]) -> Dict[str, Any]:
        return tool_export.to_openai_tool(skill_bundle.get("manifest", {}))

    @staticmethod
    def to_gemini_tool(skill_bundle: Dict[str, Any]) -> Dict[str, Any]:
        return tool_export.to_gemini_tool(skill_bundle.get("manifest", {}))


def _read_text(path: Any) -> str:
    if not path.is_file():
        return ""
    if path.stat().st_size > _MAX_SIDE_FILE:
        raise BundleError(f"{path}: larger than {_MAX_SIDE_FILE:,} bytes", "keep instructions and cards small")
    try:
        return str(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BundleError(f"{path}: not UTF-8", "save it as UTF-8") from None
