"""What came back from an engine process, and how it maps to a result or a typed error."""

from __future__ import annotations

import json

from ..errors import (
    BadOutput,
    EngineError,
    ImageNotFound,
    ResourceLimitExceeded,
    SkillCrashed,
    SkillRaised,
    SkillTimeout,
)
from .supervise import Outcome

TYPE_CHECKING = False  # a cold run imports this module; typing and the spec's module cost ms
if TYPE_CHECKING:
    from typing import Any, Dict, NoReturn, Optional

    from ..container_spec import ContainerSpec

_ENGINE_ERROR_CODES = {125, 126, 127}
_IMAGE_MISSING = ("image not known", "no such image", "unable to find image", "manifest unknown",
                  "repository does not exist", "pull access denied")


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
        return result_of(outcome, skill_id)
    envelope = _error_envelope(outcome.stdout)
    if envelope is not None:
        raise_for_error(envelope, spec, skill_id)
    if code in (137, -9):
        raise killed_error(spec, skill_id)
    if spec.engine == "podman" and code == 255 and "timeout" in text:
        raise SkillTimeout(f"{skill_id} ran longer than its timeout", "raise container.timeout")
    if code > 128:
        raise SkillCrashed(f"{skill_id} was killed by signal {code - 128}", "see the skill's stderr above")
    raise SkillCrashed(f"{skill_id} exited with status {code} without a result: {_tail(stderr)}",
                       "a failing skill should print a JSON error object; see docs/host-contract.md")


def result_of(outcome: Outcome, skill_id: str) -> Any:
    """The result a clean exit (status 0, in time, under the cap) wrote on stdout."""
    try:
        return json.loads(outcome.stdout, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise BadOutput(f"{skill_id} wrote stdout that is not one JSON document: {exc}",
                        "print only the result JSON on stdout; diagnostics go to stderr") from None


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


def raise_for_error(error: Dict[str, Any], spec: ContainerSpec, skill_id: str) -> NoReturn:
    """Raise the typed error for a contract failure object's `error` member."""
    kind, message = str(error.get("kind", "")), str(error.get("message", ""))
    kind_errors = {"resource_limit": ResourceLimitExceeded, "bad_output": BadOutput, "crashed": SkillCrashed}
    error_class = kind_errors.get(kind, SkillRaised)
    label = error.get("type") or kind
    raise error_class(f"{skill_id} failed: {label}: {message}", _hint_for(kind, spec))


def killed_error(spec: ContainerSpec, skill_id: str) -> ResourceLimitExceeded:
    """SIGKILL from outside the skill: with the shim watching its child, that is the limit."""
    return ResourceLimitExceeded(f"{skill_id} was killed (SIGKILL), most likely by its memory limit of "
                                 f"{spec.limits.memory // (1024 * 1024)} MiB", _hint_for("resource_limit", spec))
