"""Manifest schemas that are valid JSON Schema yet cannot be used to check anything.

The meta-schema accepts them, but checking params or a result with them fails in the host:
- a `pattern` (or `patternProperties` key) that is not a regular expression: JSON Schema only
  annotates the `regex` format, so nothing rejects `(?P<x` until a value meets it;
- a `$ref` loop that never reaches a value: `{$ref: "#"}`, or `a → b → a` through `$defs`, or
  any loop through keywords that apply to the same value (allOf, anyOf, oneOf, not, if/then/else,
  dependentSchemas). A loop through `properties`, `items` … is fine: each step goes one level
  into the value, and values are finite.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Dict, List, Optional, Set, Tuple

from .json_pointer import escape_pointer
from .problem import Problem

# Values of these are data, not schemas: a "pattern" key inside them means nothing.
_DATA_KEYWORDS = {"enum", "const", "default", "examples"}
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("not", "if", "then", "else")


def schema_safety_problems(schema: Any, file: str, pointer: str) -> List[Problem]:
    """Unusable patterns and value-less `$ref` loops in a manifest's `parameters` or `output`."""
    patterns = [problem for where, pattern in patterns_of(schema, pointer)
                for problem in _regex_problem(pattern, file, where)]
    return patterns + _ref_loop_problems(schema, file, pointer)


def _regex_problem(pattern: str, file: str, pointer: str) -> List[Problem]:
    try:
        with warnings.catch_warnings():  # e.g. FutureWarning for "[[": not the reader's concern here
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return [Problem(file, pointer, f"not a regular expression: {exc}",
                        "fix the pattern; skillware checks patterns with Python's re module")]
    return []


def _ref_loop_problems(root: Any, file: str, pointer: str) -> List[Problem]:
    """`$ref`s to nothing, then the first loop of same-value steps, if any."""
    edges: Dict[str, List[str]] = {}
    nodes: Dict[str, Any] = {}
    _collect(root, "", nodes, edges, set())
    dangling = []
    for at, node in nodes.items():
        ref = node.get("$ref")
        local = isinstance(ref, str) and (ref == "#" or ref.startswith("#/"))
        if local and not _exists(root, _unescape_fragment(ref[1:])):
            dangling.append(Problem(file, f"{pointer}{at}/$ref", f"`$ref` {ref!r} points at nothing in the schema",
                                    "point it at a subschema of the same `parameters`/`output` (e.g. #/$defs/name)"))
    if dangling:
        return dangling
    state: Dict[str, int] = {}   # 1: on the current path, 2: done

    def visit(at: str, path: List[str]) -> Optional[List[str]]:
        state[at] = 1
        for target in edges.get(at, []):
            if state.get(target) == 1:
                return path + [target]
            if target not in state:
                loop = visit(target, path + [target])
                if loop:
                    return loop
        state[at] = 2
        return None

    for start in nodes:
        if start not in state:
            loop = visit(start, [start])
            if loop:
                shown = " → ".join(pointer + (p or "") or "/" for p in loop[loop.index(loop[-1]):])
                return [Problem(file, pointer + loop[-1], f"`$ref` loop that never reaches a value: {shown}",
                                "a schema that refers back to itself must go through properties, items … "
                                "(one level into the value) on the way")]
    return []


def _collect(node: Any, at: str, nodes: Dict[str, Any], edges: Dict[str, List[str]], seen: Set[int]) -> None:
    """Every subschema by its pointer (relative to the root), and its same-value steps."""
    if id(node) in seen:  # YAML aliases: each object is looked at once
        return
    if isinstance(node, list):
        seen.add(id(node))
        for index, item in enumerate(node):
            _collect(item, f"{at}/{index}", nodes, edges, seen)
        return
    if not isinstance(node, dict):
        return
    seen.add(id(node))
    nodes[at] = node
    steps: List[str] = []
    ref = node.get("$ref")
    if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")):  # "#name" anchors are not followed
        steps.append(_unescape_fragment(ref[1:]))
    for key in _IN_PLACE_LISTS:
        if isinstance(node.get(key), list):
            steps += [f"{at}/{key}/{i}" for i in range(len(node[key]))]
    for key in _IN_PLACE_ONE:
        if key in node:
            steps.append(f"{at}/{key}")
    if isinstance(node.get("dependentSchemas"), dict):
        steps += [f"{at}/dependentSchemas/{escape_pointer(str(k))}" for k in node["dependentSchemas"]]
    edges[at] = steps
    for key, value in node.items():
        if key not in _DATA_KEYWORDS:
            _collect(value, f"{at}/{escape_pointer(str(key))}", nodes, edges, seen)


