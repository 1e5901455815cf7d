"""What a planned cold run imports before it spawns the engine stays small (README: planned cold
runs). Timing belongs in benchmarks/; this pins the cause: no heavy module on that path."""

from __future__ import annotations

import subprocess
import sys

BEFORE_SPAWN = ("skillware.cli", "skillware.cli.fast_run", "skillware.cold_plan", "skillware.json_strict",
                "skillware.fast_schema", "skillware.errors", "skillware.runners.preflight", "skillware.container_ids",
                "skillware.runners.spawn", "skillware.time_bound")
HEAVY = ("typing", "dataclasses", "subprocess", "json", "re", "pathlib", "click", "enum", "signal", "threading",
         "hashlib", "yaml", "jsonschema", "locale", "inspect")


def test_nothing_heavy_is_imported_before_the_engine_starts() -> None:
    code = ("import sys\n"
            f"for name in {BEFORE_SPAWN!r}:\n"
            "    __import__(name)\n"
            f"print(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {sys.path!r}\n" + code],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported before the spawn: {done.stdout.strip()}"
