"""Bounded YAML loading for files a stranger may have written (manifests, policies).

Three attacks are closed here, before any schema sees the data: huge files (size cap),
alias bombs (node count after alias expansion is capped while still a graph, so it is
measured in time linear in the file), and YAML-only types that JSON Schema cannot judge
(timestamps stay strings; non-string keys and duplicate keys are problems).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import yaml

from .json_pointer import escape_pointer
from .problem import Problem
from .yaml_limits import MAX_BYTES, MAX_DEPTH, MAX_NODES

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Base):  # type: ignore[misc]
    """Safe loader without implicit timestamps: `version: 2024-01-01` stays a string."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


def _expanded_size(node: yaml.Node, memo: Dict[int, int]) -> int:
    """Count nodes as if every alias were copied out, memoised per node so bombs stay cheap."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_NODES + 1  # a cycle (recursive alias) counts as too big
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo) + _expanded_size(v, memo)
            if total > MAX_NODES:
                break
    memo[key] = total
    return total


def _mapping_problems(node: yaml.Node, file: str, pointer: str, seen: set[int]) -> List[Problem]:
    """Duplicate and non-string keys, found on the node graph where line numbers are known."""
    if id(node) in seen:
        return []
    seen.add(id(node))
    problems: List[Problem] = []
    if isinstance(node, yaml.MappingNode):
        keys: Dict[str, int] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode) or k.tag != "tag:yaml.org,2002:str":
                line = k.start_mark.line + 1
                problems.append(Problem(file, pointer, f"line {line}: key {k.value!r} is not a string",
                                        "quote the key"))
                continue
            if k.value in keys:
                problems.append(Problem(file, f"{pointer}/{escape_pointer(k.value)}",
                                        f"line {k.start_mark.line + 1}: duplicate key "
                                        f"(first at line {keys[k.value]})", "keep one of them"))
            keys[k.value] = k.start_mark.line + 1
            problems += _mapping_problems(v, file, f"{pointer}/{escape_pointer(k.value)}", seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            problems += _mapping_problems(child, file, f"{pointer}/{i}", seen)
    return problems


def _non_finite(value: Any, file: str, pointer: str, seen: Set[int]) -> List[Problem]:
    """YAML's .nan and .inf: JSON has neither, and NaN passes every `minimum` and every ceiling."""
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(file, pointer, f"{value} is not a number JSON allows", "write a finite number")]
    if id(value) in seen or not isinstance(value, (dict, list)):
        return []
    seen.add(id(value))
    items = value.items() if isinstance(value, dict) else enumerate(value)
    problems: List[Problem] = []
    for key, child in items:
        problems += _non_finite(child, file, f"{pointer}/{escape_pointer(str(key))}", seen)
    return problems


def load_yaml_file(path: Path, display: str) -> Tuple[Any, List[Problem]]:
    """Parse a YAML file into JSON-like data; return (data, problems). data is None on failure."""
    from .bounded_read import Unreadable, read_regular_file

    try:
        raw = read_regular_file(path, MAX_BYTES)
    except Unreadable as exc:
        return None, [Problem(display, "", str(exc), "name a regular YAML file of at most "
                              f"{MAX_BYTES // 1024:,} KiB (a manifest holds metadata; data goes in data/)")]
    except OSError as exc:
        return None, [Problem(display, "", f"cannot read: {exc.strerror or exc}", "check the path and permissions")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, "", f"not UTF-8 (byte {exc.start})", "save the file as UTF-8")]
    return load_yaml_text(text, display)


def _shape_problem(text: str, display: str) -> List[Problem]:
    """Too deep or too many nodes, judged on the event stream before anything is built.

    libyaml's composer recurses in C and crashes the interpreter on a few hundred thousand
    nested `[`; and building a flat document of a million items costs seconds. Events cost
    little, so both are refused here first.
    """
    depth = events = 0
    for event in yaml.parse(text, Loader=_StrictLoader):
        events += 1
        if events > MAX_NODES:
            return [Problem(display, "", f"document has more than {MAX_NODES:,} nodes", "make it smaller")]
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return [Problem(display, "", f"collections nest deeper than {MAX_DEPTH} levels",
                                "flatten the structure")]
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return []


def load_yaml_text(text: str, display: str) -> Tuple[Any, List[Problem]]:
    """Parse YAML text under the same bounds as load_yaml_file."""
    loader = _StrictLoader(text)
    try:
        shape = _shape_problem(text, display)
        if shape:
            return None, shape
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(display, "", "file is empty", "see `skillware new` for a template")]
        if _expanded_size(node, {}) > MAX_NODES:
            return None, [Problem(display, "", f"document expands to more than {MAX_NODES:,} nodes "
                                  "(YAML alias bomb?)", "remove the anchors/aliases (& and *)")]
        problems = _mapping_problems(node, display, "", set())
        if problems:
            return None, problems
        data = loader.construct_document(node)
        problems = _non_finite(data, display, "", set())
        return (None, problems) if problems else (data, [])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        return None, [Problem(display, "", f"YAML syntax error at {where}{what}",
                              "fix the YAML syntax (indentation, quotes, colons)")]
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return None, [Problem(display, "", f"YAML error: {exc}", "fix the YAML syntax")]
    finally:
        loader.dispose()
