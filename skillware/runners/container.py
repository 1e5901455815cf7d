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
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from ..argv import build_run_argv
from ..bundle import Bundle
from ..container_spec import ContainerSpec, plan_container
from ..engine import EngineProbe, select_engine
from ..engine_cli import run_engine, start_engine
from ..errors import (
    BadOutput,
    EngineError,
    ImageNotFound,
    Interrupted,
    ResourceLimitExceeded,
    SkillCrashed,
    SkillRaised,
    SkillTimeout,
    UsageError,
)
from ..manifest import Manifest
from ..policy import DEFAULT_POLICY, Policy
from ..shim.shim import CONTRACT_VERSION
from .preflight import check_readable

Sink = Callable[[bytes], None]
_ENGINE_ERROR_CODES = {125, 126, 127}
_IMAGE_MISSING = ("image not known", "no such image", "unable to find image", "manifest unknown",
                  "repository does not exist", "pull access denied")


@dataclass
class Outcome:
    """What came back from the engine process."""

    returncode: int
    stdout: bytes
    stderr: bytes
    stderr_total: int
    timed_out: bool = False
    overflow: bool = False


def remove_container(probe_path: str, name: str) -> None:
    """Force-remove a container by name, immediately (no grace period); ignore 'no such container'."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        run_engine([probe_path, "rm", "-f", "-t", "0", name] if probe_path.endswith("podman")
                   else [probe_path, "rm", "-f", name], timeout=60)


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
          totals: list[int]) -> None:
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


def execute_spec(spec: ContainerSpec, argv: list[str], stdin_bytes: bytes, env_extra: Mapping[str, str],
                 stderr_sink: Optional[Sink] = None, stderr_cap: int = 1024 * 1024) -> Outcome:
    """Run the engine process for `argv`; enforce wall time and the output cap; remove on any exit."""
    out, err = bytearray(), bytearray()
    out_over, err_over = threading.Event(), threading.Event()
    out_total, err_total = [0], [0]
    proc = start_engine(argv, env_extra)
    removed = False
    try:
        threads = [
            threading.Thread(target=_pump, args=(proc.stdout, spec.limits.output, out, None, out_over, out_total),
                             daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, stderr_cap, err, stderr_sink, err_over, err_total),
                             daemon=True),
            threading.Thread(target=_feed, args=(proc, stdin_bytes), daemon=True),
        ]
        for thread in threads:
            thread.start()
        timed_out = not _wait(proc, spec.limits.timeout, out_over)
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
    """Wait for the process; False on timeout. Returns early when `stop` is set."""
    deadline = _now() + timeout
    while True:
        remaining = deadline - _now()
        if remaining <= 0:
            return proc.poll() is not None
        try:
            proc.wait(timeout=min(remaining, 0.05 if stop.is_set() else 0.25))
            return True
        except subprocess.TimeoutExpired:
            if stop.is_set():
                return True


def _now() -> float:
    import time

    return time.monotonic()


def _tail(data: bytes, lines: int = 3) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-lines:])[:500]


def interpret(outcome: Outcome, spec: ContainerSpec, skill_id: str) -> Any:
    """Turn the engine's exit into a result or the right typed error."""
    limits = spec.limits
    if outcome.timed_out:
        raise SkillTimeout(f"{skill_id} ran longer than its {limits.timeout:g}s timeout; the container was removed",
                           "raise container.timeout (within the policy ceiling) or give it less work")
    if outcome.overflow:
        raise BadOutput(f"{skill_id} wrote more than {limits.output:,} bytes to stdout; the container was removed",
                        "return less data, or raise the policy's output ceiling")
    code, stderr = outcome.returncode, outcome.stderr
    text = stderr.decode("utf-8", "replace").lower()
    if code in _ENGINE_ERROR_CODES and not outcome.stdout:
        if any(marker in text for marker in _IMAGE_MISSING):
            raise ImageNotFound(f"image {spec.image!r} is not in {spec.engine}'s local store",
                                "build it: skillware image build-base (or skillware build SKILL)")
        raise EngineError(f"{spec.engine} could not start the container (exit {code}): {_tail(stderr)}",
                          "run `skillware doctor`, or re-run with --dry-run and try the command by hand")
    if code == 0:
        try:
            return json.loads(outcome.stdout, parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:
            raise BadOutput(f"{skill_id} wrote stdout that is not one JSON document: {exc}",
                            "print only the result JSON on stdout; diagnostics go to stderr") from None
    envelope = _error_envelope(outcome.stdout)
    if envelope is not None:
        kind, message = envelope.get("kind", ""), str(envelope.get("message", ""))
        kind_errors = {"resource_limit": ResourceLimitExceeded, "bad_output": BadOutput, "crashed": SkillCrashed}
        error_class = kind_errors.get(kind, SkillRaised)
        label = envelope.get("type") or kind
        raise error_class(f"{skill_id} failed: {label}: {message}", _hint_for(kind, spec))
    if code in (137, -9):
        raise ResourceLimitExceeded(f"{skill_id} was killed (SIGKILL), most likely by its memory limit of "
                                    f"{limits.memory // (1024 * 1024)} MiB", _hint_for("resource_limit", spec))
    if spec.engine == "podman" and code == 255 and "timeout" in text:
        raise SkillTimeout(f"{skill_id} ran longer than its timeout", "raise container.timeout")
    if code > 128:
        raise SkillCrashed(f"{skill_id} was killed by signal {code - 128}", "see the skill's stderr above")
    raise SkillCrashed(f"{skill_id} exited with status {code} without a result: {_tail(stderr)}",
                       "a failing skill should print a JSON error object; see docs/host-contract.md")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _hint_for(kind: str, spec: ContainerSpec) -> str:
    if kind == "resource_limit":
        return (f"limits: memory {spec.limits.memory // (1024 * 1024)} MiB, pids {spec.limits.pids}; "
                "raise container.memory / container.pids within the policy ceilings")
    if kind == "bad_output":
        return "return JSON-serialisable data"
    return "see the skill's stderr; run with --debug for details"


def _error_envelope(stdout: bytes) -> Optional[Dict[str, Any]]:
    try:
        value = json.loads(stdout)
    except (ValueError, RecursionError):
        return None
    error = value.get("error") if isinstance(value, dict) else None
    return error if isinstance(error, dict) else None


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


def secret_env(spec: ContainerSpec, env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Values for the `--env NAME` entries: set in the engine's environment, never in argv."""
    source = os.environ if env is None else env
    return {name: source[name] for name in spec.passthrough_env if name in source}


def stdin_document(manifest: Manifest, spec: ContainerSpec, params: Dict[str, Any],
                   env: Optional[Mapping[str, str]]) -> Dict[str, Any]:
    """What the container reads on stdin: the params, or for the shim an envelope with env values."""
    if not spec.stdin_envelope:
        return params
    source = os.environ if env is None else env
    return {"skillware": CONTRACT_VERSION, "params": params, "manifest": dict(manifest.raw),
            "env": {name: source[name] for name in spec.granted_env if name in source}}


def run_in_container(bundle: Bundle, manifest: Manifest, params: Dict[str, Any], *,
                     env: Optional[Mapping[str, str]] = None, engine: Optional[str] = None,
                     runtime: Optional[str] = None, policy: Optional[Policy] = None, dry_run: bool = False,
                     allow_unenforced_limits: bool = False, warn: Optional[Callable[[str], None]] = None,
                     stderr_sink: Optional[Sink] = None, debug: bool = False) -> Any:
    """Run one call of the skill in a fresh container and return its (unchecked) result.

    With dry_run, return the argv as a shell-quoted string instead of running it.
    """
    if not isinstance(params, dict):
        raise UsageError("params must be a JSON object")
    policy = policy or DEFAULT_POLICY
    _, spec = prepare_container(bundle, manifest, policy=policy, engine=engine, runtime=runtime,
                                allow_unenforced_limits=allow_unenforced_limits, env=env)
    if debug:
        spec = replace(spec, env=spec.env + (("SKILLWARE_DEBUG", "1"),))
    argv = build_run_argv(spec)
    if dry_run:
        return shlex.join(argv)
    check_readable(bundle.path)
    if not spec.limits_enforced and warn is not None:
        warn(next(d for d in spec.decisions if "NOT enforced" in d))
    stdin_bytes = json.dumps(stdin_document(manifest, spec, params, env), ensure_ascii=False).encode("utf-8")
    with _sigterm_as_exception():
        outcome = execute_spec(spec, argv, stdin_bytes, secret_env(spec, env), stderr_sink, policy.stderr_cap)
    if outcome.stderr_total > policy.stderr_cap and stderr_sink is not None:
        stderr_sink(f"\n[skillware: stderr truncated after {policy.stderr_cap:,} of {outcome.stderr_total:,} "
                    "bytes]\n".encode())
    return interpret(outcome, spec, manifest.id)
