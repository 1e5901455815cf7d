"""Dynamic audit: run a posture probe INSIDE the exact container a skill would get, and judge what it sees.

The spec is the one `run` plans; only the command is replaced by `python3 -c PROBE_SOURCE` (and
stdin carries nothing). It runs through runners.container.execute_spec, so timeouts and removal
are the runner's own.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional

from .audit_checklist import Finding, finding
from .container_spec import ContainerSpec

CANARY = "SKILLWARE_AUDIT_CANARY"  # set in the engine client's environment: it must not reach the container
PROBE_MIN_TIMEOUT = 30.0
# Variables engines add themselves (podman: TERM, container, HOSTNAME; docker: HOSTNAME); LC_CTYPE
# comes from Python's own locale coercion (PEP 538) inside the container.
ENGINE_ENV = frozenset({"HOSTNAME", "TERM", "container", "HOME", "PATH", "LC_CTYPE"})
ZERO_CAPS = "0000000000000000"

PROBE_SOURCE = r"""
import errno, json, os, stat, subprocess
def status():
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k.startswith('Cap') or k in ('Seccomp', 'NoNewPrivs'):
                out[k] = v.strip()
    return out
def mounts():
    out = {}
    with open('/proc/self/mounts') as f:
        for line in f:
            p = line.split()
            if len(p) >= 4:
                out[p[1].replace('\\040', ' ')] = {'type': p[2], 'options': p[3].split(',')}
    return out
def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))
def write(path, keep=False):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    except OSError as e:
        return err(e)
    os.write(fd, b'#!/bin/sh\nexit 0\n')
    os.close(fd)
    if not keep:
        os.unlink(path)
    return 'ok'
def run(path):
    try:
        return 'ok' if subprocess.run([path]).returncode == 0 else 'failed'
    except OSError as e:
        return err(e)
def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None
def interfaces():
    try:
        with open('/proc/net/dev') as f:
            return sorted(l.split(':')[0].strip() for l in f.readlines()[2:] if ':' in l)
    except OSError:
        return None
def egress_outside():
    # Ask the run's egress proxy for a host that no allow-list can hold: it must refuse.
    path = os.environ.get('SKILLWARE_EGRESS')
    if not path:
        return None
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(b'CONNECT skillware-audit-probe.invalid:443 HTTP/1.1\r\nHost: x\r\n\r\n')
        return s.recv(300).decode('latin-1').split('\r\n')[0]
    except OSError as e:
        return err(e)
    finally:
        s.close()
def sockets():
    found = []
    for top in ('/run', '/var/run', '/tmp', '/var/lib/docker', '/var/lib/containers'):
        for d, dirs, files in os.walk(top):
            if d.count('/') > 5:
                dirs[:] = []
            for name in files:
                p = os.path.join(d, name)
                try:
                    if stat.S_ISSOCK(os.lstat(p).st_mode):
                        found.append(p)
                except OSError:
                    pass
    for p in ('/var/run/docker.sock', '/run/docker.sock', '/run/podman/podman.sock', '/var/run/podman/podman.sock',
              '/run/containerd/containerd.sock'):
        if os.path.lexists(p) and p not in found:
            found.append(p)
    return sorted(set(found))
CG = {'memory.max': '/sys/fs/cgroup/memory.max', 'memory.swap.max': '/sys/fs/cgroup/memory.swap.max',
      'pids.max': '/sys/fs/cgroup/pids.max', 'cpu.max': '/sys/fs/cgroup/cpu.max',
      'memory.limit_in_bytes': '/sys/fs/cgroup/memory/memory.limit_in_bytes',
      'memory.memsw.limit_in_bytes': '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes',
      'pids/pids.max': '/sys/fs/cgroup/pids/pids.max',
      'cpu.cfs_quota_us': '/sys/fs/cgroup/cpu/cpu.cfs_quota_us',
      'cpu.cfs_period_us': '/sys/fs/cgroup/cpu/cpu.cfs_period_us'}
