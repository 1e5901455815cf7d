"""Remove containers that skillware started and whose owning process is gone."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Tuple

from ..container_ids import MANAGED_LABEL, OWNER_LABEL, process_start_time
from ..engine import EngineProbe
from ..engine_cli import run_engine
from ..manifest_cache import cache_dir
from .supervise import remove_container

GC_INTERVAL_SECONDS = 60


def _labels(value: object) -> Dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):  # docker: "k=v,k=v"
        return dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    return {}


def managed_containers(probe: EngineProbe) -> List[Tuple[str, Dict[str, str]]]:
    """(name, labels) of every container carrying skillware's label, running or not."""
    fmt = "json" if probe.name == "podman" else "{{json .}}"
    done = run_engine([probe.path, "ps", "-a", "--filter", f"label={MANAGED_LABEL}=1", "--format", fmt], timeout=60)
    if done.returncode != 0:
        return []
    text = done.stdout.decode("utf-8", "replace").strip()
    rows = json.loads(text or "[]") if probe.name == "podman" else [json.loads(line) for line in text.splitlines()]
    found = []
    for row in rows:
        names = row.get("Names")
        name = names[0] if isinstance(names, list) else str(names)
        found.append((name, _labels(row.get("Labels"))))
    return found


def owner_alive(token: str) -> bool:
    """True when `pid:starttime` names a live process (a reused pid has another start time)."""
    pid_text, _, started = token.partition(":")
    if not pid_text.isdigit():
        return False
    return process_start_time(int(pid_text)) == started and started != "0"


def collect_orphans(probe: EngineProbe) -> List[str]:
    """Remove managed containers whose owner is gone; return their names."""
    removed = []
    for name, labels in managed_containers(probe):
        if not owner_alive(labels.get(OWNER_LABEL, "")):
            if remove_container(probe.path, name):
                removed.append(name)
    return removed


def stamp_path(probe: EngineProbe) -> Path:
    """Touched whenever a collection starts (one file per engine and mode)."""
    return cache_dir() / f"gc-{probe.name}-{'rootless' if probe.rootless else 'root'}.stamp"


def collect_orphans_soon(probe: EngineProbe) -> None:
    """At most once a minute per engine, collect orphans in the background (never delays a run)."""
    stamp = stamp_path(probe)
    try:
        if time.time() - stamp.stat().st_mtime < GC_INTERVAL_SECONDS:
            return
    except OSError:
        pass
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp.touch()
    except OSError:
        return

    def work() -> None:
        try:
            collect_orphans(probe)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass

    threading.Thread(target=work, name="skillware-gc", daemon=True).start()
