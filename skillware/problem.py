"""One finding about a file: where (file + JSON pointer), what, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about a file: where (file + JSON pointer), what, and how to fix it."""

    file: str
    pointer: str
    message: str
    hint: str = ""
    warning: bool = False

    def format(self) -> str:
        """Render as `path: /json/pointer: message (hint)`."""
        where = f"{self.file}: {self.pointer or '/'}"
        text = f"{where}: {'warning: ' if self.warning else ''}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text
