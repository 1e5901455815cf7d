"""Params: read them (inline JSON, @file, or - for stdin) and validate them against the manifest."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any, Dict, Optional

from .errors import ParamsError
from .fast_schema import problems_for, summary
from .json_strict import MAX_PARAMS_BYTES
from .manifest import Manifest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, source: str) -> Any:
    """Strict JSON (no NaN/Infinity), with the position of a syntax error."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParamsError(f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                          "params must be a JSON object, e.g. '{\"text\": \"hello\"}'") from None
    except (ValueError, RecursionError) as exc:
        raise ParamsError(f"{source}: invalid JSON: {exc}", "params must be a JSON object") from None


def read_params(spec: Optional[str], stdin: Optional[IO[str]] = None) -> Dict[str, Any]:
    """Params from `--params`: inline JSON, `@file.json`, or `-` for standard input."""
    if spec is None:
        return {}
    if spec == "-":
        stream = stdin if stdin is not None else sys.stdin
        text, source = stream.read(MAX_PARAMS_BYTES + 1), "params from stdin"
    elif spec.startswith("@"):
        from .bounded_read import Unreadable, read_regular_file

        path = Path(spec[1:])
        source = f"params file {path}"
        try:
            text = read_regular_file(path, MAX_PARAMS_BYTES).decode("utf-8")
        except Unreadable as exc:
            raise ParamsError(f"{source}: {exc}", "name a regular JSON file (or use - for stdin)") from None
        except OSError as exc:
            raise ParamsError(f"{source}: cannot read: {exc.strerror or exc}", "check the path after @") from None
        except UnicodeDecodeError:
            raise ParamsError(f"{source}: not UTF-8", "save the file as UTF-8") from None
    else:
        text, source = spec, "--params"
    if len(text) > MAX_PARAMS_BYTES:
        raise ParamsError(f"{source} is larger than {MAX_PARAMS_BYTES:,} bytes", "pass less data")
    value = parse_json(text, source)
    if not isinstance(value, dict):
        raise ParamsError(f"{source}: params must be a JSON object, got {type(value).__name__}",
                          "wrap the values in {...}")
    return value


def check_unicode(params: Any, source: str = "params") -> None:
    """Refuse a lone surrogate ("\\ud800"): JSON can spell it, UTF-8 cannot carry it to the skill."""
    from .json_strict import lone_surrogate_at

    where = lone_surrogate_at(params)
    if where is not None:
        raise ParamsError(f"{source}: {where}: a \\u escape that is half of a surrogate pair is not a character",
                          "send text as valid Unicode (pair \\ud83d with \\ude00, or send the character itself)")


def validate_params(manifest: Manifest, params: Any) -> None:
    """Raise ParamsError naming the field when params do not satisfy the manifest's `parameters`."""
    if not isinstance(params, dict):
        raise ParamsError(f"params must be a JSON object, got {type(params).__name__}", "wrap the values in {...}")
    check_unicode(params)
    from .time_bound import SCHEMA_CHECK_SECONDS, Exceeded

    try:
        problems = problems_for(manifest.parameters, params, "params")
    except Exceeded:
        raise ParamsError(f"checking params for {manifest.id} took longer than {SCHEMA_CHECK_SECONDS:g}s: a `pattern` "
                          "in its `parameters` backtracks catastrophically on this value",
                          "simplify the pattern (e.g. (a+)+ becomes a+), or pass a shorter value") from None
    if problems:
        hint = problems[0].hint or f"see `skillware info {manifest.id}` for the parameters"
        raise ParamsError(f"invalid params for {manifest.id}: {summary(problems)}", hint)
