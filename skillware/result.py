"""Results: JSON-serialisable, and valid against the manifest's `output` schema when it has one."""

from __future__ import annotations

import json

from .errors import BadOutput
from .fast_schema import problems_for, summary

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from typing import Any, Optional

    from .manifest import Manifest


def to_json_text(value: Any, skill_id: str) -> str:
    """Compact JSON text for a result, or BadOutput naming what cannot be serialised."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadOutput(f"{skill_id} returned a result that is not JSON-serialisable: {exc}",
                        "return dicts, lists, strings, numbers, booleans and None only") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadOutput(f"{skill_id} returned a string that is not valid Unicode (a lone surrogate at character "
                        f"{exc.start} of its JSON)", "return text as valid Unicode") from None
    return text


def result_text(value: Any, pretty: bool) -> str:
    """JSON for stdout: indented for people, compact for pipes."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def check_output(manifest: Manifest, value: Any) -> Any:
    """Return the result as plain JSON data after checking it against `output`."""
    return check_result(manifest.id, manifest.output, value)


def check_result(skill_id: str, output: Optional[Any], value: Any) -> Any:
    """check_output for a skill id and its manifest's `output` schema (None: no schema)."""
    from .time_bound import SCHEMA_CHECK_SECONDS, Exceeded

    plain = json.loads(to_json_text(value, skill_id))
    if output is None:
        return plain
    try:
        problems = problems_for(output, plain, "result")
    except Exceeded:
        raise BadOutput(f"checking the result of {skill_id} took longer than {SCHEMA_CHECK_SECONDS:g}s: a `pattern` in "
                        "its `output` schema backtracks catastrophically on this result",
                        "simplify the pattern (e.g. (a+)+ becomes a+)") from None
    if problems:
        raise BadOutput(f"{skill_id} returned a result that violates its `output` schema: {summary(problems)}",
                        "fix the skill, or its manifest's `output`")
    return plain
