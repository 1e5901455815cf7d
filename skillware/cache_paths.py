"""Where skillware keeps its per-user caches (kept apart so a cold run need not import more)."""

from __future__ import annotations

import os


def cache_root() -> str:
    """$XDG_CACHE_HOME/skillware, or ~/.cache/skillware."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "skillware")
