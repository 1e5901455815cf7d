"""`skillware build`: build a skill's image from its Dockerfile, tagged by the bundle's content hash."""

from __future__ import annotations

from typing import Optional

import click

from .options import all_skills_dirs, skills_dir_option


@click.command()
@click.argument("skill")
@click.option("--engine", type=click.Choice(["podman", "docker"]), envvar="SKILLWARE_ENGINE")
@skills_dir_option
@click.pass_context
def build(ctx: click.Context, skill: str, engine: Optional[str], skills_dirs: tuple[str, ...]) -> None:
    """Build SKILL's container.build Dockerfile (reused until the bundle's content changes)."""
    from ..api import prepare
    from ..bundle_hash import bundle_hash
    from ..container_spec import bundle_image_tag
    from ..engine import select_engine
    from ..errors import UsageError
    from ..images import build_skill_image, image_exists

    bundle, manifest = prepare(skill, all_skills_dirs(ctx, skills_dirs))
    if not manifest.container.build:
        raise UsageError(f"{manifest.id} has no container.build", "add `container: {build: Dockerfile}`")
    probe = select_engine(engine)
    tag = bundle_image_tag(bundle, bundle_hash(bundle.path))
    if image_exists(probe, tag):
        click.echo(f"up to date: {tag}", err=True)
    else:
        build_skill_image(bundle, manifest, probe, tag, progress=lambda line: click.echo(f"  {line}", err=True))
    click.echo(tag)
