"""Manifest → tool definitions for LLM APIs (Claude, OpenAI, Gemini)."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# JSON Schema keywords Gemini's function-declaration subset rejects.
_GEMINI_DROP = {"$schema", "$id", "$defs", "additionalProperties", "$comment"}


def tool_name(name: str) -> str:
    """A tool name every provider accepts: [A-Za-z0-9_-]{1,64}."""
    return _UNSAFE.sub("_", name)[:64] or "skill"


def _parts(manifest: Mapping[str, Any]) -> tuple[str, str, Dict[str, Any]]:
    name = tool_name(str(manifest.get("name") or "skill"))
    description = str(manifest.get("description") or manifest.get("short_description") or "").strip()
    parameters = manifest.get("parameters")
    return name, description, dict(parameters) if isinstance(parameters, dict) else {"type": "object", "properties": {}}


def to_claude_tool(manifest: Mapping[str, Any]) -> Dict[str, Any]:
    """Anthropic tool definition: name, description, input_schema."""
    name, description, parameters = _parts(manifest)
    return {"name": name, "description": description, "input_schema": parameters}


def to_openai_tool(manifest: Mapping[str, Any]) -> Dict[str, Any]:
    """OpenAI function tool definition."""
    name, description, parameters = _parts(manifest)
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def _gemini_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_gemini_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: Dict[str, Any] = {}
    for key, value in schema.items():
        if key in _GEMINI_DROP:
            continue
        if key == "type":
            types = value if isinstance(value, list) else [value]
            concrete = [t for t in types if t != "null"]
            out["type"] = str(concrete[0] if concrete else "string").upper()
            if len(concrete) < len(types):
                out["nullable"] = True
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _gemini_schema(v) for k, v in value.items()}
        else:
            out[key] = _gemini_schema(value)
    return out


def to_gemini_tool(manifest: Mapping[str, Any]) -> Dict[str, Any]:
    """Gemini function declaration (upper-case OpenAPI types, unsupported keywords dropped)."""
    name, description, parameters = _parts(manifest)
    return {"name": name, "description": description, "parameters": _gemini_schema(parameters)}