m = mounts()
tmp_file = '/tmp/.skillware-audit-%d' % os.getpid()
tmp_write = write(tmp_file, keep=True)
data = {
    'status': status(), 'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(),
    'mounts': {k: v for k, v in m.items() if k in ('/', '/tmp', '/skill') or k.startswith('/opt/skillware')},
    'socket_mounts': sorted(k for k in m if 'sock' in k.rsplit('/', 1)[-1]),
    'write': {'/': write('/.skillware-audit'), '/skill': write('/skill/.skillware-audit'), '/tmp': tmp_write},
    'exec_tmp': run(tmp_file) if tmp_write == 'ok' else 'not written',
    'interfaces': interfaces(),
    'cgroup': {k: read(p) for k, p in CG.items() if read(p) is not None},
    'sockets': sockets(),
    'env': sorted(os.environ),
    'egress_outside': egress_outside(),
}
print(json.dumps(data))
"""


@dataclass(frozen=True)
class ProbeRun:
    """What running the probe produced: the argv, the exit code, the observations or an error."""

    argv: List[str]
    returncode: Optional[int]
    observed: Optional[Dict[str, Any]]
    error: Optional[str]
    container: str
    left_behind: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"ran": self.observed is not None, "argv": self.argv, "exit_code": self.returncode,
                "container": self.container, "error": self.error, "left_behind": self.left_behind,
                "observed": self.observed}


def probe_spec(spec: ContainerSpec) -> ContainerSpec:
    """The same container (egress proxy and all), with the probe as its command and nothing on stdin."""
    limits = replace(spec.limits, timeout=max(spec.limits.timeout, PROBE_MIN_TIMEOUT))
    return replace(spec, command=("python3", "-c", PROBE_SOURCE), stdin_envelope=False, stdin_env_lines=False,
                   limits=limits, name=f"skillware-audit-{secrets.token_hex(6)}")


def run_probe(spec: ContainerSpec) -> ProbeRun:
    """Start the probe container (same argv builder, same runner), parse what it printed, check cleanup."""
    from .argv import build_run_argv
    from .engine_cli import run_engine
    from .runners.container import execute_with_egress
    from .runners.supervise import remove_container

    probing = probe_spec(spec)
    argv = build_run_argv(probing)
    outcome = execute_with_egress(probing, argv, b"", None, 1024 * 1024, None, None, {CANARY: "leaked"})
    left_behind = False
    for delay in (0.0, 1.0):  # an engine may finish its --rm a moment after the client exits
        time.sleep(delay)
        listed = run_engine([spec.engine_path, "ps", "-a", "-q", "--filter", f"name={probing.name}"], timeout=60)
        left_behind = bool(listed.stdout.strip())
        if not left_behind:
            break
    if left_behind:
        remove_container(spec.engine_path, probing.name)
    shown = [*argv[:-1], "<probe source>"]
    if outcome.returncode != 0 or outcome.timed_out:
        tail = " | ".join(outcome.stderr.decode("utf-8", "replace").strip().splitlines()[-3:])[:400]
        why = "timed out" if outcome.timed_out else f"exit {outcome.returncode}"
        return ProbeRun(shown, outcome.returncode, None, f"the probe container failed ({why}): {tail}",
                        probing.name, left_behind)
    try:
        observed = json.loads(outcome.stdout)
    except ValueError:
        return ProbeRun(shown, 0, None, "the probe printed no JSON", probing.name, left_behind)
    return ProbeRun(shown, 0, observed if isinstance(observed, dict) else None, None, probing.name, left_behind)


def probe_findings(run: ProbeRun, spec: ContainerSpec) -> List[Finding]:
    """Judge the observations against the spec: one finding per checked item."""
    if run.observed is None:
        return [finding("probe.run", None, "fail", run.error or "the probe did not run", severity="high")]
    seen = run.observed
    gvisor = spec.runtime == "runsc"
    out = [_capabilities(seen), _seccomp(seen, gvisor), _no_new_privs(seen, gvisor), _user(seen),
           _network(seen), *_filesystem(seen, gvisor), _sockets(seen, spec), *_cgroups(seen, spec, gvisor),
           _environment(seen, spec), *_egress(seen, spec)]
    if run.left_behind:
        out.append(finding("probe.cleanup", "SW-34", "fail", f"container {run.container} was left behind (removed)"))
    else:
        out.append(finding("probe.cleanup", "SW-34", "pass", "probe container removed after the run"))
    return out


def _capabilities(seen: Dict[str, Any]) -> Finding:
    status = seen.get("status") or {}
    sets = {k: v for k, v in status.items() if k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    raised = [f"{k}={v}" for k, v in sorted(sets.items()) if v != ZERO_CAPS]
    if not {"CapEff", "CapPrm", "CapBnd"} <= set(sets):
        return finding("probe.capabilities", "SW-01", "fail", "capability sets not readable in /proc/self/status")
    if raised:
        return finding("probe.capabilities", "SW-01", "fail", "capabilities held: " + ", ".join(raised))
    return finding("probe.capabilities", "SW-01", "pass", "inside: " + ", ".join(sorted(sets)) + " all zero")


def _seccomp(seen: Dict[str, Any], gvisor: bool) -> Finding:
    mode = (seen.get("status") or {}).get("Seccomp")
    if mode == "2":
        return finding("probe.seccomp", "SW-04", "pass", "inside: Seccomp: 2 (filter)")
    if gvisor:
        return finding("probe.seccomp", "SW-04", "warn", "gVisor: the OCI seccomp profile is not applied inside "
                       "the sandbox; the Sentry implements the syscalls itself")
    return finding("probe.seccomp", "SW-04", "fail", f"inside: Seccomp: {mode} (no filter)")


def _no_new_privs(seen: Dict[str, Any], gvisor: bool) -> Finding:
    value = (seen.get("status") or {}).get("NoNewPrivs")
    if value == "1":
        return finding("probe.no-new-privs", "SW-03", "pass", "inside: NoNewPrivs: 1")
    if value is None and gvisor:
        return finding("probe.no-new-privs", "SW-03", "warn", "gVisor does not report NoNewPrivs: not verifiable")
    return finding("probe.no-new-privs", "SW-03", "fail", f"inside: NoNewPrivs: {value}")


def _user(seen: Dict[str, Any]) -> Finding:
    uid, euid = seen.get("uid"), seen.get("euid")
    if uid == 0 or euid == 0 or uid is None:
        return finding("probe.user", "SW-05", "fail", f"inside: uid {uid}, euid {euid}")
    return finding("probe.user", "SW-05", "pass", f"inside: uid {uid}, gid {seen.get('gid')} (not root)")


def _network(seen: Dict[str, Any]) -> Finding:
    names = seen.get("interfaces")
    if names == ["lo"]:
        return finding("probe.network", "SW-20", "pass", "inside: only the loopback interface")
    return finding("probe.network", "SW-20", "fail", f"inside: interfaces {names}")


def _filesystem(seen: Dict[str, Any], gvisor: bool) -> List[Finding]:
    mounts = seen.get("mounts") or {}
    writes = seen.get("write") or {}
    out = []
    for path, item_id, check in (("/", "SW-10", "probe.root-read-only"), ("/skill", "SW-11", "probe.skill-read-only")):
        options = (mounts.get(path) or {}).get("options") or []
        result = writes.get(path)
        if "ro" in options and result != "ok":
            out.append(finding(check, item_id, "pass", f"inside: {path} mounted ro; a write gives {result}"))
        else:
            out.append(finding(check, item_id, "fail", f"inside: {path} options {','.join(options) or '?'}; "
                               f"a write gives {result}"))
    tmp = mounts.get("/tmp") or {}
    options = set(tmp.get("options") or [])
    wanted = {"noexec"} if gvisor else {"noexec", "nosuid", "nodev"}
    missing = sorted(wanted - options)
    if tmp.get("type") == "tmpfs" and not missing and seen.get("exec_tmp") not in ("ok", "failed") \
            and writes.get("/tmp") == "ok":
        out.append(finding("probe.tmp", "SW-12", "pass", f"inside: /tmp is tmpfs ({','.join(sorted(options))}); "
                           f"running a file there gives {seen.get('exec_tmp')}"))
    else:
        out.append(finding("probe.tmp", "SW-12", "fail", f"inside: /tmp {tmp.get('type')} missing {missing}, "
                           f"write {writes.get('/tmp')}, exec {seen.get('exec_tmp')}"))
    return out


def _egress(seen: Dict[str, Any], spec: ContainerSpec) -> List[Finding]:
    if not spec.egress:
        return []
    answer = str(seen.get("egress_outside"))
    if answer.startswith("HTTP/1.1 403"):
        return [finding("probe.egress", "SW-22", "pass", "inside: the egress proxy refused a host outside the "
                        f"allow-list ({answer[:120]})")]
    return [finding("probe.egress", "SW-22", "fail", f"inside: a host outside the allow-list got {answer[:200]!r}",
                    severity="high")]


def _sockets(seen: Dict[str, Any], spec: ContainerSpec) -> Finding:
    from .container_spec import EGRESS_TARGET

    # The run's own egress socket is expected; any other socket is not.
    own = f"{EGRESS_TARGET}/" if spec.egress else None
    found = sorted(p for p in set(seen.get("sockets") or []) | set(seen.get("socket_mounts") or [])
                   if own is None or not p.startswith(own))
    if found:
        return finding("probe.sockets", "SW-13", "fail", "inside: sockets reachable: " + ", ".join(found))
    return finding("probe.sockets", "SW-13", "pass", "inside: no docker/podman/containerd socket")


def _number(text: Optional[str]) -> Optional[int]:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def _cgroups(seen: Dict[str, Any], spec: ContainerSpec, gvisor: bool) -> List[Finding]:
    files = seen.get("cgroup") or {}
    if gvisor and not files:
        return [finding(f"probe.{name}", item_id, "warn", "gVisor hides the cgroup files: the limit holds on the "
                        "sandbox from outside and cannot be read inside") for name, item_id in
                (("memory", "SW-30"), ("cpu", "SW-31"), ("pids", "SW-32"))]
    limits = spec.limits
    memory = _number(files.get("memory.max") or files.get("memory.limit_in_bytes"))
    pids = _number(files.get("pids.max") or files.get("pids/pids.max"))
    quota, period = None, None
    if files.get("cpu.max"):
        parts = files["cpu.max"].split()
        quota, period = _number(parts[0]), _number(parts[1] if len(parts) > 1 else None)
    elif files.get("cpu.cfs_quota_us"):
        quota, period = _number(files.get("cpu.cfs_quota_us")), _number(files.get("cpu.cfs_period_us"))
    cpus = quota / period if quota and period and quota > 0 else None
    return [
        _limit("probe.memory", "SW-30", "memory", memory, limits.memory,
               memory is not None and memory <= limits.memory),
        _limit("probe.cpu", "SW-31", "cpu quota", None if cpus is None else f"{cpus:g} cpus", f"{limits.cpus:g}",
               cpus is not None and cpus <= limits.cpus + 0.01),
        _limit("probe.pids", "SW-32", "pids.max", pids, limits.pids, pids is not None and 0 < pids <= limits.pids),
    ]


def _limit(check: str, item_id: str, what: str, seen: Any, wanted: Any, ok: bool) -> Finding:
    if ok:
        return finding(check, item_id, "pass", f"inside: cgroup {what} {seen} (asked {wanted})")
    return finding(check, item_id, "fail", f"inside: cgroup {what} is {seen if seen is not None else 'not set'}, "
                   f"asked {wanted}: the limit is not enforced")


def _environment(seen: Dict[str, Any], spec: ContainerSpec) -> Finding:
    names = set(seen.get("env") or [])
    allowed = {k for k, _ in spec.env} | set(spec.granted_env) | ENGINE_ENV
    extra = sorted(names - allowed)
    if CANARY in names:
        return finding("probe.environment", "SW-40", "fail", "the host environment reached the container "
                       f"({CANARY} from the engine's environment)")
    if extra:
        return finding("probe.environment", "SW-40", "fail", "inside: unexpected variables " + ", ".join(extra))
    return finding("probe.environment", "SW-40", "pass", f"inside: {len(names)} variables, all from the contract "
                   "or the engine")
