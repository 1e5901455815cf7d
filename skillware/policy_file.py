"""Operator policy files: find the one that applies, validate it, turn it into a Policy.

Precedence: `--policy FILE` > `SKILLWARE_POLICY` > `./skillware.yaml` >
`~/.config/skillware/policy.yaml` > built-in defaults. The first that exists is taken whole;
files are never merged, so the file an operator reads is the whole policy.

The schema has no field for host network, privileged mode, host namespaces, capabilities,
devices, mounts or engine sockets; asking for one is an error that says so.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .bundle import display_path
from .errors import PolicyError
from .json_pointer import escape_pointer
from .manifest import SIZE_FLOORS, parse_size
from .policy import DEFAULT_POLICY, Limits, Policy
from .problem import Problem

POLICY_ENV = "SKILLWARE_POLICY"
LOCAL_NAME = "skillware.yaml"
BUILT_IN = "built-in default"
LIMIT_NAMES = ("memory", "cpus", "pids", "timeout", "tmpfs", "output")
SIZE_NAMES = ("memory", "tmpfs", "output")
PATTERN_FIELDS = ("require_isolation", "allowed_images", "allowed_env_vars")
# Every effective value, in the order `skillware policy show` lists them.
KEYS = ("engine", "runtime", "image", *(f"defaults.{n}" for n in LIMIT_NAMES),
        *(f"ceilings.{n}" for n in LIMIT_NAMES), "require_isolation", "allowed_images",
        "allow_unenforced_limits", "allowed_env_vars", "allowed_egress", "allow_private_egress", "audit_log",
        "nofile", "stderr_cap")

_NEVER = ("a policy can never enable host network, privileged mode, host namespaces, capabilities, "
          "devices, host mounts or engine sockets: skillware has no such option")
_FORBIDDEN_KEYS = frozenset({
    "network", "networks", "net", "host_network", "network_mode", "privileged", "cap_add", "capabilities",
    "devices", "device", "volumes", "volume", "mounts", "mount", "binds", "pid", "ipc", "uts", "userns",
    "cgroupns", "host_namespaces", "namespaces", "security_opt", "seccomp", "apparmor", "no_new_privileges",
    "docker_socket", "podman_socket", "engine_socket", "socket", "sockets", "ports", "publish", "user",
    "env_host", "pass_env", "read_only",
})


class PolicyFileError(PolicyError):
    """The policy file cannot be read or does not satisfy schemas/policy.schema.json."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        more = (f" (+{len(problems) - 1} more; run `skillware policy show --policy {problems[0].file}`)"
                if len(problems) > 1 else "")
        super().__init__(problems[0].format() + more)
        self.problems = list(problems)

    def one_line(self) -> str:
        return self.message


@dataclass(frozen=True)
class PolicyLocation:
    """The policy file that applies (None: built-in defaults) and what selected it."""

    path: Optional[Path]
    selected_by: str


def _home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def _expand(text: str, env: Mapping[str, str], base: Path) -> Path:
    if text == "~" or text.startswith("~/"):
        return _home(env) / text[2:]
    path = Path(text)
    return path if path.is_absolute() else base / path


def user_policy_path(env: Optional[Mapping[str, str]] = None) -> Path:
    """~/.config/skillware/policy.yaml (under $XDG_CONFIG_HOME when that is set)."""
    env = os.environ if env is None else env
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else _home(env) / ".config"
    return config / "skillware" / "policy.yaml"


def find_policy_file(path: Optional[str] = None, cwd: Optional[Path] = None,
                     env: Optional[Mapping[str, str]] = None) -> PolicyLocation:
    """The first policy file in precedence order; an explicitly named file must exist."""
    env = os.environ if env is None else env
    for file, how, named in _candidates(path, Path.cwd() if cwd is None else cwd, env):
        if file.exists():
            return PolicyLocation(file, how)
        if named:
            raise PolicyError(f"{named}: policy file not found (named by {how})",
                              f"create it, or fix the path in {how}")
    return PolicyLocation(None, "built-in defaults")


def _candidates(path: Optional[str], cwd: Path, env: Mapping[str, str]) -> List[Tuple[Path, str, str]]:
    """(file, what selects it, its name as given when named) in precedence order: a file named by
    --policy or $SKILLWARE_POLICY alone, else ./skillware.yaml and the user's."""
    for chosen, how in ((path, "--policy"), (env.get(POLICY_ENV), POLICY_ENV)):
        if chosen:
            return [(_expand(chosen, env, cwd), how, chosen)]
    return [(cwd / LOCAL_NAME, f"./{LOCAL_NAME}", ""), (user_policy_path(env), "user config", "")]


def policy_candidates(path: Optional[str] = None, cwd: Optional[Path] = None,
                      env: Optional[Mapping[str, str]] = None) -> List[Path]:
    """Every file find_policy_file() may read, in order."""
    env = os.environ if env is None else env
    return [file for file, _, _ in _candidates(path, Path.cwd() if cwd is None else cwd, env)]


