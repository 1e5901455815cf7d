"""Static audit: each finding tripped by a bundle made for it; argv options traced; output formats; the CLI.

No engine runs here: a fixed EngineProbe stands in for `select_engine`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from click.testing import CliRunner

from skillware.argv import build_run_argv
from skillware.audit import AuditReport, audit_bundle
from skillware.audit_checklist import CHECKLIST, Finding
from skillware.audit_code import scan_python
from skillware.audit_report import render
from skillware.audit_static import trace_argv
from skillware.bundle import Bundle
from skillware.cli import cli
from skillware.container_spec import plan_container
from skillware.engine import EngineProbe
from skillware.manifest import load_manifest
from skillware.policy import Limits, Policy

REPO = Path(__file__).resolve().parents[2]
PODMAN = EngineProbe(name="podman", path="/usr/bin/podman", version="4.3.1", rootless=False, cgroup_version="v2",
                     cgroup_manager="systemd", default_runtime="runc", runtimes=("runc", "runsc"), seccomp=True,
                     controllers=("memory", "pids", "cpu"))
DOCKER = replace(PODMAN, name="docker", path="/usr/bin/docker", runtimes=("runc",))
ROOTLESS_V1 = replace(PODMAN, rootless=True, cgroup_version="hybrid", controllers=())
CONTAINER = "execution: container\n"


def write_bundle(root: Path, skill_id: str, manifest: str, skill: Optional[str] = "",
                 files: Optional[Dict[str, str]] = None) -> Path:
    """root/category/name with manifest.yaml, skill.py (unless None) and extra files."""
    folder = root / skill_id
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(manifest, encoding="utf-8")
    if skill is not None:
        (folder / "skill.py").write_text(skill, encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def no_operator_policy(tmp_path_factory, monkeypatch):
    """No policy file of the machine running the tests leaks in."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("SKILLWARE_POLICY", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)


def audit(root: Path, manifest: str = CONTAINER, skill: Optional[str] = "", files: Optional[Dict[str, str]] = None,
          policy: Optional[Policy] = None, engine: EngineProbe = PODMAN, skill_id: str = "cat/thing",
          prepare: Any = None) -> AuditReport:
    folder = write_bundle(root, skill_id, f"name: {skill_id}\n{manifest}", skill, files)
    if prepare is not None:
        prepare(folder)
    bundle = Bundle(id=skill_id, path=folder.resolve(), root=root)
    return audit_bundle(bundle, load_manifest(bundle), policy or Policy(), engine)


def of(report: AuditReport, item_id: str, status: Optional[str] = None) -> List[Finding]:
    return [f for f in report.findings if f.checklist == item_id and (status is None or f.status == status)]


def statuses(report: AuditReport, item_id: str) -> set:
    return {f.status for f in of(report, item_id)}


# --- the container argv --------------------------------------------------------------------------


def test_a_plain_container_skill_passes_with_every_option_traced(skills_root):
    report = audit(skills_root)
    assert report.status == "pass", [f for f in report.findings if f.status == "fail"]
    assert report.argv is not None and report.flags
    assert all(t.checklist for t in report.flags), [t for t in report.flags if not t.checklist]
    auto = {i.id for i in CHECKLIST if i.mode == "auto"} - {"SW-53"}  # SW-53: only with a Dockerfile
    assert auto <= {f.checklist for f in report.findings}


def test_docker_argv_is_traced_too(skills_root):
    report = audit(skills_root, engine=DOCKER)
    assert report.status == "pass" and report.argv[0] == "/usr/bin/docker"
    assert all(t.checklist for t in report.flags)


def test_gvisor_runtime_flags_are_traced_to_the_isolation_tier(skills_root):
    report = audit(skills_root, CONTAINER + "container: {isolation: gvisor, memory: 512m}\n")
    assert {t.flag for t in report.flags if t.checklist == "SW-09"} >= {"--runtime runsc",
                                                                        "--runtime-flag platform=ptrace"}
    assert "gVisor" in of(report, "SW-09")[0].message


