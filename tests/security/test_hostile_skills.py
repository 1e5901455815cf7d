"""Hostile skills against every engine: each bundle under bundles/security/ tries one way out.

Every test runs on each target (podman rootful, docker, podman rootless) through the real CLI,
so what is proven is the whole path: manifest → plan → argv → engine → shim → exit code.
The bundles are ordinary skills (`skillware validate tests/security/bundles/security/NAME`).
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

import pytest

pytestmark = pytest.mark.container

BUNDLES = Path(__file__).resolve().parent / "bundles"
HOSTILE = sorted(p.name for p in (BUNDLES / "security").iterdir() if (p / "manifest.yaml").is_file())
MiB = 1024 * 1024
# Processes that make up a container on the host (comm is cut at 15 characters).
ENGINE_COMMS = {"podman", "docker", "conmon", "runc", "containerd-shim", "dockerd", "containerd", "catatonit"}
# Where the engines keep container configs and state on disk (rootful podman, rootless podman, docker).
ENGINE_STATE_GLOBS = (
    "/var/lib/containers/storage/overlay-containers/*/userdata/*",
    "/var/lib/containers/storage/libpod/*.db",
    "/home/skillware-test/.local/share/containers/storage/overlay-containers/*/userdata/*",
    "/home/skillware-test/.local/share/containers/storage/libpod/*.db",
    "/var/lib/docker/containers/*/*",
    "/var/lib/docker/containerd/daemon/io.containerd.metadata.v1.bolt/meta.db",
)
STORAGE_DIRS = ("/var/lib/containers", "/var/lib/docker", "/home/skillware-test/.local/share/containers")


# --- helpers -------------------------------------------------------------------------------------


def skills_root(target: Any, name: str) -> Path:
    """The skills root holding security/NAME, readable by the target's user."""
    return target.place_bundle(BUNDLES / "security" / name).parent.parent


def run(target: Any, name: str, params: Optional[Dict[str, Any]] = None, *extra: str,
        env: Optional[Dict[str, str]] = None, override: bool = True,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`skillware run --skills-dir ROOT security/NAME --params JSON` on this target."""
    args = ["run", *(target.extra_args if override else []), "--skills-dir", str(skills_root(target, name)),
            *extra, f"security/{name}", "--params", json.dumps(params or {})]
    return target.cli(args, env=env, timeout=timeout)


class Background:
    """Run `run(...)` in a thread so the test can watch the host while the skill runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.done: Optional[subprocess.CompletedProcess[str]] = None
        self.error: Optional[BaseException] = None
        self.started = time.monotonic()
        self.elapsed = 0.0
        self._thread = threading.Thread(target=self._main, args=args, kwargs=kwargs, daemon=True)
        self._thread.start()

    def _main(self, *args: Any, **kwargs: Any) -> None:
        try:
            self.done = run(*args, **kwargs)
        except BaseException as exc:  # re-raised in result()
            self.error = exc
        finally:
            self.elapsed = time.monotonic() - self.started

    def alive(self) -> bool:
        return self._thread.is_alive()

    def result(self, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the CLI did not return"
        if self.error is not None:
            raise self.error
        assert self.done is not None
        return self.done


def host_processes() -> List[str]:
    """`pid args` of every process on the host, full width."""
    done = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, timeout=30)
    return done.stdout.splitlines()


def engine_process_environs() -> Dict[int, bytes]:
    """The environment blocks of the engine's processes (client, conmon, runtime, shims)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            if comm in ENGINE_COMMS or comm.startswith("containerd-shim"):
                found[int(entry)] = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
    return found


def engine_state_files_containing(needle: str) -> Set[str]:
    """Engine state files on the host's disk that hold `needle`."""
    found = set()
    for pattern in ENGINE_STATE_GLOBS:
        for path in glob.glob(pattern):
            try:
                if os.path.isfile(path) and os.path.getsize(path) < 256 * MiB and \
                        needle.encode() in Path(path).read_bytes():
                    found.add(path)
            except OSError:
                continue
    return found


def storage_usage() -> Dict[str, int]:
    """Bytes used on / and under each engine's storage directory (not crossing into mounts)."""
    usage = {"/": shutil.disk_usage("/").used}
    for path in STORAGE_DIRS:
        if os.path.isdir(path):
            done = subprocess.run(["du", "-sbx", path], capture_output=True, text=True, timeout=300)
            usage[path] = int(done.stdout.split()[0]) if done.stdout.strip() else 0
    return usage


def _sample_disk_peak(base: int, peak: List[int], stop: threading.Event) -> None:
    while not stop.wait(0.1):
        peak[0] = max(peak[0], shutil.disk_usage("/").used - base)


def without_disk_growth(action: Callable[[], subprocess.CompletedProcess[str]], limit: int = 20 * MiB,
                        attempts: int = 3) -> subprocess.CompletedProcess[str]:
    """Run `action`; fail if the host's disk grows by `limit` or more, during the run or after it.

    Other work on the machine moves these numbers by tens of MB now and then, while a flood that
    reached the disk would do it every time: so a growth must repeat on every attempt to fail.
    """
    seen = []
    for _ in range(attempts):
        before = storage_usage()
        peak = [0]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_disk_peak, args=(before["/"], peak, stop), daemon=True)
        sampler.start()
        try:
            done = action()
        finally:
            stop.set()
            sampler.join(5)
        after = storage_usage()
        grown = {path: after.get(path, 0) - used for path, used in before.items()}
        grown["/ (peak during the run)"] = peak[0]
        if all(delta < limit for delta in grown.values()):
            return done
        seen.append(grown)
    pytest.fail(f"the host's disk grew by {limit // MiB} MiB or more on each of {attempts} runs (bytes): {seen}")


