"""Results: JSON-serialisable, and valid against the manifest's `output` schema when it has one."""

from __future__ import annotations

import json
from typing import Any

from .errors import BadOutput
from .fast_schema import quick_valid
from .manifest import Manifest


def to_json_text(value: Any, skill_id: str) -> str:
    """Compact JSON text for a result, or BadOutput naming what cannot be serialised."""
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadOutput(f"{skill_id} returned a result that is not JSON-serialisable: {exc}",
                        "return dicts, lists, strings, numbers, booleans and None only") from None


def check_output(manifest: Manifest, value: Any) -> Any:
    """Return the result as plain JSON data after checking it against `output`."""
    plain = json.loads(to_json_text(value, manifest.id))
    if manifest.output is not None and not quick_valid(manifest.output, plain):
        from .schema_check import problems_from_validation

        problems = problems_from_validation(manifest.output, plain, "result")
        if problems:
            first = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            raise BadOutput(f"{manifest.id} returned a result that violates its `output` schema: "
                            f"{first.pointer or '/'}: {first.message}{more}",
                            "fix the skill, or its manifest's `output`")
    return plain
