"""Import a bundle's skill.py under its own module name and call execute(params) in this process.

Each bundle becomes a synthetic package whose __path__ is the bundle folder, so relative imports
work; plain `from helpers import x` works because the folder is on sys.path while the skill is
imported or executed. Afterwards the bundle's top-level modules are taken out of sys.modules and
kept per bundle, so two skills that both ship `helpers.py` never see each other's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

from ..bundle import Bundle
from ..core.base_skill import BaseSkill
from ..errors import BundleError, RequirementsError, SkillRaised
from ..manifest import Manifest
from ..shim.shim import describe, skill_classes

_LOCK = threading.RLock()


@dataclass
class LoadedSkill:
    """A bundle's imported module and its BaseSkill subclass, plus its private helper modules."""

    module: types.ModuleType
    skill_class: type
    package: str
    private_modules: Dict[str, types.ModuleType] = field(default_factory=dict)


_CACHE: Dict[Tuple[str, int, int], LoadedSkill] = {}


def _package_name(bundle: Bundle) -> str:
    digest = hashlib.sha256(str(bundle.path).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() else "_" for c in bundle.id)
    return f"_skillware_bundle_{safe}_{digest}"


# `skillware` must stay ours so `from skillware.core.base_skill import BaseSkill` is one class.
_NEVER_LOCAL = {"__pycache__", "skillware"}


def _local_names(folder: Path) -> set[str]:
    """Top-level module names the bundle folder provides (files and packages)."""
    names: set[str] = set()
    for entry in folder.iterdir():
        stem = entry.name[:-3] if entry.name.endswith(".py") else entry.name
        if stem.isidentifier() and (entry.suffix == ".py" or entry.is_dir()) and stem not in _NEVER_LOCAL:
            names.add(stem)
    return names


@contextlib.contextmanager
def bundle_imports(bundle: Bundle, loaded: Optional[LoadedSkill]) -> Iterator[Dict[str, types.ModuleType]]:
    """Make the bundle's own top-level modules importable, and only while inside the block."""
    folder = str(bundle.path)
    names = _local_names(bundle.path)

    def is_local(mod_name: str) -> bool:
        return mod_name.split(".")[0] in names

    with _LOCK:
        saved = {n: sys.modules.pop(n) for n in list(sys.modules) if is_local(n)}
        private = loaded.private_modules if loaded else {}
        sys.modules.update(private)
        sys.path.insert(0, folder)
        try:
            yield private
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)
            private.clear()
            for mod_name in [n for n in list(sys.modules) if is_local(n)]:
                module = sys.modules.pop(mod_name)
                origin = getattr(module, "__file__", None) or ""
                if os.path.abspath(origin).startswith(folder + os.sep):
                    private[mod_name] = module
            sys.modules.update(saved)


def _cache_key(bundle: Bundle) -> Tuple[str, int, int]:
    stat = (bundle.path / "skill.py").stat()
    return (str(bundle.path), stat.st_mtime_ns, stat.st_size)


def find_skill_class(module: types.ModuleType, display: str) -> type:
    """The one BaseSkill subclass defined in the module (a base class and its subclass count once)."""
    leaves = skill_classes(module, BaseSkill)
    if not leaves:
        raise BundleError(f"{display}: defines no subclass of BaseSkill",
                          "add `class MySkill(BaseSkill)` from skillware.core.base_skill")
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise BundleError(f"{display}: defines several BaseSkill subclasses ({names})", "keep exactly one per bundle")
    return leaves[0]


def load_skill_module(bundle: Bundle, execute_module: bool = True) -> LoadedSkill:
    """Import skill.py (cached per file version) and find its skill class."""
    skill_py = bundle.path / "skill.py"
    display = os.path.relpath(skill_py) if not skill_py.is_absolute() else str(skill_py)
    if not skill_py.is_file():
        raise BundleError(f"{display}: missing", "a bundle needs skill.py with one BaseSkill subclass")
    key = _cache_key(bundle)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        package = _package_name(bundle)
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(bundle.path)]
        pkg.__package__ = package
        sys.modules[package] = pkg
        loaded = LoadedSkill(module=pkg, skill_class=BaseSkill, package=package)
        with bundle_imports(bundle, loaded):
            try:
                module = importlib.import_module(f"{package}.skill")
            except SyntaxError as exc:
                raise BundleError(f"{display}: line {exc.lineno}: syntax error: {exc.msg}",
                                  "fix the Python syntax") from exc
            except ModuleNotFoundError as exc:
                raise RequirementsError(f"{bundle.id}: skill.py imports {exc.name!r}, which is not installed",
                                        f"pip install {exc.name} (and list it under `requirements`)") from exc
            except (Exception, SystemExit) as exc:  # import-time code failed; SystemExit must not end the host
                raise SkillRaised(f"{bundle.id}: importing skill.py raised {type(exc).__name__}: {describe(exc)}",
                                  "run with --debug for the traceback") from exc
        loaded.module = module
        loaded.skill_class = find_skill_class(module, display)
        _CACHE[key] = loaded
        return loaded


def skill_config(manifest: Manifest, env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The config dict a skill is built with: the declared env_vars that the caller's env provides."""
    env = os.environ if env is None else env
    return {var.name: env[var.name] for var in manifest.env_vars if env.get(var.name)}


def check_env(manifest: Manifest, config: Mapping[str, str]) -> None:
    missing = [var.name for var in manifest.env_vars if var.required and var.name not in config]
    if missing:
        raise RequirementsError(f"{manifest.id} needs environment variable(s) {', '.join(missing)}",
                                "export them before the run (see `skillware info`)")


def instantiate(loaded: LoadedSkill, manifest: Manifest, config: Mapping[str, str]) -> BaseSkill:
    """Build the skill object the upstream way: SkillClass(config=...)."""
    try:
        instance = loaded.skill_class(config=dict(config))
    except TypeError:
        instance = loaded.skill_class()  # older skills take no config
        instance.config = dict(config)
    instance._skillware_manifest = dict(manifest.raw)
    return instance  # type: ignore[no-any-return]


def check_requirements(manifest: Manifest) -> None:
    if not manifest.requirements:
        return
    from ..requirements import missing_requirements  # importlib.metadata costs ~10 ms

    missing = missing_requirements(manifest.requirements)
    if missing:
        quoted = " ".join(f"'{m}'" if any(c in m for c in "<>=!; ") else m for m in missing)
        raise RequirementsError(f"{manifest.id} needs packages that are not installed: {', '.join(missing)}",
                                f"pip install {quoted}")


def run_in_process(bundle: Bundle, manifest: Manifest, params: Dict[str, Any],
                   env: Optional[Mapping[str, str]] = None) -> Any:
    """Import (cached) and execute the skill; exceptions from the skill become SkillRaised."""
    check_requirements(manifest)
    config = skill_config(manifest, env)
    check_env(manifest, config)
    loaded = load_skill_module(bundle)
    with bundle_imports(bundle, loaded):
        try:
            instance = instantiate(loaded, manifest, config)
            return instance.execute(params)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a skill must not end the host process
            raise SkillRaised(f"{bundle.id} raised {type(exc).__name__}: {describe(exc)}",
                              "run with --debug for the traceback") from exc
