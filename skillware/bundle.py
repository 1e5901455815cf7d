"""Locating skill bundles safely: ids resolve under a skills root and never escape it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from .errors import BundleError, SkillNotFound, UnsafeSkillPath

DEMO_ROOT = Path(__file__).resolve().parent / "skills"
_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
ID_RE = re.compile(rf"^{_PART}/{_PART}$")
PART_RE = re.compile(rf"^{_PART}$")

# Files the loader reads by name; each must be a regular file inside the bundle.
NAMED_FILES = ("manifest.yaml", "skill.py", "instructions.md", "card.json")


@dataclass(frozen=True)
class Bundle:
    """A skill folder on disk: its id (`category/name`), resolved path and the root it came from."""

    id: str
    path: Path
    root: Optional[Path]

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.yaml"

    @property
    def display(self) -> str:
        """The manifest path as users should see it in messages."""
        return display_path(self.manifest_path)


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def skill_roots(skills_dirs: Sequence[str] = (), env: Optional[dict[str, str]] = None) -> List[Path]:
    """The skills roots in lookup order: --skills-dir, SKILLWARE_PATH, ./skills, the demo skills."""
    roots: List[Path] = []
    for candidate in root_candidates(skills_dirs, env):
        resolved = candidate.resolve()
        if resolved.is_dir() and resolved not in roots:
            roots.append(resolved)
    return roots


def root_candidates(skills_dirs: Sequence[str] = (), env: Optional[dict[str, str]] = None) -> List[Path]:
    """Every folder skill_roots() considers, in order, whether or not it exists."""
    env = dict(os.environ) if env is None else env
    candidates: List[Path] = [Path(d) for d in skills_dirs]
    candidates += [Path(p) for p in env.get("SKILLWARE_PATH", "").split(os.pathsep) if p]
    return candidates + [Path("skills"), DEMO_ROOT]


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_bundle_files(path: Path) -> None:
    """Refuse named files that are symlinks leaving the bundle, or that are not regular files."""
    for name in NAMED_FILES:
        candidate = path / name
        if candidate.is_symlink():
            target = candidate.resolve()
            if not _is_within(target, path):
                raise UnsafeSkillPath(
                    f"{display_path(candidate)} is a symlink to {target}, outside the bundle",
                    "replace the symlink with the file itself",
                )
        if candidate.exists() and not candidate.is_file():
            raise BundleError(f"{display_path(candidate)} is not a regular file", "make it a file")


def check_bundle_location(bundle: Bundle) -> None:
    """Refuse a bundle whose folder leaves its root, or whose named files leave the bundle."""
    if bundle.root is not None and not _is_within(bundle.path, bundle.root):
        raise UnsafeSkillPath(f"{bundle.id}: resolves to {bundle.path}, outside the skills root {bundle.root}",
                              "skill folders must not be symlinks leaving their root")
    check_bundle_files(bundle.path)


def bundle_from_path(folder: Path) -> Bundle:
    """A bundle given by its folder path; its id is `<parent folder>/<folder>`."""
    path = folder.expanduser().resolve()
    if not path.is_dir():
        raise SkillNotFound(f"{folder}: no such folder", "pass a skill id (category/name) or a bundle folder")
    if not (path / "manifest.yaml").exists():
        raise BundleError(f"{folder}: no manifest.yaml in this folder",
                          "a bundle folder holds manifest.yaml and skill.py")
    check_bundle_files(path)
    return Bundle(id=f"{path.parent.name}/{path.name}", path=path, root=None)


def resolve(skill: str, roots: Sequence[Path]) -> Bundle:
    """Turn a skill id or a bundle folder path into a Bundle, refusing anything that escapes."""
    hint = "ids look like category/name, e.g. compliance/example_skill"
    if not skill.strip() or "\x00" in skill:
        raise BundleError("empty or invalid skill id", hint)
    if ".." in skill.replace("\\", "/").split("/"):
        raise UnsafeSkillPath(f"{skill!r}: '..' is not allowed in a skill id or path",
                              "name the skill as category/name, or pass the bundle folder's own path")
    is_folder = (Path(skill).expanduser() / "manifest.yaml").exists()
    if ID_RE.match(skill):
        try:
            return _resolve_id(skill, roots)
        except SkillNotFound:
            if not is_folder:
                raise
    if is_folder:
        return bundle_from_path(Path(skill))
    if skill.startswith("/"):
        folder_note = " (and this folder holds no manifest.yaml)" if Path(skill).is_dir() else ""
        raise UnsafeSkillPath(f"{skill!r}: absolute skill ids are not allowed{folder_note}",
                              "name the skill as category/name, or pass a bundle folder with a manifest.yaml")
    if Path(skill).expanduser().is_dir():
        raise BundleError(f"{skill}: no manifest.yaml in this folder",
                          "a bundle folder holds manifest.yaml and skill.py")
    raise SkillNotFound(f"{skill!r} is not a skill id or a bundle folder", hint)


def _resolve_id(skill: str, roots: Sequence[Path]) -> Bundle:
    category, name = skill.split("/")
    for root in roots:
        candidate = root / category / name
        if not (candidate / "manifest.yaml").exists():
            continue
        bundle = Bundle(id=skill, path=candidate.resolve(), root=root)
        check_bundle_location(bundle)
        return bundle
    searched = ", ".join(display_path(r) for r in roots) or "(none)"
    raise SkillNotFound(f"skill {skill!r} not found in {searched}",
                        "run `skillware list` to see ids, or add a root with --skills-dir")


def iter_bundles(roots: Iterable[Path]) -> Iterator[Tuple[Bundle, bool]]:
    """Every bundle under the roots, first root wins; yields (bundle, shadowed)."""
    seen: set[str] = set()
    for root in roots:
        for manifest in sorted(root.glob("*/*/manifest.yaml")):
            folder = manifest.parent
            skill_id = f"{folder.parent.name}/{folder.name}"
            if not ID_RE.match(skill_id):
                continue
            shadowed = skill_id in seen
            seen.add(skill_id)
            yield Bundle(id=skill_id, path=folder.resolve(), root=root), shadowed
