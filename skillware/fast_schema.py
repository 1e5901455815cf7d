"""A yes/no JSON Schema check for the common subset, so the happy path never imports jsonschema.

jsonschema costs ~30 ms to import, more than a small skill's whole run. Most skill schemas
use only `type`, `properties`, `required`, `enum`, bounds and `items`; for those this module
compiles a plain predicate. It only ever answers "valid"; anything it cannot decide, and every
"invalid", goes to jsonschema, which also writes the error message. A property test pins that
both agree on the subset.
"""

from __future__ import annotations

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    from .problem import Problem

    Check = Callable[[Any], bool]

_ANNOTATIONS = {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly",
                "format", "$schema", "$id"}
_SUPPORTED = _ANNOTATIONS | {"type", "enum", "const", "properties", "required", "additionalProperties", "items",
                             "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
                             "exclusiveMinimum", "exclusiveMaximum"}


class _Unsupported(Exception):
    """The schema uses a keyword this module does not decide."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: Dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def json_equal(a: Any, b: Any) -> bool:
    """JSON Schema equality: 1 == 1.0, but true != 1, and containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _compile(schema: Any) -> Check:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict) or not set(schema) <= _SUPPORTED:
        raise _Unsupported()
    checks: List[Check] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not all(isinstance(n, str) and n in _TYPES for n in names):
            raise _Unsupported()
        type_checks = [_TYPES[n] for n in names]
        checks.append(lambda v: any(t(v) for t in type_checks))
    if "enum" in schema:
        options = schema["enum"]
        if not isinstance(options, list):
            raise _Unsupported()
        checks.append(lambda v: any(json_equal(v, o) for o in options))
    if "const" in schema:
        constant = schema["const"]
        checks.append(lambda v: json_equal(v, constant))
    checks += _object_checks(schema) + _array_checks(schema) + _string_checks(schema) + _number_checks(schema)
    return lambda v: all(check(v) for check in checks)


def _object_checks(schema: Dict[str, Any]) -> List[Check]:
    checks: List[Check] = []
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise _Unsupported()
    compiled = {name: _compile(sub) for name, sub in properties.items()}
    if compiled:
        checks.append(lambda v: not isinstance(v, dict) or all(c(v[k]) for k, c in compiled.items() if k in v))
    required = schema.get("required", [])
    if not isinstance(required, list):
        raise _Unsupported()
    if required:
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
    if "additionalProperties" in schema:
        extra = _compile(schema["additionalProperties"])
        checks.append(lambda v: not isinstance(v, dict) or all(extra(v[k]) for k in v if k not in compiled))
    return checks


def _array_checks(schema: Dict[str, Any]) -> List[Check]:
    checks: List[Check] = []
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None:
        checks.append(lambda v: not isinstance(v, list) or len(v) >= low)
    if high is not None:
        checks.append(lambda v: not isinstance(v, list) or len(v) <= high)
    return checks


def _string_checks(schema: Dict[str, Any]) -> List[Check]:
    checks: List[Check] = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None:
        checks.append(lambda v: not isinstance(v, str) or len(v) >= low)
    if high is not None:
        checks.append(lambda v: not isinstance(v, str) or len(v) <= high)
    if "pattern" in schema:
        import re  # only schemas with patterns pay for it (a planned cold run checks params before spawning)

        try:
            regex = re.compile(schema["pattern"])
        except (re.error, TypeError):
            raise _Unsupported() from None
        checks.append(lambda v: not isinstance(v, str) or regex.search(v) is not None)
    return checks


def _number_checks(schema: Dict[str, Any]) -> List[Check]:
    bounds: Dict[str, Callable[[Any, Any], bool]] = {
        "minimum": lambda v, b: v >= b, "maximum": lambda v, b: v <= b,
        "exclusiveMinimum": lambda v, b: v > b, "exclusiveMaximum": lambda v, b: v < b,
    }
    checks: List[Check] = []
    for keyword, compare in bounds.items():
        if keyword in schema:
            bound = schema[keyword]
            if not _is_number(bound):
                raise _Unsupported()
            checks.append(_bound_check(bound, compare))
    return checks


def _bound_check(bound: Any, compare: Callable[[Any, Any], bool]) -> Check:
    return lambda v: not _is_number(v) or compare(v, bound)


_COMPILED: Dict[str, Optional[Check]] = {}


def _compiled(schema: Any) -> Optional[Check]:
    """The predicate for a schema, cached by its text (None: not decidable here)."""
    key = repr(schema)
    if key not in _COMPILED:
        if len(_COMPILED) >= 256:
            _COMPILED.clear()
        try:
            _COMPILED[key] = _compile(schema)
        except (_Unsupported, RecursionError):
            _COMPILED[key] = None
    return _COMPILED[key]


def quick_valid(schema: Any, instance: Any) -> bool:
    """True only when the instance certainly satisfies the schema (False means: ask jsonschema)."""
    try:
        check = _compiled(schema)
        return check is not None and check(instance)
    except (TypeError, ValueError, RecursionError):
        return False


def problems_for(schema: Any, instance: Any, label: str) -> List[Problem]:
    """[] when the instance is valid, else every problem jsonschema finds; all of it under the
    CLI's time bound (time_bound.Exceeded: a manifest `pattern` backtracks catastrophically)."""
    from .time_bound import TimeBound

    with TimeBound():
        if quick_valid(schema, instance):
            return []
        from .schema_check import problems_from_validation

        return problems_from_validation(schema, instance, label)


def summary(problems: List[Problem]) -> str:
    """The first problem as `/pointer: message`, and how many more there are."""
    first = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first.pointer or '/'}: {first.message}{more}"
