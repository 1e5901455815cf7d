"""The rendered pod, run for real with `podman kube play`: same result as `skillware run --isolated`.

podman 4.3's `kube play` takes Pods but no Jobs, so the test takes the Job's pod template
(`skillware kube render --pod`) and adapts it to three podman 4.3 gaps, each said in
docs/kubernetes.md: configMap items cannot create sub-directories (the shim volume goes flat
at /opt/skillware/skillware/core, the command follows it), an emptyDir becomes a named volume
(given this run's name, so runs never share it), and seccomp comes from the pod annotation,
not securityContext. NetworkPolicy is ignored by podman; `--network none` stands in for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml

from skillware.audit_probe import PROBE_SOURCE, ZERO_CAPS
from skillware.container_spec import SECCOMP_PROFILE
from skillware.kube import to_yaml

REQUIRED = os.environ.get("SKILLWARE_REQUIRE_CONTAINERS") == "1"
BASE_IMAGE = "localhost/skillware-python:3.11"
PARAMS = {"text": "call +44 20 7946 0958"}
pytestmark = pytest.mark.container


def _podman_ready() -> str:
    """Why podman kube play cannot be used here ('' when it can)."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    if os.geteuid() != 0:
        return "the kube play test runs rootful podman (run as root)"
    done = subprocess.run(["podman", "image", "inspect", BASE_IMAGE], capture_output=True, timeout=60)
    return "" if done.returncode == 0 else f"{BASE_IMAGE} is missing (skillware image build-base)"


@pytest.fixture(scope="module")
def podman() -> List[str]:
    """The podman command, with the OCI runtime skillware itself would pick on this host."""
    why = _podman_ready()
    if why:
        if REQUIRED and "not installed" in why:
            pytest.fail(why + " (SKILLWARE_REQUIRE_CONTAINERS=1)")
        pytest.skip(why)
    from skillware.engine import probe_engine

    runtime = probe_engine("podman", use_cache=False).runtime_for(None)
    return ["podman", *(("--runtime", runtime) if runtime else ())]


