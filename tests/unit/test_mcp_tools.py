"""The MCP catalogue: tool names, descriptions and schemas from manifests (no SDK needed)."""

from __future__ import annotations

from skillware.mcp_server import build_tools, call_tool, unique_tool_names
from tests.bundles import write_bundle


def test_tool_names_are_the_sanitised_skill_ids():
    assert unique_tool_names(["compliance/example_skill"]) == {"compliance/example_skill": "compliance_example_skill"}


def test_colliding_names_are_disambiguated_by_id_order_and_a_hash_of_the_id():
    names = unique_tool_names(["a_b/c", "a/b_c"])
    assert names["a/b_c"] == "a_b_c"
    assert names["a_b/c"].startswith("a_b_c_") and len(names["a_b/c"]) == len("a_b_c_") + 8
    assert unique_tool_names(["a/b_c", "a_b/c"]) == names


def test_truncated_names_stay_within_64_characters_when_disambiguated():
    long_a, long_b = "c/" + "x" * 63 + "a", "c/" + "x" * 63 + "b"
    names = unique_tool_names([long_a, long_b])
    assert len(set(names.values())) == 2 and all(len(n) <= 64 for n in names.values())


def test_description_is_the_manifest_description_followed_by_the_instructions(tmp_path):
    write_bundle(tmp_path, "demo/echo", "name: demo/echo\ndescription: Echo.\nparameters: {type: object}\n",
                 files={"instructions.md": "Use it well.\n"})
    [tool] = [t for t in build_tools([tmp_path], print) if t.skill_id == "demo/echo"]
    assert (tool.name, tool.description, dict(tool.input_schema)) == ("demo_echo", "Echo.\n\nUse it well.",
                                                                     {"type": "object"})
    assert tool.instructions == "Use it well."


def test_invalid_skills_are_skipped_with_a_warning(tmp_path):
    write_bundle(tmp_path, "demo/broken", "name: demo/broken\nexecution: sideways\n")
    warnings: list[str] = []
    assert build_tools([tmp_path], warnings.append) == []
    assert len(warnings) == 1 and warnings[0].startswith("demo/broken is not offered: ")


def test_unknown_tool_is_an_error_outcome_without_touching_the_runner():
    outcome = call_tool(None, {}, "nope", {})  # type: ignore[arg-type]
    assert outcome.is_error and "unknown tool 'nope'" in outcome.text
