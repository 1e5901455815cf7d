"""manifest.yaml → validated, typed, frozen Manifest. Every problem names file, pointer and fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .bundle import Bundle, check_bundle_location
from .errors import BundleError, ManifestError
from .json_pointer import escape_pointer
from .manifest_cache import cached_manifest, store_manifest
from .problem import Problem

# Variables the host contract sets itself; a manifest may not declare them.
RESERVED_ENV = re.compile(r"^(SKILLWARE_.*|PATH|HOME|PYTHONPATH|PYTHONHOME|LD_.*|HTTPS?_PROXY|ALL_PROXY|NO_PROXY)$",
                          re.IGNORECASE)

_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([bkmg]?)$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: Any) -> int:
    """Bytes from an int or a string like `256m`."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value).strip())
    if not match:
        raise ValueError(f"not a size: {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class EnvVar:
    """One declared environment variable (upstream `env_vars` entry)."""

    name: str
    description: str = ""
    required: bool = False
    secret: bool = True


@dataclass(frozen=True)
class ContainerSettings:
    """The manifest's `container:` block, as asked; policy decides what is granted."""

    image: Optional[str] = None
    build: Optional[str] = None
    command: Optional[Tuple[str, ...]] = None
    egress: Tuple[str, ...] = ()
    memory: Optional[int] = None
    cpus: Optional[float] = None
    pids: Optional[int] = None
    timeout: Optional[float] = None
    tmpfs: Optional[int] = None
    reuse: Optional[bool] = None  # None: not said; False forbids warm reuse even if a caller asks
    isolation: str = "container"


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. `raw` is the parsed document, for upstream APIs that want the dict."""

    id: str
    name: str
    version: str
    description: str
    short_description: str
    category: str
    execution: str
    parameters: Dict[str, Any]
    output: Any
    env_vars: Tuple[EnvVar, ...]
    requirements: Tuple[str, ...]
    container: ContainerSettings
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    warnings: Tuple[Problem, ...] = field(default=(), repr=False, compare=False)


def known_top_level_keys() -> List[str]:
    from .schema_check import load_schema

    return sorted(load_schema("manifest.schema.json")["properties"])


def check_document(data: Any, bundle: Bundle) -> List[Problem]:
    """Every problem (and warning) of a parsed manifest document, in file order."""
    from .schema_check import load_schema, problems_from_validation, schema_problems
    from .schema_safety import schema_safety_problems

    file = bundle.display
    if not isinstance(data, dict):
        return [Problem(file, "", f"the manifest must be a mapping, not {type(data).__name__}",
                        "start with `name: category/skill_name`")]
    schema = load_schema("manifest.schema.json")
    problems = problems_from_validation(schema, data, file)
    for key in ("parameters", "output"):
        if isinstance(data.get(key), (dict, bool)):
            problems += schema_problems(data[key], file, f"/{key}")
            problems += _remote_refs(data[key], file, f"/{key}")
            problems += schema_safety_problems(data[key], file, f"/{key}")
    problems += _consistency_problems(data, bundle)
    problems += [
        Problem(file, f"/{escape_pointer(key)}", f"unknown top-level key {key!r} is ignored",
                "remove it, or check its spelling", warning=True)
        for key in data
        if key not in schema["properties"]
    ]
    return problems


def _remote_refs(schema: Any, file: str, pointer: str) -> List[Problem]:
    """`$ref`s that leave the document: skillware never fetches schemas from anywhere."""
    found: List[Problem] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            where = f"{pointer}/{escape_pointer(str(key))}"
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                found.append(Problem(file, where, f"reference {value!r} points outside the manifest",
                                     "only local references (#/$defs/...) are supported; inline the schema"))
            else:
                found += _remote_refs(value, file, where)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += _remote_refs(item, file, f"{pointer}/{index}")
    return found


# Below these, engines refuse to start the container at all (podman and docker: 6 MiB of memory).
SIZE_FLOORS = {"memory": 6 * 1024 * 1024, "tmpfs": 1024 * 1024}


def _size_floor_problems(container: Dict[str, Any], file: str) -> List[Problem]:
    problems: List[Problem] = []
    for key, floor in SIZE_FLOORS.items():
        if key in container:
            try:
                size = parse_size(container[key])
            except ValueError:
                continue  # the schema reports the form
            if size < floor:
                problems.append(Problem(file, f"/container/{key}", f"{container[key]!r} is below the minimum "
                                        f"of {floor // (1024 * 1024)}m", f"ask for at least {floor // (1024 * 1024)}m"))
    return problems


def _consistency_problems(data: Dict[str, Any], bundle: Bundle) -> List[Problem]:
    file = bundle.display
    problems: List[Problem] = []
    category, folder = bundle.id.split("/")
    name = data.get("name")
    if isinstance(name, str) and name not in (folder, bundle.id):
        problems.append(Problem(file, "/name", f"name {name!r} does not match the bundle's id {bundle.id!r}",
                                f"use {bundle.id!r} or {folder!r}"))
    declared = data.get("category")
    if isinstance(declared, str) and declared != category and bundle.root is not None:
        problems.append(Problem(file, "/category", f"category {declared!r} differs from the folder {category!r}",
                                "move the bundle or fix the category", warning=True))
    container = data.get("container")
    custom_command = isinstance(container, dict) and container.get("command")
    if isinstance(container, dict):
        problems += _size_floor_problems(container, file)
    if not custom_command and not (bundle.path / "skill.py").exists():
        problems.append(Problem(file, "", "the bundle has no skill.py, and no container.command to run instead",
                                "add skill.py with one BaseSkill subclass (see `skillware new`)", warning=True))
    container = data.get("container")
    egress = container.get("egress") if isinstance(container, dict) else None
    if isinstance(egress, list):
        from .egress import pattern_problem

        for index, entry in enumerate(egress):
            problem = pattern_problem(entry) if isinstance(entry, str) else None
            if problem:
                problems.append(Problem(file, f"/container/egress/{index}", problem,
                                        "write host:port or *.suffix:port with a host name, e.g. api.example.com:443"))
    if custom_command and isinstance(container, dict) and container.get("reuse") is True:
        problems.append(Problem(file, "/container/reuse", "warm reuse needs the default Python command; "
                                "with container.command every call runs in a fresh container",
                                "drop reuse, or drop the custom command", warning=True))
    env_vars = data.get("env_vars")
    if isinstance(env_vars, dict):
        for var in env_vars:
            if isinstance(var, str) and RESERVED_ENV.match(var):
                problems.append(Problem(file, f"/env_vars/{escape_pointer(var)}",
                                        f"{var} is reserved by the host contract", "choose another name"))
    return problems


def _build(data: Dict[str, Any], bundle: Bundle, warnings: List[Problem]) -> Manifest:
    block = data.get("container") or {}
    command = block.get("command")
    settings = ContainerSettings(
        image=block.get("image"),
        build=block.get("build"),
        command=tuple(command) if command else None,
        egress=tuple(block.get("egress") or ()),
        memory=parse_size(block["memory"]) if "memory" in block else None,
        cpus=float(block["cpus"]) if "cpus" in block else None,
        pids=block.get("pids"),
        timeout=float(block["timeout"]) if "timeout" in block else None,
        tmpfs=parse_size(block["tmpfs"]) if "tmpfs" in block else None,
        reuse=block.get("reuse"),
        isolation=block.get("isolation", "container"),
    )
    env_vars = tuple(
        EnvVar(name=k, description=str((v or {}).get("description", "")), required=bool((v or {}).get("required")),
               secret=bool((v or {}).get("secret", True)))
        for k, v in (data.get("env_vars") or {}).items()
    )
    name = str(data["name"])
    return Manifest(
        id=bundle.id,
        name=name,
        version=str(data.get("version", "0.0.0")),
        description=str(data.get("description", "")).strip(),
        short_description=str(data.get("short_description", "")).strip(),
        category=str(data.get("category", bundle.id.split("/")[0])),
        execution=data.get("execution", "in_process"),
        parameters=data.get("parameters") or {"type": "object"},
        output=data.get("output"),
        env_vars=env_vars,
        requirements=tuple(data.get("requirements") or ()),
        container=settings,
        raw=data,
        warnings=tuple(warnings),
    )


def read_document(bundle: Bundle) -> Tuple[Any, List[Problem]]:
    """Parse manifest.yaml (bounded); problems are YAML-level only."""
    from .yaml_load import load_yaml_file  # PyYAML only on a cache miss

    return load_yaml_file(bundle.manifest_path, bundle.display)


def validate_bundle(bundle: Bundle) -> List[Problem]:
    """All problems and warnings of one bundle's manifest (used by `skillware validate`)."""
    try:
        check_bundle_location(bundle)
    except BundleError as exc:
        return [Problem(bundle.display, "", exc.message, exc.hint)]
    data, problems = read_document(bundle)
    if problems:
        return problems
    return check_document(data, bundle)


def load_manifest(bundle: Bundle) -> Manifest:
    """Load and validate a bundle's manifest; raise ManifestError listing every error.

    A manifest whose exact bytes validated before is taken from the cache, so unchanged
    skills skip YAML parsing and jsonschema altogether.
    """
    cached = cached_manifest(bundle)
    if cached is not None:
        return _build(cached, bundle, [])
    data, problems = read_document(bundle)
    if not problems:
        problems = check_document(data, bundle)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise ManifestError(problems)
    store_manifest(bundle, data)
    return _build(data, bundle, problems)
