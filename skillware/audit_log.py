"""The audit log: one JSON line per run. Never param values, results or secret values.

Path: the policy's `audit_log`, else $XDG_STATE_HOME/skillware/audit.jsonl
(~/.local/state/skillware/audit.jsonl). Lines are appended with O_APPEND in one write, so
concurrent runs never interleave within a line.
"""

from __future__ import annotations

import contextlib
import os
import time

TYPE_CHECKING = False  # a cold run imports this module; typing and dataclasses cost ms there
if TYPE_CHECKING:
    import datetime
    from pathlib import Path
    from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

    from .policy import Policy


def default_log_path() -> Path:
    from pathlib import Path

    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "skillware" / "audit.jsonl"


def log_path(policy: Optional[Policy]) -> Path:
    from pathlib import Path

    return Path(log_file(policy.audit_log if policy is not None else None))


def log_file(configured: Optional[str]) -> str:
    """The log's path for a policy's `audit_log` setting (None: the default place)."""
    return os.path.expanduser(configured) if configured else str(default_log_path())


def argv_hash(argv: Sequence[str]) -> str:
    """sha256 of the argv without its per-run parts (container name, owner label)."""
    import hashlib
    import re

    stable = [re.sub(r"/skillware-egress-[0-9a-f]+/", "/skillware-egress-*/", a) for a in argv
              if not a.startswith(("skillware-", "io.skillware.owner="))]
    return "sha256:" + hashlib.sha256("\0".join(stable).encode()).hexdigest()


class RunRecord:
    """What one run did; filled in as the run goes, appended when it ends."""

    def __init__(self, skill: str, execution: str, bundle_hash: str = "") -> None:
        self.skill = skill
        self.execution = execution             # in_process | container | warm
        self.bundle_hash = bundle_hash
        self.image: Optional[str] = None
        self.image_digest: Optional[str] = None
        self.engine: Optional[str] = None
        self.argv_hash: Optional[str] = None
        self.decisions: List[str] = []
        self.exit_kind = "ok"
        self.exit_code = 0
        self.duration_ms = 0.0
        self.bytes_out = 0
        self.stderr_truncated = False
        self.egress: List[Dict[str, Any]] = []   # the egress proxy's decisions, in order
        self.started = time.time()

    def finish(self, error: Optional[BaseException]) -> None:
        self.duration_ms = round((time.time() - self.started) * 1000, 1)
        if error is not None:
            self.exit_kind = str(getattr(error, "kind", type(error).__name__))
            self.exit_code = int(getattr(error, "exit_code", 1))

    def to_line(self) -> Dict[str, Any]:
        import datetime
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        return {"time": datetime.datetime.fromtimestamp(self.started, datetime.timezone.utc).isoformat(),
                "user": user, "uid": os.getuid(), "pid": os.getpid(),
                "skill": self.skill, "execution": self.execution, "bundle_hash": self.bundle_hash,
                "image": self.image, "image_digest": self.image_digest, "engine": self.engine,
                "argv_hash": self.argv_hash, "decisions": list(self.decisions), "exit_kind": self.exit_kind,
                "exit_code": self.exit_code, "duration_ms": self.duration_ms, "bytes_out": self.bytes_out,
                "stderr_truncated": self.stderr_truncated, "egress": list(self.egress)}


def append(record: RunRecord, path: str) -> Optional[str]:
    """Append the record to the log at `path`; return an error text instead of raising (a log
    failure must be seen, but must not turn a finished run into a failed one)."""
    import json

    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        line = (json.dumps(record.to_line(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot write the audit log {path}: {exc.strerror or exc}"
    return None


@contextlib.contextmanager
def recorded(record: RunRecord, policy: Optional[Policy],
             warn: Optional[Callable[[str], None]] = None) -> Iterator[RunRecord]:
    """Append `record` when the block ends, however it ends (the error's kind is recorded)."""
    with recorded_at(record, str(log_path(policy)), warn) as same:
        yield same


@contextlib.contextmanager
def recorded_at(record: RunRecord, path: str, warn: Optional[Callable[[str], None]] = None) -> Iterator[RunRecord]:
    """recorded(), for the log file at `path`."""
    error: Optional[BaseException] = None
    try:
        yield record
    except BaseException as exc:
        error = exc
        raise
    finally:
        record.finish(error)
        problem = append(record, path)
        if problem and warn is not None:
            warn(problem)


def read_records(path: Path) -> Iterator[Dict[str, Any]]:
    """Every well-formed record of a log file (a torn or foreign line is skipped)."""
    import json

    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                yield value


def parse_since(text: str) -> datetime.datetime:
    """`--since`: an ISO date/time, or a duration like 30m, 12h, 7d."""
    import datetime

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    now = datetime.datetime.now(datetime.timezone.utc)
    if text[:-1].isdigit() and text[-1:] in units:
        try:
            return now - datetime.timedelta(seconds=int(text[:-1]) * units[text[-1]])
        except OverflowError:
            return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)  # further back than any record
    value = datetime.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