def load_policy(path: Optional[str] = None, cwd: Optional[Path] = None,
                env: Optional[Mapping[str, str]] = None) -> Policy:
    """The effective Policy: the first policy file that exists, else the built-in defaults.

    Raises PolicyError (exit 4) naming file, JSON pointer and fix when the file is invalid.
    """
    env = os.environ if env is None else env
    location = find_policy_file(path, cwd, env)
    if location.path is None:
        return replace(DEFAULT_POLICY, origins=MappingProxyType({key: BUILT_IN for key in KEYS}))
    policy = policy_from_file(location.path, env)
    user_file = user_policy_path(env)
    if location.selected_by == f"./{LOCAL_NAME}" and user_file.exists():
        try:
            looser = loosening(policy, policy_from_file(user_file, env))
        except PolicyError as exc:
            looser = [f"your policy cannot be read to compare ({exc.one_line()})"]
        if looser:
            policy = replace(policy, notes=(f"./{LOCAL_NAME} overrides your policy {user_file} and loosens it: "
                                            + "; ".join(looser),))
    return policy


def loosening(local: Policy, user: Policy) -> List[str]:
    """What `local` allows that `user` does not (a working directory's policy file against the user's)."""
    found = [f"ceilings.{name} {format_limit(name, getattr(local.ceilings, name))} > "
             f"{format_limit(name, getattr(user.ceilings, name))}"
             for name in LIMIT_NAMES if getattr(local.ceilings, name) > getattr(user.ceilings, name)]
    found += [f"{flag}: true" for flag in ("allow_unenforced_limits", "allow_private_egress")
              if getattr(local, flag) and not getattr(user, flag)]
    for key in ("allowed_images", "allowed_egress"):
        extra = [p for p in getattr(local, key) if p not in getattr(user, key) and "*" not in getattr(user, key)]
        if extra:
            found.append(f"{key} adds {', '.join(extra)}")
    if user.allowed_env_vars is not None:
        extra = ["(any)"] if local.allowed_env_vars is None else [
            p for p in local.allowed_env_vars if p not in user.allowed_env_vars]
        if extra:
            found.append(f"allowed_env_vars adds {', '.join(extra)}")
    dropped = [p for p in user.require_isolation if p not in local.require_isolation]
    if dropped:
        found.append(f"require_isolation drops {', '.join(dropped)}")
    if local.audit_log != user.audit_log:
        found.append(f"audit_log moves to {local.audit_log or 'the default place'}")
    return found


