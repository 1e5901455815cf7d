"""Find podman/docker and probe what it can really enforce (cached, since probing costs ~0.2 s)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .engine_cli import run_engine
from .errors import EngineError, EngineNotFound
from .manifest_cache import cache_dir

ENGINES = ("podman", "docker")
PROBE_TTL_SECONDS = 600


@dataclass(frozen=True)
class EngineProbe:
    """What one engine is and can do on this host."""

    name: str
    path: str
    version: str
    rootless: bool
    cgroup_version: str          # "v1", "v2" or "hybrid" (v1 controllers plus a v2 mount)
    cgroup_manager: str
    default_runtime: str
    runtimes: Tuple[str, ...]
    seccomp: bool
    controllers: Tuple[str, ...]  # resource controllers the engine can use for our containers
    gaps: Tuple[Tuple[str, str], ...] = field(default=())  # (problem, fix)
    storage_driver: str = ""
    image_index: str = ""  # a file the engine rewrites on every image change (see image_ids)

    @property
    def limits_enforced(self) -> bool:
        """Memory, pids and cpu limits would really hold."""
        return {"memory", "pids", "cpu"} <= set(self.controllers)

    def runtime_for(self, requested: Optional[str]) -> Optional[str]:
        """The OCI runtime to pass: the requested one, else runc where crun cannot run here."""
        if requested:
            return requested
        if self.name == "podman" and self.cgroup_version == "hybrid" and self.default_runtime == "crun" \
                and "runc" in self.runtimes:
            return "runc"  # crun refuses hybrid cgroups ("cgroups in hybrid mode not supported")
        return None

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["limits_enforced"] = self.limits_enforced
        data["gaps"] = [{"problem": p, "fix": f} for p, f in self.gaps]
        return data


def host_cgroup_version() -> str:
    """v2 (unified), hybrid (v1 controllers + /sys/fs/cgroup/unified) or v1."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return "v2"
    if (root / "unified").is_dir():
        return "hybrid"
    return "v1"


def _host_runtimes() -> Tuple[str, ...]:
    return tuple(r for r in ("runc", "crun", "runsc") if shutil.which(r))


def _probe_podman(path: str) -> EngineProbe:
    info = _info_json([path, "info", "--format", "json"])
    host = info.get("host", {})
    security = host.get("security", {})
    rootless = bool(security.get("rootless", os.geteuid() != 0))
    cgroup = host_cgroup_version() if host.get("cgroupVersion") == "v1" else "v2"
    controllers = tuple(host.get("cgroupControllers") or ())
    if not rootless and cgroup != "v2":
        controllers = _v1_controllers()
    runtime = (host.get("ociRuntime") or {}).get("name", "")
    return EngineProbe(
        name="podman", path=path, version=str(info.get("version", {}).get("Version", "")),
        rootless=rootless, cgroup_version=cgroup, cgroup_manager=str(host.get("cgroupManager", "")),
        default_runtime=runtime, runtimes=_host_runtimes(), seccomp=bool(security.get("seccompEnabled", True)),
        controllers=controllers, storage_driver=str(info.get("store", {}).get("graphDriverName", "")),
        image_index=_podman_image_index(info.get("store", {})),
    )


def _probe_docker(path: str) -> EngineProbe:
    info = _info_json([path, "info", "--format", "{{json .}}"])
    options = " ".join(info.get("SecurityOptions") or [])
    rootless = "rootless" in options
    cgroup = "v2" if str(info.get("CgroupVersion")) == "2" else host_cgroup_version()
    if rootless and cgroup != "v2":
        controllers: Tuple[str, ...] = ()
    else:
        controllers = tuple(c for c, ok in (("memory", info.get("MemoryLimit")), ("pids", info.get("PidsLimit")),
                                             ("cpu", info.get("CpuCfsQuota"))) if ok)
    return EngineProbe(
        name="docker", path=path, version=str(info.get("ServerVersion", "")), rootless=rootless,
        cgroup_version=cgroup, cgroup_manager=str(info.get("CgroupDriver", "")),
        default_runtime=str(info.get("DefaultRuntime", "")), runtimes=tuple(sorted(info.get("Runtimes") or {})),
        seccomp="seccomp" in options, controllers=controllers,
        image_index=os.path.join(str(info.get("DockerRootDir", "")), "image", str(info.get("Driver", "")),
                                 "repositories.json") if info.get("DockerRootDir") else "",
    )


