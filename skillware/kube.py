"""ContainerSpec → Kubernetes objects: a Job whose pod matches `build_run_argv` point by point.

The spec comes from the same `plan_container` every container path uses, with an engine probe
that stands for a Kubernetes cluster (rootful, limits enforced), so what policy refuses for
`skillware run` it refuses here too. Reading the bundle is the only effect; rendering is pure.
See docs/kubernetes.md for the flag-by-flag mapping and what has no pod equivalent.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .bundle import Bundle
from .container_ids import MANAGED_LABEL
from .container_spec import (
    BASE_SKILL_SOURCE,
    SHIM_COMMAND,
    SHIM_SOURCE,
    ContainerSpec,
    plan_container,
)
from .engine import EngineProbe
from .errors import BundleError, EngineError
from .manifest import Manifest
from .policy import Policy

# What a cluster is to the planner: rootful, cgroup limits enforced by the kubelet, no runsc.
KUBERNETES_PROBE = EngineProbe(
    name="kubernetes", path="kubectl", version="", rootless=False, cgroup_version="v2", cgroup_manager="",
    default_runtime="", runtimes=(), seccomp=True, controllers=("memory", "pids", "cpu"),
)
# ConfigMaps are capped at 1 MiB as a whole object; leave room for metadata and YAML quoting.
BUNDLE_CONFIGMAP_MAX = 900 * 1024
SECCOMP_LOCALHOST_PROFILE = "skillware.json"
TTL_AFTER_FINISHED = 300
PARAMS_DIR = "/run/skillware-params"
PARAMS_KEY = "params.json"
SKILL_LABEL = "io.skillware.skill"
RUN_LABEL = "io.skillware.run"
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache"}
_PLACEHOLDER = "set-by-secret"  # a stand-in value so the planner grants declared vars exactly as for a run


@dataclass(frozen=True)
class BundleFile:
    """One bundle file as it goes into the bundle ConfigMap."""

    path: str          # relative, POSIX
    content: bytes
    executable: bool


def plan_for_kubernetes(bundle: Bundle, manifest: Manifest, policy: Policy,
                        image: Optional[str] = None) -> ContainerSpec:
    """plan_container for a cluster; refuses what a pod cannot reproduce (egress proxy, custom commands)."""
    if manifest.container.build and not image:
        raise EngineError(f"{manifest.id} builds its own image (container.build), which a cluster cannot build",
                          "skillware build the skill, push the image to your registry and pass --image")
    declared = {var.name: _PLACEHOLDER for var in manifest.env_vars}
    spec = plan_container(bundle, manifest, policy, KUBERNETES_PROBE, image=image, caller_env=declared)
    if spec.egress:
        raise EngineError(f"{manifest.id} declares container.egress, and kube render has no per-run egress proxy",
                          "run it with skillware run; in a cluster the NetworkPolicy denies all egress")
    if spec.command != SHIM_COMMAND:
        raise EngineError(f"{manifest.id} has a custom container.command, which reads its params on stdin; "
                          "a Job has none", "kube render supports skills run by the Python shim (skill.py)")
    return spec


def read_bundle_files(bundle: Bundle, limit: int = BUNDLE_CONFIGMAP_MAX) -> List[BundleFile]:
    """The bundle's regular files (caches skipped), refusing symlinks, special files and a total over `limit`."""
    found: List[BundleFile] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(bundle.path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(bundle.path).as_posix()
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                raise BundleError(f"{bundle.id}: {rel} is not a regular file; a ConfigMap holds only files",
                                  "replace the link with a copy, or bake the bundle into an image")
            content = path.read_bytes()
            total += _encoded_size(content)
            if total >= limit:
                raise BundleError(f"{bundle.id}: the bundle is over {limit // 1024} KiB, too large for a ConfigMap",
                                  "bake the bundle into an image (container.build, then skillware build) "
                                  "and run that image instead")
            found.append(BundleFile(rel, content, bool(mode & 0o111)))
    return found


def _encoded_size(content: bytes) -> int:
    try:
        content.decode("utf-8")
        return len(content)
    except UnicodeDecodeError:
        return (len(content) + 2) // 3 * 4


def render_objects(spec: ContainerSpec, manifest: Manifest, files: Sequence[BundleFile], params: Dict[str, Any],
                   namespace: str = "default") -> List[Dict[str, Any]]:
    """The Job, its deny-all NetworkPolicy and the three ConfigMaps (params, bundle, shim), in apply order."""
    name = spec.name
    labels = run_labels(spec, manifest)
    configmaps = [
        _configmap(f"{name}-params", namespace, labels, {PARAMS_KEY: json.dumps(
            {"skillware": "1", "params": params, "manifest": dict(manifest.raw)}, ensure_ascii=False, indent=1)}, {}),
        _configmap(f"{name}-bundle", namespace, labels, *_bundle_data(files)),
        _configmap(f"{name}-shim", namespace, labels, {"shim.py": SHIM_SOURCE.read_text(encoding="utf-8"),
                                                       "base_skill.py": BASE_SKILL_SOURCE.read_text(encoding="utf-8")},
                   {}),
    ]
    return [*configmaps, network_policy(spec, manifest, namespace), job(spec, manifest, files, namespace)]


def run_labels(spec: ContainerSpec, manifest: Manifest) -> Dict[str, str]:
    """Labels on every object of one render (label values cannot hold '/': the id is also an annotation)."""
    return {MANAGED_LABEL: "1", SKILL_LABEL: label_value(manifest.id), RUN_LABEL: spec.name}


def label_value(text: str) -> str:
    """`text` as a valid label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends."""
    return re.sub(r"[^A-Za-z0-9_.-]", ".", text)[:63].strip("-_.")


def secret_name(manifest: Manifest) -> str:
    """The one Secret a skill's declared env vars come from: skillware-env-CATEGORY-NAME."""
    return ("skillware-env-" + re.sub(r"[^a-z0-9]+", "-", manifest.id.lower()).strip("-"))[:253]


def _configmap(name: str, namespace: str, labels: Mapping[str, str], data: Dict[str, str],
               binary: Dict[str, str]) -> Dict[str, Any]:
    cm: Dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
                          "immutable": True, "data": data}
    if binary:
        cm["binaryData"] = binary
    return cm


