"""Content hashes of a bundle: per file (so a change can be named) and for the whole bundle."""

from __future__ import annotations

import hashlib
import os
import stat

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Dict, Mapping, Union

_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache"}


def file_hashes(folder: Union[str, Path]) -> Dict[str, str]:
    """relative path → "sha256:…" of its bytes (executables and symlinks marked as such)."""
    hashes: Dict[str, str] = {}
    prefix = os.path.join(str(folder), "")
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = path[len(prefix):].replace(os.sep, "/")
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                digest = hashlib.sha256(b"symlink:" + os.readlink(path).encode())
            elif not stat.S_ISREG(mode):
                # a FIFO or socket must never be opened: reading it would block or fail
                digest = hashlib.sha256(f"special:{stat.S_IFMT(mode):o}".encode())
            else:
                digest = hashlib.sha256(b"exec:" if os.access(path, os.X_OK) else b"file:")
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            hashes[rel] = "sha256:" + digest.hexdigest()
    return hashes


def combined_hash(hashes: Mapping[str, str]) -> str:
    """One "sha256:…" for a whole bundle, from its per-file hashes (see file_hashes)."""
    lines = "".join(f"{rel}\0{digest}\n" for rel, digest in sorted(hashes.items()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def bundle_hash(folder: Path) -> str:
    """One "sha256:…" for the whole bundle."""
    return combined_hash(file_hashes(folder))
