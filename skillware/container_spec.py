"""Manifest + policy + engine probe → ContainerSpec: every decision about a container, as data.

Pure: no engine is called here. Secret values are not part of a spec; only their names are.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .bundle import Bundle
from .container_ids import MANAGED_LABEL, OWNER_LABEL, container_name, owner_token, random_uid
from .engine import EngineProbe
from .errors import EngineError, PolicyError
from .manifest import Manifest
from .policy import Limits, Policy

PACKAGE_DIR = Path(__file__).resolve().parent
SHIM_SOURCE = PACKAGE_DIR / "shim" / "shim.py"
BASE_SKILL_SOURCE = PACKAGE_DIR / "core" / "base_skill.py"
SECCOMP_PROFILE = PACKAGE_DIR / "data" / "seccomp.json"
SHIM_COMMAND = ("python3", "/opt/skillware/shim.py")
ENVWRAP_SOURCE = PACKAGE_DIR / "shim" / "envwrap.sh"
EGRESS_RELAY_SOURCE = PACKAGE_DIR / "shim" / "egress_relay.py"
ENVWRAP_COMMAND = ("sh", "/opt/skillware/envwrap.sh")
# Without ignore-cgroups the sandbox as a whole (gVisor's own kernel included) stays inside the
# memory/pids cgroup limits, so the limits hold; its own threads need room under --pids-limit.
GVISOR_FLAGS = ("platform=ptrace", "network=none")
GVISOR_PIDS_OVERHEAD = 64
GVISOR_MIN_MEMORY = 256 * 1024 * 1024
CONTRACT_ENV = (
    ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ("HOME", "/tmp"),
    ("LANG", "C.UTF-8"),
    ("PYTHONPATH", "/opt/skillware"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("PYTHONUNBUFFERED", "1"),
    ("SKILLWARE_CONTRACT", "1"),
    ("SKILLWARE_BUNDLE", "/skill"),
)

# Egress: the per-run proxy's socket directory, bind-mounted read-only (connecting to a socket
# needs write permission on the socket itself, not on the mount).
EGRESS_TARGET = "/run/skillware-egress"
EGRESS_SOCKET = f"{EGRESS_TARGET}/proxy.sock"
EGRESS_ENV = "SKILLWARE_EGRESS"
EGRESS_DIR_PREFIX = "skillware-egress-"


@dataclass(frozen=True)
class Mount:
    """A read-only bind mount (there are no writable ones)."""

    source: str
    target: str


@dataclass(frozen=True)
class ContainerSpec:
    """Everything that decides what one container may do."""

    engine: str
    engine_path: str
    rootless: bool
    name: str
    image: str
    command: Tuple[str, ...]
    mounts: Tuple[Mount, ...]
    env: Tuple[Tuple[str, str], ...]
    granted_env: Tuple[str, ...]       # declared env vars the skill receives (by either route)
    limits: Limits
    nofile: int
    seccomp_profile: str
    runtime: Optional[str]
    runtime_flags: Tuple[str, ...]
    labels: Tuple[Tuple[str, str], ...]
    user: str
    stdin_envelope: bool               # the shim's JSON envelope {skillware, params, env, manifest}
    stdin_env_lines: bool = False      # NAME=BASE64 lines and an empty line before the params
    limits_enforced: bool = True
    decisions: Tuple[str, ...] = field(default=(), compare=False)
    egress: Tuple[str, ...] = ()             # the allow-list the run's proxy enforces (empty: no proxy)
    egress_dir: Optional[str] = None         # host directory the runner creates for the proxy socket
    allow_private_egress: bool = False


def spec_to_plain(spec: ContainerSpec) -> Dict[str, Any]:
    """The spec as plain data (dicts, tuples, strings, numbers): what a cold-run plan keeps."""
    return asdict(spec)


def spec_from_plain(data: Dict[str, Any], **per_run: Any) -> ContainerSpec:
    """The spec spec_to_plain() gave, with this run's own `name`, `user` and `labels`."""
    fields = dict(data, **per_run)
    fields["mounts"] = tuple(Mount(**m) for m in fields["mounts"])
    fields["limits"] = Limits(**fields["limits"])
    for name in ("command", "granted_env", "runtime_flags", "decisions", "egress"):
        fields[name] = tuple(fields[name])
    for name in ("env", "labels"):
        fields[name] = tuple(tuple(pair) for pair in fields[name])
    return ContainerSpec(**fields)