def render(skill: str, params: Dict[str, Any]) -> List[Dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "skillware", "kube", "render", skill, "--pod",
                           "--params", json.dumps(params)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return list(yaml.safe_load_all(done.stdout))


def for_podman_43(objects: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[str]]:
    """The podman 4.3 adaptations (module docstring); returns the documents and the volumes podman will create."""
    pod = next(o for o in objects if o["kind"] == "Pod")
    name = pod["metadata"]["name"]
    spec = pod["spec"]
    volumes = []
    for volume in spec["volumes"]:
        if volume["name"] == "shim":
            for item in volume["configMap"]["items"]:
                item["path"] = item["path"].rsplit("/", 1)[-1]
        if "emptyDir" in volume:
            volume["name"] = f"{name}-{volume['name']}"
            volumes.append(volume["name"])
        else:
            volumes.append(volume["configMap"]["name"])
    container = spec["containers"][0]
    for mount in container["volumeMounts"]:
        if mount["name"] == "shim":
            mount["mountPath"] = "/opt/skillware/skillware/core"
        if mount["name"] == "tmp":
            mount["name"] = f"{name}-tmp"
    if container["command"] == ["python3", "/opt/skillware/shim.py"]:
        container["command"] = ["python3", "/opt/skillware/skillware/core/shim.py"]
    pod["metadata"].setdefault("annotations", {})["seccomp.security.alpha.kubernetes.io/pod"] = \
        f"localhost/{SECCOMP_PROFILE.name}"
    return [o for o in objects if o["kind"] != "NetworkPolicy"], volumes


def _ulimits_conf(tmp_path: Path) -> Dict[str, str]:
    """podman gives a kube pod the host's maximum nofile/nproc, which an unprivileged host may refuse;
    the argv's own --ulimit values stand in (containers.conf is the only way into kube play)."""
    from skillware.policy import DEFAULT_POLICY

    nofile, nproc = DEFAULT_POLICY.nofile, DEFAULT_POLICY.defaults.pids
    conf = tmp_path / "containers.conf"
    conf.write_text(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n')
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


@pytest.fixture
def kube_play(podman: List[str], tmp_path: Path) -> Iterator[Any]:
    """play(objects) → (exit code, stdout, stderr) of the pod's container; everything removed afterwards."""
    played: List[Tuple[Path, str, List[str]]] = []

    def play(objects: List[Dict[str, Any]]) -> Tuple[int, str, str]:
        documents, volumes = for_podman_43(objects)
        name = next(o for o in documents if o["kind"] == "Pod")["metadata"]["name"]
        path = tmp_path / f"{name}.yaml"
        path.write_text(to_yaml(documents))
        played.append((path, name, volumes))
        done = subprocess.run([*podman, "kube", "play", "--network", "none", "--seccomp-profile-root",
                               str(SECCOMP_PROFILE.parent), str(path)], capture_output=True, text=True,
                              timeout=120, env=_ulimits_conf(tmp_path))
        assert done.returncode == 0, done.stderr
        container = f"{name}-skill"
        waited = subprocess.run(["podman", "wait", container], capture_output=True, text=True, timeout=120)
        logs = subprocess.run(["podman", "logs", container], capture_output=True, text=True, timeout=60)
        return int(waited.stdout.strip() or -1), logs.stdout, logs.stderr

    yield play
    for path, name, volumes in played:
        subprocess.run(["podman", "kube", "down", str(path)], capture_output=True, timeout=120)
        subprocess.run(["podman", "pod", "rm", "-f", "--ignore", name], capture_output=True, timeout=120)
        for volume in volumes:  # one at a time: podman stops at the first that a failed play never made
            subprocess.run(["podman", "volume", "rm", "-f", volume], capture_output=True, timeout=120)
        left = subprocess.run(["podman", "ps", "-a", "-q", "--filter", f"label=io.skillware.run={name}"],
                              capture_output=True, text=True, timeout=60)
        assert left.stdout.strip() == "", f"containers of {name} left behind"
        pods = subprocess.run(["podman", "pod", "ps", "-q", "--filter", f"name={name}"], capture_output=True,
                              text=True, timeout=60)
        assert pods.stdout.strip() == "", f"pod {name} left behind"
        vols = subprocess.run(["podman", "volume", "ls", "-q"], capture_output=True, text=True, timeout=60)
        assert not set(vols.stdout.split()) & set(volumes), f"volumes of {name} left behind"


def test_kube_pod_gives_the_same_result_as_run_isolated(kube_play):
    code, out, err = kube_play(render("compliance/example_skill", PARAMS))
    assert code == 0, err
    isolated = subprocess.run([sys.executable, "-m", "skillware", "run", "--isolated", "--engine", "podman",
                               "compliance/example_skill", "--params", json.dumps(PARAMS)],
                              capture_output=True, text=True, timeout=120)
    assert isolated.returncode == 0, isolated.stderr
    assert json.loads(out) == json.loads(isolated.stdout) == {
        "findings": [{"type": "phone", "start": 5, "end": 21, "value": "+44 20 7946 0958"}],
        "redacted": "call [PHONE]",
    }


def test_kube_pod_posture_matches_the_container_posture(kube_play):
    objects = render("compliance/example_skill", PARAMS)
    pod = next(o for o in objects if o["kind"] == "Pod")
    # podman 4.3 re-encodes each document and then misreads a multi-line string that starts with a newline.
    pod["spec"]["containers"][0]["command"] = ["python3", "-c", PROBE_SOURCE.lstrip()]
    uid = pod["spec"]["securityContext"]["runAsUser"]
    code, out, err = kube_play(objects)
    assert code == 0, err
    seen = json.loads(out)
    status = seen["status"]
    for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert status[caps] == ZERO_CAPS, caps
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"
    assert (seen["uid"], seen["euid"], seen["gid"]) == (uid, uid, uid)
    assert seen["write"]["/"] == "EROFS"
    assert seen["write"]["/skill"] == "EROFS"
    assert seen["write"]["/tmp"] == "ok"
    assert seen["interfaces"] == ["lo"]
    assert seen["sockets"] == []
    assert "SKILLWARE_PARAMS_FILE" in seen["env"]
