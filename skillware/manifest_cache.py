"""A cache of manifests that validated, keyed by their exact bytes, so repeat runs skip jsonschema.

Importing jsonschema and parsing YAML cost more than a small skill's whole run; agents call the
same unchanged skill in loops. The key covers everything validation depends on: the manifest
bytes, the bundle id and kind, the schema and skillware's version. Any cache failure is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

from .bundle import Bundle
from .cache_paths import cache_root
from .yaml_limits import MAX_BYTES


def cache_dir() -> Path:
    """Per-user cache folder ($XDG_CACHE_HOME/skillware or ~/.cache/skillware)."""
    return Path(cache_root())


@lru_cache(maxsize=1)
def _schema_digest() -> str:
    from . import __version__

    schema = (Path(__file__).resolve().parent / "schemas" / "manifest.schema.json").read_bytes()
    from .cold_plan import code_stamp

    # Any change to skillware's own files (a new check, in a development install) is a miss too.
    return hashlib.sha256(schema + __version__.encode() + repr(code_stamp()).encode()).hexdigest()


def _key(bundle: Bundle) -> Optional[str]:
    try:
        with open(bundle.manifest_path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_BYTES:
        return None
    digest = hashlib.sha256()
    for part in (raw, bundle.id.encode(), b"root" if bundle.root else b"path", _schema_digest().encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _enabled() -> bool:
    return os.environ.get("SKILLWARE_NO_CACHE", "") in ("", "0")


def cached_manifest(bundle: Bundle) -> Optional[Dict[str, Any]]:
    """The parsed manifest if these exact bytes validated before, else None."""
    key = _key(bundle) if _enabled() else None
    if key is None:
        return None
    try:
        data = json.loads((cache_dir() / "manifests" / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store_manifest(bundle: Bundle, data: Dict[str, Any]) -> None:
    """Remember that this manifest validated (atomic write; failures are ignored)."""
    key = _key(bundle) if _enabled() else None
    if key is None:
        return
    import tempfile  # only on a cache miss

    folder = cache_dir() / "manifests"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, folder / f"{key}.json")
    except (OSError, TypeError, ValueError):
        pass
