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
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from .json_pointer import escape_pointer, unescape_pointer
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
    nodes = dict(_subschemas(root, ""))
    targets = {at: _local_ref(node) for at, node in nodes.items()}
    dangling = [Problem(file, f"{pointer}{at}/$ref", f"`$ref` {nodes[at]['$ref']!r} points at nothing in the schema",
                        "point it at a subschema of the same `parameters`/`output` (e.g. #/$defs/name)")
                for at, target in targets.items() if target is not None and not _exists(root, target)]
    if dangling:
        return dangling
    edges = {at: _same_value_steps(at, node) for at, node in nodes.items()}
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


def _subschemas(schema: Any, pointer: str) -> Iterator[Tuple[str, Dict[Any, Any]]]:
    """(pointer, mapping) of the schema and every mapping below it, each object once (YAML aliases
    can make a document refer to itself); the values of data keywords (enum, const …) are skipped."""
    seen: Set[int] = set()
    stack: List[Tuple[str, Any]] = [(pointer, schema)]
    while stack:
        at, node = stack.pop()
        if id(node) in seen or not isinstance(node, (dict, list)):
            continue
        seen.add(id(node))
        if isinstance(node, list):
            stack.extend((f"{at}/{index}", item) for index, item in reversed(list(enumerate(node))))
            continue
        yield at, node
        stack.extend((f"{at}/{escape_pointer(str(key))}", value) for key, value in reversed(list(node.items()))
                     if key not in _DATA_KEYWORDS)


def _local_ref(node: Dict[Any, Any]) -> Optional[str]:
    """The JSON pointer a `$ref` of this document leads to ("#name" anchors are not followed)."""
    ref = node.get("$ref")
    if isinstance(ref, str) and (ref == "#" or ref.startswith("#/")):
        from urllib.parse import unquote

        return unquote(ref[1:])
    return None


def _same_value_steps(at: str, node: Dict[Any, Any]) -> List[str]:
    """The subschemas that apply to the same value as the one at `at`."""
    target = _local_ref(node)
    steps = [target] if target is not None else []
    for key in _IN_PLACE_LISTS:
        if isinstance(node.get(key), list):
            steps += [f"{at}/{key}/{i}" for i in range(len(node[key]))]
    steps += [f"{at}/{key}" for key in _IN_PLACE_ONE if key in node]
    if isinstance(node.get("dependentSchemas"), dict):
        steps += [f"{at}/dependentSchemas/{escape_pointer(str(k))}" for k in node["dependentSchemas"]]
    return steps


def _exists(root: Any, target: str) -> bool:
    node = root
    for token in target.split("/")[1:]:
        token = unescape_pointer(token)
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


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
    constants = getattr(sre_parse, "_constants", sre_parse)  # 3.11+ keeps them apart
    return _risky(list(parsed), constants, (constants.MAX_REPEAT, constants.MIN_REPEAT))


def _risky(items: List[Any], consts: Any, repeats: Tuple[Any, ...]) -> bool:
    for op, av in items:
        if op in repeats:
            high, body = av[1], list(av[2])
            if (high > 1 and _only_a_repetition(body, consts, repeats)) or _risky(body, consts, repeats):
                return True
        elif op == consts.SUBPATTERN and _risky(list(av[-1]), consts, repeats):
            return True
        elif op == consts.BRANCH and any(_risky(list(branch), consts, repeats) for branch in av[1]):
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
    for at, node in _subschemas(schema, pointer):
        if isinstance(node.get("pattern"), str):
            found.append((f"{at}/pattern", node["pattern"]))
        if isinstance(node.get("patternProperties"), dict):
            found += [(f"{at}/patternProperties/{escape_pointer(k)}", k)
                      for k in node["patternProperties"] if isinstance(k, str)]
    return found
