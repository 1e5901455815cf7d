"""`skillware gc`: remove containers whose owning skillware process is gone."""

from __future__ import annotations

import click


@click.command()
def gc() -> None:
    """Remove leftover skillware containers (labelled, owner process gone) on every engine."""
    from ..engine import ENGINES, probe_engine
    from ..errors import EngineError
    from ..runners.gc import collect_orphans

    for name in ENGINES:
        try:
            probe = probe_engine(name)
        except EngineError:
            continue
        removed = collect_orphans(probe)
        click.echo(f"{name}: removed {len(removed)} container(s)" + (": " + ", ".join(removed) if removed else ""))
