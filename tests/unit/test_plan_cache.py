"""cold_plan (stored plans and their facts) and the fast path's command-line parser."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillware import cold_plan, json_strict
from skillware.cli.fast_run import parse

KEY = ("k",)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def old_file(path: Path, text: str) -> Path:
    """A file written long enough ago to be trusted (outside the racy window)."""
    path.write_text(text)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def stored(tmp_path: Path, facts: List[cold_plan.Fact], plan: Optional[Dict[str, Any]] = None) -> bool:
    """Store as if planning began after the test wrote its files (their ctime is always now)."""
    return cold_plan.store(KEY, facts, plan or {"argv": ["x"]}, time.time() + cold_plan.RACY_SECONDS + 1)


def test_a_plan_is_returned_while_every_fact_holds(tmp_path: Path) -> None:
    manifest = old_file(tmp_path / "manifest.yaml", "name: a/b\n")
    facts = [("bytes", str(manifest)), ("bytes", str(tmp_path / "absent")), ("node", str(tmp_path)),
             ("which", "sh")]
    assert stored(tmp_path, facts, {"argv": ["podman", "run"]})
    assert cold_plan.load(KEY) == {"argv": ["podman", "run"]}
    assert cold_plan.load(("other",)) is None


@pytest.mark.parametrize("change", ["edit", "appear", "replace_dir_with_file", "remove"])
def test_any_changed_fact_is_a_miss(tmp_path: Path, change: str) -> None:
    manifest = old_file(tmp_path / "manifest.yaml", "name: a/b\n")
    folder = tmp_path / "root"
    folder.mkdir()
    facts = [("bytes", str(manifest)), ("bytes", str(tmp_path / "policy.yaml")), ("node", str(folder))]
    assert stored(tmp_path, facts)
    if change == "edit":
        old_file(manifest, "name: a/c\n")      # same size, old mtime: the bytes still differ
    elif change == "appear":
        old_file(tmp_path / "policy.yaml", "ceilings: {}\n")
    elif change == "replace_dir_with_file":
        folder.rmdir()
        folder.write_text("")
    else:
        manifest.unlink()
    assert cold_plan.load(KEY) is None


def test_a_fifo_where_a_file_was_is_a_miss_not_a_wait(tmp_path: Path) -> None:
    policy = old_file(tmp_path / "skillware.yaml", "ceilings: {}\n")
    assert stored(tmp_path, [("bytes", str(policy))])
    policy.unlink()
    os.mkfifo(policy)  # opening it for reading would wait for a writer
    assert cold_plan.load(KEY) is None


def test_inputs_changed_around_planning_time_are_never_stored(tmp_path: Path) -> None:
    fresh = tmp_path / "manifest.yaml"
    fresh.write_text("name: a/b\n")
    assert not cold_plan.store(KEY, [("bytes", str(fresh))], {"argv": []}, time.time())
    assert cold_plan.load(KEY) is None


def plan_files(cache: Path) -> List[Path]:
    return list((cache / "skillware" / "plans").glob("*.plan"))


def test_a_plan_file_others_can_write_or_that_is_corrupt_is_ignored(tmp_path: Path, cache: Path) -> None:
    assert stored(tmp_path, [])
    (path,) = plan_files(cache)
    assert path.stat().st_mode & 0o777 == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    os.chmod(path, 0o666)
    assert cold_plan.load(KEY) is None
    os.chmod(path, 0o600)
    assert cold_plan.load(KEY) is not None
    path.write_bytes(b"\x00garbage")
    assert cold_plan.load(KEY) is None


def test_a_plan_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert stored(tmp_path, [])
    later = time.time() + cold_plan.PLAN_TTL_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert cold_plan.load(KEY) is None


def test_the_key_covers_the_whole_environment_and_the_working_directory(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    key = cold_plan.run_key(("x",))
    assert stored(tmp_path, [])
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "1")
    assert cold_plan.run_key(("x",)) != key and cold_plan.load(KEY) is None
    monkeypatch.delenv("SOME_UNRELATED_VARIABLE")
    assert cold_plan.run_key(("x",)) == key and cold_plan.load(KEY) is not None
    monkeypatch.chdir(tmp_path)
    assert cold_plan.run_key(("x",)) != key and cold_plan.load(KEY) is None


def test_per_run_parts_are_filled_only_where_the_stand_ins_are() -> None:
    template = ["podman", "--name", cold_plan.NAME, "--user", cold_plan.USER,
                f"io.skillware.owner={cold_plan.OWNER}", "/path/with/name/user/owner"]
    assert cold_plan.fill_argv(template, "skillware-1", "2:2", "3:4") == [
        "podman", "--name", "skillware-1", "--user", "2:2", "io.skillware.owner=3:4", "/path/with/name/user/owner"]


def test_which_finds_executables_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cold_plan.which("tool") is None
    tool.chmod(0o755)
    assert cold_plan.which("tool") == str(tool)
    (tmp_path / "dir").mkdir()
    assert cold_plan.which("dir") is None


@pytest.mark.parametrize("argv", [
    ["run", "a/b"],
    ["run", "a/b", "--params", '{"x": 1}', "--isolated", "--engine", "docker"],
    ["run", "--params={}", "--skills-dir", "s", "--skills-dir=t", "a/b", "--compact", "--allow-unenforced-limits"],
    ["run", "a/b", "--policy", "p.yaml", "--runtime", "runc", "--pretty"],
])
def test_the_plain_run_forms_are_taken(argv: List[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKILLWARE_ENGINE", raising=False)
    args = parse(argv)
    assert args is not None and args.skill == "a/b"


@pytest.mark.parametrize("argv", [
    [], ["list"], ["--debug", "run", "a/b"], ["run"], ["run", "a/b", "c/d"], ["run", "-h"], ["run", "a/b", "--help"],
    ["run", "a/b", "--dry-run"], ["run", "a/b", "--batch", "f.jsonl"], ["run", "a/b", "--verbose"],
    ["run", "a/b", "--reuse"], ["run", "a/b", "--params", "-"], ["run", "a/b", "--params", "@p.json"],
    ["run", "a/b", "--params"], ["run", "a/b", "--params", "{}", "--params", "{}"], ["run", "a/b", "--engine", "lxc"],
    ["run", "a/b", "--", "x"], ["run", "a/b", "--params="], ["run", "a/b", "--isolated=yes"],
])
def test_everything_else_goes_to_the_full_command(argv: List[str]) -> None:
    assert parse(argv) is None


def test_the_engine_comes_from_the_environment_as_for_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLWARE_ENGINE", "docker")
    args = parse(["run", "a/b"])
    assert args is not None and args.values["--engine"] == "docker"
    monkeypatch.setenv("SKILLWARE_ENGINE", "bogus")
    assert parse(["run", "a/b"]) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


def json_loads_or_error(text: str) -> Tuple[str, str]:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        return "ok", repr(json.loads(text, parse_constant=refuse))
    except (ValueError, RecursionError):
        return "error", ""


def strict_or_error(text: str) -> Tuple[str, str]:
    try:
        return "ok", repr(json_strict.loads(text))
    except (ValueError, RecursionError):
        return "error", ""


@given(st.one_of(json_values.map(json.dumps), json_values.map(lambda v: json.dumps(v, indent=1) + "\n"),
                 st.text(alphabet='{}[]":,.-+eE0123456789 \t\n\rtrufalsnNIiy\\', max_size=30)))
@settings(max_examples=400, deadline=None)
def test_the_strict_reader_agrees_with_json_loads(text: str) -> None:
    assert strict_or_error(text) == json_loads_or_error(text)


def test_lone_surrogates_are_found_in_keys_and_values() -> None:
    assert json_strict.lone_surrogate_at({"a": ["ok", {"b": "x\ud800"}]}) == "/a/1/b"
    assert json_strict.lone_surrogate_at({"a/\udc00": 1}) == "/a~1\udc00"
    assert json_strict.lone_surrogate_at({"a": "\U0001f600", "b": [1, None, True]}) is None