def _exists(root: Any, target: str) -> bool:
    node = root
    for token in target.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _unescape_fragment(fragment: str) -> str:
    """`#/$defs/a%20b` → `/$defs/a b` (the pointer as _collect spells it)."""
    from urllib.parse import unquote

    return unquote(fragment)


def nested_repetition(pattern: str) -> bool:
    """True when a repeated group can match using only a repetition inside it, as in `(a+)+`,
    `(\\w+\\s?)*` or `(.*)+`: the regex engine then tries every way to split a run between the
    iterations, exponentially many on a value that does not match. A heuristic for reviewers:
    `(a|aa)+` backtracks too and is not found; `[a-z]+(-[a-z]+)*` is fine and is not flagged."""
    try:
        try:
            from re import _parser as sre_parse  # type: ignore[attr-defined]
        except ImportError:  # Python < 3.11
            import sre_parse
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sre_parse.parse(pattern)
    except Exception:  # not a regex at all: schema_safety_problems reports that
        return False
    return _risky(list(parsed), sre_parse)


def _risky(items: List[Any], sre: Any) -> bool:
    consts = sre._constants if hasattr(sre, "_constants") else sre
    repeats = (consts.MAX_REPEAT, consts.MIN_REPEAT)
    for op, av in items:
        if op in repeats:
            low, high, body = av
            if high > 1 and _only_a_repetition(list(body), consts, repeats):
                return True
            if _risky(list(body), sre):
                return True
        elif op == consts.SUBPATTERN and _risky(list(av[-1]), sre):
            return True
        elif op == consts.BRANCH and any(_risky(list(branch), sre) for branch in av[1]):
            return True
    return False


def _only_a_repetition(items: List[Any], consts: Any, repeats: Tuple[Any, ...]) -> bool:
    """The body matches with one variable repetition and nothing else that must consume text."""
    while len(items) == 1 and items[0][0] == consts.SUBPATTERN:
        items = list(items[0][1][-1])
    needed = [(op, av) for op, av in items if _min_width(op, av, consts, repeats) > 0]
    variable = [(op, av) for op, av in items if op in repeats and av[1] > av[0] and av[1] > 1]
    if not variable:
        return False
    return not needed or (len(needed) == 1 and needed[0] in variable)


def _min_width(op: Any, av: Any, consts: Any, repeats: Tuple[Any, ...]) -> int:
    if op in repeats:
        return int(av[0]) * sum(_min_width(o, a, consts, repeats) for o, a in av[2])
    if op == consts.SUBPATTERN:
        return sum(_min_width(o, a, consts, repeats) for o, a in av[-1])
    if op == consts.BRANCH:
        return min(sum(_min_width(o, a, consts, repeats) for o, a in branch) for branch in av[1])
    if op in (consts.AT, consts.ASSERT, consts.ASSERT_NOT, consts.GROUPREF):
        return 0
    return 1


def patterns_of(schema: Any, pointer: str) -> List[Tuple[str, str]]:
    """(JSON pointer, pattern) of every `pattern` and `patternProperties` key in a schema."""
    found: List[Tuple[str, str]] = []
    seen: Set[int] = set()

    def walk(node: Any, at: str) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append((f"{at}/pattern", node["pattern"]))
            if isinstance(node.get("patternProperties"), dict):
                found.extend((f"{at}/patternProperties/{escape_pointer(k)}", k)
                             for k in node["patternProperties"] if isinstance(k, str))
            for key, value in node.items():
                if key not in _DATA_KEYWORDS:
                    walk(value, f"{at}/{escape_pointer(str(key))}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{at}/{index}")

    walk(schema, pointer)
    return found
