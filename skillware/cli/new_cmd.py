"""`skillware new`: scaffold a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from .options import all_skills_dirs


@click.command()
@click.argument("skill_id", metavar="CATEGORY/NAME")
@click.option("--dir", "target", type=click.Path(file_okay=False),
              help="Skills root to create it in (default: the first --skills-dir, else ./skills).")
@click.pass_context
def new(ctx: click.Context, skill_id: str, target: Optional[str]) -> None:
    """Create a new in-process skill bundle that validates and runs as created, with a test."""
    from ..scaffold import scaffold

    dirs = all_skills_dirs(ctx, ())
    root = Path(target or (dirs[0] if dirs else "skills"))
    folder = scaffold(skill_id, root)
    click.echo(f"created {folder}/", err=True)
    click.echo(f"  try:  skillware --skills-dir {root} run {skill_id} --params '{{\"text\": \"hi\"}}'", err=True)
    click.echo(f"  test: python -m pytest {folder}", err=True)