def tampered(tmp_path: Path, edit: Any) -> List[Finding]:
    folder = write_bundle(tmp_path, "cat/thing", "name: cat/thing\n" + CONTAINER, "")
    bundle = Bundle(id="cat/thing", path=folder.resolve(), root=tmp_path)
    manifest = load_manifest(bundle)
    spec = plan_container(bundle, manifest, Policy(), PODMAN, caller_env={})
    argv = build_run_argv(spec)
    at = argv.index("run") + 1
    argv = edit(argv, at)
    return trace_argv(argv, spec, manifest, str(bundle.path))[1]


@pytest.mark.parametrize("extra,item_id,fragment", [
    (["--privileged"], "SW-02", "--privileged must never be used"),
    (["--cap-add", "SYS_ADMIN"], "SW-01", "--cap-add SYS_ADMIN"),
    (["--network", "host"], "SW-20", "only 'none'"),
    (["--pid", "host"], "SW-06", "--pid host: shares a namespace"),
    (["--ipc", "container:other"], "SW-06", "shares a namespace"),
    (["--device", "/dev/kvm"], "SW-07", "--device"),
    (["-v", "/var/run/docker.sock:/var/run/docker.sock"], "SW-11", "must never be used"),
    (["--mount", "type=bind,source=/run/podman/podman.sock,destination=/skill,readonly"], "SW-11", "not the bundle"),
    (["--mount", "type=bind,source=/etc,destination=/etc,readonly"], "SW-11", "not part of the host contract"),
    (["-p", "8080:80"], "SW-21", "-p 8080:80"),
    (["--security-opt", "seccomp=unconfined"], "SW-04", "not skillware's seccomp profile"),
    (["--security-opt", "label=disable"], "SW-04", "not part of skillware's posture"),
    (["--env", "AWS_SECRET_ACCESS_KEY=abc"], "SW-40", "not a host-contract variable"),
    (["--env", "UNDECLARED"], "SW-42", "not declared"),
    (["--env-host"], "SW-40", "--env-host must never be used"),
    (["--user", "0:0"], "SW-05", "is root"),
    (["--log-driver", "journald"], "SW-43", "reach the disk"),
    (["--pull", "always"], "SW-52", "never pulled"),
])
def test_a_weakening_option_fails_its_item(tmp_path, extra, item_id, fragment):
    findings = tampered(tmp_path, lambda argv, at: argv[:at] + extra + argv[at:])
    failed = [f for f in findings if f.status == "fail"]
    assert any(f.checklist == item_id and fragment in f.message for f in failed), failed


def test_an_unknown_option_is_untraced_and_fails(tmp_path):
    findings = tampered(tmp_path, lambda argv, at: argv[:at] + ["--systemd=always"] + argv[at:])
    assert any(f.id == "argv.untraced" and f.status == "fail" and "--systemd" in f.message for f in findings)


@pytest.mark.parametrize("flag,item_id", [("--read-only", "SW-10"), ("--rm", "SW-34"), ("--hostname", "SW-06")])
def test_a_missing_option_fails_its_item(tmp_path, flag, item_id):
    def drop(argv: List[str], at: int) -> List[str]:
        i = argv.index(flag)
        return argv[:i] + argv[i + (2 if flag == "--hostname" else 1):]

    findings = tampered(tmp_path, drop)
    assert any(f.checklist == item_id and f.status == "fail" and f"missing {flag}" in f.message for f in findings)


def test_swap_different_from_memory_fails(tmp_path):
    def edit(argv: List[str], at: int) -> List[str]:
        argv[argv.index("--memory-swap") + 1] = "-1"
        return argv

    assert any(f.checklist == "SW-30" and f.status == "fail" for f in tampered(tmp_path, edit))


def test_a_writable_mount_fails(tmp_path):
    def edit(argv: List[str], at: int) -> List[str]:
        i = next(i for i, a in enumerate(argv) if a.startswith("type=bind") and "destination=/skill," in a)
        argv[i] = argv[i].replace(",readonly", "")
        return argv

    assert any(f.checklist == "SW-11" and "writable" in f.message for f in tampered(tmp_path, edit))


# --- manifest and policy -------------------------------------------------------------------------