def policy_sources(path: Optional[str] = None, cwd: Optional[Path] = None,
                   env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """For each effective value ("defaults.memory" …): "FILE#/json/pointer" or "built-in default"."""
    return dict(load_policy(path, cwd, env).origins)


def read_policy_document(file: Path) -> Dict[str, Any]:
    """Parse and validate a policy file; raise PolicyFileError listing every problem."""
    from .schema_check import load_schema, problems_from_validation
    from .yaml_load import load_yaml_file  # PyYAML only when a policy file exists

    display = display_path(file)
    data, problems = load_yaml_file(file, display)
    if problems:
        raise PolicyFileError([_policy_hint(p) for p in problems])
    if not isinstance(data, dict):
        raise PolicyFileError([Problem(display, "", f"the policy must be a mapping, not {type(data).__name__}",
                                       "start with e.g. `ceilings: {memory: 1g}`; see skillware/schemas/"
                                       "policy.schema.json")])
    problems = [_policy_hint(p) for p in problems_from_validation(load_schema("policy.schema.json"), data,
                                                                  display)]
    if not problems:
        problems = _consistency_problems(data, display)
    if problems:
        raise PolicyFileError(problems)
    return data


def _policy_hint(problem: Problem) -> Problem:
    """Hints that speak of policies (schema_check's speak of manifests)."""
    key = problem.pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    if problem.message.startswith("unknown field"):
        if key.lower() in _FORBIDDEN_KEYS or "host" in key.lower() or "sock" in key.lower():
            return replace(problem, hint=_NEVER)
        return replace(problem, hint="remove it; allowed: " + ", ".join(_allowed_at(problem.pointer)))
    if problem.message == "file is empty":
        return replace(problem, hint="write `{}` for the built-in defaults, or remove the file")
    return problem


def _allowed_at(pointer: str) -> List[str]:
    from .schema_check import load_schema

    schema = load_schema("policy.schema.json")
    if pointer.count("/") >= 2:
        return sorted(schema["$defs"]["limits"]["properties"])
    return sorted(schema["properties"])


def _limit_value(name: str, raw: Any) -> float:
    return float(parse_size(raw)) if name in SIZE_NAMES else float(raw)


def format_limit(name: str, value: float) -> str:
    """256m, 1g, 1.5 (cpus), 30s: the form a policy file would use."""
    if name in SIZE_NAMES:
        number = int(value)
        for unit, size in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
            if number % size == 0:
                return f"{number // size}{unit}"
        return str(number)
    if name == "timeout":
        return f"{value:g}s"
    return f"{value:g}"


def _consistency_problems(data: Dict[str, Any], display: str) -> List[Problem]:
    """What the schema cannot say: sizes above zero, each default at most its ceiling, image allowed."""
    problems: List[Problem] = []
    for block in ("defaults", "ceilings"):
        for name in SIZE_NAMES:
            raw = (data.get(block) or {}).get(name)
            floor = SIZE_FLOORS.get(name, 1)
            if raw is not None and parse_size(raw) < floor:
                least = f"{floor // (1024 * 1024)}m" if floor >= 1024 * 1024 else "1 byte"
                problems.append(Problem(display, f"/{block}/{name}", f"{block}.{name} must be at least {least}",
                                        "engines refuse less; use a size like 256m"))
    if problems:
        return problems
    defaults, ceilings = data.get("defaults") or {}, data.get("ceilings") or {}
    for name in LIMIT_NAMES:
        if name not in defaults:
            continue
        want = _limit_value(name, defaults[name])
        ceiling = _limit_value(name, ceilings[name]) if name in ceilings else getattr(DEFAULT_POLICY.ceilings, name)
        if want > ceiling:
            which = f"ceilings.{name} ({format_limit(name, ceiling)})" if name in ceilings else \
                f"the built-in ceiling ({format_limit(name, ceiling)})"
            problems.append(Problem(display, f"/defaults/{name}",
                                    f"defaults.{name} is {format_limit(name, want)}, above {which}",
                                    f"lower defaults.{name} to at most {format_limit(name, ceiling)}, "
                                    f"or raise ceilings.{name}"))
    from .egress import pattern_problem

    for index, entry in enumerate(data.get("allowed_egress") or ()):
        problem = pattern_problem(entry)
        if problem:
            problems.append(Problem(display, f"/allowed_egress/{index}", problem,
                                    "write host:port or *.suffix:port with a host name"))
    image = data.get("image", DEFAULT_POLICY.image)
    patterns = data.get("allowed_images", DEFAULT_POLICY.allowed_images)
    if not any(fnmatch.fnmatchcase(image, p) for p in patterns):
        problems.append(Problem(display, "/image" if "image" in data else "/allowed_images",
                                f"the default image {image!r} is not matched by allowed_images",
                                "add a pattern for it to allowed_images, or choose an allowed image"))
    return problems


def policy_from_file(file: Path, env: Optional[Mapping[str, str]] = None) -> Policy:
    """Build the Policy a validated policy file describes, with the origin of every value."""
    env = os.environ if env is None else env
    data = read_policy_document(file)
    source = str(file if file.is_absolute() else Path.cwd() / file)
    origins: Dict[str, str] = {key: BUILT_IN for key in KEYS}

    def origin(pointer: str) -> str:
        return f"{source}#{pointer}"

    values: Dict[str, Any] = {}
    for key in ("engine", "runtime", "image", "allow_unenforced_limits", "allow_private_egress"):
        if key in data:
            values[key] = data[key]
            origins[key] = origin(f"/{key}")
    for key in (*PATTERN_FIELDS, "allowed_egress"):
        if key in data:
            values[key] = tuple(data[key])
            origins[key] = origin(f"/{key}")
    if "audit_log" in data:
        values["audit_log"] = str(_expand(data["audit_log"], env, file.parent))
        origins["audit_log"] = origin("/audit_log")
    limits: Dict[str, Dict[str, Any]] = {"defaults": {}, "ceilings": {}}
    for block in ("ceilings", "defaults"):
        given = data.get(block) or {}
        for name in LIMIT_NAMES:
            key = f"{block}.{name}"
            if name in given:
                value = _limit_value(name, given[name])
                origins[key] = origin(f"/{block}/{escape_pointer(name)}")
            else:
                value = getattr(getattr(DEFAULT_POLICY, block), name)
                ceiling = limits["ceilings"].get(name)
                if block == "defaults" and ceiling is not None and value > ceiling:
                    value = ceiling  # a lower ceiling caps the built-in default
                    origins[key] = f"{BUILT_IN}, capped at {origins[f'ceilings.{name}']}"
            limits[block][name] = int(value) if name in (*SIZE_NAMES, "pids") else float(value)
    return replace(DEFAULT_POLICY, **values, defaults=Limits(**limits["defaults"]),
                   ceilings=Limits(**limits["ceilings"]), source=source, origins=MappingProxyType(origins))


def policy_values(policy: Policy) -> Dict[str, Any]:
    """Every effective value by key (sizes in bytes, times in seconds), in KEYS order."""
    values: Dict[str, Any] = {}
    for key in KEYS:
        block, _, name = key.partition(".")
        value = getattr(getattr(policy, block), name) if name else getattr(policy, key)
        values[key] = list(value) if isinstance(value, tuple) else value
    return values


def format_value(key: str, value: Any) -> str:
    """A value as a person reads it: 256m, 30s, patterns comma-separated, '-' for unset."""
    name = key.partition(".")[2]
    if name:
        return format_limit(name, value)
    if key in ("nofile",):
        return str(value)
    if key == "stderr_cap":
        return format_limit("output", value)
    if value is None:
        return "(any)" if key == "allowed_env_vars" else "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    return str(value)
