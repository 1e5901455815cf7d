"""Warm workers: the same hardened container answering many calls, replaced after any fault."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

import skillware
from skillware.errors import ParamsError, SkillCrashed, SkillTimeout

pytestmark = pytest.mark.container


def write_skill(root: Path, skill_id: str, body: str, container: str = "{reuse: true, timeout: 5}") -> Path:
    folder = root / skill_id
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(f"name: {skill_id}\nexecution: container\ncontainer: {container}\n"
                                          "parameters: {type: object}\n")
    (folder / "skill.py").write_text("import os, sys, time\nfrom skillware.core.base_skill import BaseSkill\n\n"
                                     "class S(BaseSkill):\n    def execute(self, params):\n"
                                     + textwrap.indent(textwrap.dedent(body), " " * 8))
    return folder


def containers(target, skill_id: str) -> list[str]:
    done = target.engine_cmd(["ps", "-a", "--filter", f"label=io.skillware.skill={skill_id}", "--format",
                              "{{.Names}}"])
    return done.stdout.split()


def local_runner(target, tmp_path, **kwargs):
    if target.user is not None:
        pytest.skip("the Python API runs as this process's user; rootless is covered through the CLI batch")
    return skillware.SkillRunner([str(tmp_path)], engine=target.engine,
                                 allow_unenforced_limits=not target.limits_enforced, **kwargs)


def test_batch_through_warm_workers_matches_cold_results(target, tmp_path):
    lines = [{"text": f"call +44 20 7946 095{i}"} for i in range(10)] + [{"text": 5}]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    if target.user is not None:
        batch = target.place_bundle(tmp_path) / "in.jsonl"
    done = target.cli(["run", *target.extra_args, "--isolated", "--jobs", "2", "compliance/example_skill",
                       "--batch", str(batch)])
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 11 and done.returncode == 1
    for params, result in zip(lines[:10], results[:10]):
        assert result == {"ok": True, "result": skillware.run_skill("compliance/example_skill", params)}
    assert results[10]["ok"] is False and results[10]["error"]["kind"] == "params"
    assert containers(target, "compliance/example_skill") == []


def test_one_container_serves_many_calls(target, tmp_path):
    write_skill(tmp_path, "warm/count", "return {'pid': os.getpid(), 'n': params['n']}")
    with local_runner(target, tmp_path) as runner:
        answers = [runner.run("warm/count", {"n": i}) for i in range(20)]
        assert [a["n"] for a in answers] == list(range(20))
        assert len(containers(target, "warm/count")) == 1
    assert containers(target, "warm/count") == []


def test_reuse_never_crosses_callers(target, tmp_path):
    write_skill(tmp_path, "warm/caller", "return {'host': open('/etc/hostname').read(), 'pid': os.getpid()}")
    with local_runner(target, tmp_path) as runner:
        runner.run("warm/caller", {}, caller="alice")
        runner.run("warm/caller", {}, caller="bob")
        assert len(containers(target, "warm/caller")) == 2
    assert containers(target, "warm/caller") == []


def test_a_skill_that_forbids_reuse_never_gets_a_warm_worker(target, tmp_path):
    write_skill(tmp_path, "warm/never", "return {}", container="{reuse: false, timeout: 5}")
    with local_runner(target, tmp_path) as runner:
        runner.run("warm/never", {}, reuse=True)
        assert containers(target, "warm/never") == []


def test_timed_out_worker_is_killed_and_replaced(target, tmp_path):
    write_skill(tmp_path, "warm/slow", "time.sleep(params.get('sleep', 0))\nreturn {'ok': 1}",
                container="{reuse: true, timeout: 2}")
    with local_runner(target, tmp_path) as runner:
        assert runner.run("warm/slow", {}) == {"ok": 1}
        first = containers(target, "warm/slow")
        with pytest.raises(SkillTimeout):
            runner.run("warm/slow", {"sleep": 30})
        assert containers(target, "warm/slow") == []
        assert runner.run("warm/slow", {}) == {"ok": 1}
        assert containers(target, "warm/slow") != first


def test_crashed_worker_is_replaced(target, tmp_path):
    write_skill(tmp_path, "warm/crash", "if params.get('die'):\n    os._exit(3)\nreturn {'ok': 1}")
    with local_runner(target, tmp_path) as runner:
        assert runner.run("warm/crash", {}) == {"ok": 1}
        with pytest.raises(SkillCrashed):
            runner.run("warm/crash", {"die": True})
        assert runner.run("warm/crash", {}) == {"ok": 1}


def test_worker_is_recycled_after_max_calls(target, tmp_path):
    write_skill(tmp_path, "warm/recycle", "return {}")
    with local_runner(target, tmp_path, max_calls=3) as runner:
        names = []
        for _ in range(6):
            runner.run("warm/recycle", {})
            names.append(tuple(containers(target, "warm/recycle")))
        assert names[0] == names[2] and names[3] != names[0]


def test_invalid_params_never_reach_the_worker(target, tmp_path):
    folder = write_skill(tmp_path, "warm/typed", "return params")
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("parameters: {type: object}",
                                                     "parameters: {type: object, required: [x]}"))
    with local_runner(target, tmp_path) as runner:
        with pytest.raises(ParamsError):
            runner.run("warm/typed", {})
        assert containers(target, "warm/typed") == []


def test_closing_the_runner_leaves_no_container_or_engine_process(target, tmp_path):
    write_skill(tmp_path, "warm/close", "return {}")
    with local_runner(target, tmp_path, pool_size=2) as runner:
        runner.run("warm/close", {})
    assert containers(target, "warm/close") == []
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "warm/close" not in procs
