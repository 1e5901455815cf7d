"""A wall-clock bound for host-side work a skill's manifest controls: its schemas' `pattern`s.

Params and results are checked in the host process with the manifest's regular expressions,
and a pattern such as `(a+)+$` backtracks for minutes on 30 characters: a hostile manifest
(or a hostile result checked against it) could hang the caller outside every container limit.
CPython's regex engine checks for signals while it backtracks, so an interval timer can stop it.

Only the CLI turns this on (enable()): it owns its process, its main thread and SIGALRM. In
other threads, and in library callers that did not enable it, the block runs unbounded.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # what `signal` wraps; `signal` imports enum (~2 ms)
import _thread

from .signal_scope import HandlerScope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

# Generous for any sane schema (they check in microseconds); short enough that a stuck check
# ends while a person is still waiting for it.
SCHEMA_CHECK_SECONDS = 2.0

_main_thread: Optional[int] = None


class Exceeded(BaseException):
    """The block ran out of time. BaseException: validators must not swallow it as a failed check."""


def enable() -> None:
    """Bound blocks run in the calling (main) thread from now on."""
    global _main_thread
    _main_thread = _thread.get_ident()


def _expire(signum: int, frame: Any) -> None:
    raise Exceeded()


class TimeBound:
    """`with TimeBound(seconds):` raises Exceeded when the block is still running after `seconds`."""

    def __init__(self, seconds: float = SCHEMA_CHECK_SECONDS) -> None:
        self.seconds = seconds
        self._handler = HandlerScope(int(_signal.SIGALRM), _expire)

    def __enter__(self) -> TimeBound:
        if _main_thread is not None and _thread.get_ident() == _main_thread and self._handler.__enter__().active:
            _signal.setitimer(_signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handler.active:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
            self._handler.__exit__()
