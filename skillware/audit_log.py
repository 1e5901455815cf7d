"""The audit log: one JSON line per run. Never param values, results or secret values.

Path: the policy's `audit_log`, else $XDG_STATE_HOME/skillware/audit.jsonl
(~/.local/state/skillware/audit.jsonl). Lines are appended with O_APPEND in one write, so
concurrent runs never interleave within a line.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from .policy import Policy


def default_log_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "skillware" / "audit.jsonl"


def log_path(policy: Optional[Policy]) -> Path:
    configured = policy.audit_log if policy is not None else None
    return Path(os.path.expanduser(configured)) if configured else default_log_path()


def argv_hash(argv: Sequence[str]) -> str:
    """sha256 of the argv without its per-run parts (container name, owner label)."""
    stable = [re.sub(r"/skillware-egress-[0-9a-f]+/", "/skillware-egress-*/", a) for a in argv
              if not a.startswith(("skillware-", "io.skillware.owner="))]
    return "sha256:" + hashlib.sha256("\0".join(stable).encode()).hexdigest()


@dataclass
class RunRecord:
    """What one run did; filled in as the run goes, appended when it ends."""

    skill: str
    execution: str                      # in_process | container | warm
    bundle_hash: str = ""
    image: Optional[str] = None
    image_digest: Optional[str] = None
    engine: Optional[str] = None
    argv_hash: Optional[str] = None
    decisions: List[str] = field(default_factory=list)
    exit_kind: str = "ok"
    exit_code: int = 0
    duration_ms: float = 0.0
    bytes_out: int = 0
    stderr_truncated: bool = False
    egress: List[Dict[str, Any]] = field(default_factory=list)   # the egress proxy's decisions, in order
    started: float = field(default_factory=time.time)

    def finish(self, error: Optional[BaseException]) -> None:
        self.duration_ms = round((time.time() - self.started) * 1000, 1)
        if error is not None:
            self.exit_kind = str(getattr(error, "kind", type(error).__name__))
            self.exit_code = int(getattr(error, "exit_code", 1))

    def to_line(self) -> Dict[str, Any]:
        data = asdict(self)
        started = data.pop("started")
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        return {"time": datetime.datetime.fromtimestamp(started, datetime.timezone.utc).isoformat(),
                "user": user, "uid": os.getuid(), "pid": os.getpid(), **data}


def append(record: RunRecord, policy: Optional[Policy]) -> Optional[str]:
    """Append the record; return an error text instead of raising (a log failure must be seen,
    but must not turn a finished run into a failed one)."""
    path = log_path(policy)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    error: Optional[BaseException] = None
    try:
        yield record
    except BaseException as exc:
        error = exc
        raise
    finally:
        record.finish(error)
        problem = append(record, policy)
        if problem and warn is not None:
            warn(problem)


def read_records(path: Path) -> Iterator[Dict[str, Any]]:
    """Every well-formed record of a log file (a torn or foreign line is skipped)."""
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
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    now = datetime.datetime.now(datetime.timezone.utc)
    if text[:-1].isdigit() and text[-1:] in units:
        return now - datetime.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    value = datetime.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
