"""The upstream SkillLoader facade, the top-level Python API, and tool definitions for LLM APIs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

import skillware
from skillware.core.loader import SkillLoader
from skillware.errors import BundleError, RequirementsError
from skillware.tool_export import tool_name

MakeBundle = Callable[..., Path]

TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

WITH_SIDE_FILES = """\
name: cat/x
description: Echoes its params.
parameters:
  type: object
  properties:
    text: {type: string, description: Some text.}
    tags: {type: array, items: {type: string}}
    maybe: {type: [integer, "null"]}
    nested:
      type: object
      properties:
        flag: {type: boolean}
      additionalProperties: false
  required: [text]
  additionalProperties: false
"""


def load(skill: str, skills_root: Path, **kwargs: bool) -> dict:
    return SkillLoader.load_skill(skill, skills_dirs=[str(skills_root)], **kwargs)


def test_load_skill_returns_the_upstream_dict(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", WITH_SIDE_FILES, files={"instructions.md": "# Use it\n", "card.json": '{"title": "X"}'})
    bundle = load("cat/x", skills_root)
    assert {"module", "class", "manifest", "instructions", "card", "registry_id"} <= set(bundle)
    assert bundle["registry_id"] == "cat/x"
    assert bundle["manifest"]["description"] == "Echoes its params."
    assert bundle["instructions"] == "# Use it\n"
    assert bundle["card"] == {"title": "X"}
    assert bundle["class"].__name__ == "EchoSkill"
    assert bundle["class"](config={}).execute({"a": 1}) == {"a": 1}


def test_load_skill_without_side_files_gives_empty_instructions_and_card(
    make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x")
    bundle = load("cat/x", skills_root)
    assert (bundle["instructions"], bundle["card"]) == ("", {})


def test_load_skill_by_folder_path(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x")
    assert SkillLoader.load_skill(str(folder))["registry_id"] == "cat/x"


def test_load_skill_without_executing_the_module_does_not_import_it(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "imported"
    make_bundle("cat/x", skill=f"open({str(marker)!r}, 'w').close()\n")
    bundle = load("cat/x", skills_root, execute_module=False)
    assert (bundle["module"], bundle["class"]) == (None, None)
    assert not marker.exists()


def test_load_skill_checks_requirements_by_default(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: [surely-not-installed-pkg-xyz]\n")
    with pytest.raises(RequirementsError, match="surely-not-installed-pkg-xyz"):
        load("cat/x", skills_root)


def test_load_skill_can_skip_the_requirements_check(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: [surely-not-installed-pkg-xyz]\n")
    bundle = load("cat/x", skills_root, check_requirements=False, execute_module=False)
    assert bundle["manifest"]["requirements"] == ["surely-not-installed-pkg-xyz"]


def test_invalid_card_json_is_a_bundle_error(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", files={"card.json": "{not json"})
    with pytest.raises(BundleError, match="card.json"):
        load("cat/x", skills_root)


def test_demo_skill_runs_through_the_top_level_api() -> None:
    result = skillware.run_skill("compliance/example_skill", {"text": "mail me at a@b.io"})
    assert result["redacted"] == "mail me at [EMAIL]"


def test_top_level_load_skill_returns_the_upstream_dict() -> None:
    assert skillware.load_skill("compliance/example_skill")["registry_id"] == "compliance/example_skill"


# --- tool definitions ---------------------------------------------------------------------------


def test_claude_tool_has_a_sanitised_name_and_the_parameters_schema(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", WITH_SIDE_FILES)
    bundle = load("cat/x", skills_root)
    tool = SkillLoader.to_claude_tool(bundle)
    parameters = bundle["manifest"]["parameters"]
    assert tool == {"name": "cat_x", "description": "Echoes its params.", "input_schema": parameters}


def test_openai_tool_is_a_function_definition(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", WITH_SIDE_FILES)
    bundle = load("cat/x", skills_root)
    tool = SkillLoader.to_openai_tool(bundle)
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "cat_x"
    assert tool["function"]["parameters"] == bundle["manifest"]["parameters"]


def test_gemini_tool_uses_upper_case_types_and_drops_unsupported_keywords(
    make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", WITH_SIDE_FILES)
    params = SkillLoader.to_gemini_tool(load("cat/x", skills_root))["parameters"]
    assert params["type"] == "OBJECT"
    assert "additionalProperties" not in params
    props = params["properties"]
    assert props["text"] == {"type": "STRING", "description": "Some text."}
    assert props["tags"] == {"type": "ARRAY", "items": {"type": "STRING"}}
    assert props["maybe"] == {"type": "INTEGER", "nullable": True}
    assert props["nested"] == {"type": "OBJECT", "properties": {"flag": {"type": "BOOLEAN"}}}
    assert params["required"] == ["text"]


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    tool = SkillLoader.to_claude_tool({"manifest": {"name": "x"}})
    assert tool["input_schema"] == {"type": "object", "properties": {}}


def test_tool_description_falls_back_to_short_description() -> None:
    tool = SkillLoader.to_claude_tool({"manifest": {"name": "x", "short_description": "short"}})
    assert tool["description"] == "short"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("compliance/example_skill", "compliance_example_skill"), ("a.b-c", "a_b-c"), ("", "skill"), ("x" * 80, "x" * 64)],
)
def test_tool_name_is_sanitised(name: str, expected: str) -> None:
    assert tool_name(name) == expected


@given(st.text(max_size=200))
def test_any_name_becomes_a_valid_tool_name(name: str) -> None:
    assert TOOL_NAME.fullmatch(tool_name(name))
