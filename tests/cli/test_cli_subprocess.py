"""The real program in a subprocess (`python -m skillware` and the `skillware` script), stdout piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List

import pytest

from tests.bundles import billion_laughs, skill_body
from tests.expect import one_line_error

MakeBundle = Callable[..., Path]
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]

PII = "compliance/example_skill"


def assert_one_line_error(done: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> None:
    one_line_error(done.returncode, done.stdout, done.stderr, exit_code, *fragments)


def test_run_prints_compact_json_when_piped(run_cli: RunCli, entry_point: List[str]) -> None:
    done = run_cli(["run", PII, "--params", '{"text": "a@b.io"}'], argv0=entry_point)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"findings":[{"type":"email","start":0,"end":6,"value":"a@b.io"}],"redacted":"[EMAIL]"}\n'
    assert done.stderr == ""


def test_run_pretty_when_piped_is_indented(run_cli: RunCli) -> None:
    done = run_cli(["run", PII, "--params", '{"text": "x"}', "--pretty"])
    assert done.stdout == json.dumps({"findings": [], "redacted": "x"}, indent=2) + "\n"


def test_run_reads_params_from_stdin(run_cli: RunCli, entry_point: List[str]) -> None:
    done = run_cli(["run", PII, "--params", "-"], input='{"text": "a@b.io"}', argv0=entry_point)
    assert json.loads(done.stdout)["redacted"] == "[EMAIL]"


def test_run_reads_params_from_a_file(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"text": "x a@b.io"}', encoding="utf-8")
    done = run_cli(["run", PII, "--params", f"@{tmp_path / 'p.json'}"])
    assert json.loads(done.stdout)["redacted"] == "x [EMAIL]"


def test_invalid_params_exit_2_with_one_line(run_cli: RunCli, entry_point: List[str]) -> None:
    assert_one_line_error(run_cli(["run", PII, "--params", '{"text": 5}'], argv0=entry_point), 2, "/text")


def test_unsafe_id_exits_2_with_one_line(run_cli: RunCli) -> None:
    assert_one_line_error(run_cli(["run", "../../etc/passwd"]), 2, "'..'")


def test_skill_that_raises_exits_1_with_one_line(
    run_cli: RunCli, entry_point: List[str], make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", skill=skill_body("raise KeyError('missing thing')"))
    done = run_cli(["--skills-dir", str(skills_root), "run", "cat/x"], argv0=entry_point)
    assert_one_line_error(done, 1, "KeyError", "missing thing")


def test_system_exit_in_a_skill_exits_1(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("sys.exit(7)"))
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 1, "SystemExit")


def test_system_exit_at_import_exits_1(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill="import sys\nsys.exit(7)\n")
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 1, "SystemExit")


def test_missing_requirement_exits_3(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: ['surely-not-installed-pkg-xyz>=2']\n")
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 3,
                          "surely-not-installed-pkg-xyz", "pip install")


def test_bad_output_exits_9(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("return {1, 2}"))
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 9, "JSON")


def test_output_schema_violation_exits_9(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\noutput: {type: array}\n", skill=skill_body("return {}"))
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 9, "output")


def test_invalid_manifest_exits_2(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\ncontainer: {privileged: true}\n")
    assert_one_line_error(run_cli(["--skills-dir", str(skills_root), "run", "cat/x"]), 2, "/container/privileged")


def test_debug_shows_a_traceback(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("raise KeyError('missing thing')"))
    done = run_cli(["--debug", "--skills-dir", str(skills_root), "run", "cat/x"])
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "KeyError" in done.stderr


def test_skill_prints_do_not_corrupt_stdout(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("print('working'); return {'ok': True}"))
    done = run_cli(["--skills-dir", str(skills_root), "run", "cat/x"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True}
    assert "working" in done.stderr


def test_list_json_parses(run_cli: RunCli, entry_point: List[str]) -> None:
    done = run_cli(["list", "--json"], argv0=entry_point)
    assert done.returncode == 0
    assert PII in [row["id"] for row in json.loads(done.stdout)]


def test_info_json_parses(run_cli: RunCli, entry_point: List[str]) -> None:
    done = run_cli(["info", PII, "--json"], argv0=entry_point)
    assert done.returncode == 0
    assert json.loads(done.stdout)["id"] == PII


def test_validate_alias_bomb_fails_fast(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\n" + billion_laughs())
    start = time.monotonic()
    done = run_cli(["--skills-dir", str(skills_root), "validate", "cat/x"])
    assert time.monotonic() - start < 2
    assert done.returncode == 1 and "alias" in done.stdout


def test_validate_ten_megabyte_manifest_fails_fast(run_cli: RunCli, make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\ndescription: " + "y" * 10_000_000 + "\n")
    start = time.monotonic()
    done = run_cli(["--skills-dir", str(skills_root), "run", "cat/x"])
    assert time.monotonic() - start < 2
    assert_one_line_error(done, 2, "limit")


def test_new_validate_run_and_the_generated_test_passes(
    run_cli: RunCli, entry_point: List[str], tmp_path: Path
) -> None:
    root = tmp_path / "my-skills"
    created = run_cli(["--skills-dir", str(root), "new", "text/shout"], argv0=entry_point)
    assert created.returncode == 0, created.stderr
    validated = run_cli(["--skills-dir", str(root), "validate", "text/shout"], argv0=entry_point)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    ran = run_cli(["--skills-dir", str(root), "run", "text/shout", "--params", '{"text": "hey"}'], argv0=entry_point)
    assert json.loads(ran.stdout) == {"length": 3, "upper": "HEY"}
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(root / "text" / "shout")], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["--version"]])
def test_help_and_version_exit_0(run_cli: RunCli, args: List[str]) -> None:
    done = run_cli(args)
    assert done.returncode == 0 and done.stdout
