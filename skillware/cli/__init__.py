"""The `skillware` command: a click group whose commands live one per module.

`main` first offers the command line to the fast path for planned cold runs (fast_run.py),
which needs neither click nor the planner; everything else goes to the click group.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    from ..errors import EXIT_INTERRUPTED
    from ..time_bound import enable
    from .fast_run import try_run

    enable()  # schema checks in this process are bounded in time (a hostile `pattern` cannot hang it)
    try:
        code = try_run(sys.argv[1:])
    except KeyboardInterrupt:  # before any engine started: nothing to clean up
        sys.stderr.write("skillware: interrupted\n")
        code = EXIT_INTERRUPTED
    if code is None:
        from .main import main as click_main

        click_main()
        return
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down (~7 ms): everything of the run is written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from .main import cli

        return cli
    raise AttributeError(f"module 'skillware.cli' has no attribute {name!r}")
