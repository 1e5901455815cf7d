"""Schemas the meta-schema accepts but that cannot check anything: refused when the manifest loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

import pytest

from skillware.bundle import resolve
from skillware.errors import ManifestError
from skillware.manifest import load_manifest
from skillware.schema_safety import schema_safety_problems

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