def test_in_process_skill_warns_unless_policy_forces_isolation(skills_root):
    report = audit(skills_root, "execution: in_process\n")
    assert statuses(report, "SW-08") == {"warn"} and report.argv is not None  # argv as `run --isolated`
    forced = audit(skills_root, "execution: in_process\n", policy=Policy(require_isolation=("other/*",)),
                   skill_id="other/thing")
    assert statuses(forced, "SW-08") == {"pass"}


def test_image_tag_warns_and_digest_passes(skills_root):
    assert statuses(audit(skills_root), "SW-50") == {"warn"}
    digest = "localhost/skillware-python@sha256:" + "a" * 64
    assert statuses(audit(skills_root, CONTAINER + f"container: {{image: '{digest}'}}\n", skill_id="x/pinned"),
                    "SW-50") == {"pass"}


def test_image_built_from_the_bundle_passes_and_its_dockerfile_is_read(skills_root):
    dockerfile = "FROM localhost/skillware-python:3.11\nADD https://example.org/x.tgz /opt/\nENV API_TOKEN=abc\n"
    report = audit(skills_root, CONTAINER + "container: {build: Dockerfile}\n", files={"Dockerfile": dockerfile})
    assert statuses(report, "SW-50") == {"pass"}
    found = {(f.id, f.file, f.line) for f in of(report, "SW-53", "warn")}
    assert found == {("dockerfile.from", "Dockerfile", 1), ("dockerfile.add", "Dockerfile", 2),
                     ("dockerfile.secret", "Dockerfile", 3)}


def test_declared_env_vars_are_listed_and_withheld_ones_pass(skills_root):
    manifest = CONTAINER + "env_vars: {API_TOKEN: {required: true}, DB_PASSWORD: {}}\n"
    report = audit(skills_root, manifest, policy=Policy(allowed_env_vars=("API_*",)))
    warned = of(report, "SW-41", "warn")
    assert len(warned) == 1 and "API_TOKEN" in warned[0].message and warned[0].file == "manifest.yaml"
    assert any("DB_PASSWORD is withheld" in f.message for f in of(report, "SW-41", "pass"))
    assert statuses(report, "SW-42") == {"pass"}  # the shim takes values on stdin


def test_custom_command_gets_env_values_on_stdin_never_as_env_flags(skills_root):
    manifest = CONTAINER + "container: {command: [sh, -c, 'echo {}']}\nenv_vars: {API_TOKEN: {}}\n"
    report = audit(skills_root, manifest)
    assert statuses(report, "SW-42") == {"pass"} and any("envwrap.sh" in f.message for f in of(report, "SW-42"))
    assert not any("API_TOKEN" in t.flag for t in report.flags)
    assert statuses(report, "SW-11") == {"pass"}  # the envwrap.sh mount belongs to the host contract


def test_unpinned_requirements_warn(skills_root):
    report = audit(skills_root, CONTAINER + "requirements: ['requests>=2', 'pyyaml==6.0.1']\n")
    assert [f.message.split("'")[1] for f in of(report, "SW-54", "warn")] == ["requests>=2"]


def test_limits_above_what_a_reviewer_expects_warn(skills_root):
    report = audit(skills_root, CONTAINER + "container: {memory: 2g, timeout: 400, pids: 300}\n")
    message = of(report, "SW-36", "warn")[0].message
    assert "memory 2048m > 1024m" in message and "timeout 400s > 300s" in message and "pids 300 > 256" in message
    assert statuses(audit(skills_root, skill_id="x/small"), "SW-36") == {"pass"}


def test_above_the_policy_ceiling_fails_and_no_argv_is_built(skills_root):
    report = audit(skills_root, CONTAINER + "container: {memory: 1g}\n",
                   policy=Policy(ceilings=Limits(memory=512 * 1024 * 1024)))
    failed = of(report, "SW-37", "fail")
    assert failed and "container.memory asks for 1024m" in failed[0].message and "512m" in failed[0].message
    assert report.argv is None and report.status == "fail"


def test_image_outside_allowed_images_fails(skills_root):
    report = audit(skills_root, CONTAINER + "container: {image: 'docker.io/evil/image:1'}\n",
                   policy=Policy(allowed_images=("localhost/*",)))
    assert statuses(report, "SW-51") == {"fail"}


