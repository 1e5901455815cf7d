"""`skillware audit`: a reviewer's report of one skill against SECURITY_CHECKLIST.md.

Static: the manifest, the policy and the bundle's files and code, and the exact container argv
`run --isolated` would execute (plan_container + build_run_argv, the same pure step), each option
traced to its checklist item. Dynamic (probe=True): a posture probe run inside that container.
A report passes when no automatic item fails; warnings and manual items are for the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .audit_checklist import CHECKLIST, Finding, finding
from .audit_static import FlagTrace
from .bundle import Bundle
from .engine import EngineProbe
from .errors import EngineError, Interrupted, PolicyError, SkillwareError
from .manifest import Manifest
from .policy import Policy

SCHEMA_VERSION = 1
_STATUS_ORDER = {"fail": 0, "warn": 1, "manual": 2, "pass": 3}


@dataclass(frozen=True)
class AuditReport:
    """Everything the audit found about one skill; `to_json` is the documented output schema."""

    skill: str
    path: str
    execution: str
    image: Optional[str]
    engine: Optional[Dict[str, Any]]
    policy: Optional[str]
    argv: Optional[List[str]]
    flags: Tuple[FlagTrace, ...]
    findings: Tuple[Finding, ...]
    probe: Optional[Dict[str, Any]] = field(default=None)

    @property
    def status(self) -> str:
        """"fail" when any finding fails, else "pass" (warn and manual do not fail a report)."""
        return "fail" if any(f.status == "fail" for f in self.findings) else "pass"

    def counts(self) -> Dict[str, int]:
        return {s: sum(1 for f in self.findings if f.status == s) for s in ("fail", "warn", "manual", "pass")}

    def to_json(self) -> Dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION, "skill": self.skill, "status": self.status, "path": self.path,
            "execution": self.execution, "image": self.image, "engine": self.engine, "policy": self.policy,
            "counts": self.counts(), "argv": self.argv,
            "flags": [{"flag": t.flag, "checklist": t.checklist} for t in self.flags],
            "findings": [{"id": f.id, "checklist": f.checklist, "severity": f.severity, "status": f.status,
                          "message": f.message, "file": f.file, "line": f.line} for f in self.findings],
            "probe": self.probe,
        }


def _sorted(findings: Sequence[Finding]) -> Tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.checklist or "", _STATUS_ORDER[f.status])))


def _manual_items(findings: Sequence[Finding]) -> List[Finding]:
    covered = {f.checklist for f in findings}
    return [finding(f"manual.{item.id}", item.id, "manual", item.title) for item in CHECKLIST
            if item.mode == "manual" and item.id not in covered]


def effective_image(bundle: Bundle, manifest: Manifest, policy: Policy) -> Tuple[str, bool]:
    """The image `run` would use, without building anything; and whether it is built from the bundle."""
    from .bundle_hash import bundle_hash
    from .container_spec import bundle_image_tag

    if manifest.container.build:
        return bundle_image_tag(bundle, bundle_hash(bundle.path)), True
    return manifest.container.image or policy.image, False


def locked_digest(bundle: Bundle, image: str, engine: str) -> Optional[str]:
    """The image digest skillware.lock pins for this skill on this engine, if the lock covers it unchanged."""
    from .lockfile import check_bundle, lock_path, read_lock

    path = lock_path()
    try:
        document = read_lock(path)
        entry = check_bundle(document, path, bundle) if document is not None else None
    except SkillwareError:
        return None  # not locked, or changed since: `run` refuses it, and the image is not pinned
    if entry is None or entry.get("image") != image:
        return None
    digest = (entry.get("image_digests") or {}).get(engine)
    return str(digest) if digest else None


def _engine_json(probe: EngineProbe) -> Dict[str, Any]:
    return {"name": probe.name, "version": probe.version, "rootless": probe.rootless,
            "cgroup": probe.cgroup_version, "limits_enforced": probe.limits_enforced}


def audit_bundle(bundle: Bundle, manifest: Manifest, policy: Policy, engine: EngineProbe, *,
                 probe: bool = False) -> AuditReport:
    """Audit one loaded skill on one engine (probe=True also runs the posture probe container)."""
    from .argv import build_run_argv
    from .audit_code import bundle_findings, code_findings
    from .audit_static import manifest_findings, plan_findings, trace_argv
    from .container_spec import plan_container

    in_process = manifest.execution != "container" and not policy.requires_isolation(manifest.id)
    findings = manifest_findings(manifest, policy, bundle.path)
    file_findings, python_files = bundle_findings(bundle.path, manifest.container.command or ())
    findings += file_findings + code_findings(bundle.path, python_files, in_process)
    if any(f.id in ("files.special", "files.read") for f in file_findings):
        # Hashing the bundle (built image tag, lock check) would open a fifo and block forever.
        findings.append(finding("audit.special", None, "fail", "the bundle holds special files: the container "
                                "was not planned; remove them (SW-15)", severity="high"))
        findings += _manual_items(findings)
        return AuditReport(skill=manifest.id, path=str(bundle.path), execution=manifest.execution, image=None,
                           engine=_engine_json(engine), policy=policy.source, argv=None, flags=(),
                           findings=_sorted(findings))
    image, built = effective_image(bundle, manifest, policy)
    # Every declared variable counts as set: the argv shows the most a run could pass in.
    worst_env = {var.name: "set" for var in manifest.env_vars}
    argv: Optional[List[str]] = None
    traces: List[FlagTrace] = []
    probe_json: Optional[Dict[str, Any]] = None
    try:
        spec = plan_container(bundle, manifest, policy, engine, allow_unenforced_limits=True, image=image,
                              caller_env=worst_env)
    except PolicyError as exc:
        item_id = "SW-51" if "allowed_images" in exc.message else "SW-22" if "egress" in exc.message else "SW-37"
        findings.append(finding("policy.refused", item_id, "fail", f"run would refuse: {exc.one_line()}"))
    except EngineError as exc:
        findings.append(finding("engine.refused", "SW-09", "fail", f"cannot run on {engine.name}: {exc.one_line()}"))
    else:
        argv = build_run_argv(spec)
        traces, argv_findings = trace_argv(argv, spec, manifest, str(bundle.path))
        findings += argv_findings + plan_findings(manifest, policy, engine, spec, built,
                                                  locked_digest(bundle, image, engine.name))
        if probe:
            probe_json, probe_results = _probe(bundle, manifest, policy, engine, spec)
            findings += probe_results
    findings += _manual_items(findings)
    return AuditReport(skill=manifest.id, path=str(bundle.path), execution=manifest.execution, image=image,
                       engine=_engine_json(engine), policy=policy.source, argv=argv, flags=tuple(traces),
                       findings=_sorted(findings), probe=probe_json)


def _probe(bundle: Bundle, manifest: Manifest, policy: Policy, engine: EngineProbe, spec: Any
           ) -> Tuple[Dict[str, Any], List[Finding]]:
    from .audit_probe import probe_findings, run_probe
    from .images import image_for
    from .runners.preflight import check_readable

    image_for(bundle, manifest, engine, policy)  # builds a bundle's Dockerfile image when missing, as `run` does
    check_readable(bundle.path)
    result = run_probe(spec)
    return result.to_json(), probe_findings(result, spec)


def error_report(skill: str, path: str, exc: SkillwareError) -> AuditReport:
    """A report for a skill that could not be audited at all (invalid manifest, unreadable bundle …)."""
    failed = finding("audit.error", None, "fail", f"{exc.kind} error: {exc.one_line()}", severity="high")
    return AuditReport(skill=skill, path=path, execution="unknown", image=None, engine=None, policy=None,
                       argv=None, flags=(), findings=(failed,))


def audit_skills(skills: Sequence[str], *, all_skills: bool = False, skills_dirs: Sequence[str] = (),
                 policy: Optional[Policy] = None, engine: Optional[str] = None,
                 probe: bool = False) -> List[AuditReport]:
    """Audit skills by id or folder (and with all_skills, every skill of the roots).

    One skill asked for by name raises its error (exit code by kind); with several, each error
    becomes that skill's failing report so the others are still audited.
    """
    from .bundle import iter_bundles, resolve, skill_roots
    from .engine import select_engine
    from .manifest import load_manifest
    from .policy_file import load_policy

    policy = policy or load_policy()
    roots = skill_roots(skills_dirs)
    probe_engine = select_engine(engine or policy.engine)
    several = all_skills or len(skills) > 1
    targets: List[Tuple[str, Optional[Bundle]]] = [(s, None) for s in skills]
    if all_skills:
        targets += [(b.id, b) for b, shadowed in iter_bundles(roots) if not shadowed]
    reports: List[AuditReport] = []
    for name, bundle in targets:
        try:
            bundle = bundle or resolve(name, roots)
            reports.append(audit_bundle(bundle, load_manifest(bundle), policy, probe_engine, probe=probe))
        except SkillwareError as exc:
            if not several or isinstance(exc, Interrupted):
                raise
            reports.append(error_report(name, str(bundle.path) if bundle else name, exc))
    return reports
