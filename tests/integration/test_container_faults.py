"""Container faults, each with its own exit code and one clear line; images, builds, gVisor, gc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundles import skill_body

pytestmark = pytest.mark.container


def write_bundle(root: Path, skill_id: str, manifest: str, files: dict[str, str]) -> Path:
    folder = root / skill_id
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(f"name: {skill_id}\nversion: 1.0.0\n" + manifest)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("skillware:") and " error: " in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_stdout_that_is_not_json_is_bad_output(target, tmp_path):
    folder = write_bundle(tmp_path, "bad/notjson", 'execution: container\ncontainer: {command: ["sh", "-c", '
                          '"echo this is not json"]}\n', {})
    done = target.cli(["run", *target.extra_args, str(target.place_bundle(folder))])
    assert done.returncode == 9
    assert "not one JSON document" in one_line(done.stderr)


def test_result_violating_output_schema_is_bad_output(target, tmp_path):
    manifest = "execution: container\noutput: {type: object, required: [n]}\n"
    skill = skill_body("return {'m': 1}")
    folder = write_bundle(tmp_path, "bad/schema", manifest, {"skill.py": skill})
    done = target.cli(["run", *target.extra_args, str(target.place_bundle(folder))])
    assert done.returncode == 9
    assert "violates its `output` schema" in one_line(done.stderr)


def test_non_serialisable_result_in_a_container_is_bad_output(target, tmp_path):
    skill = skill_body("return {1, 2}")
    folder = write_bundle(tmp_path, "bad/set", "execution: container\n", {"skill.py": skill})
    done = target.cli(["run", *target.extra_args, str(target.place_bundle(folder))])
    assert done.returncode == 9, done.stderr
    assert "not JSON-serialisable" in one_line(done.stderr)


def test_skill_error_in_a_container_exits_1_with_the_message(target, tmp_path):
    skill = skill_body("raise ValueError('no such thing')")
    folder = write_bundle(tmp_path, "bad/raises", "execution: container\n", {"skill.py": skill})
    done = target.cli(["run", *target.extra_args, str(target.place_bundle(folder))])
    assert done.returncode == 1
    assert "ValueError: no such thing" in one_line(done.stderr)


def test_missing_image_is_reported_with_the_fix(target, tmp_path):
    folder = write_bundle(tmp_path, "bad/noimage", "execution: container\ncontainer: "
                          "{image: 'localhost/skillware-does-not-exist:1'}\n", {"skill.py": ""})
    done = target.cli(["run", *target.extra_args, str(target.place_bundle(folder))])
    assert done.returncode == 5
    line = one_line(done.stderr)
    assert "skillware-does-not-exist" in line and "build" in line


def test_declared_env_var_reaches_the_skill_and_not_the_argv(target, tmp_path):
    manifest = "execution: container\nenv_vars: {SKILL_TOKEN: {required: false}}\n"
    skill = ("import os\nfrom skillware.core.base_skill import BaseSkill\n"
             "class S(BaseSkill):\n    def execute(self, params):\n"
             "        return {'token': self.credential('SKILL_TOKEN'), 'config': self.config.get('SKILL_TOKEN'),"
             " 'other': os.environ.get('OTHER_SECRET')}\n")
    folder = target.place_bundle(write_bundle(tmp_path, "env/token", manifest, {"skill.py": skill}))
    env = {"SKILL_TOKEN": "tok-123", "OTHER_SECRET": "nope"}
    done = target.cli(["run", *target.extra_args, str(folder)], env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"token": "tok-123", "config": "tok-123", "other": None}
    dry = target.cli(["run", *target.extra_args, "--dry-run", str(folder)], env=env)
    assert "tok-123" not in dry.stdout and "nope" not in dry.stdout


def test_shell_skill_reads_params_on_stdin(target):
    done = target.run_skill("text/wc_sh", {"text": "one two\nthree"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"lines": 1, "words": 3, "characters": 13}


def test_dry_run_prints_the_argv_and_starts_nothing(target):
    done = target.cli(["run", *target.extra_args, "--dry-run", "compliance/example_skill", "--params",
                       '{"text": "x"}'])
    assert done.returncode == 0
    assert " run --rm -i --name skillware-" in done.stdout
    listed = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.skill=compliance/example_skill",
                                "--format", "{{.Names}}"])
    assert listed.stdout.strip() == ""


def test_gc_removes_containers_whose_owner_is_gone(target):
    name = f"skillware-orphan-{os.getpid()}"
    started = target.engine_cmd(["run", "-d", "--name", name, "--label", "io.skillware.managed=1",
                                 "--label", "io.skillware.owner=999999:1", "--network", "none",
                                 "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=64:64",
                                 "localhost/skillware-python:3.11", "sleep", "300"])
    assert started.returncode == 0, started.stderr
    done = target.cli(["gc"])
    assert done.returncode == 0
    assert name in done.stdout
    listed = target.engine_cmd(["ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}}"])
    assert listed.stdout.strip() == ""


def test_gvisor_skill_runs_under_runsc_on_rootful_podman(target, tmp_path):
    manifest = "execution: container\ncontainer: {isolation: gvisor, memory: 512m}\n"
    skill = ("import platform\nfrom skillware.core.base_skill import BaseSkill\n"
             "class S(BaseSkill):\n    def execute(self, params):\n        return {'kernel': platform.release()}\n")
    folder = target.place_bundle(write_bundle(tmp_path, "sec/gvisor", manifest, {"skill.py": skill}))
    done = target.cli(["run", *target.extra_args, str(folder)])
    if target.name != "podman":
        assert done.returncode == 5
        assert "gVisor" in one_line(done.stderr)
        return
    if not shutil.which("runsc"):
        pytest.fail("runsc is not installed (scripts/test.sh installs it)")
    assert done.returncode == 0, done.stderr
    host_kernel = os.uname().release
    assert json.loads(done.stdout)["kernel"] != host_kernel  # gVisor's own kernel answered


def test_dockerfile_skill_is_built_once_and_reused(target, tmp_path):
    dockerfile = "FROM localhost/skillware-python:3.11\nRUN echo built > /built.txt\n"
    skill = skill_body("return open('/built.txt').read().strip()")
    folder = target.place_bundle(write_bundle(tmp_path, "img/built", "execution: container\ncontainer: "
                                              "{build: Dockerfile}\n", {"skill.py": skill, "Dockerfile": dockerfile}))
    first = target.cli(["build", str(folder)], timeout=600)
    assert first.returncode == 0, first.stderr
    tag = first.stdout.strip()
    assert tag.startswith("localhost/skillware-skill-img-built:")
    again = target.cli(["build", str(folder)])
    assert again.stdout.strip() == tag and "up to date" in again.stderr
    done = target.cli(["run", *target.extra_args, str(folder)])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "built"
    target.engine_cmd(["rmi", "-f", tag])


def test_no_engine_gives_exit_5_and_the_install_hint(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLWARE_")}
    env["PATH"] = str(tmp_path)  # no podman, no docker
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run([sys.executable, "-m", "skillware", "run", "--isolated", "text/word_stats", "--params",
                           '{"text": "a"}'], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 5
    assert "apt-get install" in one_line(done.stderr)
