"""Run one call in a container: plan → argv → engine process → result, and always clean up.

Killing the engine client does not stop a container, so every way out of a run (timeout,
output cap, Ctrl-C, SIGTERM, an exception of ours) removes the container by its name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

from ..argv import build_run_argv
from ..audit_log import RunRecord, argv_hash
from ..bundle import Bundle
from ..container_spec import ContainerSpec, plan_container
from ..engine import EngineProbe, select_engine
from ..engine_cli import run_engine, start_engine
from ..errors import BundleError, Interrupted, UsageError
from ..lockfile import check_image
from ..manifest import Manifest
from ..policy import DEFAULT_POLICY, Policy
from .outcome import Outcome, interpret
from .preflight import check_readable

Sink = Callable[[bytes], None]
LockedEntry = Tuple[Dict[str, Any], Path]


def remove_container(engine_path: str, name: str) -> bool:
    """Force-remove a container by name, immediately (no grace period); True when the engine did.

    'No such container' and engine failures are not errors here: this runs on every way out.
    """
    podman = os.path.basename(engine_path).startswith("podman")
    try:
        done = run_engine([engine_path, "rm", "-f", *(["-t", "0"] if podman else []), name], timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class _Interrupt(BaseException):
    """SIGTERM, turned into an exception so the same cleanup runs as for Ctrl-C."""


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Interrupt()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _pump(stream: Any, cap: int, keep: bytearray, sink: Optional[Sink], over: threading.Event,
          totals: list[int], wake: Optional[threading.Event]) -> None:
    """Read a pipe to its end, keeping at most `cap` bytes; set `over` once more arrives."""
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        totals[0] += len(chunk)
        room = cap - len(keep)
        if room > 0:
            keep += chunk[:room]
            if sink is not None:
                sink(chunk[:room])
        if len(chunk) > room:
            over.set()
            if wake is not None:
                wake.set()


def execute_spec(spec: ContainerSpec, argv: list[str], stdin_bytes: bytes, env_extra: Mapping[str, str],
                 stderr_sink: Optional[Sink] = None, stderr_cap: int = 1024 * 1024) -> Outcome:
    """Run the engine process for `argv`; enforce wall time and the output cap; remove on any exit."""
    out, err = bytearray(), bytearray()
    out_over, err_over, wake = threading.Event(), threading.Event(), threading.Event()
    out_total, err_total = [0], [0]
    proc = start_engine(argv, env_extra)
    removed = False
    try:
        threads = [
            threading.Thread(target=_pump, args=(proc.stdout, spec.limits.output, out, None, out_over, out_total,
                                                 wake), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, stderr_cap, err, stderr_sink, err_over, err_total,
                                                 None), daemon=True),
            threading.Thread(target=_feed, args=(proc, stdin_bytes), daemon=True),
        ]
        for thread in threads:
            thread.start()
        timed_out = not _wait(proc, spec.limits.timeout, wake)
        if timed_out or out_over.is_set():
            remove_container(spec.engine_path, spec.name)
            removed = True
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        proc.wait()
        for thread in threads[:2]:
            thread.join(timeout=10)
        return Outcome(proc.returncode, bytes(out), bytes(err), err_total[0], timed_out=timed_out,
                       overflow=out_over.is_set())
    except (KeyboardInterrupt, _Interrupt) as exc:
        remove_container(spec.engine_path, spec.name)
        removed = True
        raise Interrupted("interrupted; the container was removed", "") from exc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        if not removed and proc.returncode != 0:
            remove_container(spec.engine_path, spec.name)  # --rm does not cover every engine failure


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.close()


def _wait(proc: subprocess.Popen[bytes], timeout: float, stop: threading.Event) -> bool:
    """Wait for the process; False on timeout. Returns early when `stop` is set.

    A thread blocks in wait() and sets `stop` the moment the process exits: Popen.wait with a
    timeout polls with sleeps of up to 50 ms, a quarter of a whole container run here.
    """
    def watch() -> None:
        proc.wait()
        stop.set()

    exited = threading.Thread(target=watch, daemon=True)
    exited.start()
    stop.wait(timeout)
    return proc.poll() is not None or stop.is_set()


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
    values = granted_env_values(spec, env)
    document = shim_envelope(manifest.raw, values, params) if spec.stdin_envelope else params
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    if not spec.stdin_env_lines:
        return body
    import base64

    lines = [f"{name}={base64.b64encode(value.encode()).decode()}\n".encode() for name, value in values.items()]
    return b"".join(lines) + b"\n" + body


def granted_env_values(spec: ContainerSpec, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The values of the env vars the plan granted, from `env` (default: this process's)."""
    source = os.environ if env is None else env
    return {name: source[name] for name in spec.granted_env if name in source}


def shim_envelope(manifest_raw: Mapping[str, Any], env_values: Mapping[str, str],
                  params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The shim's stdin envelope; without params it is a warm worker's set-up line."""
    from ..container_spec import CONTRACT_VERSION

    document = {"skillware": CONTRACT_VERSION, "manifest": dict(manifest_raw), "env": dict(env_values)}
    if params is not None:
        document["params"] = params
    return document


def run_in_container(bundle: Bundle, manifest: Manifest, params: Dict[str, Any], *,
                     env: Optional[Mapping[str, str]] = None, engine: Optional[str] = None,
                     runtime: Optional[str] = None, policy: Optional[Policy] = None, dry_run: bool = False,
                     allow_unenforced_limits: bool = False, warn: Optional[Callable[[str], None]] = None,
                     stderr_sink: Optional[Sink] = None, debug: bool = False,
                     record: Optional[RunRecord] = None, locked: Optional[LockedEntry] = None,
                     on_egress: Optional[Callable[[str], None]] = None) -> Any:
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
    if not spec.limits_enforced and warn is not None:
        warn(next(d for d in spec.decisions if "NOT enforced" in d))
    stdin_bytes = stdin_bytes_for(manifest, spec, params, env)
    with _sigterm_as_exception():
        outcome = execute_with_egress(spec, argv, stdin_bytes, stderr_sink, policy.stderr_cap, record, on_egress)
    if outcome.stderr_total > policy.stderr_cap and stderr_sink is not None:
        stderr_sink(f"\n[skillware: stderr truncated after {policy.stderr_cap:,} of {outcome.stderr_total:,} "
                    "bytes]\n".encode())
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
