"""A signal handler for the length of a block, then the previous one back; builtin modules only.

`signal` itself imports enum (~2 ms); `_signal` is what it wraps, already loaded at start-up,
which keeps the planned-run path (cli/fast_run.py) light.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


class HandlerScope:
    """`with HandlerScope(signum, handler):` the handler holds within the block. Only the main
    thread can set handlers: elsewhere `active` is False and nothing changes."""

    def __init__(self, signum: int, handler: Callable[[int, Any], None]) -> None:
        self.signum, self.handler = signum, handler
        self.active = False
        self._previous: Any = None

    def __enter__(self) -> HandlerScope:
        try:
            self._previous = _signal.signal(self.signum, self.handler)
            self.active = True
        except ValueError:  # not the main thread: leave the process's handler alone
            self.active = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            _signal.signal(self.signum, _signal.SIG_DFL if self._previous is None else self._previous)
            self.active = False
