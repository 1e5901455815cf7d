"""Checks before a container starts, for failures that would otherwise be cryptic inside it."""

from __future__ import annotations

import os
import stat

from ..errors import BundleError

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Union

_MAX_ENTRIES = 20000


def check_readable(folder: Union[str, Path]) -> None:
    """The container runs as an unprivileged user: every bundle file must be world-readable."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in filenames)]:
            count += 1
            if count > _MAX_ENTRIES:
                raise BundleError(f"{folder}: more than {_MAX_ENTRIES:,} files", "ship less in the bundle")
            try:
                mode = os.lstat(name).st_mode
            except OSError:
                continue
            need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
            if not stat.S_ISLNK(mode) and mode & need != need:
                raise BundleError(f"{name} is not readable by the container's unprivileged user",
                                  f"chmod -R o+rX {folder}")
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
