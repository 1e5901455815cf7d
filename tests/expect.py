"""Shared assertions on what the CLI prints."""

from __future__ import annotations


def one_line_error(exit_code: int, stdout: str, stderr: str, expected: int, *fragments: str) -> str:
    """A user error: the exit code, exactly one stderr line, no traceback, nothing on stdout."""
    assert exit_code == expected, (stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in stderr
    assert stdout == ""
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]
