"""Which of a manifest's PEP 508 `requirements` are not satisfied in this Python environment."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Iterable, List

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def _satisfied(requirement: str) -> bool:
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # without `packaging`, presence of the distribution is the check
        match = _NAME.match(requirement)
        return match is not None and _installed_version(match.group(1)) is not None
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True  # not needed on this platform
    version = _installed_version(req.name)
    return version is not None and (not req.specifier or req.specifier.contains(version, prereleases=True))


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def missing_requirements(requirements: Iterable[str]) -> List[str]:
    """The requirement strings that are not installed (or installed at a non-matching version)."""
    return [r.strip() for r in requirements if not _satisfied(r)]
