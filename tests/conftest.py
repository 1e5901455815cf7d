"""Shared fixtures: real container engines as test targets (podman rootful, podman rootless, docker).

Container tests skip only where no engine can be used; with SKILLWARE_REQUIRE_CONTAINERS=1
(set by scripts/test.sh when it runs as root, i.e. in CI) a missing engine is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import pytest

from tests.bundles import ECHO_SKILL, MakeBundle, write_bundle

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "skillware"
BASE_IMAGE = "localhost/skillware-python:3.11"
ROOTLESS_USER = "skillware-test"
REQUIRED = os.environ.get("SKILLWARE_REQUIRE_CONTAINERS") == "1"


def _works(argv: Sequence[str], timeout: float = 60) -> bool:
    try:
        return subprocess.run(list(argv), capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Target:
    """One engine configuration that the CLI can be run against."""

    name: str                # "podman", "podman-rootless", "docker"
    engine: str              # value for --engine
    rootless: bool
    limits_enforced: bool
    user: Optional[str] = None   # run the CLI as this user (rootless podman as root)
    home: Optional[Path] = None  # world-readable copy of the package for that user
    extra_args: List[str] = field(default_factory=list)

    def cli(self, args: Sequence[str], *, input: Optional[str] = None, timeout: float = 120,
            env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
        """Run `skillware ARGS` against this engine; returns the completed process (text)."""
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLWARE_")}
        base_env.update(env or {})
        base_env["SKILLWARE_ENGINE"] = self.engine
        if self.user is None:
            argv = [sys.executable, "-m", "skillware", *args]
            return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, env=base_env)
        assert self.home is not None
        exports = " ".join(f"{k}={_q(v)}" for k, v in (env or {}).items())
        inner = (f"cd {self.home} && env {exports} SKILLWARE_ENGINE={self.engine} "
                 f"PYTHONPATH={self.home}/src:{self.home}/deps /usr/bin/python3 -m skillware "
                 + " ".join(_q(a) for a in args))
        return subprocess.run(as_user(self.user, inner), input=input, capture_output=True, text=True,
                              timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)

    def run_skill(self, skill: str, params: object, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli(["run", *self.extra_args, *extra, skill, "--params", json.dumps(params)])

    def engine_cmd(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run the engine binary itself as this target's user (for leak checks)."""
        if self.user is None:
            return subprocess.run([self.engine, *args], capture_output=True, text=True, timeout=60)
        return subprocess.run(as_user(self.user, " ".join([self.engine, *map(_q, args)])),
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def place_bundle(self, folder: Path) -> Path:
        """A copy of `folder` that this target's user (and the container's nobody) can read."""
        if self.user is None:
            return folder
        assert self.home is not None
        dest = self.home / "bundles" / uuid.uuid4().hex / folder.parent.name / folder.name
        shutil.copytree(folder, dest, symlinks=True)
        _world_readable(self.home / "bundles")
        return dest


def as_user(user: str, command: str) -> List[str]:
    """argv running a shell command as `user` in a clean login-like environment.

    setpriv execs in place (no session, no PAM), so a terminal's Ctrl-C reaches the command
    itself rather than a `su` that would kill it first.
    """
    home = f"/home/{user}"
    # `cd` first: the caller's cwd (often a 0700 pytest tmp dir) is not the user's to enter.
    return ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "env", "-i", f"HOME={home}",
            f"USER={user}", f"LOGNAME={user}", "PATH=/usr/local/bin:/usr/bin:/bin", "sh", "-c",
            f"cd {home} && {command}"]


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _world_readable(path: Path) -> None:
    for dirpath, _, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o644 | (os.stat(full).st_mode & 0o111))


def _rootless_home(tmp_root: Path) -> Path:
    """A world-readable copy of skillware plus its dependencies for the rootless user."""
    home = tmp_root / "skillware-rootless"
    if home.exists():
        shutil.rmtree(home)
    (home / "src").mkdir(parents=True)
    shutil.copytree(PACKAGE, home / "src" / "skillware", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(home / "deps"),
                    "click", "PyYAML", "jsonschema"], check=True, capture_output=True, timeout=600)
    _world_readable(home)
    return home