def test_unenforced_limits_warn_and_fail_when_the_policy_overrides(skills_root):
    assert statuses(audit(skills_root, engine=ROOTLESS_V1), "SW-35") == {"warn"}
    overridden = audit(skills_root, engine=ROOTLESS_V1, policy=Policy(allow_unenforced_limits=True),
                       skill_id="x/override")
    assert statuses(overridden, "SW-35") == {"fail"} and overridden.status == "fail"


def test_gvisor_on_docker_fails_the_isolation_tier(skills_root):
    report = audit(skills_root, CONTAINER + "container: {isolation: gvisor, memory: 512m}\n", engine=DOCKER)
    assert statuses(report, "SW-09") == {"fail"}


def test_egress_is_a_manual_item(skills_root):
    policy = Policy(allowed_egress=("api.example.org:443",))
    report = audit(skills_root, CONTAINER + "container: {egress: ['api.example.org:443']}\n", policy=policy)
    assert statuses(report, "SW-22") == {"manual", "pass"}  # the socket mount passes, the list is manual
    assert "api.example.org:443" in of(report, "SW-22", "manual")[0].message


def test_egress_the_policy_does_not_allow_fails(skills_root):
    report = audit(skills_root, CONTAINER + "container: {egress: ['api.example.org:443']}\n")
    assert "fail" in statuses(report, "SW-22") and report.argv is None
    assert any("api.example.org:443" in f.message for f in of(report, "SW-22", "fail"))


def test_manual_items_are_always_listed(skills_root):
    report = audit(skills_root)
    assert statuses(report, "SW-65") == {"manual"} and statuses(report, "SW-66") == {"manual"}


# --- bundle files --------------------------------------------------------------------------------


def test_executable_file_warns_unless_it_is_the_command(skills_root):
    def chmod(folder: Path) -> None:
        os.chmod(folder / "tool.sh", 0o755)
        os.chmod(folder / "run.sh", 0o755)

    report = audit(skills_root, CONTAINER + "container: {command: [/skill/run.sh]}\n",
                   files={"tool.sh": "#!/bin/sh\n", "run.sh": "#!/bin/sh\n"}, prepare=chmod)
    assert [f.file for f in of(report, "SW-14", "warn")] == ["tool.sh"]


def test_setuid_file_fails(skills_root):
    report = audit(skills_root, files={"helper": "x"}, prepare=lambda f: os.chmod(f / "helper", 0o4755))
    assert [f.file for f in of(report, "SW-14", "fail")] == ["helper"]


def test_symlinks_warn_inside_and_fail_outside(skills_root):
    def links(folder: Path) -> None:
        (folder / "data.txt").write_text("x")
        os.symlink("data.txt", folder / "alias.txt")
        os.symlink("/etc/passwd", folder / "passwd")

    report = audit(skills_root, prepare=links)
    assert {(f.file, f.status) for f in of(report, "SW-15")} == {("alias.txt", "warn"), ("passwd", "fail")}


def test_special_file_fails_and_the_bundle_is_never_hashed(skills_root):
    # A built image's tag hashes the bundle; opening the fifo would block the audit forever.
    report = audit(skills_root, CONTAINER + "container: {build: Dockerfile}\n", files={"Dockerfile": "FROM x\n"},
                   prepare=lambda folder: os.mkfifo(folder / "pipe"))
    assert [f.file for f in of(report, "SW-15", "fail")] == ["pipe"]
    assert report.argv is None and any(f.id == "audit.special" for f in report.findings)


def test_large_binary_warns_and_large_text_does_not(skills_root):
    def blobs(folder: Path) -> None:
        (folder / "data").mkdir()
        (folder / "data" / "model.bin").write_bytes(b"\0\1" * (1024 * 1024))
        (folder / "data" / "words.txt").write_text("word\n" * 300000)

    report = audit(skills_root, prepare=blobs)
    assert [f.file for f in of(report, "SW-16", "warn")] == ["data/model.bin"]


# --- Python code ---------------------------------------------------------------------------------

HOSTILE = """\
import subprocess
import os as o
from urllib import request
from importlib import import_module
import ctypes, pickle
import re

def go(text):
    o.system("id")
    re.compile(text)
    eval(text)
    exec(text)
    compile(text, "x", "exec")
    __import__("socket")
    import_module("json")
    return subprocess.run(["true"])
"""


