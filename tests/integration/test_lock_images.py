"""A locked skill refuses an image whose digest changed (the code that was reviewed is what runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.container


def test_changed_image_digest_is_refused(target, tmp_path):
    tag = f"localhost/skillware-locktest:{tmp_path.name[-12:].lower().replace('_', '-')}"
    assert target.engine_cmd(["tag", "localhost/skillware-python:3.11", tag]).returncode == 0
    folder = tmp_path / "lock" / "img"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(f"name: lock/img\nexecution: container\ncontainer: {{image: '{tag}'}}\n")
    (folder / "skill.py").write_text("from skillware.core.base_skill import BaseSkill\n\nclass S(BaseSkill):\n"
                                     "    def execute(self, params):\n        return 'ok'\n")
    (folder / "Changed.Dockerfile").write_text("FROM localhost/skillware-python:3.11\nLABEL changed=1\n")
    bundle = target.place_bundle(folder)
    lock_file = f"/home/{target.user}/skillware-locktest.lock" if target.user else str(tmp_path / "skillware.lock")
    env = {"SKILLWARE_LOCK": lock_file}
    try:
        locked = target.cli(["lock", str(bundle)], env=env)
        assert locked.returncode == 0, locked.stderr
        first = target.cli(["run", *target.extra_args, str(bundle)], env=env)
        assert first.returncode == 0 and json.loads(first.stdout) == "ok", first.stderr
        pull = ["--pull=never"] if target.engine == "podman" else []
        rebuilt = target.engine_cmd(["build", *pull, "-f", f"{bundle}/Changed.Dockerfile", "-t", tag, str(bundle)])
        assert rebuilt.returncode == 0, rebuilt.stderr
        refused = target.cli(["run", *target.extra_args, str(bundle)], env=env)
        assert refused.returncode == 4
        assert "locked" in refused.stderr and tag in refused.stderr
    finally:
        target.engine_cmd(["rmi", "-f", tag])
        if target.user:
            target.cli(["--version"])  # keep the user's home tidy: remove the lock as that user
            Path(lock_file).unlink(missing_ok=True)