def skillware_lines(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if line.startswith("skillware:")]


def error_lines(stderr: str) -> List[str]:
    return [line for line in skillware_lines(stderr) if "warning:" not in line]


def managed_containers(target: Any, names: Sequence[str] = HOSTILE) -> List[str]:
    """Containers (running or not) of this suite's skills still known to the target's engine."""
    done = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.managed=1",
                              "--format", "{{.Names}} {{.Labels}}"])
    assert done.returncode == 0, done.stderr
    ours = {f"security/{name}" for name in names}
    return [line for line in done.stdout.splitlines()
            if any(re.search(rf"{re.escape(skill)}(?![\w.-])", line) for skill in ours)]


# --- 1. network ----------------------------------------------------------------------------------


def test_no_interface_but_loopback_and_no_way_to_the_host(target):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: List[Any] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[1])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    hostname = socket.gethostname()
    hosts = ["127.0.0.1", "::1", "10.0.2.2", "172.17.0.1", hostname]
    try:
        done = run(target, "net_probe", {"port": port, "hosts": hosts, "names": ["example.com", "pypi.org"]})
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["if_nameindex"] == ["lo"]
    assert seen["proc_net_dev"] == ["lo"]
    assert seen["own_loopback"] == "connected"          # the probe itself works
    assert set(seen["connect"]) == set(hosts)
    assert not [h for h, outcome in seen["connect"].items() if outcome == "connected"], seen["connect"]
    assert not [n for n, outcome in seen["resolve"].items() if isinstance(outcome, list)], seen["resolve"]
    assert accepted == [], f"the host's loopback server was reached from the container: {accepted}"


# --- 2. filesystem -------------------------------------------------------------------------------

READ_ONLY_DIRS = ["/", "/skill", "/opt/skillware", "/etc", "/var/tmp", "/run", "/var", "/usr", "/dev", "/proc",
                  "/sys/fs/cgroup"]


