"""Every demo skill gives the same result in process and in a container on every engine."""

from __future__ import annotations

import json

import pytest

import skillware

CASES = [
    ("compliance/example_skill",
     {"text": "call +44 20 7946 0958 or mail ana@example.org, IBAN GB82 WEST 1234 5698 7654 32"}),
    ("reference/country_info", {"query": "GB"}),
    ("text/word_stats", {"text": "The cat sat. The cat ran!", "top": 2}),
]


@pytest.mark.container
@pytest.mark.parametrize(("skill", "params"), CASES, ids=[c[0] for c in CASES])
def test_container_result_equals_in_process_result(target, skill, params):
    expected = skillware.run_skill(skill, params)
    done = target.run_skill(skill, params, "--isolated")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected


@pytest.mark.container
def test_headline_command_finds_the_phone_number(target):
    done = target.run_skill("compliance/example_skill", {"text": "call +44 20 7946 0958"}, "--isolated")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "findings": [{"type": "phone", "start": 5, "end": 21, "value": "+44 20 7946 0958"}],
        "redacted": "call [PHONE]",
    }


@pytest.mark.container
def test_no_container_is_left_after_runs(target):
    target.run_skill("text/word_stats", {"text": "a b"}, "--isolated")
    done = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.skill=text/word_stats",
                              "--format", "{{.Names}}"])
    assert done.stdout.strip() == ""


@pytest.mark.container
def test_rootless_on_cgroup_v1_refuses_without_override(target):
    if target.limits_enforced:
        pytest.skip("this engine enforces limits; nothing to refuse")
    done = target.cli(["run", "--isolated", "text/word_stats", "--params", '{"text": "a"}'])
    assert done.returncode == 5
    assert "cannot be enforced" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.container
def test_unenforced_limits_override_is_announced_on_stderr(target):
    if target.limits_enforced:
        pytest.skip("this engine enforces limits")
    done = target.run_skill("text/word_stats", {"text": "a"}, "--isolated")
    assert done.returncode == 0, done.stderr
    assert "NOT enforced" in done.stderr
