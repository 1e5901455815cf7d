"""Fixtures for CLI tests: a private manifest cache, a clean lookup environment, bundles in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import pytest
from click.testing import CliRunner, Result

from skillware.cli import cli
from tests.bundles import ECHO_SKILL, MakeBundle  # noqa: F401 - re-exported for tests

Invoke = Callable[..., Result]
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(autouse=True)
def private_cache_and_clean_lookup(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own manifest cache, no SKILLWARE_* settings and a cwd without ./skills."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    for name in [n for n in os.environ if n.startswith("SKILLWARE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def invoke() -> Invoke:
    """Run the CLI in process through click's CliRunner (stdout and stderr kept apart)."""

    def run(args: Sequence[str], input: Optional[str] = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, prog_name="skillware")

    return run


CONSOLE_SCRIPT = Path(sysconfig.get_path("scripts")) / "skillware"
ENTRY_POINTS: Dict[str, List[str]] = {
    "python -m skillware": [sys.executable, "-m", "skillware"],
    "skillware script": [str(CONSOLE_SCRIPT)],
}


@pytest.fixture(params=sorted(ENTRY_POINTS))
def entry_point(request: pytest.FixtureRequest) -> List[str]:
    """Both ways of starting the real program: `python -m skillware` and the console script."""
    argv = ENTRY_POINTS[request.param]
    if not Path(argv[0]).exists():
        pytest.fail(f"{argv[0]} is missing: is skillware installed (pip install -e .)?")
    return argv


@pytest.fixture
def run_cli() -> RunCli:
    """Run `python -m skillware ARGS` as a real subprocess with pipes (so stdout is not a terminal)."""

    def run(args: Sequence[str], input: Optional[str] = None, argv0: Optional[Sequence[str]] = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [*(argv0 or ENTRY_POINTS["python -m skillware"]), *args]
        return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    return run