def test_no_write_outside_tmp_no_exec_from_tmp_and_tmp_is_bounded(target):
    done = run(target, "fs_probe", {"dirs": [*READ_ONLY_DIRS, "/tmp"], "fill_mib": 32})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    writes = seen["writes"]
    assert writes.pop("/tmp") == "written"
    home = seen["home"]
    if home == "/tmp" or home.startswith("/tmp/"):
        assert writes.pop("$HOME") == "written"       # HOME is the scratch tmpfs itself
    written = sorted(d for d, outcome in writes.items() if outcome == "written")
    assert written == [], f"wrote outside /tmp: {written} ({writes})"
    assert seen["exec_direct"] == "PermissionError"
    assert not seen["exec_loader"].startswith("exit 0"), seen["exec_loader"]
    assert seen["fill_error"] == "ENOSPC"
    assert seen["fill_written"] <= 8 * MiB


def test_dev_shm_is_not_writable(target):
    done = run(target, "fs_probe", {"dirs": ["/dev/shm"], "fill_mib": 0})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["writes"]["/dev/shm"] != "written"


# --- 3. environment and secrets ------------------------------------------------------------------


def test_host_environment_is_not_visible(target):
    prefix, rest = f"hostile{secrets.token_hex(8)}", secrets.token_hex(16)
    secret = prefix + rest
    done = run(target, "secret_hunt",
               {"needles": [prefix, "SKILLWARE_HOSTILE_SECRET"], "roots": ["/skill", "/opt", "/tmp", "/etc", "/run"]},
               env={"SKILLWARE_HOSTILE_SECRET": secret})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["scanned"] > 20
    places = sorted({hit["where"] for hit in seen["hits"]})
    assert places == ["/tmp/secret-hunt-control"], f"the host secret (or its name) was found in: {seen['hits']}"
    assert rest not in done.stdout + done.stderr


def _watch_run(target: Any, name: str, token: str, skill_label: str, disk: bool = False) -> Dict[str, Any]:
    """Run NAME with SKILL_TOKEN set; sample the host's process table (and engine state) while it runs."""
    background = Background(target, name, {"sleep": 2} if name == "token_probe" else {}, env={"SKILL_TOKEN": token})
    leaks: Set[str] = set()
    environ_leaks: Set[int] = set()
    disk_leaks: Set[str] = set()
    saw_engine = False
    while background.alive():
        for line in host_processes():
            if "SKILLWARE_ENGINE=" in line:
                continue   # the test harness's own `su -c "env SKILL_TOKEN=… skillware …"` wrapper
            if skill_label in line:
                saw_engine = True
            if token in line:
                leaks.add(line)
        if name == "token_probe":
            environ_leaks |= {pid for pid, environ in engine_process_environs().items() if token.encode() in environ}
        if disk:
            disk_leaks |= engine_state_files_containing(token)
        time.sleep(0.05)
    done = background.result()
    if disk:
        disk_leaks |= engine_state_files_containing(token)   # after --rm: bolt DBs keep free pages
    return {"done": done, "leaks": leaks, "environ_leaks": environ_leaks, "disk_leaks": disk_leaks,
            "saw_engine": saw_engine}


@pytest.mark.parametrize("name", ["token_probe", "token_sh"])
def test_declared_env_var_reaches_the_skill_but_not_argv_or_ps(target, name):
    import hashlib

    token = f"tok{secrets.token_hex(16)}"
    dry = run(target, name, {}, "--dry-run", env={"SKILL_TOKEN": token})
    assert dry.returncode == 0, dry.stderr
    assert "--network none" in dry.stdout
    assert token not in dry.stdout + dry.stderr
    watched = _watch_run(target, name, token, f"io.skillware.skill=security/{name}")
    done = watched["done"]
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"sha256": hashlib.sha256(token.encode()).hexdigest()}
    assert watched["saw_engine"], "the engine process was never seen in ps; the check proves nothing"
    assert not watched["leaks"], f"the token is visible in ps: {watched['leaks']}"
    # The Python shim takes env values over stdin: not even the engine's environment holds them.
    assert not watched["environ_leaks"], f"engine processes hold the token: {watched['environ_leaks']}"


@pytest.mark.parametrize("name", ["token_probe", "token_sh"])
def test_declared_env_var_value_never_reaches_the_engines_disk(target, name):
    import hashlib

    token = f"tok{secrets.token_hex(16)}"
    watched = _watch_run(target, name, token, f"io.skillware.skill=security/{name}", disk=True)
    done = watched["done"]
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"sha256": hashlib.sha256(token.encode()).hexdigest()}
    assert not watched["disk_leaks"], f"the token was written to: {sorted(watched['disk_leaks'])}"