def _bundle_key(index: int, path: str) -> str:
    """ConfigMap keys allow no '/': a numbered, readable key; the volume's items restore the path."""
    return f"f{index:04d}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path.rsplit("/", 1)[-1])[:200]


def _bundle_data(files: Sequence[BundleFile]) -> Tuple[Dict[str, str], Dict[str, str]]:
    data: Dict[str, str] = {}
    binary: Dict[str, str] = {}
    for index, item in enumerate(files):
        key = _bundle_key(index, item.path)
        try:
            data[key] = item.content.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(item.content).decode("ascii")
    return data, binary


def network_policy(spec: ContainerSpec, manifest: Manifest, namespace: str) -> Dict[str, Any]:
    """No ingress and no egress at all for the run's pod (the pod's answer to --network none)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": spec.name, "namespace": namespace, "labels": run_labels(spec, manifest)},
            "spec": {"podSelector": {"matchLabels": {RUN_LABEL: spec.name}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}}


def _quantity_cpu(cpus: float) -> str:
    return f"{max(1, round(cpus * 1000))}m"


def security_context(spec: ContainerSpec) -> Dict[str, Any]:
    """The container's securityContext: --user, --read-only, --cap-drop all, no-new-privileges, seccomp."""
    uid, _, gid = spec.user.partition(":")
    return {
        "runAsNonRoot": True, "runAsUser": int(uid), "runAsGroup": int(gid or uid),
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "Localhost", "localhostProfile": SECCOMP_LOCALHOST_PROFILE},
    }


