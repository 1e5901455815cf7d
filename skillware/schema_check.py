"""JSON Schema validation that reports every error as a Problem with a JSON pointer and a hint.

jsonschema is imported lazily: it costs ~90 ms, and a cached manifest run may never need it.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List

from .json_pointer import escape_pointer
from .problem import Problem

# Fields that people try to add to `container:`; skillware has no such option by design.
_NEVER_OPTIONS = {
    "volumes": "host mounts are not an option: the bundle is the only host path a skill sees",
    "privileged": "privileged mode does not exist in skillware",
    "cap_add": "capabilities are always dropped",
    "devices": "host devices are never passed in",
    "user": "the container user is fixed by skillware (non-root)",
    "env": "declare env vars under top-level `env_vars`",
    "pid": "host namespaces do not exist in skillware",
    "ipc": "host namespaces do not exist in skillware",
    "security_opt": "security options are fixed by skillware",
}


@cache
def load_schema(name: str) -> Dict[str, Any]:
    """Load a schema shipped inside the package (skillware/schemas/NAME)."""
    # Package data are plain files: containers bind-mount files from the package too.
    text = (Path(__file__).resolve().parent / "schemas" / name).read_text(encoding="utf-8")
    schema: Dict[str, Any] = json.loads(text)
    return schema


def pointer_of(path: Any) -> str:
    """JSON Pointer for a jsonschema error path (a deque of keys and indexes)."""
    return "".join("/" + escape_pointer(str(part)) for part in path)


@lru_cache(maxsize=64)
def _validator_for_schema_text(schema_text: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_text))


def validator(schema: Any) -> Any:
    """A cached Draft 2020-12 validator for a (JSON-serialisable) schema."""
    return _validator_for_schema_text(json.dumps(schema, sort_keys=True))


_PATTERN_HINTS = {
    "requirements": "a PEP 508 requirement, e.g. requests>=2.31 or pyyaml",
    "name": "a skill name like example_skill, or the id like compliance/example_skill",
    "category": "letters, digits, _ . - (e.g. compliance)",
    "image": "a local image reference, lower case, e.g. localhost/skillware-python:3.11",
    "egress": "host:port, e.g. api.example.com:443 or *.example.com:443",
    "build": "a path inside the bundle, e.g. Dockerfile",
}


def _field(error: Any) -> str:
    """The name of the manifest field an error is about (the last non-index path element)."""
    names = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    return names[-1] if names else ""


def _hint(error: Any) -> str:
    kind = error.validator
    if kind == "required":
        return "add the missing field"
    if kind in ("enum", "const"):
        allowed = error.validator_value if kind == "enum" else [error.validator_value]
        return "use one of: " + ", ".join(json.dumps(v) for v in allowed)
    if kind == "type":
        wanted = error.validator_value
        return "expected " + (" or ".join(wanted) if isinstance(wanted, list) else str(wanted))
    if kind == "pattern":
        return _PATTERN_HINTS.get(_field(error), f"must match {error.validator_value}")
    if kind == "not":
        return "these fields cannot be combined"
    bounds = {"minimum": "use {} or more", "exclusiveMinimum": "use more than {}", "maximum": "use {} or less",
              "exclusiveMaximum": "use less than {}"}
    if kind in bounds:
        return bounds[kind].format(error.validator_value)
    if kind in ("minLength", "maxLength", "minItems", "maxItems"):
        return f"{kind} is {error.validator_value}"
    return ""


def _leaf_errors(error: Any) -> Iterator[Any]:
    """Descend into anyOf/oneOf/$ref wrappers so the error names the real field."""
    from jsonschema.exceptions import best_match

    if error.context and error.validator in ("anyOf", "oneOf"):
        yield from _leaf_errors(best_match(error.context))
    else:
        yield error


def problems_from_validation(
    schema: Any, instance: Any, file: str, base_pointer: str = "", label: str = ""
) -> List[Problem]:
    """Every way `instance` fails `schema`, as Problems under `base_pointer`."""
    from referencing.exceptions import Unresolvable

    problems: List[Problem] = []
    try:
        errors = sorted(validator(schema).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        for top in errors:
            for error in _leaf_errors(top):
                problems += _to_problems(error, file, base_pointer, label)
    except Unresolvable as exc:
        problems.append(Problem(file, base_pointer, f"{label}schema has a $ref that cannot be resolved: {exc}",
                                "only local references (#/...) are supported"))
    except (RecursionError, re.error, TypeError, ValueError, AttributeError, OverflowError) as exc:
        # The schema comes from a skill's manifest: a validator crash on it is that manifest's
        # problem, said in one line, never a traceback (schema_safety.py refuses the known causes).
        problems.append(Problem(file, base_pointer, f"{label}the schema cannot check this value "
                                f"({type(exc).__name__}: {_shorten(str(exc), 120)})",
                                "fix the manifest's schema; run `skillware validate` on the skill"))
    return problems


def _to_problems(error: Any, file: str, base_pointer: str, label: str) -> List[Problem]:
    pointer = base_pointer + pointer_of(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed)
        return [
            Problem(file, f"{pointer}/{escape_pointer(k)}", f"{label}unknown field {k!r}",
                    _NEVER_OPTIONS.get(k, "remove it; allowed: " + ", ".join(sorted(allowed))))
            for k in extras
        ]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [Problem(file, f"{pointer}/{escape_pointer(missing)}" if missing else pointer,
                        f"{label}{error.message}", "add the missing field")]
    return [Problem(file, pointer, f"{label}{_shorten(error.message)}", _hint(error))]


def _shorten(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def schema_problems(schema: Any, file: str, pointer: str) -> List[Problem]:
    """Problems that make `schema` itself an invalid Draft 2020-12 JSON Schema."""
    from jsonschema import Draft202012Validator

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    return [
        Problem(file, pointer + pointer_of(e.absolute_path), f"not a valid JSON Schema: {_shorten(e.message)}",
                "see https://json-schema.org/draft/2020-12 for the keyword's form")
        for e in meta.iter_errors(schema)
    ]
