"""`skillware doctor`: which engines work here, what they can enforce, and the fix for each gap."""

from __future__ import annotations

from typing import Any, Dict, List

import click

from .options import dumps, json_option, table


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Probe podman and docker: rootless, cgroups, runtimes, seccomp, enforceable limits."""
    from ..engine import ENGINES, host_cgroup_version, probe_engine
    from ..errors import EngineError

    reports: List[Dict[str, Any]] = []
    for name in ENGINES:
        try:
            reports.append({"engine": name, "ok": True, **probe_engine(name, use_cache=False).to_json()})
        except EngineError as exc:
            reports.append({"engine": name, "ok": False, "error": exc.message, "fix": exc.hint})
    usable = [r for r in reports if r["ok"]]
    if as_json:
        click.echo(dumps({"cgroup": host_cgroup_version(), "engines": reports,
                          "selected": usable[0]["engine"] if usable else None}, pretty=False))
    else:
        rows = []
        for r in reports:
            if not r["ok"]:
                rows.append([r["engine"], "unavailable", "", "", "", "", "", r["error"]])
                continue
            runtime = r["default_runtime"] + (" (runc used)" if r["cgroup_version"] == "hybrid"
                                              and r["default_runtime"] == "crun" else "")
            rows.append([r["engine"], r["version"], "rootless" if r["rootless"] else "rootful",
                         f"{r['cgroup_version']}/{r['cgroup_manager']}", runtime,
                         "yes" if r["seccomp"] else "NO", "yes" if r["limits_enforced"] else "NO",
                         ", ".join(r["runtimes"])])
        click.echo(table(rows, ["engine", "version", "mode", "cgroup", "runtime", "seccomp", "limits", "runtimes"]))
        click.echo(f"\nselected: {usable[0]['engine'] if usable else 'none'}")
        for r in reports:
            for gap in r.get("gaps", []) if r["ok"] else [{"problem": r["error"], "fix": r["fix"]}]:
                click.echo(f"  {r['engine']}: {gap['problem']}\n      fix: {gap['fix']}")
    if not usable:
        raise SystemExit(5)