def _resolve_limits(manifest: Manifest, policy: Policy, decisions: List[str]) -> Limits:
    asked = manifest.container
    values = {}
    for name in ("memory", "cpus", "pids", "timeout", "tmpfs"):
        want = getattr(asked, name)
        ceiling = getattr(policy.ceilings, name)
        if want is not None and want > ceiling:
            raise PolicyError(f"{manifest.id}: container.{name} asks for {_show(name, want)}, "
                              f"above the policy ceiling of {_show(name, ceiling)}",
                              f"ask for at most {_show(name, ceiling)}, or raise ceilings.{name} in the policy")
        if want is None:
            want = min(getattr(policy.defaults, name), ceiling)
            decisions.append(f"{name}: policy default {_show(name, want)}")
        values[name] = want
    return Limits(output=policy.defaults.output, **values)


def _show(name: str, value: float) -> str:
    if name in ("memory", "tmpfs"):
        return f"{int(value) // (1024 * 1024)}m" if int(value) % (1024 * 1024) == 0 else f"{int(value)} bytes"
    if name == "timeout":
        return f"{value:g}s"
    return f"{value:g}"


def bundle_image_tag(bundle: Bundle, content_hash: str) -> str:
    """Tag of an image built from the bundle's Dockerfile: changes when the bundle changes."""
    safe = "".join(c if c.isalnum() else "-" for c in bundle.id.lower()).strip("-")
    return f"localhost/skillware-skill-{safe}:{content_hash.removeprefix('sha256:')[:16]}"


def _plan_egress(manifest: Manifest, policy: Policy, gvisor: bool) -> Tuple[str, ...]:
    """The manifest's egress entries, each checked against the policy (PolicyError names the first refused)."""
    if not manifest.container.egress:
        return ()
    from .egress import allowed_by, parse_pattern  # ipaddress costs ms on every cold run otherwise

    try:
        allowed = [parse_pattern(p) for p in policy.allowed_egress]
    except ValueError as exc:
        raise PolicyError(f"policy allowed_egress: {exc}", "write host:port or *.suffix:port") from None
    for entry in manifest.container.egress:
        if not allowed_by(parse_pattern(entry), allowed):
            raise PolicyError(f"{manifest.id}: container.egress asks for {entry}, which the policy's allowed_egress "
                              f"does not allow ({', '.join(policy.allowed_egress) or 'empty: no egress at all'})",
                              f"add {entry} to allowed_egress in the policy, or remove it from the manifest")
    if gvisor:
        raise EngineError(f"{manifest.id}: egress cannot reach a gVisor sandbox (no host sockets under runsc)",
                          "drop isolation: gvisor or the egress list")
    return tuple(manifest.container.egress)


def _check_mount_source(path: Path) -> str:
    text = str(path)
    if any(c in text for c in ":,\n"):
        raise EngineError(f"{text}: the path contains ':' or ',' which engines cannot mount",
                          "move the bundle to a path without those characters")
    return text


