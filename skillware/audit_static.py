"""Static audit of a container's argv, manifest and policy against the checklist. Pure: no engine runs.

Every option of the argv is traced to the checklist item it satisfies. An option that weakens the
posture, or that no item explains, is a failure: the argv builder may only grow by a reviewed step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .audit_checklist import Finding, finding
from .audit_code import dockerfile_findings
from .container_spec import CONTRACT_ENV, EGRESS_ENV, EGRESS_SOCKET, EGRESS_TARGET, ContainerSpec
from .engine import EngineProbe
from .manifest import Manifest
from .policy import Policy

MiB = 1024 * 1024
# What a reviewer expects of one skill call; more is allowed (policy ceilings decide) but flagged.
EXPECTED = {"memory": 1024 * MiB, "cpus": 2.0, "pids": 256, "timeout": 300.0, "tmpfs": 256 * MiB}
CONTRACT_MOUNTS = ("/skill", "/opt/skillware/shim.py", "/opt/skillware/skillware/core/base_skill.py",
                   "/opt/skillware/envwrap.sh", "/opt/skillware/egress_relay.py")
_VALUE_OPTIONS = {"--name", "--label", "--network", "--net", "--tmpfs", "--cap-drop", "--cap-add", "--security-opt",
                  "--user", "-u", "--memory", "-m", "--memory-swap", "--cpus", "--pids-limit", "--ulimit", "--pull",
                  "--log-driver", "--timeout", "--hostname", "-h", "--workdir", "-w", "--mount", "--env", "-e",
                  "--runtime", "--runtime-flag", "--pid", "--ipc", "--uts", "--userns", "--cgroupns", "--device",
                  "-v", "--volume", "--volumes-from", "-p", "--publish", "--env-file", "--expose", "--gpus"}
# Options that may never appear, with the item they would break.
_NAMESPACES = ("--pid", "--ipc", "--uts", "--userns", "--cgroupns", "--network")
_FORBIDDEN = {"--privileged": "SW-02", "--cap-add": "SW-01", "--device": "SW-07", "--gpus": "SW-07",
              "-v": "SW-11", "--volume": "SW-11", "--volumes-from": "SW-11", "-p": "SW-21", "--publish": "SW-21",
              "-P": "SW-21", "--publish-all": "SW-21", "--expose": "SW-21", "--env-host": "SW-40",
              "--env-file": "SW-40", "--net": "SW-20"}
# Options every container must have: (option, value or None for any, item).
_REQUIRED = (("--rm", None, "SW-34"), ("--cap-drop", "all", "SW-01"), ("--security-opt", "no-new-privileges", "SW-03"),
             ("--security-opt", "seccomp=", "SW-04"), ("--user", None, "SW-05"), ("--network", "none", "SW-20"),
             ("--read-only", None, "SW-10"), ("--tmpfs", None, "SW-12"), ("--memory", None, "SW-30"),
             ("--memory-swap", None, "SW-30"), ("--cpus", None, "SW-31"), ("--pids-limit", None, "SW-32"),
             ("--ulimit", "nproc=", "SW-32"), ("--ulimit", "nofile=", "SW-33"), ("--pull", "never", "SW-52"),
             ("--log-driver", "none", "SW-43"), ("--hostname", None, "SW-06"))


# The check id of each item's argv finding (stable: the JSON output's `findings[].id`).
ARGV_CHECKS = {"SW-01": "argv.cap-drop", "SW-02": "argv.privileged", "SW-03": "argv.no-new-privileges",
               "SW-04": "argv.seccomp", "SW-05": "argv.user", "SW-06": "argv.namespaces", "SW-07": "argv.devices",
               "SW-09": "argv.runtime", "SW-10": "argv.read-only", "SW-11": "argv.mounts", "SW-12": "argv.tmpfs",
               "SW-13": "argv.sockets", "SW-20": "argv.network", "SW-21": "argv.ports", "SW-22": "argv.egress",
               "SW-30": "argv.memory",
               "SW-31": "argv.cpus", "SW-32": "argv.pids", "SW-33": "argv.nofile", "SW-34": "argv.lifecycle",
               "SW-40": "argv.env", "SW-42": "argv.secrets", "SW-43": "argv.log-driver", "SW-52": "argv.pull"}


@dataclass(frozen=True)
class FlagTrace:
    """One option of the argv and the checklist item it satisfies (None: not traced)."""

    flag: str
    checklist: Optional[str]


def _options(argv: Sequence[str], spec: ContainerSpec) -> List[Tuple[str, str]]:
    """(option, value) pairs of the engine's global and run options; value "" for switches."""
    tail = 1 + len(spec.command)
    if list(argv[-tail:]) != [spec.image, *spec.command]:
        raise ValueError("the argv does not end with the spec's image and command")
    tokens = list(argv[1:-tail])
    pairs: List[Tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "run":
            continue
        name, eq, value = token.partition("=")
        if not eq and name in _VALUE_OPTIONS and i < len(tokens):
            value = tokens[i]
            i += 1
        pairs.append((name, value))
    return pairs


def _classify(name: str, value: str, spec: ContainerSpec, bundle_path: str, declared: Set[str]
              ) -> Tuple[Optional[str], Optional[str]]:
    """(item, problem): the item this option satisfies, or the reason it weakens the posture."""
    if name in _FORBIDDEN:
        return _FORBIDDEN[name], f"{name} {value}".strip() + " must never be used"
    simple = {"--rm": "SW-34", "-i": "SW-42", "--name": "SW-34", "--label": "SW-34", "--timeout": "SW-34",
              "--runtime": "SW-09", "--runtime-flag": "SW-09", "--read-only": "SW-10", "--user": "SW-05",
              "--memory": "SW-30", "--cpus": "SW-31", "--hostname": "SW-06", "--workdir": "SW-12"}
    if name == "--network":
        return "SW-20", None if value == "none" else f"--network {value}: only 'none' is allowed"
    if name in _NAMESPACES:
        # A namespace of its own (private, none) is fine; sharing the host's or another container's is not.
        shared = value == "host" or value.startswith(("container:", "ns:", "/"))
        return "SW-06", f"{name} {value}: shares a namespace" if shared else None
    if name == "--read-only-tmpfs":
        return "SW-10", None if value == "false" else "--read-only-tmpfs must be false (no writable /run, /var/tmp)"
    if name == "--cap-drop":
        return "SW-01", None if value.lower() == "all" else f"--cap-drop {value}: must drop all"
    if name == "--user":
        uid = value.split(":")[0]
        return "SW-05", None if uid not in ("0", "root", "") else f"--user {value} is root"
    if name == "--tmpfs":
        target, _, options = value.partition(":")
        missing = {"noexec", "nosuid", "nodev"} - set(options.split(","))
        if target != "/tmp" or missing or "size=" not in options:
            return "SW-12", f"--tmpfs {value}: needs /tmp with noexec,nosuid,nodev and a size"
        return "SW-12", None
    if name == "--security-opt":
        if value in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"):
            return "SW-03", None
        if value.startswith("seccomp="):
            profile = value[len("seccomp="):]
            ok = profile == spec.seccomp_profile and profile != "unconfined" and Path(profile).is_file()
            return "SW-04", None if ok else f"--security-opt {value}: not skillware's seccomp profile"
        return "SW-04", f"--security-opt {value} is not part of skillware's posture"
    if name == "--memory-swap":
        return "SW-30", None if value == str(spec.limits.memory) else "--memory-swap differs from --memory (swap)"
    if name == "--pids-limit":
        return "SW-32", None if value.isdigit() and int(value) > 0 else f"--pids-limit {value}: not a limit"
    if name == "--ulimit":
        kind = value.partition("=")[0]
        return ("SW-32" if kind == "nproc" else "SW-33"), None
    if name == "--pull":
        return "SW-52", None if value == "never" else f"--pull {value}: images are never pulled at run time"
    if name == "--log-driver":
        return "SW-43", None if value == "none" else f"--log-driver {value}: skill output would reach the disk"
    if name == "--mount":
        if _mount_target(value) == EGRESS_TARGET:
            return "SW-22", _egress_mount_problem(value, spec)
        return "SW-11", _mount_problem(value, bundle_path)
    if name in ("--env", "-e"):
        key, eq, _ = value.partition("=")
        if eq:
            pair = (key, value[len(key) + 1:])
            egress = bool(spec.egress) and pair == (EGRESS_ENV, EGRESS_SOCKET)
            return "SW-40", None if pair in CONTRACT_ENV or key == "SKILLWARE_DEBUG" or egress \
                else f"--env {key}=… is not a host-contract variable"
        return "SW-42", None if key in declared else f"--env {key}: not declared in the manifest's env_vars"
    if name in simple:
        return simple[name], None
    return None, f"{name}: not traced to any checklist item"


def _mount_target(value: str) -> str:
    fields = dict(part.partition("=")[::2] for part in value.split(","))
    return fields.get("destination") or fields.get("target") or ""


def _egress_mount_problem(value: str, spec: ContainerSpec) -> Optional[str]:
    """The egress proxy's socket directory: only with an allow-list, read-only, the run's own directory."""
    fields = dict(part.partition("=")[::2] for part in value.split(","))
    if not spec.egress or spec.egress_dir is None:
        return f"--mount to {EGRESS_TARGET} without an egress allow-list"
    if "readonly" not in value.split(","):
        return f"--mount to {EGRESS_TARGET} is writable"
    if fields.get("type") != "bind" or fields.get("source") != f"{spec.egress_dir}/egress":
        return f"--mount {fields.get('source')} at {EGRESS_TARGET} is not the run's proxy directory"
    return None


def _mount_problem(value: str, bundle_path: str) -> Optional[str]:
    fields = dict(part.partition("=")[::2] for part in value.split(","))
    target, source = fields.get("destination") or fields.get("target") or "", fields.get("source", "")
    if "readonly" not in value.split(",") and fields.get("readonly") not in ("true", "1"):
        return f"--mount to {target} is writable"
    if fields.get("type") != "bind" or target not in CONTRACT_MOUNTS:
        return f"--mount to {target!r} is not part of the host contract"
    if target == "/skill" and source != bundle_path:
        return f"--mount {source} at /skill is not the bundle"
    if source.endswith(".sock") or "docker.sock" in source or "podman.sock" in source:
        return f"--mount {source}: an engine socket"
    return None


def trace_argv(argv: Sequence[str], spec: ContainerSpec, manifest: Manifest, bundle_path: str
               ) -> Tuple[List[FlagTrace], List[Finding]]:
    """Every option traced to its item; a finding per item (pass, or fail with the reason)."""
    declared = {v.name for v in manifest.env_vars}
    traces: List[FlagTrace] = []
    problems: Dict[str, List[str]] = {}
    evidence: Dict[str, List[str]] = {}
    pairs = _options(argv, spec)
    for name, value in pairs:
        shown = f"{name} {value}".strip() if value else name
        item_id, problem = _classify(name, value, spec, bundle_path, declared)
        traces.append(FlagTrace(shown, item_id))
        if problem:
            problems.setdefault(item_id or "", []).append(problem)
        elif item_id:
            evidence.setdefault(item_id, []).append(shown)
    for option, wanted, item_id in _REQUIRED:
        if not any(n == option and (wanted is None or v == wanted or (wanted.endswith("=") and v.startswith(wanted)))
                   for n, v in pairs):
            problems.setdefault(item_id, []).append(f"missing {option} {wanted or ''}".strip())
    findings = [finding("argv.untraced", None, "fail", p) for p in problems.pop("", [])]
    for item_id in sorted(set(problems) | set(evidence)):
        check = ARGV_CHECKS.get(item_id, f"argv.{item_id}")
        if item_id in problems:
            findings += [finding(check, item_id, "fail", p) for p in problems[item_id]]
        else:
            findings.append(finding(check, item_id, "pass", "argv: " + _summarise(evidence[item_id])))
    for item_id, what in (("SW-02", "no --privileged"), ("SW-07", "no --device"), ("SW-21", "no -p/--publish"),
                          ("SW-13", "no engine socket mounted")):
        if item_id not in problems:
            findings.append(finding(ARGV_CHECKS[item_id], item_id, "pass", f"argv: {what}"))
    return traces, findings


def _summarise(shown: Sequence[str], limit: int = 80) -> str:
    """`--memory 268435456; --memory-swap 268435456`, or `--env ×8` for a repeated option."""
    names = [s.split(" ", 1)[0] for s in shown]
    parts: List[str] = []
    for name, text in zip(names, shown):
        count = names.count(name)
        part = f"{name} ×{count}" if count > 1 else (text if len(text) <= limit else text[:limit - 1] + "…")
        if part not in parts:
            parts.append(part)
    return "; ".join(parts)


def plan_findings(manifest: Manifest, policy: Policy, probe: EngineProbe, spec: ContainerSpec,
                  image_built: bool, locked_digest: Optional[str] = None) -> List[Finding]:
    """Items decided by the manifest, the policy and the engine rather than by single flags."""
    out: List[Finding] = []
    limits = spec.limits
    pids = limits.pids - (64 if spec.runtime == "runsc" else 0)
    asked = {"memory": limits.memory, "cpus": limits.cpus, "pids": pids, "timeout": limits.timeout,
             "tmpfs": limits.tmpfs}
    over = [f"{name} {_show(name, value)} > {_show(name, EXPECTED[name])}" for name, value in asked.items()
            if value > EXPECTED[name]]
    out.append(finding("limits.expected", "SW-36", "warn" if over else "pass",
                       "above what a reviewer expects: " + ", ".join(over) if over else
                       "limits: " + ", ".join(f"{n} {_show(n, v)}" for n, v in asked.items())))
    out.append(finding("policy.ceilings", "SW-37", "pass", "within the policy ceilings "
                       f"({policy.source or 'built-in policy'})"))
    out.append(finding("policy.image", "SW-51", "pass", f"image {spec.image} allowed by the policy"))
    if probe.limits_enforced:
        out.append(finding("engine.limits", "SW-35", "pass", f"{probe.name} enforces memory, pids and cpu limits"))
    elif policy.allow_unenforced_limits:
        out.append(finding("engine.limits", "SW-35", "fail", f"limits are NOT enforced by {_engine(probe)}; the "
                           "policy's allow_unenforced_limits runs skills anyway"))
    else:
        out.append(finding("engine.limits", "SW-35", "warn", f"limits are not enforceable by {_engine(probe)}: "
                           "runs are refused here (fail closed) unless --allow-unenforced-limits"))
    if "@sha256:" in spec.image:
        out.append(finding("image.pinned", "SW-50", "pass", f"image pinned by digest: {spec.image}"))
    elif locked_digest:
        out.append(finding("image.pinned", "SW-50", "pass", f"image {spec.image} pinned by skillware.lock "
                           f"({locked_digest[:19]}…)"))
    elif image_built:
        out.append(finding("image.pinned", "SW-50", "pass", f"image built from the bundle: {spec.image}"))
    else:
        out.append(finding("image.pinned", "SW-50", "warn", f"image {spec.image} is a tag, not pinned by digest "
                           "(@sha256:…) nor built from the bundle"))
    if spec.runtime == "runsc":
        out.append(finding("runtime.tier", "SW-09", "manual", "runs under gVisor (runsc): confirm the tier fits"))
    else:
        out.append(finding("runtime.tier", "SW-09", "manual", f"runs under {spec.runtime or probe.default_runtime}"
                           " (shared host kernel): confirm a container, not gVisor, fits the risk"))
    return out + _env_findings(manifest, policy, spec)


def _env_findings(manifest: Manifest, policy: Policy, spec: ContainerSpec) -> List[Finding]:
    out: List[Finding] = []
    for var in manifest.env_vars:
        if policy.env_var_allowed(var.name):
            out.append(finding("env.declared", "SW-41", "warn", f"env var {var.name} reaches the skill when set "
                               f"({'required' if var.required else 'optional'}): justify it", file="manifest.yaml"))
        else:
            out.append(finding("env.declared", "SW-41", "pass", f"env var {var.name} is withheld by the policy's "
                               "allowed_env_vars", file="manifest.yaml"))
    if not manifest.env_vars:
        out.append(finding("env.declared", "SW-41", "pass", "no env vars declared"))
    if spec.granted_env:
        route = "NAME=BASE64 lines read by envwrap.sh" if spec.stdin_env_lines else "the shim's envelope"
        out.append(finding("env.route", "SW-42", "pass", f"env values travel on stdin ({route}), never in argv "
                           "or in the engine's container database"))
    return out


def manifest_findings(manifest: Manifest, policy: Policy, bundle_path: Path) -> List[Finding]:
    """Execution mode, egress, requirements and Dockerfile: what the manifest alone decides."""
    out: List[Finding] = []
    if manifest.execution == "container":
        out.append(finding("execution.mode", "SW-08", "pass", "execution: container"))
    elif policy.requires_isolation(manifest.id):
        out.append(finding("execution.mode", "SW-08", "pass", "in_process in the manifest, but the policy's "
                           "require_isolation runs it in a container"))
    else:
        out.append(finding("execution.mode", "SW-08", "warn", "execution: in_process: runs inside the caller's "
                           "process with the caller's rights unless --isolated; the container items apply only then",
                           file="manifest.yaml"))
    out += egress_findings(manifest, policy)
    unpinned = [r for r in manifest.requirements if "==" not in r]
    for requirement in unpinned:
        out.append(finding("requirements.unpinned", "SW-54", "warn", f"requirement {requirement!r} is not pinned "
                           "(==): review what it resolves to", file="manifest.yaml"))
    if not unpinned:
        out.append(finding("requirements.unpinned", "SW-54", "pass", "requirements: " +
                           (", ".join(manifest.requirements) or "none")))
    if manifest.container.build:
        out += dockerfile_findings(bundle_path / manifest.container.build, manifest.container.build)
    return out + pattern_findings(manifest)


def pattern_findings(manifest: Manifest) -> List[Finding]:
    """Schema patterns that repeat a repetition: they backtrack exponentially on a mismatch."""
    from .schema_safety import nested_repetition, patterns_of

    risky = [(where, pattern) for block in ("parameters", "output")
             for where, pattern in patterns_of(getattr(manifest, block), f"/{block}") if nested_repetition(pattern)]
    if not risky:
        return [finding("schema.pattern", None, "pass", "no schema pattern repeats a repetition")]
    return [finding("schema.pattern", None, "warn", f"{where}: {pattern!r} repeats a repetition: on a value that "
                    "does not match it backtracks exponentially (the CLI stops a check after 2 s; library callers "
                    "wait); drop the outer repetition, e.g. (a+)+ becomes a+", file="manifest.yaml", severity="medium")
            for where, pattern in risky]


def egress_findings(manifest: Manifest, policy: Policy) -> List[Finding]:
    """The egress allow-list: each entry against the policy; broad wildcards flagged."""
    from .egress import allowed_by, is_broad, parse_pattern

    egress = manifest.container.egress
    if not egress:
        return [finding("network.egress", "SW-22", "pass", "no egress declared")]
    try:
        allowed = [parse_pattern(p) for p in policy.allowed_egress]
    except ValueError as exc:
        return [finding("network.egress", "SW-22", "fail", f"the policy's allowed_egress is invalid: {exc}")]
    out = [finding("network.egress", "SW-22", "manual", "egress allow-list: " + ", ".join(egress) + " (through a "
                   "per-run proxy; the container keeps --network none); justify each", file="manifest.yaml")]
    for entry in egress:
        pattern = parse_pattern(entry)
        if not allowed_by(pattern, allowed):
            out.append(finding("egress.policy", "SW-22", "fail", f"egress {entry} is not allowed by the policy's "
                               "allowed_egress: runs are refused", file="manifest.yaml"))
        elif is_broad(pattern):
            out.append(finding("egress.broad", "SW-22", "warn", f"egress {entry} allows every host of a whole "
                               "domain: name the hosts", file="manifest.yaml"))
    broad = [str(p) for p in allowed if is_broad(p)]
    if broad:
        out.append(finding("egress.broad", "SW-22", "warn", "the policy's allowed_egress has broad wildcards: "
                           + ", ".join(broad)))
    if policy.allow_private_egress:
        out.append(finding("egress.private", "SW-22", "warn", "the policy's allow_private_egress lets egress names "
                           "resolve to loopback/private addresses (the host's own services)"))
    return out


def _engine(probe: EngineProbe) -> str:
    return f"{'rootless ' if probe.rootless else ''}{probe.name} on cgroup {probe.cgroup_version}"


def _show(name: str, value: float) -> str:
    if name in ("memory", "tmpfs"):
        return f"{int(value) // MiB}m" if int(value) % MiB == 0 else f"{int(value)}b"
    return f"{value:g}s" if name == "timeout" else f"{value:g}"
