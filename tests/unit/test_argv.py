"""ContainerSpec → argv, flag by flag, and the planning decisions that feed it (pure: no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillware.argv import build_run_argv
from skillware.bundle import Bundle
from skillware.container_spec import plan_container
from skillware.engine import EngineProbe
from skillware.errors import EngineError, LimitsNotEnforced, PolicyError
from skillware.manifest import load_manifest
from skillware.policy import Policy

ROOTFUL_PODMAN = EngineProbe(name="podman", path="/usr/bin/podman", version="4.3.1", rootless=False,
                             cgroup_version="hybrid", cgroup_manager="cgroupfs", default_runtime="crun",
                             runtimes=("runc", "crun", "runsc"), seccomp=True, controllers=("memory", "pids", "cpu"))
DOCKER = EngineProbe(name="docker", path="/usr/bin/docker", version="20.10", rootless=False, cgroup_version="v2",
                     cgroup_manager="systemd", default_runtime="runc", runtimes=("runc",), seccomp=True,
                     controllers=("memory", "pids", "cpu"))
ROOTLESS_V1 = EngineProbe(name="podman", path="/usr/bin/podman", version="4.3.1", rootless=True,
                          cgroup_version="hybrid", cgroup_manager="cgroupfs", default_runtime="runc",
                          runtimes=("runc",), seccomp=True, controllers=())


def make_bundle(tmp_path: Path, container: str = "", env_vars: str = "") -> tuple[Bundle, object]:
    folder = tmp_path / "cat" / "thing"
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        f"name: cat/thing\nexecution: container\nparameters: {{type: object}}\n{container}\n{env_vars}\n")
    (folder / "skill.py").write_text("")
    bundle = Bundle(id="cat/thing", path=folder, root=tmp_path)
    return bundle, load_manifest(bundle)


def argv_for(tmp_path, probe=ROOTFUL_PODMAN, container="", env_vars="", policy=None, env=None, **kw):
    bundle, manifest = make_bundle(tmp_path, container, env_vars)
    spec = plan_container(bundle, manifest, policy or Policy(), probe, caller_env=env or {}, **kw)
    return build_run_argv(spec), spec


def pairs(argv):
    return list(zip(argv, argv[1:]))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def test_run_is_removed_interactive_and_named(tmp_path):
    argv, spec = argv_for(tmp_path)
    assert argv[argv.index("run") + 1:argv.index("run") + 5] == ["--rm", "-i", "--name", spec.name]
    assert spec.name.startswith("skillware-")


def test_names_are_unique(tmp_path):
    _, first = argv_for(tmp_path / "a")
    _, second = argv_for(tmp_path / "b")
    assert first.name != second.name


def test_network_is_none(tmp_path):
    argv, _ = argv_for(tmp_path)
    assert ("--network", "none") in pairs(argv)
    assert not any(a.startswith("--network=") or a == "host" for a in argv)


def test_root_filesystem_is_read_only_with_a_bounded_noexec_tmp(tmp_path):
    argv, _ = argv_for(tmp_path, container="container: {tmpfs: 32m}")
    assert "--read-only" in argv
    assert ("--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={32 * 1024 * 1024}") in pairs(argv)
    assert "--read-only-tmpfs=false" in argv  # podman: no implicit writable /run, /var/tmp


def test_capabilities_privileges_and_seccomp(tmp_path):
    argv, spec = argv_for(tmp_path)
    assert ("--cap-drop", "all") in pairs(argv)
    assert ("--security-opt", "no-new-privileges") in pairs(argv)
    assert ("--security-opt", f"seccomp={spec.seccomp_profile}") in pairs(argv)
    assert Path(spec.seccomp_profile).is_file()
    assert "--privileged" not in argv and "--cap-add" not in argv


def test_user_is_an_unprivileged_uid(tmp_path):
    argv, _ = argv_for(tmp_path)
    uid, gid = argv[argv.index("--user") + 1].split(":")
    assert int(uid) >= 1000 and uid == gid


def test_memory_equals_memory_swap(tmp_path):
    argv, _ = argv_for(tmp_path, container="container: {memory: 128m}")
    assert ("--memory", str(128 * 1024 * 1024)) in pairs(argv)
    assert ("--memory-swap", str(128 * 1024 * 1024)) in pairs(argv)


def test_pids_cpus_and_ulimits(tmp_path):
    argv, _ = argv_for(tmp_path, container="container: {pids: 20, cpus: 0.5}")
    assert ("--pids-limit", "20") in pairs(argv)
    assert ("--cpus", "0.5") in pairs(argv)
    assert ("--ulimit", "nproc=20:20") in pairs(argv)
    assert any(a.startswith("nofile=") for a in argv)


def test_never_pulls_and_writes_no_logs(tmp_path):
    argv, _ = argv_for(tmp_path)
    assert ("--pull", "never") in pairs(argv)
    assert ("--log-driver", "none") in pairs(argv)


def test_mounts_are_read_only_bundle_shim_and_base_skill(tmp_path):
    argv, spec = argv_for(tmp_path)
    mounts = [b for a, b in pairs(argv) if a == "--mount"]
    assert len(mounts) == 3 and all(m.endswith(",readonly") for m in mounts)
    targets = {m.split("destination=")[1].split(",")[0] for m in mounts}
    assert targets == {"/skill", "/opt/skillware/shim.py", "/opt/skillware/skillware/core/base_skill.py"}
    assert not any(a in ("-v", "--volume") for a in argv)


def test_no_host_namespaces_devices_or_sockets(tmp_path):
    argv = argv_for(tmp_path)[0]
    flags = {a.split("=")[0] for a in argv if a.startswith("--")}
    assert not flags & {"--pid", "--uts", "--userns", "--cgroupns", "--device", "--env-host",
                        "--privileged", "--cap-add", "--volume", "--volumes-from", "--security-opt=label"}
    assert ("--ipc", "none") in pairs(argv) and argv.count("--ipc") == 1  # no shared memory at all
    assert not any("docker.sock" in a or "podman.sock" in a for a in argv)


def test_environment_is_only_the_contract(tmp_path):
    argv, _ = argv_for(tmp_path, env={"HOME": "/root", "AWS_SECRET": "x"})
    envs = [b for a, b in pairs(argv) if a == "--env"]
    names = {e.split("=")[0] for e in envs}
    assert names == {"PATH", "HOME", "LANG", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
                     "SKILLWARE_CONTRACT", "SKILLWARE_BUNDLE"}
    assert "HOME=/tmp" in envs


def test_secret_values_never_appear_in_argv(tmp_path):
    env_vars = "env_vars: {API_TOKEN: {required: false}}"
    container = "container: {command: [sh, /skill/run.sh]}"
    argv, spec = argv_for(tmp_path, container=container, env_vars=env_vars, env={"API_TOKEN": "s3cr3t-value"})
    assert "s3cr3t-value" not in " ".join(argv)
    assert "API_TOKEN" not in " ".join(argv)  # not even as --env NAME: engines store those on disk


def test_custom_commands_get_env_values_through_envwrap_on_stdin(tmp_path):
    env_vars = "env_vars: {API_TOKEN: {required: false}}"
    container = "container: {command: [sh, /skill/run.sh]}"
    argv, spec = argv_for(tmp_path, container=container, env_vars=env_vars, env={"API_TOKEN": "v"})
    assert spec.stdin_env_lines and argv[-4:] == ["sh", "/opt/skillware/envwrap.sh", "sh", "/skill/run.sh"]


def test_custom_commands_without_env_run_unwrapped(tmp_path):
    argv, spec = argv_for(tmp_path, container="container: {command: [sh, /skill/run.sh]}")
    assert not spec.stdin_env_lines and argv[-2:] == ["sh", "/skill/run.sh"]


def test_shim_skills_get_env_values_through_stdin_not_env_flags(tmp_path):
    argv, spec = argv_for(tmp_path, env_vars="env_vars: {API_TOKEN: {}}", env={"API_TOKEN": "v"})
    assert spec.stdin_envelope and spec.granted_env == ("API_TOKEN",)
    assert ("--env", "API_TOKEN") not in pairs(argv)


def test_undeclared_env_is_never_granted(tmp_path):
    _, spec = argv_for(tmp_path, env={"OTHER": "x"})
    assert spec.granted_env == ()


def test_policy_allowed_env_vars_withholds_others(tmp_path):
    policy = Policy(allowed_env_vars=("PUBLIC_*",))
    _, spec = argv_for(tmp_path, env_vars="env_vars: {API_TOKEN: {}, PUBLIC_URL: {}}", policy=policy,
                       env={"API_TOKEN": "x", "PUBLIC_URL": "y"})
    assert spec.granted_env == ("PUBLIC_URL",)


def test_manifest_cannot_exceed_policy_ceiling(tmp_path):
    with pytest.raises(PolicyError) as caught:
        argv_for(tmp_path, container="container: {memory: 64g}")
    assert "container.memory" in caught.value.message and "ceiling" in caught.value.message


def test_missing_values_take_policy_defaults(tmp_path):
    _, spec = argv_for(tmp_path)
    defaults = Policy().defaults
    assert (spec.limits.memory, spec.limits.pids, spec.limits.timeout) == (defaults.memory, defaults.pids,
                                                                            defaults.timeout)


def test_podman_on_hybrid_cgroups_uses_runc_instead_of_crun(tmp_path):
    argv, _ = argv_for(tmp_path)
    assert argv[1:3] == ["--runtime", "runc"]


def test_podman_carries_its_own_timeout_as_a_second_line_of_defence(tmp_path):
    argv, _ = argv_for(tmp_path, container="container: {timeout: 7}")
    assert ("--timeout", "12") in pairs(argv)


def test_docker_argv_has_no_podman_only_flags(tmp_path):
    argv, _ = argv_for(tmp_path, probe=DOCKER)
    assert argv[0] == "/usr/bin/docker" and argv[1] == "run"
    assert "--read-only-tmpfs=false" not in argv and "--timeout" not in argv


def test_labels_mark_the_container_and_its_owner(tmp_path):
    argv, _ = argv_for(tmp_path)
    labels = [b for a, b in pairs(argv) if a == "--label"]
    assert "io.skillware.managed=1" in labels
    assert any(label.startswith("io.skillware.owner=") for label in labels)


def test_unenforceable_limits_are_refused(tmp_path):
    with pytest.raises(LimitsNotEnforced):
        argv_for(tmp_path, probe=ROOTLESS_V1)


def test_unenforceable_limits_can_be_accepted_explicitly(tmp_path):
    _, spec = argv_for(tmp_path, probe=ROOTLESS_V1, allow_unenforced_limits=True)
    assert not spec.limits_enforced
    assert any("NOT enforced" in d for d in spec.decisions)


def test_gvisor_uses_runsc_with_the_sandbox_flags(tmp_path):
    argv, spec = argv_for(tmp_path, container="container: {isolation: gvisor, memory: 512m}")
    assert argv[1:3] == ["--runtime", "runsc"]
    assert ("--runtime-flag", "platform=ptrace") in pairs(argv)
    assert ("--runtime-flag", "network=none") in pairs(argv)
    assert spec.limits_enforced


def test_gvisor_under_docker_fails_clearly(tmp_path):
    with pytest.raises(EngineError) as caught:
        argv_for(tmp_path, probe=DOCKER, container="container: {isolation: gvisor, memory: 512m}")
    assert "gVisor" in caught.value.message


def test_image_outside_allowed_images_is_refused(tmp_path):
    with pytest.raises(PolicyError):
        argv_for(tmp_path, container="container: {image: evil.example/x:1}",
                 policy=Policy(allowed_images=("localhost/*",)))


def test_image_and_command_are_last(tmp_path):
    argv, spec = argv_for(tmp_path)
    assert argv[-3:] == [spec.image, "python3", "/opt/skillware/shim.py"]


def test_host_and_shim_agree_on_the_contract_version():
    from skillware.runners.stdin_payload import CONTRACT_VERSION
    from skillware.shim import shim

    assert shim.CONTRACT_VERSION == CONTRACT_VERSION
