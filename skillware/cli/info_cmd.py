"""`skillware info`: a manifest summary, the parameters table and the env vars of one skill."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import click

from .options import all_skills_dirs, dumps, json_option, skills_dir_option, table


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type", "any")
    text = "|".join(kind) if isinstance(kind, list) else str(kind)
    if "enum" in schema:
        text += " (" + ", ".join(str(v) for v in schema["enum"]) + ")"
    return text


def parameter_rows(parameters: Dict[str, Any]) -> List[List[str]]:
    required = set(parameters.get("required") or [])
    props = parameters.get("properties") or {}
    return [[name, _type_of(spec), "yes" if name in required else "no",
             " ".join(str((spec or {}).get("description", "")).split()) if isinstance(spec, dict) else ""]
            for name, spec in props.items()]


@click.command()
@click.argument("skill")
@json_option
@skills_dir_option
@click.pass_context
def info(ctx: click.Context, skill: str, as_json: bool, skills_dirs: tuple[str, ...]) -> None:
    """Show SKILL's manifest summary, parameters and environment variables."""
    from ..api import prepare

    bundle, m = prepare(skill, all_skills_dirs(ctx, skills_dirs))
    if as_json:
        click.echo(dumps({
            "id": m.id, "name": m.name, "version": m.version, "category": m.category,
            "description": m.description, "short_description": m.short_description, "execution": m.execution,
            "path": str(bundle.path), "parameters": m.parameters, "output": m.output,
            "env_vars": [{"name": v.name, "required": v.required, "description": v.description,
                          "set": bool(os.environ.get(v.name))} for v in m.env_vars],
            "requirements": list(m.requirements), "container": m.raw.get("container"),
        }, pretty=False))
        return
    click.echo(f"{m.id} {m.version}  ({m.execution})")
    click.echo(f"path: {bundle.path}")
    if m.description:
        click.echo("\n" + m.description)
    rows = parameter_rows(m.parameters)
    click.echo("\nParameters:")
    click.echo(table(rows, ["name", "type", "required", "description"]) if rows else "  (none)")
    if m.env_vars:
        click.echo("\nEnvironment variables:")
        click.echo(table([[v.name, "yes" if v.required else "no", "yes" if os.environ.get(v.name) else "no",
                           v.description] for v in m.env_vars], ["name", "required", "set", "description"]))
    if m.requirements:
        click.echo("\nRequirements: " + ", ".join(m.requirements))
    if m.output is not None:
        click.echo("\nOutput: checked against the manifest's `output` schema")