# --- 4. memory -----------------------------------------------------------------------------------


def test_memory_bomb_is_killed_and_reported(target):
    if not target.limits_enforced:
        done = run(target, "memory_bomb", override=False)
        assert done.returncode == 5, (done.returncode, done.stderr)
        lines = error_lines(done.stderr)
        assert len(lines) == 1 and "cannot be enforced" in lines[0], done.stderr
        return
    started = time.monotonic()
    done = run(target, "memory_bomb")
    assert time.monotonic() - started < 30 + 10
    assert done.returncode == 7, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert "resource_limit" in lines[0] and "memory" in lines[0].lower() and "128" in lines[0], lines[0]


# --- 5. processes --------------------------------------------------------------------------------


def test_fork_bomb_is_contained_and_the_host_stays_responsive(target):
    background = Background(target, "fork_bomb")
    slowest = 0.0
    while background.alive():
        started = time.monotonic()
        subprocess.run(["true"], check=True, timeout=30)
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    done = background.result()
    assert background.elapsed < 20 + 10, background.elapsed
    assert slowest < 2.0, f"spawning /bin/true on the host took {slowest:.2f}s during the fork bomb"
    assert done.returncode in (0, 7), (done.returncode, done.stderr)
    if done.returncode == 0:
        seen = json.loads(done.stdout)
        # pids: 32 (cgroup) and nproc=32 (RLIMIT_NPROC, the backstop where cgroups are not enforced)
        assert 0 < seen["forks"] <= 32, seen
        assert seen["failure"] == "EAGAIN", seen
    else:
        assert "pids" in error_lines(done.stderr)[0] or "process" in error_lines(done.stderr)[0], done.stderr


def test_a_background_child_does_not_hold_the_result_back(target):
    started = time.monotonic()
    done = run(target, "orphan_child")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert json.loads(done.stdout) == {"returned": True}
    assert elapsed < 10, elapsed
    assert managed_containers(target, ["orphan_child"]) == []


# --- 6. wall time --------------------------------------------------------------------------------


def _container_identity(target: Any, skill: str, background: Background) -> Dict[str, str]:
    """Name (from the engine client's argv) and full id (from the engine) of the running container."""
    found: Dict[str, str] = {}
    while background.alive() and "id" not in found:
        if "name" not in found:
            for line in host_processes():
                match = re.search(r"--name (skillware-[0-9a-f]+)", line)
                if match and f"io.skillware.skill={skill}" in line:
                    found["name"] = match.group(1)
        if "name" in found:
            ps = target.engine_cmd(["ps", "--no-trunc", "--filter", f"name={found['name']}", "--format", "{{.ID}}"])
            ident = ps.stdout.strip()
            if re.fullmatch(r"[0-9a-f]{64}", ident):
                found["id"] = ident
        time.sleep(0.05)
    return found


def test_endless_loop_is_stopped_at_the_timeout_and_nothing_is_left(target):
    background = Background(target, "endless_loop")
    identity = _container_identity(target, "security/endless_loop", background)
    done = background.result()
    assert done.returncode == 6, (done.returncode, done.stderr)
    assert background.elapsed < 2 + 10, background.elapsed
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "timeout" in lines[0], done.stderr
    assert "name" in identity, "the container was never seen running"
    marks = [identity["name"], *([identity["id"]] if "id" in identity else [])]
    deadline = time.monotonic() + 10   # conmon lingers a second or two after removal
    while True:
        leftovers = [line for line in host_processes() if any(mark in line for mark in marks)]
        containers = managed_containers(target, ["endless_loop"])
        if (not leftovers and not containers) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert containers == [], containers
    assert leftovers == [], f"processes left for {identity}: {leftovers}"


# --- 7. output floods ----------------------------------------------------------------------------


