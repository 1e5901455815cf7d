"""Bounded YAML loading: hostile manifests fail fast with one clear problem, never a crash."""

from __future__ import annotations

import time
from pathlib import Path

from skillware.yaml_load import MAX_BYTES, load_yaml_file, load_yaml_text
from tests.bundles import billion_laughs


def test_alias_bomb_is_refused_in_under_two_seconds() -> None:
    start = time.monotonic()
    data, problems = load_yaml_text(billion_laughs(), "m.yaml")
    assert time.monotonic() - start < 2
    assert data is None
    assert len(problems) == 1 and "alias" in problems[0].message


def test_recursive_alias_is_refused() -> None:
    data, problems = load_yaml_text("a: &x {b: *x}\n", "m.yaml")
    assert data is None and problems


def test_modest_alias_use_is_allowed() -> None:
    data, problems = load_yaml_text("base: &b {type: string}\nother: *b\n", "m.yaml")
    assert problems == []
    assert data == {"base": {"type": "string"}, "other": {"type": "string"}}


def test_ten_megabyte_file_is_refused_in_under_two_seconds(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("description: " + "x" * 10_000_000 + "\n", encoding="utf-8")
    start = time.monotonic()
    data, problems = load_yaml_file(path, "manifest.yaml")
    assert time.monotonic() - start < 2
    assert data is None
    assert len(problems) == 1 and f"{MAX_BYTES:,}" in problems[0].message


def test_half_a_million_nested_brackets_do_not_crash() -> None:
    start = time.monotonic()
    data, problems = load_yaml_text("[" * 500_000, "m.yaml")
    assert time.monotonic() - start < 2
    assert data is None
    assert len(problems) == 1 and "nest" in problems[0].message


def test_deeply_nested_block_mappings_are_refused() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v\n"
    data, problems = load_yaml_text(text, "m.yaml")
    assert data is None and "nest" in problems[0].message


def test_duplicate_key_is_a_problem_naming_both_lines() -> None:
    data, problems = load_yaml_text("name: a\nversion: 1\nname: b\n", "m.yaml")
    assert data is None
    assert [(p.pointer, p.warning) for p in problems] == [("/name", False)]
    assert "line 3" in problems[0].message and "line 1" in problems[0].message


def test_nested_duplicate_key_has_its_full_pointer() -> None:
    text = "parameters:\n  properties:\n    text: {}\n    text: {}\n"
    _, problems = load_yaml_text(text, "m.yaml")
    assert [p.pointer for p in problems] == ["/parameters/properties/text"]


def test_non_string_key_is_a_problem() -> None:
    data, problems = load_yaml_text("1: one\n", "m.yaml")
    assert data is None and "not a string" in problems[0].message


def test_syntax_error_reports_line_and_column() -> None:
    data, problems = load_yaml_text("name: x\nversion: 1\ndescription: a: b\n", "m.yaml")
    assert data is None
    assert len(problems) == 1
    assert "line 3, column 15" in problems[0].message


def test_unterminated_quote_reports_a_line() -> None:
    _, problems = load_yaml_text("name: x\ndescription: 'abc\n", "m.yaml")
    assert "line 3, column 1" in problems[0].message


def test_timestamps_stay_strings() -> None:
    data, problems = load_yaml_text("version: 2024-01-01\nwhen: 2001-12-14t21:59:43.10-05:00\n", "m.yaml")
    assert problems == []
    assert data == {"version": "2024-01-01", "when": "2001-12-14t21:59:43.10-05:00"}


def test_python_tags_are_refused_not_constructed() -> None:
    data, problems = load_yaml_text("a: !!python/object/apply:os.system ['true']\n", "m.yaml")
    assert data is None and problems


def test_empty_file_is_a_problem() -> None:
    data, problems = load_yaml_text("", "m.yaml")
    assert data is None and "empty" in problems[0].message


def test_non_utf8_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    data, problems = load_yaml_file(path, "manifest.yaml")
    assert data is None and "UTF-8" in problems[0].message


def test_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    data, problems = load_yaml_file(tmp_path / "nope.yaml", "nope.yaml")
    assert data is None and "cannot read" in problems[0].message
