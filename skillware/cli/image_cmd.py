"""`skillware image build-base`: build the default Python image without any registry."""

from __future__ import annotations

from typing import Optional

import click


@click.group()
def image() -> None:
    """Manage skillware's container images."""


@image.command("build-base")
@click.option("--engine", type=click.Choice(["podman", "docker", "all"]), default="all", show_default=True,
              help="Engine(s) to import the image into.")
@click.option("--mirror", help="Debian mirror (default: the one apt uses).")
@click.option("--tag", default=None, help="Image tag (default: localhost/skillware-python:3.11).")
def build_base(engine: str, mirror: Optional[str], tag: Optional[str]) -> None:
    """Build localhost/skillware-python:3.11 from the Debian mirror and import it."""
    from ..engine import ENGINES, probe_engine
    from ..errors import EngineError
    from ..images import BASE_IMAGE, build_base_image, debian_mirror

    probes = []
    for name in ENGINES if engine == "all" else (engine,):
        try:
            probes.append(probe_engine(name))
        except EngineError as exc:
            if engine != "all":
                raise
            click.echo(f"skipping {name}: {exc.message}", err=True)
    if not probes:
        raise EngineError("no engine to import the image into", "apt-get install podman runc")
    chosen = mirror or debian_mirror()
    click.echo(f"building {tag or BASE_IMAGE} from {chosen} for {', '.join(p.name for p in probes)}", err=True)
    build_base_image(probes, tag or BASE_IMAGE, chosen, progress=lambda line: click.echo(f"  {line}", err=True))
    click.echo(tag or BASE_IMAGE)