def test_fd1_flood_from_python_does_not_reach_stdout(target):
    done = without_disk_growth(lambda: run(target, "fd1_flood"))
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert json.loads(done.stdout) == {"flooded": 100 * MiB}
    assert len(done.stderr) < 2 * MiB


def test_stdout_flood_from_a_non_python_skill_is_capped(target):
    started = time.monotonic()
    done = without_disk_growth(lambda: run(target, "stdout_flood_sh"))
    assert time.monotonic() - started < 3 * 60
    assert done.returncode == 9, (done.returncode, done.stderr[-2000:])
    assert done.stdout == ""
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and re.search(r"more than [\d,]+ bytes", lines[0]), done.stderr
    assert managed_containers(target, ["stdout_flood_sh"]) == []


def test_stderr_flood_is_truncated_and_the_run_succeeds(target):
    done = without_disk_growth(lambda: run(target, "stderr_flood"))
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert json.loads(done.stdout) == {"flooded": 200 * MiB}
    assert len(done.stderr) < 2 * MiB


def test_skill_stderr_cannot_drive_the_operators_terminal(target):
    done = target.cli(["run", *target.extra_args, "--skills-dir", str(skills_root(target, "stderr_escape")),
                       "security/stderr_escape", "--params", "{}"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"written": 7}
    controls = sorted({f"{ord(c):#04x}" for c in done.stderr if (ord(c) < 0x20 and c not in "\n\t")
                       or 0x7f <= ord(c) < 0xa0})
    assert controls == [], f"control characters from the skill reached the CLI's stderr: {controls}"


# --- 8. privileges -------------------------------------------------------------------------------


def test_posture_from_inside(target):
    done = run(target, "posture")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    status = seen["status"]
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
        assert int(status[cap], 16) == 0, (cap, status[cap])
    assert status["Seccomp"] == "2"
    assert status["NoNewPrivs"] == "1"
    assert 0 not in (seen["uid"], seen["euid"], seen["gid"]) and 0 not in seen["groups"], seen
    calls = seen["calls"]
    allowed = {call: outcome for call, outcome in calls.items() if outcome == "ok"}
    assert allowed == {}, f"calls that should fail succeeded: {allowed}"
    # EPERM from the seccomp profile (not merely a missing capability) for every raw syscall.
    assert {c: o for c, o in calls.items() if c != "unshare -U true" and o != "EPERM"} == {}, calls
    assert "Operation not permitted" in calls["unshare -U true"]


# --- 9. chatter ----------------------------------------------------------------------------------


def test_chatter_does_not_corrupt_the_result(target):
    done = run(target, "chatter", {"answer": 42})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"answer": 42, "lines": 1000}
    assert done.stdout.strip() == json.dumps({"answer": 42, "lines": 1000}, separators=(",", ":"))


# --- 10. crashes ---------------------------------------------------------------------------------


def test_self_kill_is_reported_as_a_crash(target):
    done = run(target, "suicide")
    assert done.returncode == 8, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = error_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert "signal" in lines[0] and ("SIGKILL" in lines[0] or "signal 9" in lines[0]), lines[0]


def test_raising_skill_exits_1(target):
    done = run(target, "raiser")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "RuntimeError" in lines[0] and "hostile failure on purpose" in lines[0], done.stderr


def test_an_exception_that_cannot_be_printed_is_still_one_line(target):
    done = run(target, "bad_str")
    assert done.returncode == 1 and done.stdout == "", (done.returncode, done.stderr)
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "Unprintable" in lines[0] and "could not be shown" in lines[0], done.stderr


def test_a_result_utf8_cannot_carry_is_bad_output(target):
    done = run(target, "surrogate")
    assert done.returncode == 9 and done.stdout == "", (done.returncode, done.stderr)
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and "not valid Unicode" in lines[0], done.stderr


# --- 11. leftovers (keep last: runs after every test above) ---------------------------------------


def test_no_container_of_this_suite_is_left(target):
    deadline = time.monotonic() + 10
    while managed_containers(target) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert managed_containers(target) == []
