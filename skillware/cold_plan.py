"""Cold-run plans: a CLI run's container decisions, kept with every input they were made from.

A cold `skillware run --isolated` spends most of its own time (not the engine's) importing
and re-deciding what the previous identical run decided: which bundle, which policy, which
engine, which limits, which argv. The first run stores those decisions here, together with
the facts they were made from; a later run with the same command line, working directory,
user, environment and skillware files re-reads the facts and, when every one is unchanged,
starts the engine without re-planning. Any difference is a miss, and the run plans anew:

- "bytes": the exact content of a small file, or its absence (manifest, policy files, lock file);
- "node": where a path resolves and what it is (skills roots, bundle folders, named files);
- "which": the executable a name finds on PATH (the engine);
- "stat": a file's inode, size and mtime (the engine binary: its probe is keyed on them).

A file changed within RACY_SECONDS of planning is not trusted: no plan is stored, so a change
racing the planner can never be captured as "unchanged". Plans expire after PLAN_TTL_SECONDS
(the engine probe behind them is re-checked that often at least). The cache lives in the
user's 0700 cache folder; a plan file that is not the user's own, or is writable by others,
is ignored.
"""

from __future__ import annotations

import marshal
import os
import stat
import time

from . import __version__
from .cache_paths import cache_root

TYPE_CHECKING = False  # imported by every cold run: typing costs ~2 ms
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

    Fact = Tuple[str, str]

PLAN_FORMAT = 1
PLAN_TTL_SECONDS = 300
RACY_SECONDS = 2.0
MAX_FACT_BYTES = 1024 * 1024
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# Stand-ins for the per-run parts of a stored argv. Neither paths nor arguments can hold NUL,
# so nothing but these can ever match when a run fills in its own values.
NAME, USER, OWNER = "\0name\0", "\0user\0", "\0owner\0"


def fill_argv(template: Sequence[str], name: str, user: str, owner: str) -> List[str]:
    """A stored argv with this run's container name, uid and owner token in place."""
    return [a.replace(NAME, name).replace(USER, user).replace(OWNER, owner) if "\0" in a else a for a in template]


def options_key(skill: str, isolated: bool, engine: Optional[str], runtime: Optional[str],
                allow_unenforced_limits: bool, policy_path: Optional[str],
                skills_dirs: Sequence[str]) -> Tuple[Any, ...]:
    """The command-line part of a plan's key, from run_cmd's options or from cli/fast_run's argv."""
    return (skill, bool(isolated), engine, runtime, bool(allow_unenforced_limits), policy_path, tuple(skills_dirs))


_STAMP: List[Tuple[int, int, int]] = []   # once per process: the manifest cache and plans both ask


def code_stamp() -> Tuple[int, int, int]:
    """(files, bytes, newest mtime) of skillware's own files: a plan never outlives a code change."""
    if not _STAMP:
        _STAMP.append(_walk_stamp())
    return _STAMP[0]


def _walk_stamp() -> Tuple[int, int, int]:
    count = total = newest = 0
    for dirpath, dirnames, filenames in os.walk(_PACKAGE_DIR):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "skills")]
        for name in filenames:
            info = os.stat(os.path.join(dirpath, name))
            count, total, newest = count + 1, total + info.st_size, max(newest, info.st_mtime_ns)
    return count, total, newest


def _digest(data: bytes) -> str:
    try:
        from _blake2 import blake2b  # the C hash itself: hashlib's import costs ~2 ms
    except ImportError:  # pragma: no cover - every CPython build has it
        from hashlib import blake2b
    return blake2b(data, digest_size=20).hexdigest()


def env_digest(env: Mapping[str, str]) -> str:
    """Every variable counts: planning reads PATH, HOME, XDG_*, SKILLWARE_*, engine variables …"""
    text = "".join(f"{key}\0{env[key]}\0" for key in sorted(env))
    return _digest(text.encode("utf-8", "surrogateescape"))


def run_key(options: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """Everything a plan depends on besides its facts."""
    return (PLAN_FORMAT, __version__, code_stamp(), os.getuid(), os.getgid(), os.getcwd(),
            env_digest(os.environ), options)


def which(name: str) -> Optional[str]:
    """The executable `name` finds on PATH (the facts only need the same answer twice)."""
    for folder in (os.environ.get("PATH") or os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", name)
        if os.access(path, os.X_OK) and os.path.isfile(path):
            return path
    return None


def observe(kind: str, path: str) -> Any:
    """The current value of one fact."""
    if kind == "bytes":
        from .bounded_read import Unreadable, read_regular_file  # a FIFO there must not block the check

        try:
            return read_regular_file(path, MAX_FACT_BYTES)
        except FileNotFoundError:
            return None
        except Unreadable as exc:
            return ("unreadable", str(exc))
        except OSError as exc:
            return ("unreadable", exc.errno)
    if kind == "node":
        try:
            mode: Optional[int] = stat.S_IFMT(os.stat(path).st_mode)
        except OSError:
            mode = None
        return os.path.realpath(path), mode
    if kind == "which":
        return which(path)
    if kind == "stat":
        try:
            info = os.stat(path)
        except OSError:
            return None
        return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns
    raise ValueError(f"unknown fact kind {kind!r}")


def _recently_changed(kind: str, path: str, since: float) -> bool:
    if kind == "which":
        return False
    for look in (os.lstat, os.stat):
        try:
            info = look(path)
        except OSError:
            continue
        if max(info.st_mtime, info.st_ctime) >= since - RACY_SECONDS:
            return True
    return False


def _plan_file(options: Tuple[Any, ...]) -> str:
    """One file per command line, user and directory: a miss costs one failed open, no hashing of files."""
    # repr, not marshal: marshal's bytes for equal values differ with object identity (refs)
    where = repr((PLAN_FORMAT, os.getuid(), os.getcwd(), options)).encode("utf-8", "surrogateescape")
    return os.path.join(cache_root(), "plans", _digest(where) + ".plan")


def store(options: Tuple[Any, ...], facts: Sequence[Fact], plan: Dict[str, Any], planned_at: float) -> bool:
    """Keep `plan` for the command line `options` (see options_key) under this run's full key.

    False (nothing stored) when an input changed around planning time."""
    if any(_recently_changed(kind, path, planned_at) for kind, path in facts):
        return False
    values = [(kind, path, observe(kind, path)) for kind, path in facts]
    try:
        data = marshal.dumps((PLAN_FORMAT, run_key(options), time.time(), values, plan))
    except ValueError:  # a value marshal cannot hold (never in a validated manifest): just no plan
        return False
    path = _plan_file(options)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        return False
    return True


def load(options: Tuple[Any, ...]) -> Optional[Dict[str, Any]]:
    """The plan stored for the command line `options` when it is fresh, ours, made under this
    run's full key (environment, skillware files …), and every fact still holds; else None."""
    path = _plan_file(options)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        try:
            form, stored_key, made, values, plan = marshal.loads(handle.read())
        except (EOFError, ValueError, TypeError):
            return None
    if form != PLAN_FORMAT or not 0 <= time.time() - made < PLAN_TTL_SECONDS or stored_key != run_key(options):
        return None
    for kind, fact_path, value in values:
        if observe(kind, fact_path) != value:
            return None
    return plan if isinstance(plan, dict) else None
