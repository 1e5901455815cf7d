"""Fixtures for unit tests: a private manifest cache, a clean lookup environment, bundles in tmp_path."""

from __future__ import annotations

import pytest

from tests.bundles import ECHO_SKILL, MakeBundle, write_bundle  # noqa: F401 - re-exported for tests


@pytest.fixture(autouse=True)
def private_cache_and_clean_lookup(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own manifest cache, no SKILLWARE_PATH and a cwd without ./skills."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("SKILLWARE_PATH", raising=False)
    monkeypatch.delenv("SKILLWARE_NO_CACHE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