def plan_container(bundle: Bundle, manifest: Manifest, policy: Policy, probe: EngineProbe, *,
                   runtime: Optional[str] = None, allow_unenforced_limits: bool = False,
                   image: Optional[str] = None, caller_env: Optional[dict[str, str]] = None,
                   serve: bool = False) -> ContainerSpec:
    """Decide the container for one run. Raises PolicyError / EngineError instead of weakening."""
    decisions: List[str] = []
    limits = _resolve_limits(manifest, policy, decisions)
    chosen_image = image or manifest.container.image or policy.image
    if not policy.image_allowed(chosen_image):
        raise PolicyError(f"{manifest.id}: image {chosen_image!r} is not in the policy's allowed_images",
                          "use an allowed image, or add it to allowed_images")
    gvisor = manifest.container.isolation == "gvisor"
    chosen_runtime = probe.runtime_for(runtime or policy.runtime)
    runtime_flags: Tuple[str, ...] = ()
    if gvisor:
        if probe.name != "podman" or "runsc" not in probe.runtimes or probe.rootless:
            raise EngineError(f"{manifest.id} needs gVisor (isolation: gvisor), which needs rootful podman "
                              f"with runsc; this engine is {'rootless ' if probe.rootless else ''}{probe.name}",
                              "apt-get install runsc and run as root with --engine podman")
        if limits.memory < GVISOR_MIN_MEMORY:
            raise PolicyError(f"{manifest.id}: isolation: gvisor needs container.memory of at least 256m "
                              f"(gVisor's own kernel counts against it); it has {_show('memory', limits.memory)}",
                              "raise container.memory to 256m or more")
        chosen_runtime, runtime_flags = "runsc", GVISOR_FLAGS
        limits = replace(limits, pids=limits.pids + GVISOR_PIDS_OVERHEAD)
        decisions.append(f"runtime: runsc (isolation: gvisor); pids limit +{GVISOR_PIDS_OVERHEAD} for the sandbox")
    enforced = probe.limits_enforced
    if not enforced:
        why = f"{'rootless ' if probe.rootless else ''}{probe.name} on cgroup {probe.cgroup_version}"
        if not (allow_unenforced_limits or policy.allow_unenforced_limits):
            from .errors import LimitsNotEnforced

            raise LimitsNotEnforced(f"memory/pids/cpu limits cannot be enforced here ({why}); refusing to run "
                                    f"{manifest.id}", "fix the host (see `skillware doctor`), or accept it with "
                                    "--allow-unenforced-limits")
        decisions.append(f"override: limits NOT enforced ({why}), allowed by operator")
    env = dict(caller_env if caller_env is not None else os.environ)
    granted = []
    for var in manifest.env_vars:
        if env.get(var.name):
            if policy.env_var_allowed(var.name):
                granted.append(var.name)
            else:
                decisions.append(f"env: {var.name} withheld (not in policy allowed_env_vars)")
    command = tuple(manifest.container.command or SHIM_COMMAND)
    # Env values never travel as `--env`: engines store those in their container database on
    # the host's disk. The Python shim takes them inside its stdin envelope; a custom command
    # that was granted some is started through envwrap.sh, which reads them from stdin first.
    envelope = command == SHIM_COMMAND
    env_lines = not envelope and bool(granted)
    mounts = [Mount(_check_mount_source(bundle.path), "/skill"), Mount(str(SHIM_SOURCE), "/opt/skillware/shim.py"),
              Mount(str(BASE_SKILL_SOURCE), "/opt/skillware/skillware/core/base_skill.py")]
    if env_lines:
        command = (*ENVWRAP_COMMAND, *command)
        mounts.append(Mount(str(ENVWRAP_SOURCE), "/opt/skillware/envwrap.sh"))
    egress = _plan_egress(manifest, policy, gvisor)
    env_pairs: Tuple[Tuple[str, str], ...] = CONTRACT_ENV
    egress_dir = None
    if egress:
        egress_dir = os.path.join(tempfile.gettempdir(), f"{EGRESS_DIR_PREFIX}{secrets.token_hex(8)}")
        mounts.append(Mount(f"{egress_dir}/egress", EGRESS_TARGET))
        mounts.append(Mount(str(EGRESS_RELAY_SOURCE), "/opt/skillware/egress_relay.py"))
        env_pairs = (*CONTRACT_ENV, (EGRESS_ENV, EGRESS_SOCKET))
        decisions.append(f"egress: {', '.join(egress)} through a per-run proxy"
                         + (" (private addresses allowed by policy)" if policy.allow_private_egress else ""))
    uid = random_uid()
    return ContainerSpec(
        engine=probe.name, engine_path=probe.path, rootless=probe.rootless,
        name=container_name(),
        image=chosen_image,
        command=(*command, *(("--serve",) if serve else ())),
        mounts=tuple(mounts),
        env=env_pairs,
        granted_env=tuple(granted),
        limits=limits,
        nofile=policy.nofile,
        seccomp_profile=str(SECCOMP_PROFILE),
        runtime=chosen_runtime,
        runtime_flags=runtime_flags,
        labels=((MANAGED_LABEL, "1"), (OWNER_LABEL, owner_token()), ("io.skillware.skill", manifest.id)),
        user=f"{uid}:{uid}",
        stdin_envelope=envelope,
        stdin_env_lines=env_lines,
        limits_enforced=enforced,
        decisions=tuple(decisions),
        egress=egress,
        egress_dir=egress_dir,
        allow_private_egress=policy.allow_private_egress,
    )
