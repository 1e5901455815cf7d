"""Schemas the meta-schema accepts but that cannot check anything: refused when the manifest loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import pytest

from skillware.bundle import resolve
from skillware.errors import ManifestError
from skillware.manifest import load_manifest
from skillware.schema_safety import nested_repetition, schema_safety_problems

MakeBundle = Callable[..., Path]


def problems(schema: Any) -> List[str]:
    return [f"{p.pointer}: {p.message}" for p in schema_safety_problems(schema, "m.yaml", "/parameters")]


@pytest.mark.parametrize("schema, pointer", [
    ({"type": "string", "pattern": "(?P<x"}, "/parameters/pattern"),
    ({"type": "object", "properties": {"a": {"type": "array", "items": {"pattern": "[z-a]"}}}},
     "/parameters/properties/a/items/pattern"),
    ({"type": "object", "patternProperties": {"(": {"type": "string"}}}, "/parameters/patternProperties/("),
    ({"type": "object", "propertyNames": {"pattern": "a{2,1}"}}, "/parameters/propertyNames/pattern"),
])
def test_a_pattern_that_is_not_a_regular_expression_is_refused(schema: Any, pointer: str) -> None:
    (found,) = problems(schema)
    assert found.startswith(f"{pointer}: not a regular expression")


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
    {"allOf": [{"$ref": "#"}]},
    {"type": "object", "not": {"anyOf": [{"$ref": "#"}]}},
    {"if": {"$ref": "#/$defs/x"}, "$defs": {"x": {"oneOf": [{"$ref": "#/$defs/x"}]}}},
    {"$ref": "#/$defs/a~1b", "$defs": {"a/b": {"$ref": "#"}}},
])
def test_a_ref_loop_that_never_reaches_a_value_is_refused(schema: Any) -> None:
    (found,) = problems(schema)
    assert "`$ref` loop that never reaches a value" in found


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}},
    {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}},
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$"}}},
    {"enum": [{"pattern": "(("}], "const": {"pattern": "(("}},   # data, not schemas
    {"$ref": "#anchor", "$defs": {"a": {"$anchor": "anchor", "type": "string"}}},
])
def test_usable_schemas_pass(schema: Any) -> None:
    assert problems(schema) == []


def test_a_ref_to_nothing_is_refused() -> None:
    (found,) = problems({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})
    assert found.startswith("/parameters/properties/a/$ref: `$ref` '#/$defs/missing' points at nothing")


def test_a_self_referencing_document_does_not_hang() -> None:
    schema: Any = {"type": "object", "properties": {}}
    schema["properties"]["self"] = schema   # what a YAML alias can build
    assert problems(schema) == []


def test_the_manifest_is_refused_with_the_file_and_pointer(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("evil/loop", "name: evil/loop\noutput: {$ref: '#/$defs/a', $defs: {a: {$ref: '#/$defs/a'}}}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(resolve("evil/loop", [skills_root]))
    assert "manifest.yaml: /output/$defs/a: `$ref` loop that never reaches a value" in caught.value.one_line()


@pytest.mark.parametrize("pattern, risky", [
    ("(a+)+", True), ("^(a+)+$", True), (r"(\w+\s?)+$", True), ("(.*)*", True), ("(?:x*)+", True),
    (r"([a-z]+\.?)+$", True), ("(a{1,5}){2,}", True),
    ("^[a-z]+(-[a-z]+)*$", False), (r"(\d{3})+", False), ("a+", False), ("^[^@]+@[^@]+$", False),
    (r"^(\s*,\s*\w+)+$", False), ("(ab?)+", False), ("(?P<x", False),
])
def test_nested_repetition_is_found_for_reviewers(pattern: str, risky: bool) -> None:
    assert nested_repetition(pattern) is risky


def test_audit_warns_about_a_pattern_that_repeats_a_repetition(make_bundle: MakeBundle, skills_root: Path) -> None:
    from skillware.audit_static import pattern_findings

    make_bundle("rev/pat", "name: rev/pat\nparameters: {type: object, properties: {s: {type: string, "
                           "pattern: '^([a-z]+ ?)+$'}}}\noutput: {type: object, properties: {r: {pattern: '^a+$'}}}\n")
    (warned,) = pattern_findings(load_manifest(resolve("rev/pat", [skills_root])))
    assert warned.status == "warn" and warned.severity == "medium"
    assert warned.message.startswith("/parameters/properties/s/pattern: '^([a-z]+ ?)+$' repeats a repetition")
    make_bundle("rev/fine", "name: rev/fine\nparameters: {type: object, properties: {s: {pattern: '^[a-z]+$'}}}\n")
    (passed,) = pattern_findings(load_manifest(resolve("rev/fine", [skills_root])))
    assert passed.status == "pass"
