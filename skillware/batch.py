"""Batch runs: one result line per input line, in input order; a bad line never stops the batch."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, Iterator, Optional

from .errors import SkillwareError
from .json_strict import MAX_PARAMS_BYTES
from .params import parse_json

TOO_LONG = None  # what bounded_lines() yields for a line longer than the limit


def bounded_lines(lines: Iterable[str], limit: int = MAX_PARAMS_BYTES) -> Iterator[Optional[str]]:
    """The lines of a file or stream, each at most `limit` characters; a longer one is skipped and
    yields None (`--batch /dev/zero` is one endless line: it must not be read into memory)."""
    readline = getattr(lines, "readline", None)
    if readline is None:
        yield from lines
        return
    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while True:  # the rest of this line, in bounded pieces
                rest = readline(limit + 1)
                if not rest or rest.endswith("\n"):
                    break
            yield TOO_LONG
        else:
            yield line


def _line_result(call: Callable[[Dict[str, Any]], Any], number: int, line: Optional[str]) -> Dict[str, Any]:
    if line is TOO_LONG:
        return _error("params", f"line {number}: longer than {MAX_PARAMS_BYTES:,} characters", 2)
    try:
        params = parse_json(line, f"line {number}")
        if not isinstance(params, dict):
            return _error("params", f"line {number}: params must be a JSON object", 2)
        return {"ok": True, "result": call(params)}
    except SkillwareError as exc:
        return _error(exc.kind, exc.one_line(), exc.exit_code)


def _error(kind: str, message: str, exit_code: int) -> Dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": message, "exit_code": exit_code}}


def run_batch(call: Callable[[Dict[str, Any]], Any], lines: Iterable[str], jobs: int = 1,
              progress: Optional[Callable[[], None]] = None) -> Iterator[str]:
    """Yield one compact JSON line per input line, in input order, running up to `jobs` at once."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: Dict[int, Future[Dict[str, Any]]] = {}
        next_out = 0

        def drain(block: bool) -> Iterator[str]:
            nonlocal next_out
            while next_out in pending and (block or pending[next_out].done()):
                document = pending.pop(next_out).result()
                next_out += 1
                if progress:
                    progress()
                yield json.dumps(document, ensure_ascii=False, separators=(",", ":"))

        for index, line in enumerate(bounded_lines(lines)):
            pending[index] = pool.submit(_line_result, call, index + 1, None if line is None else line.rstrip("\r\n"))
            # bound the work in flight so a huge file never sits in memory as futures
            if len(pending) >= jobs * 4:
                yield from drain(block=True)
            else:
                yield from drain(block=False)
        yield from drain(block=True)
