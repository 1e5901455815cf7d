"""Audit log records every run without params, results or secrets; the lock file is enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "s3cret-value-4711"
PARAM_VALUE = "private-param-value-1234"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SKILLWARE_LOCK", raising=False)
    monkeypatch.delenv("SKILLWARE_POLICY", raising=False)
    monkeypatch.chdir(tmp_path)
    return dict(os.environ)


@pytest.fixture
def skill(tmp_path):
    folder = tmp_path / "skills" / "demo" / "echo"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        "name: demo/echo\nparameters: {type: object}\nenv_vars: {API_KEY: {required: false}}\n")
    (folder / "skill.py").write_text(
        "from skillware.core.base_skill import BaseSkill\n\nclass Echo(BaseSkill):\n"
        "    def execute(self, params):\n        return {'echo': params, 'key': self.credential('API_KEY')}\n")
    return folder


def cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "skillware", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def records(tmp_path: Path) -> list[dict]:
    path = tmp_path / "state" / "skillware" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_run_appends_one_record(env, skill, tmp_path):
    env["API_KEY"] = SECRET
    done = cli(["run", "demo/echo", "--params", json.dumps({"v": PARAM_VALUE})], env, tmp_path)
    assert done.returncode == 0, done.stderr
    (record,) = records(tmp_path)
    assert record["skill"] == "demo/echo" and record["execution"] == "in_process"
    assert record["exit_kind"] == "ok" and record["bundle_hash"].startswith("sha256:")
    assert record["bytes_out"] > 0 and record["user"]
    for field in ("time", "duration_ms", "decisions", "argv_hash", "image_digest", "stderr_truncated"):
        assert field in record


def test_log_never_holds_params_results_or_secrets(env, skill, tmp_path):
    env["API_KEY"] = SECRET
    cli(["run", "demo/echo", "--params", json.dumps({"v": PARAM_VALUE})], env, tmp_path)
    text = (tmp_path / "state" / "skillware" / "audit.jsonl").read_text()
    assert PARAM_VALUE not in text and SECRET not in text


def test_failed_runs_are_logged_with_their_kind(env, skill, tmp_path):
    (skill / "skill.py").write_text("from skillware.core.base_skill import BaseSkill\n\nclass E(BaseSkill):\n"
                                    "    def execute(self, params):\n        raise ValueError('x')\n")
    assert cli(["run", "demo/echo"], env, tmp_path).returncode == 1
    assert records(tmp_path)[-1]["exit_kind"] == "skill_error"


def test_log_command_filters_by_skill_and_time(env, skill, tmp_path):
    cli(["run", "demo/echo"], env, tmp_path)
    shown = cli(["log", "--json", "--skill", "demo/echo", "--since", "10m"], env, tmp_path)
    assert [json.loads(line)["skill"] for line in shown.stdout.splitlines()] == ["demo/echo"]
    assert cli(["log", "--json", "--skill", "other/x"], env, tmp_path).stdout == ""
    assert cli(["log", "--since", "yesterday-ish"], env, tmp_path).returncode == 2


def test_policy_sets_the_audit_log_path(env, skill, tmp_path):
    (tmp_path / "skillware.yaml").write_text(f"audit_log: {tmp_path / 'custom.jsonl'}\n")
    assert cli(["run", "demo/echo"], env, tmp_path).returncode == 0
    assert json.loads((tmp_path / "custom.jsonl").read_text())["skill"] == "demo/echo"


def test_lock_then_run_then_change_is_refused_naming_the_file(env, skill, tmp_path):
    assert cli(["lock", "demo/echo"], env, tmp_path).returncode == 0
    assert cli(["run", "demo/echo"], env, tmp_path).returncode == 0
    (skill / "skill.py").write_text((skill / "skill.py").read_text() + "# changed\n")
    done = cli(["run", "demo/echo"], env, tmp_path)
    assert done.returncode == 4
    assert "skill.py changed" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_added_file_is_named(env, skill, tmp_path):
    cli(["lock", "demo/echo"], env, tmp_path)
    (skill / "extra.py").write_text("x = 1\n")
    assert "extra.py added" in cli(["run", "demo/echo"], env, tmp_path).stderr


def test_skill_missing_from_the_lock_is_refused(env, skill, tmp_path):
    cli(["lock", "text/word_stats"], env, tmp_path)
    done = cli(["run", "demo/echo"], env, tmp_path)
    assert done.returncode == 4 and "not in the lock file" in done.stderr


def test_relocking_accepts_the_reviewed_change(env, skill, tmp_path):
    cli(["lock", "demo/echo"], env, tmp_path)
    (skill / "skill.py").write_text((skill / "skill.py").read_text() + "# reviewed\n")
    cli(["lock", "demo/echo"], env, tmp_path)
    assert cli(["run", "demo/echo"], env, tmp_path).returncode == 0


def test_corrupt_lock_file_is_a_clear_error(env, skill, tmp_path):
    (tmp_path / "skillware.lock").write_text("{not json")
    done = cli(["run", "demo/echo"], env, tmp_path)
    assert done.returncode == 4 and "skillware.lock" in done.stderr
