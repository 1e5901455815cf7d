"""ContainerSpec → engine argv. Pure: what `--dry-run` prints is exactly what the runner executes.

Each line below is one security decision; read them top to bottom as the container's posture.
"""

from __future__ import annotations

from typing import List

from .container_spec import ContainerSpec


def build_run_argv(spec: ContainerSpec) -> List[str]:
    """The full `podman|docker run` command line for a spec (secret values are never in it)."""
    podman = spec.engine == "podman"
    argv = [spec.engine_path]
    if podman and spec.runtime:
        argv += ["--runtime", spec.runtime]  # a global option for podman
    if podman:
        for flag in spec.runtime_flags:
            argv += ["--runtime-flag", flag]
    argv += ["run", "--rm", "-i", "--name", spec.name]
    if not podman and spec.runtime:
        argv += ["--runtime", spec.runtime]
    for key, value in spec.labels:
        argv += ["--label", f"{key}={value}"]
    argv += ["--network", "none"]                      # no interface but loopback
    argv += ["--ipc", "none"]                          # no /dev/shm: /tmp is the only writable place
    argv += ["--read-only"]                            # root filesystem is read-only
    if podman:
        argv += ["--read-only-tmpfs=false"]            # no implicit writable /run, /var/tmp
    argv += ["--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={spec.limits.tmpfs}"]
    argv += ["--cap-drop", "all"]
    argv += ["--security-opt", "no-new-privileges"]
    argv += ["--security-opt", f"seccomp={spec.seccomp_profile}"]
    argv += ["--user", spec.user]
    argv += ["--memory", str(spec.limits.memory), "--memory-swap", str(spec.limits.memory)]
    argv += ["--cpus", f"{spec.limits.cpus:g}"]
    argv += ["--pids-limit", str(spec.limits.pids)]
    argv += ["--ulimit", f"nofile={spec.nofile}:{spec.nofile}"]
    argv += ["--ulimit", f"nproc={spec.limits.pids}:{spec.limits.pids}"]  # per uid; the uid is ours alone
    argv += ["--pull", "never"]
    argv += ["--log-driver", "none"]                   # no skill output on the host's disk
    if podman:
        # A second line of defence: conmon kills the container even if skillware itself dies.
        argv += ["--timeout", str(int(spec.limits.timeout) + 5)]
    argv += ["--hostname", "skillware", "--workdir", "/tmp"]
    for mount in spec.mounts:
        argv += ["--mount", f"type=bind,source={mount.source},destination={mount.target},readonly"]
    for key, value in spec.env:
        argv += ["--env", f"{key}={value}"]
    argv += [spec.image, *spec.command]
    return argv
