"""SkillRunner: the API for agents that call skills in loops (warm containers where allowed).

    with skillware.SkillRunner() as runner:
        for text in texts:
            runner.run("compliance/example_skill", {"text": text})

In-process and container skills go through the same `run`; errors are the same typed
SkillwareError subclasses the CLI maps to exit codes.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Hashable, Mapping, Optional, Sequence, Tuple

from .api import RunOptions, execute, prepare, runs_in_container
from .bundle import Bundle
from .bundle_hash import bundle_hash
from .errors import UsageError
from .manifest import Manifest
from .params import validate_params
from .policy import Policy
from .result import check_output


@dataclass(frozen=True)
class _Prepared:
    bundle: Bundle
    manifest: Manifest
    signature: Tuple[Tuple[str, int, int], ...]
    content: str


def _signature(folder: Path) -> Tuple[Tuple[str, int, int], ...]:
    """Cheap change detector: every file's path, mtime and size."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            with_stat = os.lstat(path)
            found.append((path, with_stat.st_mtime_ns, with_stat.st_size))
    return tuple(found)


class SkillRunner:
    """Runs skills; keeps a pool of warm workers per (skill content, policy, caller, engine)."""

    def __init__(self, skills_dirs: Optional[Sequence[str]] = None, engine: Optional[str] = None,
                 policy: Optional[Policy] = None, *, pool_size: int = 1, max_calls: int = 1000,
                 idle_seconds: float = 300.0, runtime: Optional[str] = None, allow_unenforced_limits: bool = False,
                 env: Optional[Mapping[str, str]] = None) -> None:
        from .runners.pool import WorkerPool

        self.skills_dirs = tuple(skills_dirs or ())
        self.engine = engine
        if policy is None:
            from .policy_file import load_policy

            policy = load_policy()
        self.policy = policy
        self.runtime = runtime
        self.allow_unenforced_limits = allow_unenforced_limits
        self.env = env
        self._pool = WorkerPool(pool_size, max_calls, idle_seconds)
        self._prepared: Dict[str, _Prepared] = {}
        self._lock = threading.Lock()
        self._policy_key = hashlib.sha256(repr(self.policy).encode()).hexdigest()[:16]
        self._finalizer = weakref.finalize(self, self._pool.close)
        atexit.register(self._finalizer)

    def __enter__(self) -> SkillRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every warm worker (their containers are removed)."""
        self._finalizer()

    def _prepare(self, skill_id: str) -> _Prepared:
        """Resolve and load once; re-load when any bundle file changes."""
        with self._lock:
            cached = self._prepared.get(skill_id)
        if cached is not None and _signature(cached.bundle.path) == cached.signature:
            return cached
        bundle, manifest = prepare(skill_id, self.skills_dirs)
        fresh = _Prepared(bundle, manifest, _signature(bundle.path), bundle_hash(bundle.path))
        with self._lock:
            self._prepared[skill_id] = fresh
        return fresh

    def run_prepare_check(self, skill_id: str) -> Manifest:
        """Resolve and validate a skill without running it (raises the same errors as run)."""
        return self._prepare(skill_id).manifest

    def run(self, skill_id: str, params: Dict[str, Any], *, isolated: Optional[bool] = None,
            caller: Optional[str] = None, reuse: Optional[bool] = None) -> Any:
        """Run one call and return the validated result, or raise a SkillwareError subclass.

        `isolated=True` forces a container. Warm reuse happens when the manifest says
        `container.reuse: true`, or when `reuse=True` and the manifest does not forbid it;
        workers are never shared between different `caller` values.
        """
        if not isinstance(params, dict):
            raise UsageError("params must be a dict (a JSON object)")
        prepared = self._prepare(skill_id)
        manifest = prepared.manifest
        validate_params(manifest, params)
        wants_reuse = manifest.container.reuse if manifest.container.reuse is not None else bool(reuse)
        # Only the Python shim serves warm calls; a custom command always runs cold.
        wants_reuse = wants_reuse and not manifest.container.command
        # A run with egress gets its own proxy, which lives exactly as long as one cold run.
        wants_reuse = wants_reuse and not manifest.container.egress
        if not (wants_reuse and runs_in_container(manifest, self.policy, bool(isolated))):
            options = RunOptions(isolated=bool(isolated), engine=self.engine, runtime=self.runtime,
                                 allow_unenforced_limits=self.allow_unenforced_limits, env=self.env)
            return execute(prepared.bundle, manifest, params, self.policy, options)
        return self._run_warm(prepared, params, caller)

    def _run_warm(self, prepared: _Prepared, params: Dict[str, Any], caller: Optional[str]) -> Any:
        from . import audit_log

        key: Hashable = (prepared.content, self._policy_key, caller, self.engine, self.runtime)
        record = audit_log.RunRecord(skill=prepared.manifest.id, execution="warm", bundle_hash=prepared.content)
        with audit_log.recorded(record, self.policy):
            self._check_lock(prepared)
            worker = self._pool.acquire(key, lambda: self._start_worker(prepared))
            try:
                record.engine, record.image = worker.spec.engine, worker.spec.image
                record.image_digest, record.argv_hash = worker.image_digest, worker.argv_hash
                return check_output(prepared.manifest, worker.call(params))
            finally:
                self._pool.release(key, worker)

    def _check_lock(self, prepared: _Prepared) -> Optional[Tuple[Dict[str, Any], Path]]:
        """The skill's lock entry where a lock file is present (refuses a changed bundle)."""
        from . import lockfile

        path = lockfile.lock_path(self.env)
        document = lockfile.read_lock(path)
        if document is None:
            return None
        return lockfile.check_bundle(document, path, prepared.bundle), path

    def _start_worker(self, prepared: _Prepared) -> Any:
        from .argv import build_run_argv
        from .audit_log import argv_hash
        from .lockfile import check_image
        from .runners.container import ImageDigest, granted_env_values, prepare_container
        from .runners.preflight import check_readable
        from .runners.stdin_payload import shim_envelope
        from .runners.worker import Worker

        probe, spec = prepare_container(prepared.bundle, prepared.manifest, policy=self.policy, engine=self.engine,
                                    runtime=self.runtime, allow_unenforced_limits=self.allow_unenforced_limits,
                                    env=self.env, serve=True)
        check_readable(prepared.bundle.path)
        digest = ImageDigest(spec, probe.image_index).wait()
        locked = self._check_lock(prepared)
        if locked is not None:
            check_image(locked[0], locked[1], prepared.manifest.id, spec.engine, spec.image, digest)
            spec = replace(spec, image=digest)  # run what was checked, not a tag that may move
        setup = shim_envelope(prepared.manifest.raw, granted_env_values(spec, self.env))
        worker = Worker(spec, setup, {}, prepared.manifest.id)
        worker.image_digest, worker.argv_hash = digest, argv_hash(build_run_argv(spec))
        return worker
