"""json.loads(text, parse_constant=<refuse NaN/Infinity>) without importing json (and so re).

A planned cold run checks its params before it starts the engine, and `import json` pulls in
`re` (~4 ms here). This is the same C scanner json.loads uses, with the same settings; where
CPython has no C scanner, json.loads itself is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _Context:
    """The attributes the C scanner reads from json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_refuse_constant)


def loads(text: str) -> Any:
    """Strict JSON; ValueError (or RecursionError) for anything json.loads would refuse."""
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - every CPython build has it
        import json

        return json.loads(text, parse_constant=_refuse_constant)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    context: Any = _Context()
    try:
        value, end = make_scanner(context)(text, start)
    except StopIteration as stop:
        raise ValueError(f"invalid JSON at character {stop.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"extra data at character {end}")
    return value
