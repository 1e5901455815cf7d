"""Pass a skill's stderr to ours without letting it drive the operator's terminal."""

from __future__ import annotations

import codecs
import re

TYPE_CHECKING = False  # imported by every cold run; typing costs ~2 ms
if TYPE_CHECKING:
    from typing import BinaryIO

# C0 controls except tab and newline, DEL, and C1 controls: escape sequences, bells, the
# one-character CSI. They are shown as visible \\xNN text instead.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise(text: str) -> str:
    """Replace terminal control characters with visible escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeStream:
    """Decodes chunks incrementally (a UTF-8 character may span two chunks) and writes safe text."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, data: bytes) -> None:
        text = neutralise(self._decoder.decode(data))
        if text:
            self._target.write(text.encode("utf-8"))
            self._target.flush()
