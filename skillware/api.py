"""The Python API: resolve → manifest → params → plan → execute → result, as plain calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from .bundle import Bundle, resolve, skill_roots
from .manifest import Manifest, load_manifest
from .params import validate_params
from .policy import Policy
from .result import check_output

if TYPE_CHECKING:
    from .runners.container import PlanSink


def prepare(skill: str, skills_dirs: Sequence[str] = ()) -> Tuple[Bundle, Manifest]:
    """Resolve a skill id or path and load its validated manifest."""
    bundle = resolve(skill, skill_roots(skills_dirs))
    return bundle, load_manifest(bundle)


@dataclass(frozen=True)
class RunOptions:
    """How to run one call (everything but the skill, its params and the policy)."""

    isolated: bool = False
    engine: Optional[str] = None
    runtime: Optional[str] = None
    allow_unenforced_limits: bool = False
    env: Optional[Mapping[str, str]] = None
    warn: Optional[Callable[[str], None]] = None
    stderr_sink: Optional[Callable[[bytes], None]] = None
    debug: bool = False
    on_egress: Optional[Callable[[str], None]] = None   # one line per egress proxy decision (--verbose)
    plan_sink: Optional[PlanSink] = None   # given the container plan of a cold run (the CLI keeps it)


def runs_in_container(manifest: Manifest, policy: Policy, isolated: bool) -> bool:
    """Container when asked, when the manifest says so, or when policy requires it for the id."""
    return isolated or manifest.execution == "container" or policy.requires_isolation(manifest.id)


def execute(bundle: Bundle, manifest: Manifest, params: Dict[str, Any], policy: Policy,
            options: RunOptions = RunOptions()) -> Any:
    """Run validated params through the right runner; check the lock first, log the run after.

    Every run, failed or not, appends one line to the audit log.
    """
    from . import audit_log, lockfile
    from .bundle_hash import combined_hash, file_hashes

    container = runs_in_container(manifest, policy, options.isolated)
    record = audit_log.RunRecord(skill=manifest.id, execution="container" if container else "in_process")
    with audit_log.recorded(record, policy, options.warn):
        files = file_hashes(bundle.path)  # read once: for the log and for the lock check
        record.bundle_hash = combined_hash(files)
        if container and not options.isolated and manifest.execution != "container":
            record.decisions.append("forced isolation: policy require_isolation")
        lock_file = lockfile.lock_path(options.env)
        lock = lockfile.read_lock(lock_file)
        entry = lockfile.check_bundle(lock, lock_file, bundle, files) if lock is not None else None
        if container:
            from .runners.container import run_in_container

            value = run_in_container(bundle, manifest, params, env=options.env, engine=options.engine,
                                     runtime=options.runtime, policy=policy,
                                     allow_unenforced_limits=options.allow_unenforced_limits, warn=options.warn,
                                     stderr_sink=options.stderr_sink, debug=options.debug, record=record,
                                     locked=(entry, lock_file) if entry is not None else None,
                                     on_egress=options.on_egress, plan_sink=options.plan_sink)
        else:
            from .runners.in_process import run_in_process

            value = run_in_process(bundle, manifest, params, env=options.env)
        result = check_output(manifest, value)
        if not container:
            import json

            record.bytes_out = len(json.dumps(result, ensure_ascii=False))
        return result


def run_skill(
    skill: str,
    params: Optional[Dict[str, Any]] = None,
    *,
    skills_dirs: Sequence[str] = (),
    isolated: Optional[bool] = None,
    env: Optional[Mapping[str, str]] = None,
    policy: Optional[Policy] = None,
    engine: Optional[str] = None,
    runtime: Optional[str] = None,
    allow_unenforced_limits: bool = False,
) -> Any:
    """Run a skill and return its (validated) result; raise a SkillwareError subclass on failure.

    `isolated=True` runs it in a container whatever its manifest says; container skills, and
    skills the operator policy's `require_isolation` matches, always run in one. The policy is
    the operator's policy file (see `skillware policy show`) unless `policy=` is given.
    """
    from .policy_file import load_policy

    bundle, manifest = prepare(skill, skills_dirs)
    params = {} if params is None else params
    validate_params(manifest, params)
    options = RunOptions(isolated=bool(isolated), engine=engine, runtime=runtime,
                         allow_unenforced_limits=allow_unenforced_limits, env=env)
    return execute(bundle, manifest, params, policy or load_policy(), options)


def load_skill(skill: str, *, skills_dirs: Sequence[str] = (), check_requirements: bool = True,
               execute_module: bool = True) -> Dict[str, Any]:
    """The upstream bundle dict (module, class, manifest, instructions, card, registry_id)."""
    from .core.loader import SkillLoader

    return SkillLoader.load_skill(skill, check_requirements=check_requirements,
                                  execute_module=execute_module, skills_dirs=skills_dirs)
