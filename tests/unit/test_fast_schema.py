"""The fast yes/no check agrees with jsonschema on the schema subset it decides."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from skillware.fast_schema import json_equal, quick_valid

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False),
                    st.sampled_from([1.0, 0.0, 2.5, 10**30]), st.text(max_size=4))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.sampled_from("abc"), inner, max_size=3)),
                           max_leaves=8)
types = st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null"])


def schemas(depth: int = 2) -> st.SearchStrategy:
    leaf = st.fixed_dictionaries({}, optional={
        "type": st.one_of(types, st.lists(types, min_size=1, max_size=3, unique=True)),
        "enum": st.lists(scalars, min_size=1, max_size=3),
        "const": scalars,
        "minLength": st.integers(0, 3), "maxLength": st.integers(0, 3),
        "pattern": st.sampled_from(["^a", "b$", "[0-9]", ".*"]),
        "minimum": st.integers(-3, 3), "maximum": st.integers(-3, 3),
        "exclusiveMinimum": st.floats(-3, 3, allow_nan=False), "exclusiveMaximum": st.integers(-3, 3),
        "minItems": st.integers(0, 2), "maxItems": st.integers(0, 2),
        "required": st.lists(st.sampled_from("abc"), max_size=2, unique=True),
        "description": st.text(max_size=3),
    })
    if depth == 0:
        return st.one_of(leaf, st.booleans())
    sub = schemas(depth - 1)
    return st.one_of(leaf, st.booleans(), st.fixed_dictionaries({}, optional={
        "type": types,
        "properties": st.dictionaries(st.sampled_from("abc"), sub, max_size=3),
        "additionalProperties": sub,
        "items": sub,
        "required": st.lists(st.sampled_from("abc"), max_size=2, unique=True),
    }))


@settings(max_examples=600, deadline=None)
@given(schemas(), json_values)
def test_quick_check_agrees_with_jsonschema(schema, instance):
    assert quick_valid(schema, instance) == Draft202012Validator(schema).is_valid(instance)


def test_unsupported_keywords_defer_to_jsonschema():
    assert quick_valid({"type": "object", "patternProperties": {"a": {}}}, {}) is False
    assert quick_valid({"oneOf": [{"type": "string"}]}, "x") is False


def test_json_equality_tells_booleans_from_numbers():
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal({"a": [1, True]}, {"a": [1.0, True]})


def test_huge_integers_are_integers():
    assert quick_valid({"type": "integer"}, 10**400)
