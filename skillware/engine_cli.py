"""The one place that starts podman/docker processes: logging, minimal environment, timeouts."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # a cold run imports this module; typing costs ~2 ms
if TYPE_CHECKING:
    import subprocess
    from typing import Mapping, Optional, Sequence

# What an engine client needs from our environment to find its storage, socket and config.
# Everything else of the host environment stays out of the engine process (and so out of
# anything `-e NAME` could pick up by accident).
_ENGINE_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "CONTAINER_HOST", "CONTAINER_CONNECTION",
    "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "TMPDIR", "DBUS_SESSION_BUS_ADDRESS",
)


def engine_env(extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The engine process's environment: what the client needs, plus `extra` (e.g. secrets)."""
    env = {k: os.environ[k] for k in _ENGINE_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.update(extra or {})
    return env


def log_argv(argv: Sequence[str]) -> None:
    """With SKILLWARE_DEBUG=1, print every engine command line exactly as it is run."""
    if os.environ.get("SKILLWARE_DEBUG") == "1":
        import shlex

        print(f"skillware: engine: {shlex.join(argv)}", file=sys.stderr, flush=True)


def run_engine(argv: Sequence[str], *, timeout: float = 60, input_bytes: Optional[bytes] = None,
               check: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run a short engine command (info, rm, ps, import …) and capture its output."""
    import subprocess  # here: a planned cold run spawns its engine without it (runners/spawn.py)

    log_argv(argv)
    return subprocess.run(list(argv), input=input_bytes, capture_output=True, timeout=timeout, check=check,
                          env=engine_env(), stdin=None if input_bytes is not None else subprocess.DEVNULL)


def start_engine(argv: Sequence[str], env_extra: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a long engine command with pipes, in its own session.

    Its own session keeps the terminal's Ctrl-C away from the engine client: we decide how the
    container is stopped and removed, and the client must not race us by proxying the signal.
    """
    import subprocess

    log_argv(argv)
    return subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=engine_env(env_extra), start_new_session=True)
