"""kube render: every object is valid Kubernetes, and the pod matches the container argv point by point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from skillware.api import prepare
from skillware.argv import build_run_argv
from skillware.bundle import Bundle
from skillware.cli.main import cli
from skillware.container_spec import PACKAGE_DIR, ContainerSpec, plan_container
from skillware.errors import BundleError, EngineError, PolicyError
from skillware.kube import (
    KUBERNETES_PROBE,
    plan_for_kubernetes,
    pod_from_job,
    read_bundle_files,
    render_objects,
    secret_name,
    to_yaml,
)
from skillware.manifest import Manifest
from skillware.policy import Policy

# The newest Kubernetes whose schemas the pinned kubernetes-validate ships (offline, strict).
KUBE_VERSION = "1.37.0"
PARAMS = {"text": "call +44 20 7946 0958"}


def bundle_at(folder: Path) -> tuple[Bundle, Manifest]:
    return prepare(str(folder))


def rendered(bundle: Bundle, manifest: Manifest, policy: Optional[Policy] = None,
             params: Optional[Dict[str, Any]] = None) -> tuple[ContainerSpec, List[Dict[str, Any]]]:
    spec = plan_for_kubernetes(bundle, manifest, policy or Policy())
    return spec, render_objects(spec, manifest, read_bundle_files(bundle), params or {}, "skills")


@pytest.fixture
def example() -> tuple[ContainerSpec, List[Dict[str, Any]]]:
    bundle, manifest = prepare("compliance/example_skill")
    return rendered(bundle, manifest, params=PARAMS)


def kind(objects: List[Dict[str, Any]], name: str) -> Dict[str, Any]:
    return next(o for o in objects if o["kind"] == name)


def container_of(objects: List[Dict[str, Any]]) -> Dict[str, Any]:
    pod: Dict[str, Any] = kind(objects, "Job")["spec"]["template"]["spec"]
    return pod["containers"][0]  # type: ignore[no-any-return]


def test_every_object_validates_against_the_kubernetes_schemas_strictly(example):
    _, objects = example
    assert [o["kind"] for o in objects] == ["ConfigMap", "ConfigMap", "ConfigMap", "NetworkPolicy", "Job"]
    for obj in objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    kubernetes_validate.validate(pod_from_job(objects[-1]), KUBE_VERSION, strict=True)


def test_strict_validation_rejects_a_field_kubernetes_does_not_know(example):
    _, objects = example
    job = kind(objects, "Job")
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["noSuchField"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBE_VERSION, strict=True)


def test_yaml_output_round_trips_to_the_same_objects(example):
    _, objects = example
    assert list(yaml.safe_load_all(to_yaml(objects))) == objects


def test_container_drops_every_capability_and_cannot_escalate(example):
    context = container_of(example[1])["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True


def test_pod_runs_as_the_specs_fixed_non_root_uid(example):
    spec, objects = example
    uid = int(spec.user.split(":")[0])
    pod = kind(objects, "Job")["spec"]["template"]["spec"]
    for context in (pod["securityContext"], container_of(objects)["securityContext"]):
        assert (context["runAsNonRoot"], context["runAsUser"], context["runAsGroup"]) == (True, uid, uid)
    assert ["--user", spec.user] == [a for a in build_run_argv(spec) if a in ("--user", spec.user)]


def test_seccomp_is_the_operator_installed_skillware_profile(example):
    pod = kind(example[1], "Job")["spec"]["template"]["spec"]
    expected = {"type": "Localhost", "localhostProfile": "skillware.json"}
    assert pod["securityContext"]["seccompProfile"] == expected
    assert container_of(example[1])["securityContext"]["seccompProfile"] == expected


def test_limits_and_requests_equal_the_specs_memory_and_cpus(example):
    spec, objects = example
    resources = container_of(objects)["resources"]
    expected = {"memory": str(spec.limits.memory), "cpu": f"{round(spec.limits.cpus * 1000)}m"}
    assert resources == {"limits": expected, "requests": expected}
    argv = build_run_argv(spec)
    assert argv[argv.index("--memory") + 1] == str(spec.limits.memory)


def test_tmp_is_a_memory_emptydir_of_the_tmpfs_size(example):
    spec, objects = example
    volumes = {v["name"]: v for v in kind(objects, "Job")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory", "sizeLimit": str(spec.limits.tmpfs)}
    assert {"name": "tmp", "mountPath": "/tmp"} in container_of(objects)["volumeMounts"]


def test_job_runs_once_within_the_timeout_and_is_removed_after(example):
    spec, objects = example
    job = kind(objects, "Job")["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == int(spec.limits.timeout)
    assert job["ttlSecondsAfterFinished"] == 300
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_pod_shares_nothing_with_the_node_or_the_cluster(example):
    pod = kind(example[1], "Job")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert (pod["hostNetwork"], pod["hostPID"], pod["hostIPC"]) == (False, False, False)


def test_network_policy_denies_all_ingress_and_egress_for_the_runs_pod(example):
    spec, objects = example
    policy = kind(objects, "NetworkPolicy")["spec"]
    assert policy == {"podSelector": {"matchLabels": {"io.skillware.run": spec.name}},
                      "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}
    pod_labels = kind(objects, "Job")["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["io.skillware.run"] == spec.name


def test_objects_carry_the_managed_and_skill_labels(example):
    for obj in example[1]:
        labels = obj["metadata"]["labels"]
        assert labels["io.skillware.managed"] == "1"
        assert labels["io.skillware.skill"] == "compliance.example_skill"  # a label value holds no '/'
    assert kind(example[1], "Job")["metadata"]["annotations"]["io.skillware.skill"] == "compliance/example_skill"


def test_bundle_shim_and_params_are_mounted_read_only(example):
    mounts = {m["mountPath"]: m for m in container_of(example[1])["volumeMounts"]}
    for path in ("/skill", "/opt/skillware", "/run/skillware-params"):
        assert mounts[path]["readOnly"] is True
    volumes = {v["name"]: v for v in kind(example[1], "Job")["spec"]["template"]["spec"]["volumes"]}
    assert [i["path"] for i in volumes["shim"]["configMap"]["items"]] == ["shim.py", "skillware/core/base_skill.py"]


def test_contract_env_is_plain_and_the_shim_reads_params_from_the_file(example):
    spec, objects = example
    env = {e["name"]: e.get("value") for e in container_of(objects)["env"]}
    for name, value in spec.env:
        assert env[name] == value
    assert env["SKILLWARE_PARAMS_FILE"] == "/run/skillware-params/params.json"
    params_map = kind(objects, "ConfigMap")
    document = json.loads(params_map["data"]["params.json"])
    assert document["params"] == PARAMS and "env" not in document


def test_command_is_the_specs_command(example):
    spec, objects = example
    assert container_of(objects)["command"] == list(spec.command) == ["python3", "/opt/skillware/shim.py"]


def test_env_vars_come_only_from_secret_references(make_bundle):
    folder = make_bundle("cat/keys", "name: cat/keys\nenv_vars: {API_TOKEN: {required: true}, OTHER: {}}\n")
    bundle, manifest = bundle_at(folder)
    spec, objects = rendered(bundle, manifest)
    env = {e["name"]: e for e in container_of(objects)["env"]}
    assert env["API_TOKEN"] == {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "skillware-env-cat-keys", "key": "API_TOKEN", "optional": False}}}
    assert env["OTHER"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env["SKILLWARE_ENV_VARS"]["value"] == "API_TOKEN,OTHER"
    assert secret_name(manifest) == "skillware-env-cat-keys"


def test_env_vars_the_policy_withholds_are_not_referenced(make_bundle):
    folder = make_bundle("cat/keys", "name: cat/keys\nenv_vars: {API_TOKEN: {}, OTHER: {}}\n")
    bundle, manifest = bundle_at(folder)
    _, objects = rendered(bundle, manifest, Policy(allowed_env_vars=("API_*",)))
    names = [e["name"] for e in container_of(objects)["env"]]
    assert "API_TOKEN" in names and "OTHER" not in names


def test_policy_refusals_are_those_of_a_container_run(make_bundle):
    folder = make_bundle("cat/big", "name: cat/big\ncontainer: {memory: 4g}\n")
    bundle, manifest = bundle_at(folder)
    with pytest.raises(PolicyError) as kube_refusal:
        plan_for_kubernetes(bundle, manifest, Policy())
    with pytest.raises(PolicyError) as run_refusal:
        plan_container(bundle, manifest, Policy(), KUBERNETES_PROBE, caller_env={})
    assert kube_refusal.value.message == run_refusal.value.message


def test_an_image_outside_allowed_images_is_refused(make_bundle):
    bundle, manifest = bundle_at(make_bundle("cat/img"))
    with pytest.raises(PolicyError, match="allowed_images"):
        plan_for_kubernetes(bundle, manifest, Policy(allowed_images=("localhost/*",)), image="docker.io/evil:1")


def test_egress_skills_are_refused(make_bundle):
    folder = make_bundle("cat/net", "name: cat/net\ncontainer: {egress: ['api.example.org:443']}\n")
    bundle, manifest = bundle_at(folder)
    with pytest.raises(EngineError, match="egress"):
        plan_for_kubernetes(bundle, manifest, Policy(allowed_egress=("api.example.org:443",)))


def test_custom_commands_are_refused(make_bundle):
    folder = make_bundle("cat/sh", "name: cat/sh\ncontainer: {command: [sh, /skill/run.sh]}\n")
    bundle, manifest = bundle_at(folder)
    with pytest.raises(EngineError, match="stdin"):
        plan_for_kubernetes(bundle, manifest, Policy())


def test_gvisor_is_refused_as_for_any_engine_without_runsc(make_bundle):
    folder = make_bundle("cat/gv", "name: cat/gv\ncontainer: {isolation: gvisor, memory: 512m}\n")
    bundle, manifest = bundle_at(folder)
    with pytest.raises(EngineError, match="gVisor"):
        plan_for_kubernetes(bundle, manifest, Policy())


def test_a_bundle_over_the_configmap_limit_is_refused(make_bundle):
    folder = make_bundle("cat/huge", files={"data.txt": "x" * (900 * 1024)})
    bundle, _ = bundle_at(folder)
    with pytest.raises(BundleError, match="too large for a ConfigMap"):
        read_bundle_files(bundle)


def test_nested_binary_and_executable_files_keep_path_bytes_and_mode(make_bundle):
    folder = make_bundle("cat/files", files={"lib/helper.py": "X = 1\n"})
    (folder / "blob.bin").write_bytes(b"\xff\x00\xfe")
    (folder / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(folder / "run.sh", 0o755)
    bundle, manifest = bundle_at(folder)
    _, objects = rendered(bundle, manifest)
    bundle_map = next(o for o in objects if o["metadata"]["name"].endswith("-bundle"))
    volume = next(v for v in kind(objects, "Job")["spec"]["template"]["spec"]["volumes"] if v["name"] == "bundle")
    items = {i["path"]: i for i in volume["configMap"]["items"]}
    assert set(items) == {"blob.bin", "lib/helper.py", "manifest.yaml", "run.sh", "skill.py"}
    assert bundle_map["binaryData"][items["blob.bin"]["key"]] == "/wD+"
    assert bundle_map["data"][items["lib/helper.py"]["key"]] == "X = 1\n"
    assert items["run.sh"]["mode"] == 0o555 and items["skill.py"]["mode"] == 0o444
    for obj in objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_shim_reads_params_from_the_file_when_told(tmp_path, make_bundle):
    folder = make_bundle("cat/echo")
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({"skillware": "1", "params": {"a": 1}, "manifest": {}}))
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(PACKAGE_DIR.parent), "SKILLWARE_BUNDLE": str(folder),
           "SKILLWARE_PARAMS_FILE": str(params_file)}
    done = subprocess.run([sys.executable, str(PACKAGE_DIR / "shim" / "shim.py")], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"a": 1}


def test_cli_prints_the_objects_as_yaml(make_bundle):
    folder = make_bundle("cat/echo")
    result = CliRunner().invoke(cli, ["kube", "render", str(folder), "--params", '{"a": 1}', "--namespace", "ns1"])
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all(result.stdout))
    assert [o["kind"] for o in objects][-2:] == ["NetworkPolicy", "Job"]
    assert {o["metadata"]["namespace"] for o in objects} == {"ns1"}


def test_cli_pod_flag_prints_the_pod_template_as_a_pod(make_bundle):
    folder = make_bundle("cat/echo")
    result = CliRunner().invoke(cli, ["kube", "render", str(folder), "--pod"])
    assert result.exit_code == 0, result.output
    pod = list(yaml.safe_load_all(result.stdout))[-1]
    assert pod["kind"] == "Pod" and pod["spec"]["restartPolicy"] == "Never"
    kubernetes_validate.validate(pod, KUBE_VERSION, strict=True)


def test_cli_refusal_is_one_line_with_the_policy_exit_code(make_bundle):
    folder = make_bundle("cat/big", "name: cat/big\ncontainer: {memory: 4g}\n")
    result = CliRunner().invoke(cli, ["kube", "render", str(folder)])
    assert result.exit_code == 4
    assert "ceiling" in result.output and result.stdout.count("apiVersion") == 0
