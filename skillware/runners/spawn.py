"""Start a cold run's engine process with os.posix_spawn: the part of subprocess.Popen it needs.

`import subprocess` costs ~8 ms here (it imports locale, re, enum, signal, selectors and
threading); a planned cold run starts the engine before importing any of that, and imports
the rest while the engine sets up the container. Only builtin modules are used before the
spawn. The child gets pipes on 0/1/2 and its own session (a terminal's Ctrl-C is ours to
handle: we remove the container, then the client), and SIGPIPE/SIGXFSZ back at their
defaults (CPython ignores SIGPIPE, and an ignored signal stays ignored across exec).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # what `signal` wraps; `signal` imports enum (~2 ms)
import _thread
import os

from ..engine_cli import engine_env, log_argv
from ..signal_scope import HandlerScope

SIGKILL, SIGPIPE, SIGTERM, SIGXFSZ = (int(_signal.SIGKILL), int(_signal.SIGPIPE), int(_signal.SIGTERM),
                                      int(_signal.SIGXFSZ))

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Mapping, Optional, Sequence


class Spawned:
    """A started engine process: pipes, wait, poll and kill, safe to use from several threads."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        try:
            self.pid = os.posix_spawn(argv[0], list(argv), dict(env), setsid=True, setsigdef=(SIGPIPE, SIGXFSZ),
                                      file_actions=[(os.POSIX_SPAWN_DUP2, stdin_r, 0),
                                                    (os.POSIX_SPAWN_DUP2, stdout_w, 1),
                                                    (os.POSIX_SPAWN_DUP2, stderr_w, 2)])
        except BaseException:
            for fd in (stdin_w, stdout_r, stderr_r):
                os.close(fd)
            raise
        finally:
            for fd in (stdin_r, stdout_w, stderr_w):
                os.close(fd)
        self.stdin: BinaryIO = os.fdopen(stdin_w, "wb")
        self.stdout: BinaryIO = os.fdopen(stdout_r, "rb")
        self.stderr: BinaryIO = os.fdopen(stderr_r, "rb")
        self.returncode: Optional[int] = None
        self._lock = _thread.allocate_lock()   # one waitpid at a time; the status is reaped once

    def wait(self) -> int:
        with self._lock:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> Optional[int]:
        """The exit code if the process has ended, else None (also while another thread waits)."""
        if not self._lock.acquire(False):
            return self.returncode
        try:
            if self.returncode is None:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        finally:
            self._lock.release()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, SIGKILL)


def spawn_engine(argv: Sequence[str], env_extra: Optional[Mapping[str, str]] = None) -> Spawned:
    """Start `argv` (an absolute engine path first) with pipes, in its own session."""
    log_argv(argv)
    return Spawned(argv, engine_env(env_extra))


class Terminated(BaseException):
    """SIGTERM, turned into an exception so the same cleanup runs as for Ctrl-C."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


class SigtermAsException(HandlerScope):
    """Within the block, SIGTERM raises Terminated (in the main thread; elsewhere nothing changes)."""

    def __init__(self) -> None:
        super().__init__(SIGTERM, _raise_terminated)