def test_each_code_pattern_is_found_with_its_line(skills_root):
    report = audit(skills_root, skill=HOSTILE)
    found = {(f.checklist, f.line) for f in report.findings if f.file == "skill.py" and f.status == "warn"}
    assert found == {("SW-60", 1), ("SW-60", 9), ("SW-61", 3), ("SW-63", 4), ("SW-62", 5), ("SW-63", 5),
                     ("SW-63", 11), ("SW-63", 12), ("SW-63", 13), ("SW-63", 14), ("SW-63", 15)}


def test_code_in_an_in_process_skill_is_high_severity(skills_root):
    report = audit(skills_root, "execution: in_process\n", skill="import socket\n")
    assert [(f.checklist, f.severity) for f in of(report, "SW-61", "warn")] == [("SW-61", "high")]


def test_sibling_modules_are_scanned_too(skills_root):
    report = audit(skills_root, skill="from helpers import go\n", files={"helpers.py": "import pty\n"})
    assert [(f.file, f.line) for f in of(report, "SW-60", "warn")] == [("helpers.py", 1)]


def test_a_file_that_does_not_parse_warns_with_its_line(skills_root):
    report = audit(skills_root, skill="def broken(:\n    pass\n")
    warned = of(report, "SW-64", "warn")
    assert warned and warned[0].file == "skill.py" and warned[0].line == 1


def test_the_skill_is_never_imported(skills_root, tmp_path):
    marker = tmp_path / "imported"
    audit(skills_root, skill=f"open({str(marker)!r}, 'w').write('x')\n")
    assert not marker.exists()


def test_harmless_names_are_not_flagged():
    source = "import re, json, os.path\nre.compile('x')\nos.path.join('a')\nmodel.eval()\nobj.exec_query()\n"
    assert scan_python(source, "s.py") == []


# --- output --------------------------------------------------------------------------------------


def test_json_output_has_the_documented_schema(skills_root):
    data = json.loads(render([audit(skills_root)], "json"))
    assert {"schema", "skill", "status", "argv", "flags", "findings", "probe", "engine", "policy", "counts",
            "image", "execution", "path"} == set(data)
    assert data["skill"] == "cat/thing" and data["status"] == "pass" and data["probe"] is None
    assert set(data["flags"][0]) == {"flag", "checklist"}
    assert all(set(f) == {"id", "checklist", "severity", "status", "message", "file", "line"}
               for f in data["findings"])
    assert {f["status"] for f in data["findings"]} <= {"pass", "fail", "warn", "manual"}


def test_json_for_several_skills_has_an_overall_status(skills_root):
    first = audit(skills_root)
    second = audit(skills_root, CONTAINER + "container: {memory: 1g}\n", skill_id="x/big",
                   policy=Policy(ceilings=Limits(memory=512 * 1024 * 1024)))
    data = json.loads(render([first, second], "json"))
    assert data["status"] == "fail" and [r["skill"] for r in data["reports"]] == ["cat/thing", "x/big"]


def test_markdown_is_a_pull_request_comment(skills_root):
    report = audit(skills_root, skill="import socket  # a | pipe\n")
    text = render([report], "markdown")
    assert text.startswith("### skillware audit: `cat/thing` — **PASS**")
    assert "| Item | Status | Severity | Check | Where | Finding |" in text
    assert "| SW-61 | warn | medium | `code.network` | skill.py:1 |" in text
    assert "<details><summary>Container argv" in text


def test_table_lists_failures_first_and_the_traced_argv(skills_root):
    report = audit(skills_root, CONTAINER + "container: {memory: 1g}\n",
                   policy=Policy(ceilings=Limits(memory=512 * 1024 * 1024)))
    text = render([report], "table")
    rows = [line for line in text.splitlines() if re.match(r"^(SW-\d\d|-)\s+(pass|fail|warn|manual)\s", line)]
    assert rows[0].split()[:2] == ["SW-37", "fail"]
    ok = render([audit(skills_root, skill_id="x/ok")], "table")
    assert "SW-01  --cap-drop all" in ok and "SW-20  --network none" in ok


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture
def fake_engine(monkeypatch):
    monkeypatch.setattr("skillware.engine.select_engine", lambda requested=None: PODMAN)


