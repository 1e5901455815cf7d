"""Supervise one engine process: feed stdin, cap the output, enforce wall time, always clean up.

Killing the engine client does not stop a container, so every way out of a run (timeout,
output cap, Ctrl-C, SIGTERM, an exception of ours) removes the container by its name.

A planned cold run (cli/fast_run.py) imports this module while the engine starts the container.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading

from ..engine_cli import run_engine
from ..errors import Interrupted
from .spawn import Spawned, Terminated, spawn_engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Optional, Union

    Sink = Callable[[bytes], None]


class Outcome:
    """What came back from the engine process."""

    __slots__ = ("returncode", "stdout", "stderr", "stderr_total", "timed_out", "overflow")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes, stderr_total: int, timed_out: bool = False,
                 overflow: bool = False) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.stderr_total = stderr_total
        self.timed_out = timed_out
        self.overflow = overflow

    @property
    def clean(self) -> bool:
        """The process exited 0 on its own, within time and the output cap."""
        return self.returncode == 0 and not self.timed_out and not self.overflow


def remove_container(engine_path: str, name: str) -> bool:
    """Force-remove a container by name, immediately (no grace period); True when the engine did.

    'No such container' and engine failures are not errors here: this runs on every way out.
    """
    podman = os.path.basename(engine_path).startswith("podman")
    try:
        done = run_engine([engine_path, "rm", "-f", *(["-t", "0"] if podman else []), name], timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _pump(stream: Any, cap: int, keep: bytearray, sink: Optional[Sink], over: threading.Event,
          totals: list[int], wake: Optional[threading.Event]) -> None:
    """Read a pipe to its end, keeping at most `cap` bytes; set `over` once more arrives."""
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            return
        totals[0] += len(chunk)
        room = cap - len(keep)
        if room > 0:
            keep += chunk[:room]
            if sink is not None:
                sink(chunk[:room])
        if len(chunk) > room:
            over.set()
            if wake is not None:
                wake.set()


def supervise(argv: list[str], stdin: Union[bytes, Callable[[], bytes]], *, engine_path: str, name: str,
              timeout: float, output_cap: int, env_extra: Optional[Mapping[str, str]] = None,
              stderr_sink: Optional[Sink] = None, stderr_cap: int = 1024 * 1024,
              while_running: Optional[Callable[[], None]] = None, started: Optional[Spawned] = None) -> Outcome:
    """Run the engine process for `argv`; enforce wall time and the output cap; remove on any exit.

    `started`: the engine process for `argv`, already spawned by the caller (a planned cold
    run starts it before importing this module). `stdin` may be a function giving the bytes,
    called once the process runs. `while_running` is called then too: work that need not come
    before the run (the audit log's bundle hash and image id) overlaps the container's start-up.
    """
    out, err = bytearray(), bytearray()
    out_over, err_over, wake = threading.Event(), threading.Event(), threading.Event()
    out_total, err_total = [0], [0]
    proc = started if started is not None else spawn_engine(argv, env_extra)
    removed = False
    try:
        stdin_bytes = stdin() if callable(stdin) else stdin
        threads = [
            threading.Thread(target=_pump, args=(proc.stdout, output_cap, out, None, out_over, out_total, wake),
                             daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, stderr_cap, err, stderr_sink, err_over, err_total,
                                                 None), daemon=True),
            threading.Thread(target=_feed, args=(proc, stdin_bytes), daemon=True),
        ]
        for thread in threads:
            thread.start()
        if while_running is not None:
            while_running()
        timed_out = not _wait(proc, timeout, wake)
        if timed_out or out_over.is_set():
            remove_container(engine_path, name)
            removed = True
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = proc.wait()
        for thread in threads[:2]:
            thread.join(timeout=10)
        return Outcome(code, bytes(out), bytes(err), err_total[0], timed_out=timed_out,
                       overflow=out_over.is_set())
    except (KeyboardInterrupt, Terminated) as exc:
        remove_container(engine_path, name)
        removed = True
        raise Interrupted("interrupted; the container was removed", "") from exc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        if not removed and proc.returncode != 0:
            remove_container(engine_path, name)  # --rm does not cover every engine failure


def note_truncation(outcome: Outcome, stderr_cap: int, stderr_sink: Optional[Sink]) -> None:
    """Say on the skill's stderr that it was cut short, and how much there was."""
    if outcome.stderr_total > stderr_cap and stderr_sink is not None:
        stderr_sink(f"\n[skillware: stderr truncated after {stderr_cap:,} of {outcome.stderr_total:,} "
                    "bytes]\n".encode())


def _feed(proc: Spawned, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.close()


def _wait(proc: Spawned, timeout: float, stop: threading.Event) -> bool:
    """Wait for the process; False on timeout. Returns early when `stop` is set.

    A thread blocks in wait() and sets `stop` the moment the process exits: Popen.wait with a
    timeout polls with sleeps of up to 50 ms, a quarter of a whole container run here.
    """
    def watch() -> None:
        proc.wait()
        stop.set()

    exited = threading.Thread(target=watch, daemon=True)
    exited.start()
    stop.wait(timeout)
    return proc.poll() is not None or stop.is_set()
