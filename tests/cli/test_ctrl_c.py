"""Ctrl-C in a real terminal (pexpect) during a container run: exit 130 and no container left."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pexpect
import pytest

from tests.conftest import as_user

SLEEPER_MANIFEST = """\
name: slow/sleeper
version: 1.0.0
execution: container
container: {timeout: 120}
parameters: {type: object}
"""

SLEEPER_SKILL = """\
import sys, time
from skillware.core.base_skill import BaseSkill

class Sleeper(BaseSkill):
    def execute(self, params):
        print("sleeping", file=sys.stderr, flush=True)
        time.sleep(100)
        return {}
"""


def make_sleeper(root: Path) -> Path:
    folder = root / "slow" / "sleeper"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(SLEEPER_MANIFEST)
    (folder / "skill.py").write_text(SLEEPER_SKILL)
    return folder


def managed(target, skill_label: str = "slow/sleeper") -> list[str]:
    done = target.engine_cmd(["ps", "-a", "--filter", f"label=io.skillware.skill={skill_label}",
                              "--format", "{{.Names}}"])
    return done.stdout.split()


def spawn_cli(target, args: list[str]) -> pexpect.spawn:
    if target.user is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLWARE_")}
        env["SKILLWARE_ENGINE"] = target.engine
        return pexpect.spawn(sys.executable, ["-m", "skillware", *args], env=env, timeout=60, encoding="utf-8")
    inner = (f"cd {target.home} && SKILLWARE_ENGINE={target.engine} PYTHONPATH={target.home}/src:{target.home}/deps "
             f"exec /usr/bin/python3 -m skillware " + " ".join(shlex.quote(a) for a in args))
    argv = as_user(target.user, inner)
    return pexpect.spawn(argv[0], argv[1:], timeout=60, encoding="utf-8")


@pytest.mark.container
def test_ctrl_c_removes_the_container_and_exits_130(target, tmp_path):
    bundle = target.place_bundle(make_sleeper(tmp_path))
    child = spawn_cli(target, ["run", *target.extra_args, str(bundle), "--params", "{}"])
    child.expect("sleeping", timeout=60)
    assert len(managed(target)) == 1
    started = time.monotonic()
    child.sendintr()
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "interrupted" in (child.before or "")
    assert time.monotonic() - started < 15
    assert managed(target) == []
    leftover = subprocess.run(["pgrep", "-af", "conmon|runc|containerd-shim"], capture_output=True, text=True)
    assert "slow/sleeper" not in leftover.stdout


def test_ctrl_c_during_an_in_process_run_exits_130(tmp_path):
    folder = tmp_path / "slow" / "napper"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text("name: slow/napper\nparameters: {type: object}\n")
    (folder / "skill.py").write_text(textwrap.dedent("""\
        import sys, time
        from skillware.core.base_skill import BaseSkill

        class Napper(BaseSkill):
            def execute(self, params):
                print("napping", file=sys.stderr, flush=True)
                time.sleep(100)
        """))
    child = pexpect.spawn(sys.executable, ["-m", "skillware", "run", str(folder), "--params", "{}"],
                          timeout=60, encoding="utf-8")
    child.expect("napping")
    child.sendintr()
    child.expect(pexpect.EOF, timeout=20)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