def run_cli(args: List[str]) -> Any:
    return CliRunner().invoke(cli, args)


def test_cli_exit_0_when_every_automatic_item_passes(skills_root, fake_engine):
    write_bundle(skills_root, "cat/ok", "name: cat/ok\n" + CONTAINER)
    result = run_cli(["--skills-dir", str(skills_root), "audit", "cat/ok", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "pass"


def test_cli_exit_1_on_a_failure_and_with_strict_on_a_warning(skills_root, fake_engine, tmp_path):
    write_bundle(skills_root, "cat/big", "name: cat/big\n" + CONTAINER + "container: {memory: 1g}\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("ceilings: {memory: 512m}\n")
    assert run_cli(["--skills-dir", str(skills_root), "audit", "--policy", str(policy), "cat/big"]).exit_code == 1
    write_bundle(skills_root, "cat/warns", "name: cat/warns\n" + CONTAINER, "import socket\n")
    assert run_cli(["--skills-dir", str(skills_root), "audit", "cat/warns"]).exit_code == 0
    assert run_cli(["--skills-dir", str(skills_root), "audit", "--strict", "cat/warns"]).exit_code == 1


def test_cli_all_covers_every_skill_of_the_roots(skills_root, fake_engine):
    write_bundle(skills_root, "cat/one", "name: cat/one\n" + CONTAINER)
    write_bundle(skills_root, "cat/broken", "name: cat/broken\ncontainer: {volumes: [/]}\n")
    result = run_cli(["--skills-dir", str(skills_root), "audit", "--all", "--format", "json"])
    data = json.loads(result.stdout)
    skills = {r["skill"]: r for r in data["reports"]}
    assert {"cat/one", "cat/broken", "compliance/example_skill", "text/wc_sh"} <= set(skills)
    assert skills["cat/broken"]["status"] == "fail" and "volumes" in skills["cat/broken"]["findings"][0]["message"]
    assert result.exit_code == 1 and data["status"] == "fail"


def test_cli_needs_a_skill_or_all(fake_engine):
    result = run_cli(["audit"])
    assert result.exit_code == 2 and "--all" in result.stderr


def test_cli_without_an_engine_is_one_clear_line(skills_root, monkeypatch):
    monkeypatch.setattr("skillware.engine.shutil.which", lambda name: None)
    result = run_cli(["audit", "text/word_stats"])
    assert result.exit_code == 5
    assert result.stderr.count("\n") == 1 and "no container engine works" in result.stderr
    assert "Traceback" not in result.stderr


# --- the checklist document ----------------------------------------------------------------------


def test_every_checklist_item_is_in_security_checklist_md_with_its_mode():
    text = (REPO / "SECURITY_CHECKLIST.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if re.match(r"^\| SW-\d\d \|", line)}
    assert set(rows) == {item.id for item in CHECKLIST}
    for item in CHECKLIST:
        cells = [c.strip() for c in rows[item.id].split("|")]
        assert cells[-2].split()[0] == item.mode, item.id
        for ref in filter(None, item.cis.split(", ")):
            assert ref in rows[item.id], (item.id, ref)


def test_image_digest_pinned_by_skillware_lock_passes(skills_root):
    from skillware.lockfile import lock_entry, lock_path, write_lock

    folder = write_bundle(skills_root, "cat/locked", "name: cat/locked\n" + CONTAINER)
    bundle = Bundle(id="cat/locked", path=folder.resolve(), root=skills_root)
    manifest = load_manifest(bundle)
    image = "localhost/skillware-python:3.11"
    write_lock(lock_path(), {"cat/locked": lock_entry(bundle, manifest, image, {"podman": "sha256:" + "b" * 64})})
    report = audit_bundle(bundle, manifest, Policy(), PODMAN)
    assert statuses(report, "SW-50") == {"pass"} and "skillware.lock" in of(report, "SW-50")[0].message
    (folder / "skill.py").write_text("changed = True\n")
    assert statuses(audit_bundle(bundle, manifest, Policy(), PODMAN), "SW-50") == {"warn"}
