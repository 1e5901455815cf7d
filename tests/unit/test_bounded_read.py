"""Files a user names are read only when they are small regular files: no FIFO waits, no /dev/zero."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from skillware.audit_log import parse_since
from skillware.batch import bounded_lines
from skillware.errors import ParamsError, PolicyError
from skillware.lockfile import read_lock
from skillware.params import read_params
from skillware.policy_file import PolicyFileError, load_policy


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_special_files_are_refused_at_once(tmp_path: Path, fifo: Path, special: str) -> None:
    path = {"fifo": str(fifo), "/dev/zero": "/dev/zero", "directory": str(tmp_path)}[special]
    with pytest.raises(ParamsError) as params:
        read_params(f"@{path}")
    with pytest.raises(PolicyFileError) as policy:
        load_policy(path, cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert "not a regular file" in params.value.one_line() or "Is a directory" in params.value.one_line()
    assert "not a regular file" in policy.value.one_line() or "Is a directory" in policy.value.one_line()
    if special != "directory":
        with pytest.raises(PolicyError) as lock:
            read_lock(Path(path))
        assert "not a regular file" in lock.value.one_line()


def test_a_too_long_batch_line_is_skipped_not_read_into_memory() -> None:
    stream = io.StringIO("{}\n" + "x" * 50 + "\n{\"a\": 1}\n" + "y" * 30)
    assert list(bounded_lines(stream, limit=10)) == ["{}\n", None, '{"a": 1}\n', None]


def test_a_since_further_back_than_any_date_is_the_beginning() -> None:
    assert parse_since("99999999999d").year == 1
