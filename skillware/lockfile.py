"""skillware.lock: what a reviewer signed off (bundle file hashes, image digests), enforced by run.

Where a lock file is present (./skillware.lock, or SKILLWARE_LOCK), `run` refuses a skill that
is not in it, a bundle whose files differ, or an image whose digest differs, naming which.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .bundle import Bundle
from .bundle_hash import combined_hash, file_hashes
from .errors import PolicyError, UsageError
from .manifest import Manifest

LOCK_NAME = "skillware.lock"
LOCK_VERSION = 1


def lock_path(env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None) -> Path:
    env = os.environ if env is None else env
    return Path(env["SKILLWARE_LOCK"]) if env.get("SKILLWARE_LOCK") else (cwd or Path.cwd()) / LOCK_NAME


MAX_LOCK_BYTES = 64 * 1024 * 1024


def read_lock(path: Path) -> Optional[Dict[str, Any]]:
    """The lock document, or None when there is no lock file."""
    from .bounded_read import Unreadable, read_regular_file

    try:
        text = read_regular_file(path, MAX_LOCK_BYTES).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except Unreadable as exc:
        raise PolicyError(f"{path}: {exc}", "re-create it with `skillware lock --all`") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}", "fix its permissions") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"{path}: not valid JSON: {exc}", "re-create it with `skillware lock --all`") from None
    if not isinstance(document, dict) or document.get("version") != LOCK_VERSION or \
            not isinstance(document.get("skills"), dict):
        raise PolicyError(f"{path}: not a version {LOCK_VERSION} skillware lock file",
                          "re-create it with `skillware lock --all`")
    return document


def lock_entry(bundle: Bundle, manifest: Manifest, image: Optional[str],
               digests: Mapping[str, str]) -> Dict[str, Any]:
    """The lock entry for one skill."""
    files = file_hashes(bundle.path)
    return {"bundle": combined_hash(files), "files": files, "execution": manifest.execution,
            "image": image, "image_digests": dict(digests)}


def write_lock(path: Path, entries: Mapping[str, Dict[str, Any]]) -> None:
    """Merge entries into the lock file (other skills' entries are kept), atomically."""
    document = read_lock(path) or {"version": LOCK_VERSION, "skills": {}}
    document["skills"].update(entries)
    document["skills"] = dict(sorted(document["skills"].items()))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the lock file: {exc.strerror or exc}",
                         "run where you may write, or set SKILLWARE_LOCK to a writable path") from None


def _file_changes(locked: Mapping[str, str], current: Mapping[str, str]) -> List[str]:
    changes = [f"{rel} changed" for rel in sorted(locked) if rel in current and current[rel] != locked[rel]]
    changes += [f"{rel} removed" for rel in sorted(locked) if rel not in current]
    changes += [f"{rel} added" for rel in sorted(current) if rel not in locked]
    return changes


def check_bundle(document: Mapping[str, Any], path: Path, bundle: Bundle,
                 current: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Refuse a skill that is not locked, or whose files differ; return its entry.

    `current` is the bundle's file_hashes when the caller already has them.
    """
    entry = document["skills"].get(bundle.id)
    if not isinstance(entry, dict):
        raise PolicyError(f"{bundle.id} is not in the lock file {path}",
                          f"have it reviewed, then `skillware lock {bundle.id}`")
    changes = _file_changes(entry.get("files") or {}, file_hashes(bundle.path) if current is None else current)
    if changes:
        shown = ", ".join(changes[:5]) + (f" (+{len(changes) - 5} more)" if len(changes) > 5 else "")
        raise PolicyError(f"{bundle.id} differs from {path}: {shown}",
                          f"review the change, then `skillware lock {bundle.id}`")
    return entry


def check_image(entry: Mapping[str, Any], path: Path, skill_id: str, engine: str, image: str, digest: str) -> None:
    """Refuse an image whose digest is not the locked one for this engine."""
    locked = (entry.get("image_digests") or {}).get(engine)
    if entry.get("image") != image:
        raise PolicyError(f"{skill_id} runs image {image!r}, but {path} locked {entry.get('image')!r}",
                          f"review it, then `skillware lock {skill_id}`")
    if locked is None:
        raise PolicyError(f"{path} has no {engine} image digest for {skill_id}",
                          f"`skillware lock {skill_id}` with {engine} available")
    if locked != digest:
        raise PolicyError(f"{skill_id}: image {image} is {digest[:19]}…, but {path} locked {locked[:19]}…",
                          f"review the new image, then `skillware lock {skill_id}`")


def locked_ids(document: Mapping[str, Any]) -> Sequence[str]:
    return sorted(document["skills"])
