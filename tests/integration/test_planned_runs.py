"""Planned cold runs (cli/fast_run.py): the second identical `run` reuses the first one's plan,
with the same result, errors, exit codes and audit record; any changed input plans anew."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pexpect
import pytest

from tests.bundles import write_bundle
from tests.conftest import Target, as_user

MANIFEST = """\
name: plan/echo
execution: container
parameters:
  type: object
  properties:
    text: {type: string, maxLength: 20}
  required: [text]
container:
  timeout: 3
  memory: 128m
"""
SKILL = """\
import sys
import time
from skillware.core.base_skill import BaseSkill


class Skill(BaseSkill):
    def execute(self, params):
        if params["text"] == "raise":
            raise ValueError("no")
        if params["text"] == "sleep":
            print("sleeping", file=sys.stderr, flush=True)
            time.sleep(30)
        return params
"""
# Volatile parts of an audit line: when, who ran it, how long it took.
VOLATILE = ("time", "pid", "duration_ms")


class Planned:
    """A bundle old enough to be planned, and the per-test caches and audit log to look into."""

    def __init__(self, target: Target, tmp_path: Path) -> None:
        self.target = target
        # The rootless target's user must reach these: under its world-readable home, mode 0777.
        state = (target.home / "state" / uuid.uuid4().hex) if target.home is not None else tmp_path / "state"
        state.mkdir(parents=True)
        os.chmod(state, 0o777)
        self.cache, self.log = state / "cache", state / "log"
        self.env = {"XDG_CACHE_HOME": str(self.cache), "XDG_STATE_HOME": str(self.log)}
        if target.user is None:  # rootless podman finds its own storage.conf under XDG_CONFIG_HOME
            self.env["XDG_CONFIG_HOME"] = str(state / "config")
        self.config = Path(self.env.get("XDG_CONFIG_HOME", f"/home/{target.user}/.config"))
        folder = write_bundle(tmp_path / "skills", "plan/echo", MANIFEST, SKILL)
        self.bundle = target.place_bundle(folder)
        self.root = str(self.bundle.parent.parent)
        # Inputs changed within 2 s of planning are never trusted (cold_plan.RACY_SECONDS).
        time.sleep(2.2)

    def run(self, params: Any) -> Tuple[int, str, str]:
        done = self.target.cli(["run", *self.target.extra_args, "--skills-dir", self.root, "plan/echo",
                                "--params", json.dumps(params)], env=self.env)
        return done.returncode, done.stdout, done.stderr

    def plans(self) -> Dict[str, Tuple[int, int]]:
        """Each stored plan file with its inode and mtime: a fast run leaves them untouched."""
        folder = self.cache / "skillware" / "plans"
        if not folder.exists():
            return {}
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.plan")}

    def records(self) -> List[Dict[str, Any]]:
        path = self.log / "skillware" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


def stable(record: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def assert_no_leftovers(target: Target) -> None:
    names = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.skill=plan/echo", "--format",
                               "{{.Names}}"]).stdout.split()
    assert names == []


def test_the_second_run_reuses_the_plan_with_the_same_result_and_record(target: Target, tmp_path: Path) -> None:
    planned = Planned(target, tmp_path)
    first = planned.run({"text": "hello"})
    plans = planned.plans()
    assert first[:2] == (0, '{"text":"hello"}\n') and len(plans) == 1
    second = planned.run({"text": "hello"})
    assert second == first
    assert planned.plans() == plans, "the second run planned anew instead of reusing the plan"
    one, two = planned.records()
    assert stable(one) == stable(two) and one["pid"] != two["pid"]
    assert two["image_digest"].startswith("sha256:") and two["bundle_hash"].startswith("sha256:")
    assert_no_leftovers(target)


def test_errors_after_a_plan_are_the_full_commands_errors(target: Target, tmp_path: Path) -> None:
    planned = Planned(target, tmp_path)
    assert planned.run({"text": "ok"})[0] == 0
    plans = planned.plans()
    # Params the quick check refuses go to the full command, which names the field.
    code, out, err = planned.run({"text": "x" * 30})
    assert (code, out) == (2, "") and "/text" in err and err.count("\n") == 1
    # Failures inside the container: the same typed errors and exit codes as the full command.
    code, out, err = planned.run({"text": "raise"})
    assert (code, out) == (1, "") and "skill_error error:" in err and "ValueError: no" in err
    code, out, err = planned.run({"text": "sleep"})
    assert (code, out) == (6, "") and "timeout error:" in err and "3s timeout" in err
    assert planned.plans() == plans
    kinds = [r["exit_kind"] for r in planned.records()]
    assert kinds == ["ok", "skill_error", "timeout"]  # a refused call never started, so it is not logged
    assert_no_leftovers(target)


def test_a_changed_input_is_planned_anew(target: Target, tmp_path: Path) -> None:
    planned = Planned(target, tmp_path)
    assert planned.run({"text": "a"})[0] == 0
    before = planned.plans()
    manifest = planned.bundle / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("memory: 128m", "memory: 96m"))
    assert planned.run({"text": "b"})[0] == 0
    first, second = planned.records()
    assert first["argv_hash"] != second["argv_hash"] and first["bundle_hash"] != second["bundle_hash"]
    # Written just now, the manifest is inside the racy window: that run kept no plan of its own.
    assert planned.plans() == before


def test_a_policy_file_appearing_is_seen(target: Target, tmp_path: Path) -> None:
    planned = Planned(target, tmp_path)
    assert planned.run({"text": "a"})[0] == 0
    policy = planned.config / "skillware" / "policy.yaml"
    if policy.exists():
        pytest.skip(f"{policy} exists already")
    policy.parent.mkdir(parents=True, exist_ok=True)
    try:
        policy.write_text("ceilings:\n  memory: 100m\n")
        os.chmod(policy.parent, 0o755)
        os.chmod(policy, 0o644)
        code, out, err = planned.run({"text": "a"})
    finally:
        policy.unlink()
    assert (code, out) == (4, "") and "above the policy ceiling of 100m" in err


def _plan_argv(planned: Planned) -> Optional[List[str]]:
    import marshal

    for path in (planned.cache / "skillware" / "plans").glob("*.plan"):
        plan = marshal.loads(path.read_bytes())[4]
        return [a.replace("\0", "<>") for a in plan["argv"]]
    return None


def test_the_stored_argv_is_the_hardened_one(target: Target, tmp_path: Path) -> None:
    planned = Planned(target, tmp_path)
    assert planned.run({"text": "a"})[0] == 0
    argv = _plan_argv(planned)
    assert argv is not None
    for pair in (["--network", "none"], ["--cap-drop", "all"], ["--security-opt", "no-new-privileges"],
                 ["--name", "<>name<>"], ["--user", "<>user<>"]):
        assert any(argv[i:i + 2] == pair for i in range(len(argv))), pair
    assert "--read-only" in argv and "io.skillware.owner=<>owner<>" in argv


def spawn_in_terminal(planned: Planned, params: Any) -> pexpect.spawn:
    """`skillware run` in a real terminal, with the same environment every time (so plans match)."""
    target = planned.target
    args = ["run", *target.extra_args, "--skills-dir", planned.root, "plan/echo", "--params", json.dumps(params)]
    if target.user is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLWARE_")}
        env.update(planned.env, SKILLWARE_ENGINE=target.engine)
        return pexpect.spawn(sys.executable, ["-m", "skillware", *args], env=env, timeout=60, encoding="utf-8")
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in planned.env.items())
    inner = (f"cd {target.home} && exec env {exports} SKILLWARE_ENGINE={target.engine} "
             f"PYTHONPATH={target.home}/src:{target.home}/deps /usr/bin/python3 -m skillware "
             + " ".join(shlex.quote(a) for a in args))
    argv = as_user(target.user, inner)
    return pexpect.spawn(argv[0], argv[1:], timeout=60, encoding="utf-8")


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupting_a_planned_run_removes_the_container(target: Target, tmp_path: Path, how: str) -> None:
    planned = Planned(target, tmp_path)
    first = spawn_in_terminal(planned, {"text": "ok"})
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0
    plans = planned.plans()
    child = spawn_in_terminal(planned, {"text": "sleep"})
    child.expect("sleeping")
    if how == "ctrl-c":
        child.sendintr()
    else:
        child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 130 and "interrupted" in (child.before or "")
    assert planned.plans() == plans, "the interrupted run was not a planned one"
    assert_no_leftovers(target)
    assert planned.records()[-1]["exit_kind"] == "interrupted"
