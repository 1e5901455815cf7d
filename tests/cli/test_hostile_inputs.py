"""Inputs that are valid JSON yet hostile to the host process, in a real subprocess: a manifest
`pattern` that backtracks catastrophically (the time bound needs the CLI's main thread), and
strings with lone surrogates, which JSON can spell and UTF-8 cannot carry."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.bundles import skill_body
from tests.expect import one_line_error

MakeBundle = Callable[..., Path]
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]

EVIL = "^(a+)+$"   # exponential backtracking on "aaa…ab"
SLOW_VALUE = "a" * 40 + "b"


@pytest.mark.parametrize("where", ["parameters", "nested"])
def test_a_catastrophic_params_pattern_is_stopped_with_a_params_error(make_bundle: MakeBundle, skills_root: Path,
                                                                      run_cli: RunCli, where: str) -> None:
    schema = (f"{{type: object, properties: {{text: {{type: string, pattern: '{EVIL}'}}}}}}" if where == "parameters"
              else f"{{type: object, properties: {{a: {{type: array, items: {{type: string, pattern: '{EVIL}'}}}}}}}}")
    make_bundle("evil/params", f"name: evil/params\nparameters: {schema}\n", skill_body("return {}"))
    value = f'{{"text": "{SLOW_VALUE}"}}' if where == "parameters" else f'{{"a": ["{SLOW_VALUE}"]}}'
    started = time.monotonic()
    done = run_cli(["run", "--skills-dir", str(skills_root), "evil/params", "--params", value], timeout=60)
    assert time.monotonic() - started < 20
    one_line_error(done.returncode, done.stdout, done.stderr, 2, "params error:", "took longer than 2s",
                   "backtracks catastrophically")


def test_a_catastrophic_output_pattern_is_stopped_with_a_bad_output_error(make_bundle: MakeBundle, skills_root: Path,
                                                                          run_cli: RunCli) -> None:
    make_bundle("evil/output", f"name: evil/output\noutput: {{type: object, properties: {{r: {{type: string, "
                               f"pattern: '{EVIL}'}}}}}}\n", skill_body(f"return {{'r': '{SLOW_VALUE}'}}"))
    started = time.monotonic()
    done = run_cli(["run", "--skills-dir", str(skills_root), "evil/output", "--params", "{}"], timeout=60)
    assert time.monotonic() - started < 20
    one_line_error(done.returncode, done.stdout, done.stderr, 9, "bad_output error:",
                   "checking the result of evil/output took longer than 2s")


def test_sane_patterns_still_pass_and_fail_as_before(make_bundle: MakeBundle, skills_root: Path,
                                                     run_cli: RunCli) -> None:
    make_bundle("sane/slug", "name: sane/slug\nparameters: {type: object, properties: {s: {type: string, "
                             "pattern: '^[a-z]+(-[a-z]+)*$'}}}\n", skill_body("return params"))
    ok = run_cli(["run", "--skills-dir", str(skills_root), "sane/slug", "--params", '{"s": "a-b-c"}'])
    assert ok.returncode == 0 and ok.stdout == '{"s":"a-b-c"}\n'
    bad = run_cli(["run", "--skills-dir", str(skills_root), "sane/slug", "--params", '{"s": "A"}'])
    assert bad.returncode == 2 and "does not match" in bad.stderr


def test_params_with_a_lone_surrogate_are_a_params_error(run_cli: RunCli) -> None:
    done = run_cli(["run", "compliance/example_skill", "--params", '{"text": "a\\ud800b"}'])
    one_line_error(done.returncode, done.stdout, done.stderr, 2, "params error:", "/text",
                   "half of a surrogate pair")
    paired = run_cli(["run", "compliance/example_skill", "--params", '{"text": "\\ud83d\\ude00"}'])
    assert paired.returncode == 0 and "\U0001f600" in paired.stdout


def test_a_result_with_a_lone_surrogate_is_bad_output(make_bundle: MakeBundle, skills_root: Path,
                                                      run_cli: RunCli) -> None:
    make_bundle("evil/unicode", "name: evil/unicode\n", skill_body("return {'r': 'a' + chr(0xd800)}"))
    done = run_cli(["run", "--skills-dir", str(skills_root), "evil/unicode", "--params", "{}"])
    one_line_error(done.returncode, done.stdout, done.stderr, 9, "bad_output error:", "not valid Unicode")
