"""json.loads(text, parse_constant=<refuse NaN/Infinity>) without importing json (and so re).

A planned cold run checks its params before it starts the engine, and `import json` pulls in
`re` (~4 ms here). This is the same C scanner json.loads uses, with the same settings; where
CPython has no C scanner, json.loads itself is used.
"""

from __future__ import annotations

from .json_pointer import escape_pointer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

# The largest params document skillware reads (--params, @file, stdin, a batch line); here so
# the planned-run path (cli/fast_run.py) shares it without importing params.py.
MAX_PARAMS_BYTES = 64 * 1024 * 1024
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


def lone_surrogate_at(value: Any, pointer: str = "") -> Optional[str]:
    """The JSON pointer of the first string (or key) holding a lone surrogate such as "\\ud800", else None.

    JSON's \\u escapes can spell them, but they are not Unicode: no UTF-8 encoder (the skill's
    stdin, our stdout, the audit log) can write them.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return pointer or "/"
        return None
    if isinstance(value, dict):
        for key, child in value.items():
            where = f"{pointer}/{escape_pointer(str(key))}"
            found = lone_surrogate_at(key, where) or lone_surrogate_at(child, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = lone_surrogate_at(child, f"{pointer}/{index}")
            if found:
                return found
    return None
