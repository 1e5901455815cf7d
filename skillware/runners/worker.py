"""A warm worker: one long-lived `run -i` container whose shim answers JSON lines.

Same hardened argv as a cold run (only `--serve` is appended to the command). One request
at a time; a worker that times out, crashes or hits a limit is removed, never reused.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from typing import Any, Dict, Mapping

from ..argv import build_run_argv
from ..container_spec import ContainerSpec
from ..engine_cli import start_engine
from ..errors import BadOutput, SkillCrashed, SkillTimeout
from .outcome import interpret, killed_error, raise_for_error
from .supervise import Outcome, remove_container

_EOF = object()


class Worker:
    """One warm container for one (skill, policy, caller)."""

    def __init__(self, spec: ContainerSpec, setup: Dict[str, Any], env_extra: Mapping[str, str],
                 skill_id: str) -> None:
        self.spec = spec
        self.skill_id = skill_id
        self.calls = 0
        self.last_used = time.monotonic()
        self.dead = False
        self.image_digest = "unknown"   # set by whoever starts the worker (for the audit log)
        self.argv_hash = ""
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr_tail = b""
        self.proc = start_engine(build_run_argv(spec), env_extra)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self._send(setup)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        cap = self.spec.limits.output
        while True:
            line = self.proc.stdout.readline(cap + 1)
            if not line:
                self._lines.put(_EOF)
                return
            self._lines.put(line)

    def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        for chunk in iter(lambda: stream.read(4096), b""):
            self._stderr_tail = (self._stderr_tail + chunk)[-4096:]

    def _send(self, document: Dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def call(self, params: Dict[str, Any]) -> Any:
        """Send one request and wait for its response (or kill the worker on timeout)."""
        self.calls += 1
        self.last_used = time.monotonic()
        try:
            self._send(params)
        except (BrokenPipeError, OSError):
            self._fail_dead()
        try:
            line = self._lines.get(timeout=self.spec.limits.timeout)
        except queue.Empty:
            self.stop()
            raise SkillTimeout(f"{self.skill_id} ran longer than its {self.spec.limits.timeout:g}s timeout; "
                               "the worker was removed", "raise container.timeout or give it less work") from None
        if line is _EOF:
            self._fail_dead()
        assert isinstance(line, bytes)
        if not line.endswith(b"\n"):
            self.stop()
            raise BadOutput(f"{self.skill_id} answered with more than {self.spec.limits.output:,} bytes; "
                            "the worker was removed", "return less data")
        response = json.loads(line)
        if response.get("ok"):
            return response.get("result")
        raise_for_error(response.get("error") or {}, self.spec, self.skill_id)

    def _fail_dead(self) -> None:
        self.dead = True
        code = self.proc.wait(timeout=30)
        remove_container(self.spec.engine_path, self.spec.name)
        if code in (137, -9):
            raise killed_error(self.spec, self.skill_id)
        if code != 0:  # an engine failure (image missing, bad runtime …) maps as for a cold run
            interpret(Outcome(code, b"", self._stderr_tail, len(self._stderr_tail)), self.spec, self.skill_id)
        tail = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise SkillCrashed(f"{self.skill_id}: the warm worker exited (status {code}) {' '.join(tail)}".strip(),
                           "the worker will be replaced on the next call")

    def stop(self) -> None:
        """Remove the container (by name) and reap the engine client."""
        self.dead = True
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        remove_container(self.spec.engine_path, self.spec.name)
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=30)

    def close_gracefully(self, wait: float = 5.0) -> None:
        """End of input: the shim exits and --rm removes the container; force it if slow."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=wait)
        except Exception:
            self.stop()
        self.dead = True
