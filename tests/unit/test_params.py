"""Params: read from inline JSON, @file or stdin, and validated against `parameters` before anything runs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import pytest

from skillware.api import run_skill
from skillware.core.base_skill import BaseSkill, SkillwareParamValidationError
from skillware.errors import ParamsError
from skillware.params import read_params

MakeBundle = Callable[..., Path]

TEXT_PARAMS = """\
name: x
parameters:
  type: object
  properties:
    text: {type: string}
    count: {type: integer, minimum: 1}
  required: [text]
  additionalProperties: false
"""


def test_inline_params_are_parsed() -> None:
    assert read_params('{"text": "hi"}') == {"text": "hi"}


def test_params_from_a_file_after_at(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"text": "from file"}', encoding="utf-8")
    assert read_params(f"@{path}") == {"text": "from file"}


def test_params_from_stdin_with_dash() -> None:
    assert read_params("-", stdin=io.StringIO('{"text": "from stdin"}')) == {"text": "from stdin"}


def test_no_params_is_an_empty_object() -> None:
    assert read_params(None) == {}


def test_unreadable_params_file_is_a_params_error(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="cannot read"):
        read_params(f"@{tmp_path / 'missing.json'}")


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(ParamsError, match="line 2, column 9"):
        read_params('{"a": 1,\n "b": 2,,}')


def test_nan_is_not_json() -> None:
    with pytest.raises(ParamsError):
        read_params('{"x": NaN}')


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "3", "null"])
def test_params_that_are_not_an_object_are_refused(text: str) -> None:
    with pytest.raises(ParamsError, match="JSON object"):
        read_params(text)


def test_params_error_exits_with_usage_code() -> None:
    assert ParamsError("x").exit_code == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [({"text": 5}, "/text"), ({}, "/text"), ({"text": "a", "count": 0}, "/count"),
     ({"text": "a", "extra": 1}, "/extra")],
)
def test_invalid_params_error_names_the_field(
    make_bundle: MakeBundle, skills_root: Path, params: dict, field: str
) -> None:
    make_bundle("cat/x", TEXT_PARAMS)
    with pytest.raises(ParamsError) as caught:
        run_skill("cat/x", params, skills_dirs=[str(skills_root)])
    assert f"{field}:" in caught.value.message


def test_params_are_validated_before_the_skill_is_imported(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "imported"
    make_bundle("cat/x", TEXT_PARAMS, skill=f"open({str(marker)!r}, 'w').close()\n")
    with pytest.raises(ParamsError):
        run_skill("cat/x", {"text": 1}, skills_dirs=[str(skills_root)])
    assert not marker.exists()


def test_non_object_params_from_the_api_are_refused(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x")
    with pytest.raises(ParamsError):
        run_skill("cat/x", ["not", "an", "object"], skills_dirs=[str(skills_root)])  # type: ignore[arg-type]


class TextSkill(BaseSkill):
    _skillware_manifest = {"name": "cat/x", "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                                                            "required": ["text"]}}


def test_base_skill_validate_params_accepts_valid_params() -> None:
    assert TextSkill().validate_params({"text": "ok"}) is True


def test_base_skill_validate_params_names_the_field() -> None:
    with pytest.raises(SkillwareParamValidationError, match="/text"):
        TextSkill().validate_params({"text": 3})


def test_base_skill_validate_params_refuses_a_non_object() -> None:
    with pytest.raises(SkillwareParamValidationError):
        TextSkill().validate_params("text")  # type: ignore[arg-type]
