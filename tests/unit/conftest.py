"""Fixtures for unit tests: a private manifest cache, a clean lookup environment, bundles in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

ECHO_SKILL = """\
from skillware.core.base_skill import BaseSkill


class EchoSkill(BaseSkill):
    def execute(self, params):
        return params
"""

MakeBundle = Callable[..., Path]


@pytest.fixture(autouse=True)
def private_cache_and_clean_lookup(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own manifest cache, no SKILLWARE_PATH and a cwd without ./skills."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("SKILLWARE_PATH", raising=False)
    monkeypatch.delenv("SKILLWARE_NO_CACHE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def write_bundle(root: Path, skill_id: str, manifest: Optional[str] = None, skill: Optional[str] = ECHO_SKILL,
                 files: Optional[Dict[str, str]] = None) -> Path:
    """Create root/category/name with manifest.yaml (default: just the name), skill.py and extra files."""
    folder = root / skill_id
    folder.mkdir(parents=True)
    text = f"name: {skill_id}\n" if manifest is None else textwrap.dedent(manifest)
    (folder / "manifest.yaml").write_text(text, encoding="utf-8")
    if skill is not None:
        (folder / "skill.py").write_text(textwrap.dedent(skill), encoding="utf-8")
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return folder


@pytest.fixture
def skills_root(tmp_path: Path) -> Path:
    root = tmp_path / "skills-root"
    root.mkdir()
    return root


@pytest.fixture
def make_bundle(skills_root: Path) -> MakeBundle:
    """write_bundle under this test's skills root (or `root=`)."""

    def make(skill_id: str, manifest: Optional[str] = None, skill: Optional[str] = ECHO_SKILL,
             files: Optional[Dict[str, str]] = None, root: Optional[Path] = None) -> Path:
        return write_bundle(root or skills_root, skill_id, manifest, skill, files)

    return make