def _podman_image_index(store: Dict[str, Any]) -> str:
    root, driver = store.get("graphRoot"), store.get("graphDriverName")
    return os.path.join(str(root), f"{driver}-images", "images.json") if root and driver else ""


def _v1_controllers() -> Tuple[str, ...]:
    root = Path("/sys/fs/cgroup")
    return tuple(name for name in ("memory", "pids", "cpu") if (root / name).is_dir())


def _info_json(argv: List[str]) -> Dict[str, Any]:
    try:
        done = run_engine(argv, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"`{' '.join(argv[:2])}` failed: {exc}", "check that the engine works: run it by hand") \
            from None
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        hint = "start the daemon: dockerd (or systemctl start docker)" if "docker" in argv[0] else \
            "run `podman info` by hand to see why"
        raise EngineError(f"`{os.path.basename(argv[0])} info` failed: {last}", hint)
    try:
        value = json.loads(done.stdout)
    except ValueError:
        raise EngineError(f"`{argv[0]} info` printed no JSON", "upgrade the engine") from None
    return value if isinstance(value, dict) else {}


def _with_gaps(probe: EngineProbe) -> EngineProbe:
    gaps: List[Tuple[str, str]] = []
    if not probe.limits_enforced:
        missing = ", ".join(sorted({"memory", "pids", "cpu"} - set(probe.controllers)))
        fix = ("use cgroup v2 with controller delegation (systemd.unified_cgroup_hierarchy=1), or run as root"
               if probe.rootless else "enable the cgroup controllers in the kernel")
        gaps.append((f"limits not enforceable: {missing}", fix))
    if not probe.seccomp:
        gaps.append(("seccomp not supported by the engine", "install libseccomp and an engine built with it"))
    if probe.name == "podman" and probe.cgroup_version == "hybrid" and "runc" not in probe.runtimes:
        gaps.append(("crun cannot run on hybrid cgroups and runc is missing", "apt-get install runc"))
    if probe.storage_driver == "vfs":
        gaps.append(("storage driver vfs: every run copies the whole image (seconds per run)",
                     'write ~/.config/containers/storage.conf with [storage] driver = "overlay", then '
                     "podman system reset and build the image again"))
    if probe.name == "docker":
        gaps.append(("isolation: gvisor skills run under rootful podman only", "use --engine podman for them"))
    elif "runsc" not in probe.runtimes:
        gaps.append(("gVisor (runsc) not installed: isolation: gvisor skills cannot run", "apt-get install runsc"))
    return replace(probe, gaps=tuple(gaps))


def _cache_path(name: str, path: str) -> Path:
    stat = os.stat(path)
    key = hashlib.sha256(f"{name}|{path}|{stat.st_mtime_ns}|{os.geteuid()}|{os.environ.get('DOCKER_HOST', '')}|"
                         f"{os.environ.get('CONTAINER_HOST', '')}".encode()).hexdigest()[:24]
    return cache_dir() / "probes" / f"{key}.json"


def probe_engine(name: str, use_cache: bool = True) -> EngineProbe:
    """Probe one engine (podman or docker); raise EngineNotFound / EngineError when unusable."""
    path = shutil.which(name)
    if path is None:
        raise EngineNotFound(f"{name} is not installed", f"apt-get install {'docker.io' if name == 'docker' else name}")
    cached = _cache_path(name, path)
    if use_cache:
        try:
            data = json.loads(cached.read_text())
            if time.time() - float(data.pop("_at")) < PROBE_TTL_SECONDS:
                data.pop("limits_enforced", None)
                data["gaps"] = tuple((g["problem"], g["fix"]) for g in data["gaps"])
                data["runtimes"], data["controllers"] = tuple(data["runtimes"]), tuple(data["controllers"])
                return EngineProbe(**data)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    probe = _with_gaps(_probe_podman(path) if name == "podman" else _probe_docker(path))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**probe.to_json(), "_at": time.time()}))
        os.replace(tmp, cached)
    except OSError:
        pass
    return probe


def select_engine(requested: Optional[str] = None) -> EngineProbe:
    """The engine to use: the requested one, else podman, else docker."""
    if requested:
        if requested not in ENGINES:
            raise EngineError(f"unknown engine {requested!r}", "use podman or docker")
        return probe_engine(requested)
    failures: List[str] = []
    for name in ENGINES:
        try:
            return probe_engine(name)
        except EngineError as exc:
            failures.append(exc.message)
    raise EngineNotFound("no container engine works: " + "; ".join(failures),
                         "apt-get install podman runc (or docker.io and start dockerd)")
