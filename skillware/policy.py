"""Operator policy: defaults, ceilings, forced isolation. A manifest may ask for less, never more.

There is deliberately no field for host network, privileged mode, host namespaces, devices,
extra mounts or engine sockets: what cannot be expressed cannot be enabled.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource values for one container (also used for policy defaults and ceilings)."""

    memory: int = 256 * MiB
    cpus: float = 1.0
    pids: int = 64
    timeout: float = 30.0
    tmpfs: int = 64 * MiB
    output: int = 16 * MiB


@dataclass(frozen=True)
class Policy:
    """What an operator allows. Defaults are safe for an unreviewed skill."""

    engine: Optional[str] = None
    runtime: Optional[str] = None
    image: str = "localhost/skillware-python:3.11"
    defaults: Limits = field(default_factory=Limits)
    ceilings: Limits = field(default_factory=lambda: Limits(memory=2048 * MiB, cpus=2.0, pids=512, timeout=600.0,
                                                            tmpfs=512 * MiB, output=64 * MiB))
    require_isolation: Tuple[str, ...] = ()
    allowed_images: Tuple[str, ...] = ("*",)
    allow_unenforced_limits: bool = False
    allowed_env_vars: Optional[Tuple[str, ...]] = None  # None: any the manifest declares
    allowed_egress: Tuple[str, ...] = ()   # host:port / *.suffix:port a manifest's egress may use
    allow_private_egress: bool = False     # egress names may resolve to loopback/private addresses
    nofile: int = 1024
    stderr_cap: int = 1 * MiB
    audit_log: Optional[str] = None
    # Where this policy came from (None: built-in defaults) and, per value ("defaults.memory"),
    # "FILE#/json/pointer" or "built-in default" (see policy_file.policy_sources).
    source: Optional[str] = field(default=None, compare=False)
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # Said on stderr by every command that uses the policy (e.g. ./skillware.yaml loosening the user's).
    notes: Tuple[str, ...] = field(default=(), compare=False)

    def requires_isolation(self, skill_id: str) -> bool:
        """True when a require_isolation pattern matches the skill id."""
        return any(fnmatch.fnmatchcase(skill_id, pattern) for pattern in self.require_isolation)

    def image_allowed(self, image: str) -> bool:
        return any(fnmatch.fnmatchcase(image, pattern) for pattern in self.allowed_images)

    def env_var_allowed(self, name: str) -> bool:
        return self.allowed_env_vars is None or any(fnmatch.fnmatchcase(name, p) for p in self.allowed_env_vars)


DEFAULT_POLICY = Policy()
