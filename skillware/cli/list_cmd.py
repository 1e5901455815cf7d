"""`skillware list`: every skill of every root (id, version, execution, description)."""

from __future__ import annotations

from typing import Any, Dict, List

import click

from .options import all_skills_dirs, dumps, json_option, skills_dir_option, table


def _summary(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@click.command("list")
@json_option
@skills_dir_option
@click.pass_context
def list_skills(ctx: click.Context, as_json: bool, skills_dirs: tuple[str, ...]) -> None:
    """List the skills of every root (the first root wins when ids repeat)."""
    from ..bundle import check_bundle_location, iter_bundles, skill_roots
    from ..errors import SkillwareError
    from ..manifest import load_manifest

    rows: List[Dict[str, Any]] = []
    for bundle, shadowed in iter_bundles(skill_roots(all_skills_dirs(ctx, skills_dirs))):
        if shadowed:
            continue
        try:
            check_bundle_location(bundle)  # `run` refuses an escaping bundle; list must not call it valid
            manifest = load_manifest(bundle)
            rows.append({"id": bundle.id, "version": manifest.version, "execution": manifest.execution,
                         "description": manifest.short_description or manifest.description,
                         "path": str(bundle.path), "valid": True})
        except SkillwareError as exc:
            rows.append({"id": bundle.id, "version": "", "execution": "invalid",
                         "description": exc.one_line(), "path": str(bundle.path), "valid": False})
    if as_json:
        click.echo(dumps(rows, pretty=False))
        return
    if not rows:
        click.echo("no skills found (add a root with --skills-dir or SKILLWARE_PATH)", err=True)
        return
    click.echo(table([[r["id"], r["version"], r["execution"], _summary(r["description"])] for r in rows],
                     ["id", "version", "execution", "description"]))
