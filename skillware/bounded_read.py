"""Reading the files a user names (policy, @params, lock file) without trusting what they are.

`--policy /dev/zero` or `--params @/dev/zero` must not read forever, and a FIFO must not make
`open` wait for a writer: only a regular file of bounded size is read.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Union


class Unreadable(ValueError):
    """Not a regular file, or larger than the limit; the message says which."""


def read_regular_file(path: Union[str, Path], limit: int) -> bytes:
    """The file's bytes; OSError as opening raises it, Unreadable for anything but a small regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # O_NONBLOCK: a FIFO opens at once
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("not a regular file")
        if info.st_size > limit:
            raise Unreadable(f"file is {info.st_size:,} bytes; the limit is {limit:,}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise Unreadable(f"file is larger than {limit:,} bytes")
    finally:
        os.close(fd)
