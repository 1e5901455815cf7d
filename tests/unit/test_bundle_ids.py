"""Skill ids resolve under a skills root, in a fixed root order, and never escape it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from skillware.api import prepare
from skillware.bundle import DEMO_ROOT, iter_bundles, resolve, skill_roots
from skillware.errors import BundleError, SkillNotFound, UnsafeSkillPath

MakeBundle = Callable[..., Path]


def roots_with(root: Path) -> list[Path]:
    return skill_roots([str(root)], env={})


@pytest.mark.parametrize("skill_id", ["cat/../x", "../cat/x", "cat/..", "..", "cat\\..\\x"])
def test_dot_dot_in_an_id_is_refused(skills_root: Path, skill_id: str) -> None:
    with pytest.raises(UnsafeSkillPath, match=r"'\.\.' is not allowed"):
        resolve(skill_id, roots_with(skills_root))


def test_dot_dot_is_refused_even_when_the_target_exists(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x")
    (skills_root / "other").mkdir()
    with pytest.raises(UnsafeSkillPath):
        resolve("other/../cat/x", roots_with(skills_root))


@pytest.mark.parametrize("skill_id", ["/etc/passwd", "/cat/x", "/"])
def test_absolute_id_is_refused(skills_root: Path, skill_id: str) -> None:
    with pytest.raises(UnsafeSkillPath, match="absolute"):
        resolve(skill_id, roots_with(skills_root))


def test_symlinked_skill_py_outside_the_bundle_is_refused(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    folder = make_bundle("cat/x", skill=None)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("print('pwned')\n", encoding="utf-8")
    (folder / "skill.py").symlink_to(outside)
    with pytest.raises(UnsafeSkillPath, match="outside the bundle"):
        resolve("cat/x", roots_with(skills_root))


def test_symlinked_manifest_outside_the_bundle_is_refused(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    folder = make_bundle("cat/x")
    outside = tmp_path / "manifest.yaml"
    outside.write_text("name: x\n", encoding="utf-8")
    (folder / "manifest.yaml").unlink()
    (folder / "manifest.yaml").symlink_to(outside)
    with pytest.raises(UnsafeSkillPath, match="manifest.yaml"):
        resolve("cat/x", roots_with(skills_root))


def test_symlinked_skill_py_outside_is_refused_when_the_bundle_is_given_by_path(
    make_bundle: MakeBundle, tmp_path: Path
) -> None:
    folder = make_bundle("cat/x", skill=None)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("", encoding="utf-8")
    (folder / "skill.py").symlink_to(outside)
    with pytest.raises(UnsafeSkillPath):
        resolve(str(folder), [])


def test_symlink_to_a_file_inside_the_bundle_is_allowed(make_bundle: MakeBundle, skills_root: Path) -> None:
    folder = make_bundle("cat/x", skill=None, files={"real_skill.py": "x = 1\n"})
    (folder / "skill.py").symlink_to(folder / "real_skill.py")
    assert resolve("cat/x", roots_with(skills_root)).path == folder.resolve()


def test_symlinked_bundle_folder_outside_the_root_is_refused(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    outside = make_bundle("stash/x", root=tmp_path / "outside")
    (skills_root / "cat").mkdir()
    (skills_root / "cat" / "x").symlink_to(outside)
    with pytest.raises(UnsafeSkillPath, match="outside the skills root"):
        resolve("cat/x", roots_with(skills_root))


def test_symlinked_category_folder_outside_the_root_is_refused(
    make_bundle: MakeBundle, skills_root: Path, tmp_path: Path
) -> None:
    outside = make_bundle("stash/x", root=tmp_path / "outside")
    (skills_root / "cat").symlink_to(outside.parent)
    with pytest.raises(UnsafeSkillPath):
        resolve("cat/x", roots_with(skills_root))


def test_skill_py_that_is_a_folder_is_refused(make_bundle: MakeBundle, skills_root: Path) -> None:
    folder = make_bundle("cat/x", skill=None)
    (folder / "skill.py").mkdir()
    with pytest.raises(BundleError, match="not a regular file"):
        resolve("cat/x", roots_with(skills_root))


def test_unknown_id_names_the_roots_searched_and_how_to_list(skills_root: Path) -> None:
    with pytest.raises(SkillNotFound) as caught:
        resolve("cat/missing", roots_with(skills_root))
    assert "cat/missing" in caught.value.message and "skillware list" in caught.value.hint


def test_empty_id_is_refused() -> None:
    with pytest.raises(BundleError):
        resolve("  ", [])


# --- root order -----------------------------------------------------------------------------


def origin_of(skill_id: str, skills_dirs: tuple[str, ...] = ()) -> Path:
    bundle, _ = prepare(skill_id, skills_dirs)
    return bundle.path


def test_skills_dir_beats_skillware_path(
    make_bundle: MakeBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_bundle("cat/x", root=tmp_path / "flag")
    make_bundle("cat/x", root=tmp_path / "env")
    monkeypatch.setenv("SKILLWARE_PATH", str(tmp_path / "env"))
    assert origin_of("cat/x", (str(tmp_path / "flag"),)) == first.resolve()


def test_first_skills_dir_beats_later_ones(make_bundle: MakeBundle, tmp_path: Path) -> None:
    first = make_bundle("cat/x", root=tmp_path / "one")
    make_bundle("cat/x", root=tmp_path / "two")
    assert origin_of("cat/x", (str(tmp_path / "one"), str(tmp_path / "two"))) == first.resolve()


def test_skillware_path_entries_are_searched_in_order(
    make_bundle: MakeBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bundle("cat/x", root=tmp_path / "two")
    second_only = make_bundle("cat/y", root=tmp_path / "two")
    first = make_bundle("cat/x", root=tmp_path / "one")
    monkeypatch.setenv("SKILLWARE_PATH", os.pathsep.join([str(tmp_path / "one"), str(tmp_path / "two")]))
    assert origin_of("cat/x") == first.resolve()
    assert origin_of("cat/y") == second_only.resolve()


def test_skillware_path_beats_dot_skills(
    make_bundle: MakeBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_bundle("cat/x", root=tmp_path / "skills")
    env_bundle = make_bundle("cat/x", root=tmp_path / "env")
    monkeypatch.setenv("SKILLWARE_PATH", str(tmp_path / "env"))
    assert origin_of("cat/x") == env_bundle.resolve()


def test_dot_skills_beats_the_demo_skills(
    make_bundle: MakeBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    local = make_bundle("compliance/example_skill", root=tmp_path / "skills")
    assert origin_of("compliance/example_skill") == local.resolve()


def test_demo_skills_are_found_last() -> None:
    assert origin_of("compliance/example_skill") == (DEMO_ROOT / "compliance" / "example_skill").resolve()


def test_missing_roots_are_skipped(tmp_path: Path) -> None:
    assert skill_roots([str(tmp_path / "nope")], env={"SKILLWARE_PATH": str(tmp_path / "gone")}) == [DEMO_ROOT]


def test_listing_marks_an_id_in_a_later_root_as_shadowed(make_bundle: MakeBundle, tmp_path: Path) -> None:
    make_bundle("cat/x", root=tmp_path / "one")
    make_bundle("cat/x", root=tmp_path / "two")
    found = [(b.id, b.root, shadowed) for b, shadowed in iter_bundles([tmp_path / "one", tmp_path / "two"])]
    assert found == [("cat/x", tmp_path / "one", False), ("cat/x", tmp_path / "two", True)]


# --- a path works as an id ------------------------------------------------------------------


def test_absolute_bundle_path_works_as_an_id(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x")
    bundle = resolve(str(folder), [])
    assert (bundle.id, bundle.path, bundle.root) == ("cat/x", folder.resolve(), None)


def test_relative_bundle_path_works_as_an_id(
    make_bundle: MakeBundle, skills_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_bundle("cat/x")
    monkeypatch.chdir(skills_root)
    assert resolve("./cat/x", []).path == folder.resolve()


def test_relative_bundle_path_without_manifest_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cat" / "x").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BundleError, match="no manifest.yaml"):
        resolve("cat/x/", [])
