"""The CLI through click's CliRunner: exit codes, one-line errors, JSON output, validate/list/info/new."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, List

import pytest
from click.testing import Result

from tests.bundles import billion_laughs, skill_body
from tests.expect import one_line_error

MakeBundle = Callable[..., Path]
Invoke = Callable[..., Result]

PII = "compliance/example_skill"


def stderr_lines(result: Result) -> List[str]:
    return result.stderr.splitlines()


def assert_one_line_error(result: Result, exit_code: int, *fragments: str) -> str:
    return one_line_error(result.exit_code, result.stdout, result.stderr, exit_code, *fragments)


# --- run ---------------------------------------------------------------------------------------


def test_run_prints_the_result_as_json_on_stdout(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", '{"text": "a@b.io"}'])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["redacted"] == "[EMAIL]"
    assert result.stderr == ""


def test_run_output_is_compact_when_not_a_terminal(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", '{"text": "x"}'])
    assert result.stdout == '{"findings":[],"redacted":"x"}\n'


def test_run_pretty_forces_indented_json(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", '{"text": "x"}', "--pretty"])
    assert result.stdout == json.dumps({"findings": [], "redacted": "x"}, indent=2) + "\n"


def test_run_compact_forces_compact_json(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", '{"text": "x"}', "--compact"])
    assert result.stdout == '{"findings":[],"redacted":"x"}\n'


def test_run_reads_params_from_a_file(invoke: Invoke, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"text": "call a@b.io"}', encoding="utf-8")
    result = invoke(["run", PII, "--params", f"@{params}"])
    assert json.loads(result.stdout)["redacted"] == "call [EMAIL]"


def test_run_reads_params_from_stdin(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", "-"], input='{"text": "a@b.io"}')
    assert json.loads(result.stdout)["redacted"] == "[EMAIL]"


def test_run_accepts_skills_dir_after_the_subcommand(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/echo")
    result = invoke(["run", "cat/echo", "--skills-dir", str(skills_root), "--params", '{"a": 1}'])
    assert json.loads(result.stdout) == {"a": 1}


def test_run_accepts_skills_dir_before_the_subcommand(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/echo")
    result = invoke(["--skills-dir", str(skills_root), "run", "cat/echo", "--params", '{"a": 1}'])
    assert json.loads(result.stdout) == {"a": 1}


def test_run_finds_skills_on_skillware_path(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bundle("cat/echo")
    monkeypatch.setenv("SKILLWARE_PATH", str(skills_root))
    assert invoke(["run", "cat/echo"]).stdout == "{}\n"


def test_run_accepts_a_bundle_folder_as_the_id(invoke: Invoke, make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/echo")
    assert json.loads(invoke(["run", str(folder), "--params", '{"b": 2}']).stdout) == {"b": 2}


def test_skill_prints_go_to_stderr_not_stdout(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/noisy", skill=skill_body("print('progress...'); return {'ok': True}"))
    result = invoke(["--skills-dir", str(skills_root), "run", "cat/noisy"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ok": True}
    assert "progress..." in result.stderr


def test_invalid_params_exit_2_naming_the_field(invoke: Invoke) -> None:
    result = invoke(["run", PII, "--params", '{"text": 5}'])
    assert_one_line_error(result, 2, "/text")


def test_missing_required_param_exit_2_naming_the_field(invoke: Invoke) -> None:
    assert_one_line_error(invoke(["run", PII, "--params", "{}"]), 2, "text")


def test_params_that_are_not_json_exit_2_with_position(invoke: Invoke) -> None:
    assert_one_line_error(invoke(["run", PII, "--params", "{text: 1}"]), 2, "line 1, column 2")


def test_missing_params_file_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    assert_one_line_error(invoke(["run", PII, "--params", f"@{tmp_path / 'nope.json'}"]), 2, "cannot read")


def test_unknown_skill_exit_2(invoke: Invoke) -> None:
    assert_one_line_error(invoke(["run", "nope/missing"]), 2, "nope/missing")


@pytest.mark.parametrize("skill", ["../etc/passwd", "compliance/../compliance/example_skill"])
def test_dot_dot_id_exit_2(invoke: Invoke, skill: str) -> None:
    assert_one_line_error(invoke(["run", skill]), 2, "'..' is not allowed")


def test_absolute_id_exit_2(invoke: Invoke) -> None:
    assert_one_line_error(invoke(["run", "/etc/passwd"]), 2, "absolute")


def test_symlinked_skill_py_outside_the_bundle_exit_2(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    folder = make_bundle("cat/x", skill=None)
    (tmp_path / "evil.py").write_text("raise SystemExit('ran')\n", encoding="utf-8")
    (folder / "skill.py").symlink_to(tmp_path / "evil.py")
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 2, "outside the bundle")


def test_invalid_manifest_exit_2(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nexecution: sandbox\nparameters: {type: objekt}\n")
    line = assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 2, "manifest.yaml")
    assert "+1 more" in line


def test_skill_that_raises_exits_1_with_one_line(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("raise ValueError('no good')"))
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 1, "ValueError", "no good")


def test_system_exit_in_a_skill_exits_1_not_its_code(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", skill=skill_body("sys.exit(7)"))
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 1, "SystemExit")


def test_debug_shows_the_traceback(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("raise ValueError('no good')"))
    result = invoke(["--debug", "--skills-dir", str(skills_root), "run", "cat/x"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "ValueError: no good" in result.stderr
    assert stderr_lines(result)[-1].startswith("skillware: ")


def test_missing_requirement_exits_3_with_the_pip_command(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: x\nrequirements: [surely-not-installed-pkg-xyz]\n")
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 3,
                          "surely-not-installed-pkg-xyz", "pip install surely-not-installed-pkg-xyz")


def test_missing_required_env_var_exits_3(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nenv_vars:\n  SURELY_UNSET_KEY_XYZ: {required: true}\n")
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 3, "SURELY_UNSET_KEY_XYZ")


def test_non_serialisable_result_exits_9(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("return {'when': object()}"))
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 9, "JSON")


def test_result_violating_output_exits_9(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\noutput: {type: object, required: [count]}\n", skill=skill_body("return {}"))
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "run", "cat/x"]), 9, "output", "count")


def test_missing_argument_is_one_line(invoke: Invoke) -> None:
    assert_one_line_error(invoke(["run"]), 2, "SKILL")


# --- validate ----------------------------------------------------------------------------------


def test_validate_valid_skill_exits_0(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x")
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("manifest.yaml: ok")


def test_validate_lists_every_problem_as_path_pointer_message_hint(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: other\nexecution: sandbox\ncontainer:\n  volumes: [/]\n  network: host\n")
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    pointers = sorted(line.split(": ")[1] for line in lines)
    assert pointers == ["/container/network", "/container/volumes", "/execution", "/name"]
    for line in lines:
        path, pointer, rest = line.split(": ", 2)
        assert path.endswith("cat/x/manifest.yaml") and pointer.startswith("/")
        assert rest.endswith(")"), line  # every problem carries a hint


def test_validate_prints_warnings_on_stderr_and_still_passes(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: x\ninputs: {}\n")
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert result.exit_code == 0
    assert "/inputs: warning: unknown top-level key" in result.stderr


def test_validate_reports_yaml_syntax_errors_with_line_and_column(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: x\nversion: 1\ndescription: a: b\n")
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert result.exit_code == 1
    assert "line 3, column 15" in result.stdout


def test_validate_refuses_an_alias_bomb_in_under_two_seconds(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: x\n" + billion_laughs())
    start = time.monotonic()
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert time.monotonic() - start < 2
    assert result.exit_code == 1
    assert "alias" in result.stdout


def test_validate_refuses_a_ten_megabyte_manifest_in_under_two_seconds(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: x\ndescription: " + "x" * 10_000_000 + "\n")
    start = time.monotonic()
    result = invoke(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert time.monotonic() - start < 2
    assert result.exit_code == 1
    assert "limit" in result.stdout


def test_validate_all_checks_every_bundle_of_every_root(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/good")
    make_bundle("cat/bad", "name: wrong\n")
    result = invoke(["--skills-dir", str(skills_root), "validate", "--all"])
    assert result.exit_code == 1
    assert "cat/good/manifest.yaml: ok" in result.stdout
    assert "cat/bad/manifest.yaml: /name:" in result.stdout
    assert f"{PII}/manifest.yaml: ok" in result.stdout


def test_validate_unknown_id_is_a_failure(invoke: Invoke) -> None:
    result = invoke(["validate", "nope/missing"])
    assert result.exit_code == 1
    assert result.stdout.startswith("nope/missing: /: ")


def test_validate_reports_a_bundle_symlinked_outside_its_root(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    outside = make_bundle("stash/x", root=tmp_path / "outside")
    (skills_root / "cat").mkdir()
    (skills_root / "cat" / "x").symlink_to(outside)
    result = invoke(["--skills-dir", str(skills_root), "validate", "--all"])
    assert result.exit_code == 1
    assert "outside the skills root" in result.stdout


# --- list and info -----------------------------------------------------------------------------


def list_json(invoke: Invoke, *args: str) -> Any:
    result = invoke([*args, "list", "--json"])
    assert result.exit_code == 0
    return json.loads(result.stdout)


def test_list_json_includes_demo_and_rooted_skills(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nversion: 2.0.0\nshort_description: Echo.\n")
    rows = {row["id"]: row for row in list_json(invoke, "--skills-dir", str(skills_root))}
    assert rows["cat/x"]["version"] == "2.0.0" and rows["cat/x"]["description"] == "Echo."
    assert rows["cat/x"]["valid"] is True
    assert rows[PII]["execution"] == "in_process"


def test_list_json_marks_an_invalid_manifest_invalid(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", "name: wrong\n")
    rows = {row["id"]: row for row in list_json(invoke, "--skills-dir", str(skills_root))}
    assert rows["cat/x"]["valid"] is False and "/name" in rows["cat/x"]["description"]


def test_list_json_marks_a_bundle_symlinked_outside_its_root_invalid(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    outside = make_bundle("stash/x", root=tmp_path / "outside")
    (skills_root / "cat").mkdir()
    (skills_root / "cat" / "x").symlink_to(outside)
    rows = {row["id"]: row for row in list_json(invoke, "--skills-dir", str(skills_root))}
    assert rows["cat/x"]["valid"] is False


def test_list_shows_the_first_root_for_a_repeated_id(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    make_bundle("cat/x", "name: x\nversion: 1.0.0\n")
    make_bundle("cat/x", "name: x\nversion: 9.0.0\n", root=tmp_path / "later")
    rows = list_json(invoke, "--skills-dir", str(skills_root), "--skills-dir", str(tmp_path / "later"))
    assert [row["version"] for row in rows if row["id"] == "cat/x"] == ["1.0.0"]


def test_list_table_shows_ids(invoke: Invoke) -> None:
    result = invoke(["list"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == ["ID", "VERSION", "EXECUTION", "DESCRIPTION"]
    assert PII in result.stdout


def test_info_json_describes_the_skill(invoke: Invoke) -> None:
    result = invoke(["info", PII, "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["id"] == PII and info["execution"] == "in_process"
    assert info["parameters"]["required"] == ["text"]
    assert info["output"]["required"] == ["findings", "redacted"]


def test_info_json_shows_env_vars_and_whether_they_are_set(
    invoke: Invoke, make_bundle: MakeBundle, skills_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SET_KEY", "v")
    make_bundle("cat/x", "name: x\nenv_vars:\n  SET_KEY: {required: true}\n  UNSET_KEY_XYZ: {}\n")
    info = json.loads(invoke(["--skills-dir", str(skills_root), "info", "cat/x", "--json"]).stdout)
    assert [(v["name"], v["required"], v["set"]) for v in info["env_vars"]] == [
        ("SET_KEY", True, True), ("UNSET_KEY_XYZ", False, False)]


def test_info_text_lists_the_parameters(invoke: Invoke) -> None:
    result = invoke(["info", PII])
    assert result.exit_code == 0
    assert any(line.split()[:3] == ["text", "string", "yes"] for line in result.stdout.splitlines())


def test_info_of_an_invalid_manifest_exits_2(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: wrong\n")
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "info", "cat/x"]), 2, "/name")


# --- new ---------------------------------------------------------------------------------------


def test_new_bundle_validates_and_runs_as_created(invoke: Invoke, skills_root: Path) -> None:
    created = invoke(["--skills-dir", str(skills_root), "new", "text/shout"])
    assert created.exit_code == 0, created.stderr
    folder = skills_root / "text" / "shout"
    assert {p.name for p in folder.iterdir()} >= {"manifest.yaml", "skill.py", "test_skill.py"}
    validated = invoke(["--skills-dir", str(skills_root), "validate", "text/shout"])
    assert validated.exit_code == 0 and validated.stderr == ""
    ran = invoke(["--skills-dir", str(skills_root), "run", "text/shout", "--params", '{"text": "hi"}'])
    assert json.loads(ran.stdout) == {"length": 2, "upper": "HI"}


def test_new_into_dir_option(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke(["new", "text/shout", "--dir", str(tmp_path / "elsewhere")]).exit_code == 0
    assert (tmp_path / "elsewhere" / "text" / "shout" / "manifest.yaml").is_file()


def test_new_defaults_to_dot_skills(invoke: Invoke) -> None:
    assert invoke(["new", "text/shout"]).exit_code == 0
    assert invoke(["run", "text/shout", "--params", '{"text": "a"}']).stdout == '{"length":1,"upper":"A"}\n'


def test_new_refuses_an_existing_folder(invoke: Invoke, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("text/shout")
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "new", "text/shout"]), 2, "already exists")


@pytest.mark.parametrize("skill_id", ["shout", "a/b/c", "../x", "text/"])
def test_new_refuses_an_invalid_id(invoke: Invoke, skills_root: Path, skill_id: str) -> None:
    assert_one_line_error(invoke(["--skills-dir", str(skills_root), "new", skill_id]), 2, "not a valid skill id")


def test_new_names_a_dashed_skill_class_validly(invoke: Invoke, skills_root: Path) -> None:
    assert invoke(["--skills-dir", str(skills_root), "new", "text/9-lives.v2"]).exit_code == 0
    ran = invoke(["--skills-dir", str(skills_root), "run", "text/9-lives.v2", "--params", '{"text": "x"}'])
    assert ran.exit_code == 0, ran.stderr


def test_version_option(invoke: Invoke) -> None:
    from skillware import __version__

    assert __version__ in invoke(["--version"]).stdout
