"""`skillware audit --probe`: the posture probe inside the real container on every engine, and how it judges.

The container tests run the CLI against each engine (`target`); the judging tests feed the pure
`probe_findings` with observations a weakened container would produce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from skillware.audit_probe import CANARY, PROBE_SOURCE, ProbeRun, probe_findings, probe_spec
from skillware.bundle import Bundle
from skillware.container_spec import plan_container
from skillware.engine import EngineProbe
from skillware.manifest import load_manifest
from skillware.policy import Policy

ECHO = ("from skillware.core.base_skill import BaseSkill\n"
        "class S(BaseSkill):\n    def execute(self, params):\n        return params\n")
# What the probe must see from inside on every engine, whatever the host's cgroup setup.
POSTURE = {"probe.capabilities", "probe.seccomp", "probe.no-new-privs", "probe.user", "probe.network",
           "probe.root-read-only", "probe.skill-read-only", "probe.tmp", "probe.sockets", "probe.environment",
           "probe.cleanup"}
LIMITS = {"probe.memory", "probe.cpu", "probe.pids"}


def write_bundle(root: Path, skill_id: str, manifest: str) -> Path:
    folder = root / skill_id
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(f"name: {skill_id}\nversion: 1.0.0\n{manifest}")
    (folder / "skill.py").write_text(ECHO)
    return folder


def probe_statuses(report: Dict[str, Any]) -> Dict[str, str]:
    return {f["id"]: f["status"] for f in report["findings"] if f["id"].startswith("probe.")}


@pytest.mark.container
def test_probe_verifies_the_posture_from_inside(target, tmp_path):
    folder = target.place_bundle(write_bundle(tmp_path, "audit/probed", "execution: container\n"
                                              "container: {memory: 128m, pids: 32, cpus: 0.5}\n"))
    done = target.cli(["audit", "--probe", "--format", "json", str(folder)], timeout=180)
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["probe"]["ran"], report["probe"]
    seen = probe_statuses(report)
    assert {check: seen.get(check) for check in POSTURE} == {check: "pass" for check in POSTURE}, report["findings"]
    observed = report["probe"]["observed"]
    assert observed["interfaces"] == ["lo"] and observed["write"]["/"] != "ok" and observed["exec_tmp"] != "ok"
    assert CANARY not in observed["env"]
    if target.limits_enforced:
        assert {seen[c] for c in LIMITS} == {"pass"}
        assert done.returncode == 0 and report["status"] == "pass", report["findings"]
    else:  # rootless on cgroup v1: the probe sees what the engine silently ignored
        assert {seen[c] for c in LIMITS} == {"fail"}
        assert done.returncode == 1
    listed = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.skill=audit/probed", "--format",
                                "{{.Names}}"])
    assert listed.stdout.strip() == ""


def options_of(argv, image):
    """The options before the image, with the per-run values (name, uid, owner, timeout) blanked."""
    options = list(argv[:len(argv) - 1 - argv[::-1].index(image)])
    for i, value in enumerate(options[1:], 1):
        if options[i - 1] in ("--name", "--user", "--timeout") or value.startswith("io.skillware.owner="):
            options[i] = "*"
    return options


@pytest.mark.container
def test_in_process_skill_is_probed_as_run_isolated_would_run_it(target):
    done = target.cli(["audit", "--probe", "--format", "json", "text/word_stats"], timeout=180)
    report = json.loads(done.stdout)
    assert report["execution"] == "in_process" and report["probe"]["ran"]
    assert probe_statuses(report)["probe.capabilities"] == "pass"
    # The same options as the audited argv: only the command differs (and per-run name/uid/owner).
    assert options_of(report["probe"]["argv"], report["image"]) == options_of(report["argv"], report["image"])
    assert report["probe"]["argv"][-3:] == ["python3", "-c", "<probe source>"]


@pytest.mark.container
def test_markdown_report_of_a_probe(target):
    done = target.cli(["audit", "--probe", "--format", "markdown", "text/wc_sh"], timeout=180)
    assert done.stdout.startswith("### skillware audit: `text/wc_sh`")
    assert "`probe.capabilities`" in done.stdout


@pytest.mark.container
def test_gvisor_probe_warns_where_the_sandbox_hides_what_it_checks(target, tmp_path):
    if target.name != "podman":
        pytest.skip("gVisor runs under rootful podman only")
    folder = write_bundle(tmp_path, "audit/gvisor", "execution: container\ncontainer: {isolation: gvisor, "
                          "memory: 512m}\n")
    report = json.loads(target.cli(["audit", "--probe", "--format", "json", str(folder)], timeout=180).stdout)
    seen = probe_statuses(report)
    assert seen["probe.capabilities"] == "pass" and seen["probe.network"] == "pass"
    assert seen["probe.seccomp"] == "warn" and seen["probe.memory"] == "warn"
    assert "fail" not in seen.values()


# --- judging observations (pure) -----------------------------------------------------------------

ENGINE = EngineProbe(name="podman", path="/usr/bin/podman", version="4.3.1", rootless=False, cgroup_version="v2",
                     cgroup_manager="systemd", default_runtime="runc", runtimes=("runc",), seccomp=True,
                     controllers=("memory", "pids", "cpu"))
ZERO = "0000000000000000"


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = write_bundle(tmp_path, "audit/judged", "execution: container\ncontainer: {memory: 64m, pids: 16}\n")
    bundle = Bundle(id="audit/judged", path=folder, root=tmp_path)
    return plan_container(bundle, load_manifest(bundle), Policy(), ENGINE, caller_env={})


def good(spec) -> Dict[str, Any]:
    return {"status": {"CapInh": ZERO, "CapPrm": ZERO, "CapEff": ZERO, "CapBnd": ZERO, "CapAmb": ZERO,
                       "Seccomp": "2", "NoNewPrivs": "1"},
            "uid": 40000, "euid": 40000, "gid": 40000,
            "mounts": {"/": {"type": "overlay", "options": ["ro"]}, "/skill": {"type": "ext4", "options": ["ro"]},
                       "/tmp": {"type": "tmpfs", "options": ["rw", "nosuid", "nodev", "noexec", "size=65536k"]}},
            "socket_mounts": [], "write": {"/": "EROFS", "/skill": "EROFS", "/tmp": "ok"}, "exec_tmp": "EACCES",
            "interfaces": ["lo"], "sockets": [], "env": sorted(k for k, _ in spec.env) + ["HOSTNAME"],
            "cgroup": {"memory.max": str(spec.limits.memory), "pids.max": str(spec.limits.pids),
                       "cpu.max": "100000 100000"}}


def judge(spec, **changes: Any) -> Dict[str, str]:
    observed = {**good(spec), **changes}
    findings = probe_findings(ProbeRun([], 0, observed, None, "skillware-audit-x"), spec)
    return {f.id: f.status for f in findings}


def test_a_hardened_container_passes_every_probe_check(spec):
    assert set(judge(spec).values()) == {"pass"}


@pytest.mark.parametrize("changes,check", [
    ({"status": {"CapEff": "00000000a80425fb", "CapPrm": ZERO, "CapBnd": ZERO, "Seccomp": "2", "NoNewPrivs": "1"}},
     "probe.capabilities"),
    ({"status": {"CapEff": ZERO, "CapPrm": ZERO, "CapBnd": ZERO, "Seccomp": "0", "NoNewPrivs": "1"}}, "probe.seccomp"),
    ({"status": {"CapEff": ZERO, "CapPrm": ZERO, "CapBnd": ZERO, "Seccomp": "2", "NoNewPrivs": "0"}},
     "probe.no-new-privs"),
    ({"uid": 0, "euid": 0}, "probe.user"),
    ({"interfaces": ["eth0", "lo"]}, "probe.network"),
    ({"write": {"/": "ok", "/skill": "EROFS", "/tmp": "ok"}}, "probe.root-read-only"),
    ({"write": {"/": "EROFS", "/skill": "ok", "/tmp": "ok"}}, "probe.skill-read-only"),
    ({"exec_tmp": "ok"}, "probe.tmp"),
    ({"sockets": ["/run/docker.sock"]}, "probe.sockets"),
    ({"env": ["PATH", "AWS_SECRET_ACCESS_KEY"]}, "probe.environment"),
    ({"env": ["PATH", CANARY]}, "probe.environment"),
    ({"cgroup": {"memory.limit_in_bytes": "9223372036854771712", "cpu.cfs_quota_us": "-1"}}, "probe.memory"),
    ({"cgroup": {"memory.max": "67108864", "cpu.max": "max 100000"}}, "probe.cpu"),
    ({"cgroup": {"memory.max": "67108864", "pids.max": "max"}}, "probe.pids"),
])
def test_each_weakness_fails_its_check(spec, changes, check):
    assert judge(spec, **changes)[check] == "fail"


def test_a_probe_that_did_not_run_fails(spec):
    findings = probe_findings(ProbeRun([], 125, None, "the probe container failed (exit 125)", "x"), spec)
    assert [(f.id, f.status) for f in findings] == [("probe.run", "fail")]


def test_a_container_left_behind_fails_cleanup(spec):
    run = ProbeRun([], 0, good(spec), None, "skillware-audit-x", left_behind=True)
    assert {f.id: f.status for f in probe_findings(run, spec)}["probe.cleanup"] == "fail"


def test_the_probe_spec_changes_only_command_stdin_and_name(spec):
    probing = probe_spec(spec)
    assert probing.command == ("python3", "-c", PROBE_SOURCE) and not probing.stdin_envelope
    assert (probing.mounts, probing.env, probing.user, probing.seccomp_profile, probing.limits.memory) == \
        (spec.mounts, spec.env, spec.user, spec.seccomp_profile, spec.limits.memory)
