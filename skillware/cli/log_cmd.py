"""`skillware log`: the audit log as a table or JSON lines."""

from __future__ import annotations

import datetime
from typing import Optional

import click

from .options import dumps, json_option, table


@click.command()
@click.option("--skill", "skill_id", help="Only runs of this skill id.")
@click.option("--since", help="Only runs since an ISO time, or a duration like 30m, 12h, 7d.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Operator policy file (its audit_log path).")
@json_option
def log(skill_id: Optional[str], since: Optional[str], policy_path: Optional[str], as_json: bool) -> None:
    """Show the audit log: one record per run (never params, results or secrets)."""
    from ..audit_log import log_path, parse_since, read_records
    from ..errors import UsageError
    from ..policy_file import load_policy

    try:
        cutoff = parse_since(since) if since else None
    except ValueError:
        raise UsageError(f"--since {since!r} is not a time", "use an ISO time or 30m / 12h / 7d") from None
    path = log_path(load_policy(policy_path))
    rows = []
    for record in read_records(path):
        if skill_id and record.get("skill") != skill_id:
            continue
        if cutoff is not None:
            try:
                if datetime.datetime.fromisoformat(str(record.get("time"))) < cutoff:
                    continue
            except ValueError:
                continue
        rows.append(record)
    if as_json:
        for record in rows:
            click.echo(dumps(record, pretty=False))
        return
    click.echo(f"audit log: {path}", err=True)
    click.echo(table([[str(r.get("time", ""))[:19], str(r.get("user", "")), str(r.get("skill", "")),
                       str(r.get("execution", "")), str(r.get("exit_kind", "")), f"{r.get('duration_ms', 0):.0f}",
                       str(r.get("bytes_out", "")), ", ".join(r.get("decisions") or [])[:60]] for r in rows],
                     ["time", "user", "skill", "execution", "exit", "ms", "bytes", "decisions"]))
