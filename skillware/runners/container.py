"""Run one call in a container: plan → argv → engine process (runners/supervise.py) → result."""

from __future__ import annotations

import os
import shlex
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..argv import build_run_argv
from ..audit_log import RunRecord, argv_hash
from ..bundle import Bundle
from ..container_spec import ContainerSpec, plan_container
from ..engine import EngineProbe, select_engine
from ..errors import BundleError, UsageError
from ..lockfile import check_image
from ..manifest import Manifest
from ..policy import DEFAULT_POLICY, Policy
from .outcome import interpret
from .preflight import check_readable
from .spawn import SigtermAsException
from .stdin_payload import granted_values, payload
from .supervise import Outcome, note_truncation, remove_container, supervise

Sink = Callable[[bytes], None]
LockedEntry = Tuple[Dict[str, Any], Path]
PlanSink = Callable[[EngineProbe, ContainerSpec, List[str], List[str]], None]


def execute_spec(spec: ContainerSpec, argv: list[str], stdin_bytes: bytes, env_extra: Mapping[str, str],
                 stderr_sink: Optional[Sink] = None, stderr_cap: int = 1024 * 1024) -> Outcome:
    """Run the engine process for `argv` under the spec's wall time and output cap (see supervise)."""
    return supervise(argv, stdin_bytes, engine_path=spec.engine_path, name=spec.name, timeout=spec.limits.timeout,
                     output_cap=spec.limits.output, env_extra=env_extra, stderr_sink=stderr_sink,
                     stderr_cap=stderr_cap)


def prepare_container(bundle: Bundle, manifest: Manifest, *, policy: Optional[Policy] = None,
                      engine: Optional[str] = None, runtime: Optional[str] = None,
                      allow_unenforced_limits: bool = False, env: Optional[Mapping[str, str]] = None,
                      serve: bool = False) -> tuple[EngineProbe, ContainerSpec]:
    """Choose the engine and plan the container (no container is started)."""
    from ..images import image_for
    from .gc import collect_orphans_soon

    policy = policy or DEFAULT_POLICY
    probe = select_engine(engine or policy.engine)
    collect_orphans_soon(probe)
    image = image_for(bundle, manifest, probe, policy)
    spec = plan_container(bundle, manifest, policy, probe, runtime=runtime,
                          allow_unenforced_limits=allow_unenforced_limits, image=image,
                          caller_env=dict(os.environ if env is None else env), serve=serve)
    return probe, spec


def stdin_bytes_for(manifest: Manifest, spec: ContainerSpec, params: Dict[str, Any],
                    env: Optional[Mapping[str, str]]) -> bytes:
    """The exact bytes a cold run writes to the container's stdin."""
    return payload(manifest.raw, spec.granted_env, spec.stdin_envelope, spec.stdin_env_lines, params, env)


