"""Keep a skill's output off our stdout, where only results belong, at the file-descriptor level."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Iterator, TextIO


@contextlib.contextmanager
def results_only_on_stdout() -> Iterator[TextIO]:
    """Point fd 1 and sys.stdout at stderr for the block; yield a stream onto the real stdout.

    print() is not enough: a skill's subprocesses and os.write(1, …) use the descriptor. When
    stdout is not a real descriptor (click's test runner), only sys.stdout is redirected.
    """
    target = sys.stdout
    try:
        fd = target.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = -1
    if fd != 1:
        with contextlib.redirect_stdout(sys.stderr):
            yield target
        return
    target.flush()
    saved = os.dup(1)
    results = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace")
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield results
    finally:
        results.flush()
        results.close()
        os.dup2(saved, 1)
        os.close(saved)
