"""Image ids (sha256:…) by image name, cached until the engine's image store changes.

An `image inspect` costs about as much as a whole container run, and the audit log wants the
id on every run. The engine rewrites one index file whenever an image is added, removed or
tagged (podman: <graphRoot>/<driver>-images/images.json; docker:
<root>/image/<driver>/repositories.json); a cached id is used only while that file's mtime
and size are unchanged. Without a readable index file nothing is cached.
"""

from __future__ import annotations

import json
import os

from .cache_paths import cache_root
from .engine_cli import run_engine

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from typing import Dict, Optional


def _marker(index_file: str) -> Optional[str]:
    try:
        stat = os.stat(index_file)
    except OSError:
        return None
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def _cache_path() -> str:
    return os.path.join(cache_root(), "image-ids.json")


def _load() -> Dict[str, Dict[str, str]]:
    try:
        with open(_cache_path(), encoding="utf-8") as handle:
            value = json.load(handle)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def lookup(engine_path: str, image: str, index_file: str) -> Optional[str]:
    """The id `image` resolves to, or None when it is not in the store."""
    key = f"{engine_path}|{image}"
    marker = _marker(index_file) if index_file else None
    if marker is not None:
        entry = _load().get(key)
        if entry and entry.get("marker") == marker:
            return entry["id"]
    done = run_engine([engine_path, "image", "inspect", "--format", "{{.Id}}", image], timeout=60)
    ident = done.stdout.decode().strip() if done.returncode == 0 else ""
    if not ident:
        return None
    ident = ident if ident.startswith("sha256:") else f"sha256:{ident}"
    if marker is not None and marker == _marker(index_file):  # unchanged while we looked
        cache = _load()
        cache[key] = {"id": ident, "marker": marker}
        try:
            os.makedirs(os.path.dirname(_cache_path()), mode=0o700, exist_ok=True)
            tmp = f"{_cache_path()}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(cache, handle)
            os.replace(tmp, _cache_path())
        except OSError:
            pass
    return ident