def granted_env_values(spec: ContainerSpec, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The values of the env vars the plan granted, from `env` (default: this process's)."""
    return granted_values(spec.granted_env, env)


def run_in_container(bundle: Bundle, manifest: Manifest, params: Dict[str, Any], *,
                     env: Optional[Mapping[str, str]] = None, engine: Optional[str] = None,
                     runtime: Optional[str] = None, policy: Optional[Policy] = None, dry_run: bool = False,
                     allow_unenforced_limits: bool = False, warn: Optional[Callable[[str], None]] = None,
                     stderr_sink: Optional[Sink] = None, debug: bool = False,
                     record: Optional[RunRecord] = None, locked: Optional[LockedEntry] = None,
                     on_egress: Optional[Callable[[str], None]] = None,
                     plan_sink: Optional[PlanSink] = None) -> Any:
    """Run one call of the skill in a fresh container and return its (unchecked) result.

    With dry_run, return the argv as a shell-quoted string instead of running it. `record`
    (the audit log entry) is filled in; `locked` is the lock-file entry the image must match.
    """
    if not isinstance(params, dict):
        raise UsageError("params must be a JSON object")
    policy = policy or DEFAULT_POLICY
    probe, spec = prepare_container(bundle, manifest, policy=policy, engine=engine, runtime=runtime,
                                allow_unenforced_limits=allow_unenforced_limits, env=env)
    if debug:
        spec = replace(spec, env=spec.env + (("SKILLWARE_DEBUG", "1"),))
    argv = build_run_argv(spec)
    if dry_run:
        return shlex.join(argv)
    check_readable(bundle.path)
    if spec.stdin_envelope and not (bundle.path / "skill.py").is_file():
        raise BundleError(f"{bundle.id}: skill.py is missing", "add skill.py, or a container.command to run")
    digest = ImageDigest(spec, probe.image_index)
    tag = spec.image
    if locked is not None:
        entry, lock_file = locked
        check_image(entry, lock_file, manifest.id, spec.engine, spec.image, digest.wait())
        # Run the locked image by its id: the tag could be moved between the check and the run.
        spec = replace(spec, image=digest.wait())
        argv = build_run_argv(spec)
    if record is not None:
        record.engine, record.image, record.argv_hash = spec.engine, tag, argv_hash(argv)
        record.decisions += list(spec.decisions)
    if plan_sink is not None and locked is None and not debug:
        plan_sink(probe, spec, argv, list(record.decisions if record is not None else spec.decisions))
    if not spec.limits_enforced and warn is not None:
        warn(next(d for d in spec.decisions if "NOT enforced" in d))
    stdin_bytes = stdin_bytes_for(manifest, spec, params, env)
    with SigtermAsException():
        outcome = execute_with_egress(spec, argv, stdin_bytes, stderr_sink, policy.stderr_cap, record, on_egress)
    note_truncation(outcome, policy.stderr_cap, stderr_sink)
    if record is not None:
        record.bytes_out = len(outcome.stdout)
        record.stderr_truncated = outcome.stderr_total > policy.stderr_cap
        record.image_digest = digest.wait()
    return interpret(outcome, spec, manifest.id)


def execute_with_egress(spec: ContainerSpec, argv: list[str], stdin_bytes: bytes, stderr_sink: Optional[Sink],
                        stderr_cap: int, record: Optional[RunRecord], on_egress: Optional[Callable[[str], None]],
                        env_extra: Optional[Mapping[str, str]] = None) -> Outcome:
    """execute_spec, with the run's egress proxy around it when the spec has an allow-list.

    The proxy starts before the container and is closed (socket and directory removed) on every
    way out; if it stops on its own, the container is removed and the run fails with that reason.
    """
    if not spec.egress or spec.egress_dir is None:
        return execute_spec(spec, argv, stdin_bytes, env_extra or {}, stderr_sink, stderr_cap)
    from ..errors import EgressProxyError
    from .egress_proxy import EgressDecision, start_proxy

    def decided(decision: EgressDecision, closed: bool) -> None:
        if on_egress is not None:
            on_egress(decision.describe(closed))

    proxy = start_proxy(spec.egress_dir, spec.egress, spec.allow_private_egress, on_decision=decided,
                        on_failure=lambda why: _remove_quietly(spec))
    try:
        outcome = execute_spec(spec, argv, stdin_bytes, env_extra or {}, stderr_sink, stderr_cap)
    finally:
        proxy.close()
        if record is not None:
            record.egress = [d.to_json() for d in proxy.decisions]
    if proxy.failure:
        raise EgressProxyError(f"{proxy.failure}; the container was removed and the run ended",
                               "run it again; report it if it repeats")
    return outcome


def _remove_quietly(spec: ContainerSpec) -> None:
    remove_container(spec.engine_path, spec.name)


class ImageDigest:
    """The image's id, from the id cache or looked up alongside the run."""

    def __init__(self, spec: ContainerSpec, image_index: str = "") -> None:
        self._value: Optional[str] = None
        self._thread = threading.Thread(target=self._look_up, args=(spec, image_index), daemon=True)
        self._thread.start()

    def _look_up(self, spec: ContainerSpec, image_index: str) -> None:
        from ..image_ids import lookup

        self._value = lookup(spec.engine_path, spec.image, image_index)

    def wait(self) -> str:
        self._thread.join(timeout=60)
        return self._value or "unknown"
