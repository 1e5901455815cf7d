"""Every error skillware raises on purpose; each knows its exit code and a hint for the fix.

Library callers catch these by family; the CLI maps them to exit codes in one place.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~2 ms to import; a cold run imports this module first
if TYPE_CHECKING:
    from typing import Sequence

    from .problem import Problem

# Exit codes, documented in README.md ("Exit codes"). Distinct per family so scripts can branch.
EXIT_OK = 0
EXIT_SKILL_RAISED = 1
EXIT_USAGE = 2
EXIT_REQUIREMENTS = 3
EXIT_POLICY = 4
EXIT_ENGINE = 5
EXIT_TIMEOUT = 6
EXIT_RESOURCE_LIMIT = 7
EXIT_CRASHED = 8
EXIT_BAD_OUTPUT = 9
EXIT_INTERRUPTED = 130


class SkillwareError(Exception):
    """Base of every skillware error."""

    exit_code = EXIT_USAGE
    kind = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint on one line."""
        text = self.message.replace("\n", " ").strip()
        return f"{text} ({self.hint})" if self.hint else text

    def stderr_line(self) -> str:
        """The line every CLI path prints for this error on stderr."""
        return f"skillware: {self.kind} error: {self.one_line()}"


# --- usage: bad input from the caller (exit 2) --------------------------------------------------


class UsageError(SkillwareError):
    """The command line or API call itself is wrong."""

    kind = "usage"


class BundleError(SkillwareError):
    """A skill id or bundle folder cannot be used."""

    kind = "bundle"


class SkillNotFound(BundleError, FileNotFoundError):
    """No skills root holds the requested id."""

    kind = "not_found"


class UnsafeSkillPath(BundleError):
    """An id or a bundle file would escape its skills root (`..`, absolute id, symlink)."""

    kind = "unsafe_path"


class ManifestError(SkillwareError):
    """manifest.yaml cannot be read or does not satisfy the schema; `problems` lists every issue."""

    kind = "manifest"

    def __init__(self, problems: Sequence[Problem]) -> None:
        errors = [p for p in problems if not p.warning]
        first = errors[0] if errors else problems[0]
        more = f" (+{len(errors) - 1} more; run `skillware validate`)" if len(errors) > 1 else ""
        super().__init__(first.format() + more)
        self.problems = list(problems)

    def one_line(self) -> str:
        return self.message


class ParamsError(SkillwareError):
    """Params are not JSON or do not satisfy the manifest's `parameters` schema."""

    kind = "params"


# --- environment ---------------------------------------------------------------------------------


class RequirementsError(SkillwareError, ImportError):
    """Packages listed in the manifest's `requirements` are not installed."""

    exit_code = EXIT_REQUIREMENTS
    kind = "requirements"


class PolicyError(SkillwareError):
    """Operator policy refuses the run (or the policy file is invalid)."""

    exit_code = EXIT_POLICY
    kind = "policy"


class EngineError(SkillwareError):
    """No usable container engine, or it cannot do what the run needs."""

    exit_code = EXIT_ENGINE
    kind = "engine"


class EngineNotFound(EngineError):
    """Neither podman nor docker is installed or answering."""


class ImageNotFound(EngineError):
    """The image the skill needs is not in the engine's local store."""

    kind = "image"


class EgressProxyError(EngineError):
    """The run's egress proxy could not start, or stopped during the run (the run was ended)."""

    kind = "egress_proxy"


class LimitsNotEnforced(EngineError):
    """The engine would silently ignore resource limits (e.g. rootless Podman on cgroup v1)."""

    kind = "unenforced_limits"


# --- execution -----------------------------------------------------------------------------------


class ExecutionError(SkillwareError):
    """The skill ran and did not produce a valid result."""

    kind = "execution"


class SkillRaised(ExecutionError):
    """The skill's code raised an exception (or returned a JSON error object)."""

    exit_code = EXIT_SKILL_RAISED
    kind = "skill_error"


class SkillTimeout(ExecutionError):
    """The skill ran past its wall-time limit and was stopped."""

    exit_code = EXIT_TIMEOUT
    kind = "timeout"


class ResourceLimitExceeded(ExecutionError):
    """The container was killed by its memory or pids limit."""

    exit_code = EXIT_RESOURCE_LIMIT
    kind = "resource_limit"


class SkillCrashed(ExecutionError):
    """The skill process died (signal, abnormal exit) without a JSON error object."""

    exit_code = EXIT_CRASHED
    kind = "crashed"


class BadOutput(ExecutionError):
    """The result is not JSON, is too large, or violates the manifest's `output` schema."""

    exit_code = EXIT_BAD_OUTPUT
    kind = "bad_output"


class Interrupted(SkillwareError):
    """The run was interrupted (Ctrl-C); any container was removed."""

    exit_code = EXIT_INTERRUPTED
    kind = "interrupted"