def env_list(spec: ContainerSpec, manifest: Manifest) -> List[Dict[str, Any]]:
    """Contract variables as values; declared env vars only as Secret references (never values)."""
    env: List[Dict[str, Any]] = [{"name": k, "value": v} for k, v in spec.env]
    env.append({"name": "SKILLWARE_PARAMS_FILE", "value": f"{PARAMS_DIR}/{PARAMS_KEY}"})
    env.append({"name": "SKILLWARE_ENV_VARS", "value": ",".join(spec.granted_env)})
    required = {var.name for var in manifest.env_vars if var.required}
    for var in spec.granted_env:
        env.append({"name": var, "valueFrom": {"secretKeyRef": {
            "name": secret_name(manifest), "key": var, "optional": var not in required}}})
    return env


def job(spec: ContainerSpec, manifest: Manifest, files: Sequence[BundleFile], namespace: str) -> Dict[str, Any]:
    """The Job: one pod, one try, deadline = timeout, removed TTL_AFTER_FINISHED seconds after it ends."""
    limits = spec.limits
    resources = {"memory": str(limits.memory), "cpu": _quantity_cpu(limits.cpus)}
    container = {
        "name": "skill",
        "image": spec.image,
        # A localhost/ image exists only in the node's store (the argv's --pull never).
        "imagePullPolicy": "Never" if spec.image.startswith("localhost/") else "IfNotPresent",
        "command": list(spec.command),
        "workingDir": "/tmp",
        "env": env_list(spec, manifest),
        "resources": {"limits": dict(resources), "requests": dict(resources)},
        "securityContext": security_context(spec),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "bundle", "mountPath": "/skill", "readOnly": True},
            {"name": "shim", "mountPath": "/opt/skillware", "readOnly": True},
            {"name": "params", "mountPath": PARAMS_DIR, "readOnly": True},
        ],
        "stdin": False, "tty": False,
    }
    uid, _, gid = spec.user.partition(":")
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False, "hostPID": False, "hostIPC": False,
        "shareProcessNamespace": False,
        "hostname": "skillware",
        "securityContext": {"runAsNonRoot": True, "runAsUser": int(uid), "runAsGroup": int(gid or uid),
                            "seccompProfile": {"type": "Localhost",
                                               "localhostProfile": SECCOMP_LOCALHOST_PROFILE}},
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": str(limits.tmpfs)}},
            {"name": "bundle", "configMap": {"name": f"{spec.name}-bundle", "defaultMode": 0o444, "items": [
                {"key": _bundle_key(i, f.path), "path": f.path, "mode": 0o555 if f.executable else 0o444}
                for i, f in enumerate(files)]}},
            # The argv's two file mounts, as one volume holding exactly those two paths.
            {"name": "shim", "configMap": {"name": f"{spec.name}-shim", "defaultMode": 0o444, "items": [
                {"key": "shim.py", "path": "shim.py"},
                {"key": "base_skill.py", "path": "skillware/core/base_skill.py"}]}},
            {"name": "params", "configMap": {"name": f"{spec.name}-params", "defaultMode": 0o444}},
        ],
    }
    labels = run_labels(spec, manifest)
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": labels,
                     "annotations": {SKILL_LABEL: manifest.id}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, math.ceil(limits.timeout)),
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
            "template": {"metadata": {"labels": labels, "annotations": {SKILL_LABEL: manifest.id}},
                         "spec": pod_spec},
        },
    }


def pod_from_job(job_object: Mapping[str, Any]) -> Dict[str, Any]:
    """The Job's pod template as a Pod document (for `podman kube play`, which takes no Jobs)."""
    template = job_object["spec"]["template"]
    metadata = {**template["metadata"], "name": job_object["metadata"]["name"],
                "namespace": job_object["metadata"]["namespace"]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": dict(template["spec"])}


def to_yaml(objects: Sequence[Mapping[str, Any]]) -> str:
    """Multi-document YAML; multi-line strings (file contents) as literal blocks, so they stay readable."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # the same labels dict in several places: spelled out, no &anchors

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # A block that starts with a space or newline needs an indentation indicator (`|2`), which
        # Go's YAML (kubectl, podman) reads differently inside a list, and so are PyYAML's multi-line
        # plain or single-quoted scalars: those go on one double-quoted line instead.
        style = None
        if "\n" in value:
            style = '"' if value[:1].isspace() else "|"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump_all(list(objects), Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                         width=1 << 30)  # no folded lines, whose continuation Go's YAML can misread
