"""Store the plan of a CLI container run for the next identical cold run (see cold_plan.py)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Dict, List, Sequence, Tuple

from . import cold_plan
from .argv import build_run_argv
from .audit_log import argv_hash, log_file
from .bundle import NAMED_FILES, Bundle, root_candidates, skill_roots
from .container_ids import OWNER_LABEL
from .container_spec import ContainerSpec, spec_to_plain
from .engine import ENGINES, EngineProbe
from .lockfile import lock_path
from .manifest import Manifest
from .policy import Policy
from .policy_file import policy_candidates
from .runners.gc import GC_INTERVAL_SECONDS, stamp_path

PlanKeyOptions = Tuple[Any, ...]


class PlanRecorder:
    """Given to the container runner; stores the plan once the run is planned and checked."""

    def __init__(self, options: PlanKeyOptions, bundle: Bundle, manifest: Manifest, policy: Policy,
                 warnings: Sequence[str], started: float) -> None:
        """`started`: when planning began, before any input was read."""
        self.options, self.bundle, self.manifest, self.policy = options, bundle, manifest, policy
        self.warnings = list(warnings)
        self.started = started
        self.stored = False

    def __call__(self, probe: EngineProbe, spec: ContainerSpec, argv: List[str], decisions: Sequence[str]) -> None:
        if self.bundle.root is None or self.manifest.container.build or spec.egress:
            return  # a folder path, an image built from the bundle, or an egress proxy: always planned anew
        template = template_argv(spec)
        if cold_plan.fill_argv(template, spec.name, spec.user, dict(spec.labels)[OWNER_LABEL]) != argv:
            return
        warnings = list(self.warnings)
        if not spec.limits_enforced:
            warnings.append(next(d for d in spec.decisions if "NOT enforced" in d))
        plan: Dict[str, Any] = {
            "skill": self.manifest.id, "bundle": str(self.bundle.path), "argv": template,
            "engine": spec.engine, "engine_path": spec.engine_path, "image": spec.image,
            "argv_hash": argv_hash(argv), "decisions": list(decisions), "warnings": warnings,
            "timeout": spec.limits.timeout, "output": spec.limits.output, "stderr_cap": self.policy.stderr_cap,
            "audit_log": log_file(self.policy.audit_log), "parameters": self.manifest.parameters,
            "output_schema": self.manifest.output, "manifest_raw": dict(self.manifest.raw),
            "granted": list(spec.granted_env), "envelope": spec.stdin_envelope, "env_lines": spec.stdin_env_lines,
            "image_index": probe.image_index, "gc_stamp": gc_stamp(probe), "gc_interval": GC_INTERVAL_SECONDS,
            "spec": spec_to_plain(spec),
        }
        facts = plan_facts(self.options, self.bundle, self.policy, probe)
        self.stored = cold_plan.store(self.options, facts, plan, self.started)


def template_argv(spec: ContainerSpec) -> List[str]:
    labels = tuple((k, cold_plan.OWNER if k == OWNER_LABEL else v) for k, v in spec.labels)
    return build_run_argv(replace(spec, name=cold_plan.NAME, user=cold_plan.USER, labels=labels))


def gc_stamp(probe: EngineProbe) -> str:
    return str(stamp_path(probe))


def plan_facts(options: PlanKeyOptions, bundle: Bundle, policy: Policy, probe: EngineProbe) -> List[cold_plan.Fact]:
    """Every input the plan was decided from, as facts a later run can re-check cheaply."""
    skill, _, engine, _, _, policy_path, skills_dirs = options
    facts: List[cold_plan.Fact] = [("bytes", str(path)) for path in policy_candidates(policy_path)]
    facts.append(("bytes", str(lock_path())))          # there was no lock file; one appearing is a miss
    facts += [("node", str(path)) for path in root_candidates(skills_dirs)]
    facts.append(("node", os.path.join(os.path.expanduser(skill), "manifest.yaml")))  # a folder of that name
    category, name = bundle.id.split("/")
    for root in skill_roots(skills_dirs):
        facts.append(("node", str(root / category / name / "manifest.yaml")))
        if root == bundle.root:
            facts.append(("node", str(root / category / name)))
            break
    facts += [("node", str(bundle.path / named)) for named in NAMED_FILES]
    facts.append(("bytes", str(bundle.manifest_path)))
    requested = engine or policy.engine
    names = [requested] if requested else list(ENGINES[:ENGINES.index(probe.name) + 1])
    facts += [("which", n) for n in names]
    facts.append(("stat", probe.path))
    return facts