def _image_id(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return done.stdout.strip() if done.returncode == 0 else ""


def _rootless_image_ready(user: str, home: Path) -> bool:
    """The rootless user's store holds the same base image as root's (copied over when not)."""
    fmt = "{{.Id}}"
    wanted = _image_id(["podman", "image", "inspect", "--format", fmt, BASE_IMAGE])
    if wanted and _image_id(as_user(user, f"podman image inspect --format '{fmt}' {BASE_IMAGE}")) == wanted:
        return True
    archive = home / "base-image.tar"
    if not _works(["podman", "save", "-o", str(archive), BASE_IMAGE], timeout=600):
        return False
    os.chmod(archive, 0o644)
    ok = _works(as_user(user, f"podman load -i {archive}"), timeout=600)
    archive.unlink()
    return ok


def _limits_enforced(engine: str, user: Optional[str]) -> bool:
    from skillware.engine import probe_engine

    if user is None:
        return probe_engine(engine, use_cache=False).limits_enforced
    done = subprocess.run(as_user(user, "podman info --format json"), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    controllers = set(json.loads(done.stdout)["host"].get("cgroupControllers") or [])
    version = json.loads(done.stdout)["host"].get("cgroupVersion")
    return version == "v2" and {"memory", "pids", "cpu"} <= controllers


_WHY_MISSING: Dict[str, str] = {}


def _discover(tmp_root: Path) -> List[Target]:
    targets: List[Target] = []
    root = os.geteuid() == 0
    for engine in ("podman", "docker"):
        name = f"{engine}-rootless" if engine == "podman" and not root else engine
        if not shutil.which(engine):
            _WHY_MISSING[name] = f"{engine} is not installed"
        elif not _works([engine, "info"]):
            _WHY_MISSING[name] = f"`{engine} info` fails"
        elif not _works([engine, "image", "inspect", BASE_IMAGE]):
            _WHY_MISSING[name] = f"{BASE_IMAGE} is not in {engine}'s store (skillware image build-base)"
        else:
            enforced = _limits_enforced(engine, None)
            targets.append(Target(name=name, engine=engine, rootless=name.endswith("rootless"),
                                  limits_enforced=enforced,
                                  extra_args=[] if enforced else ["--allow-unenforced-limits"]))
    if root:
        if not (shutil.which("podman") and _works(["id", ROOTLESS_USER]) and Path("/usr/bin/python3").exists()):
            _WHY_MISSING["podman-rootless"] = f"needs podman, the user {ROOTLESS_USER} and /usr/bin/python3"
            return targets
        home = _rootless_home(tmp_root)
        if not _rootless_image_ready(ROOTLESS_USER, home):
            _WHY_MISSING["podman-rootless"] = f"could not copy {BASE_IMAGE} into {ROOTLESS_USER}'s store"
            return targets
        enforced = _limits_enforced("podman", ROOTLESS_USER)
        targets.append(Target(name="podman-rootless", engine="podman", rootless=True, limits_enforced=enforced,
                              user=ROOTLESS_USER, home=home,
                              extra_args=[] if enforced else ["--allow-unenforced-limits"]))
    return targets


_TARGETS: Optional[List[Target]] = None
_EXPECTED = ("podman", "docker", "podman-rootless")


def all_targets(tmp_root: Path) -> List[Target]:
    global _TARGETS
    if _TARGETS is None:
        _TARGETS = _discover(tmp_root)
    return _TARGETS


@pytest.fixture(scope="session")
def _target_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path("/tmp") / f"skillware-tests-{os.getpid()}"
    path.mkdir(exist_ok=True)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", _EXPECTED, indirect=True)


@pytest.fixture
def target(request: pytest.FixtureRequest, _target_root: Path) -> Iterator[Target]:
    """Each engine configuration in turn; skip (or fail in CI) when it is unavailable."""
    found = {t.name: t for t in all_targets(_target_root)}
    wanted = request.param
    if wanted not in found:
        rootful_only = wanted == "podman-rootless" and os.geteuid() != 0 and "podman-rootless" not in found
        message = (f"container target {wanted} is not available on this machine: "
                   f"{_WHY_MISSING.get(wanted, 'not applicable')}")
        if REQUIRED and not rootful_only:
            pytest.fail(message + " (SKILLWARE_REQUIRE_CONTAINERS=1)")
        pytest.skip(message)
    yield found[wanted]


@pytest.fixture
def skills_root(tmp_path: Path) -> Path:
    root = tmp_path / "skills-root"
    root.mkdir()
    return root


@pytest.fixture
def make_bundle(skills_root: Path) -> MakeBundle:
    """write_bundle under this test's skills root (or `root=`)."""

    def make(skill_id: str, manifest: Optional[str] = None, skill: Optional[str] = ECHO_SKILL,
             files: Optional[Dict[str, str]] = None, root: Optional[Path] = None) -> Path:
        return write_bundle(root or skills_root, skill_id, manifest, skill, files)

    return make
