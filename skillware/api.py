"""The Python API: resolve → manifest → params → plan → execute → result, as plain calls."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .bundle import Bundle, resolve, skill_roots
from .manifest import Manifest, load_manifest
from .params import validate_params
from .result import check_output


def prepare(skill: str, skills_dirs: Sequence[str] = ()) -> Tuple[Bundle, Manifest]:
    """Resolve a skill id or path and load its validated manifest."""
    bundle = resolve(skill, skill_roots(skills_dirs))
    return bundle, load_manifest(bundle)


def run_skill(
    skill: str,
    params: Optional[Dict[str, Any]] = None,
    *,
    skills_dirs: Sequence[str] = (),
    isolated: Optional[bool] = None,
    env: Optional[Mapping[str, str]] = None,
    **container_options: Any,
) -> Any:
    """Run a skill and return its (validated) result; raise a SkillwareError subclass on failure.

    `isolated=True` runs it in a container whatever its manifest says; container skills always
    run in one. `container_options` are passed to the container runner (engine, runtime, policy…).
    """
    bundle, manifest = prepare(skill, skills_dirs)
    params = {} if params is None else params
    validate_params(manifest, params)
    if isolated or manifest.execution == "container":
        from .runners.container import run_in_container

        value = run_in_container(bundle, manifest, params, env=env, **container_options)
    else:
        from .runners.in_process import run_in_process

        value = run_in_process(bundle, manifest, params, env=env)
    return check_output(manifest, value)


def load_skill(skill: str, *, skills_dirs: Sequence[str] = (), check_requirements: bool = True,
               execute_module: bool = True) -> Dict[str, Any]:
    """The upstream bundle dict (module, class, manifest, instructions, card, registry_id)."""
    from .core.loader import SkillLoader

    return SkillLoader.load_skill(skill, check_requirements=check_requirements,
                                  execute_module=execute_module, skills_dirs=skills_dirs)
