"""`skillware run --batch`: one line out per line in, in order; bad lines never stop the batch."""

from __future__ import annotations

import json
import subprocess
import sys

NOISY = """\
import os, subprocess, time
from skillware.core.base_skill import BaseSkill


class Noisy(BaseSkill):
    def execute(self, params):
        print("chatter that must not reach stdout")
        os.write(1, b"raw chatter\\n")
        subprocess.run(["echo", "child chatter"], check=True)
        time.sleep(params.get("sleep", 0))
        if params.get("fail"):
            raise ValueError("asked to fail")
        return params["n"]
"""


def run_batch(skills_root, lines, *args):
    return subprocess.run([sys.executable, "-m", "skillware", "--skills-dir", str(skills_root), "run", "x/noisy",
                           "--batch", "-", *args], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=120)


def test_results_come_in_input_order_with_prints_kept_off_stdout(make_bundle, skills_root):
    make_bundle("x/noisy", manifest="name: x/noisy\nparameters: {type: object}\n", skill=NOISY)
    lines = [json.dumps({"n": i, "sleep": 0.2 if i % 2 == 0 else 0}) for i in range(6)]
    done = run_batch(skills_root, lines, "--jobs", "3")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"ok": True, "result": i} for i in range(6)]
    assert "chatter" in done.stderr


def test_bad_lines_are_reported_and_the_batch_goes_on(make_bundle, skills_root):
    make_bundle("x/noisy", manifest="name: x/noisy\nparameters: {type: object, required: [n]}\n", skill=NOISY)
    done = run_batch(skills_root, ['{"n": 1}', "not json", "[1]", '{"m": 1}', '{"n": 2, "fail": true}', '{"n": 3}'])
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["ok"] for o in out] == [True, False, False, False, False, True]
    assert [o["error"]["exit_code"] for o in out if not o["ok"]] == [2, 2, 2, 1]
    assert done.returncode == 1 and "4 line(s) of the batch failed" in done.stderr


def test_unknown_skill_stops_before_any_line(skills_root):
    done = run_batch(skills_root, ['{"n": 1}'])
    assert done.returncode == 2 and done.stdout == ""


def test_a_single_run_keeps_raw_and_child_output_off_stdout(make_bundle, skills_root):
    make_bundle("x/noisy", manifest="name: x/noisy\nparameters: {type: object}\n", skill=NOISY)
    done = subprocess.run([sys.executable, "-m", "skillware", "--skills-dir", str(skills_root), "run", "x/noisy",
                           "--params", '{"n": 7}'], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 7
    assert "raw chatter" in done.stderr and "child chatter" in done.stderr
