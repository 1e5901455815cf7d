"""`skillware run`: validate params, run the skill (in process or in a container), print JSON."""

from __future__ import annotations

import contextlib
import sys
from typing import Optional

import click

from .main import debug_enabled
from .options import all_skills_dirs, dumps, skills_dir_option


@click.command()
@click.argument("skill")
@click.option("--params", "params_spec", metavar="JSON", help="Params: inline JSON, @file.json, or - for stdin.")
@click.option("--pretty/--compact", default=None,
              help="Force indented or compact JSON (default: pretty on a terminal).")
@click.option("--isolated", is_flag=True, help="Run in a container even if the manifest says in_process.")
@click.option("--engine", type=click.Choice(["podman", "docker"]), envvar="SKILLWARE_ENGINE",
              help="Container engine (default: podman, rootless first, then docker). Env: SKILLWARE_ENGINE.")
@click.option("--runtime", help="OCI runtime for the engine (e.g. runc, crun, runsc).")
@click.option("--dry-run", is_flag=True, help="Print the container argv instead of running it.")
@click.option("--allow-unenforced-limits", is_flag=True,
              help="Run even where the engine cannot enforce memory/pids/cpu limits (said on stderr).")
@skills_dir_option
@click.pass_context
def run(ctx: click.Context, skill: str, params_spec: Optional[str], pretty: Optional[bool], isolated: bool,
        engine: Optional[str], runtime: Optional[str], dry_run: bool, allow_unenforced_limits: bool,
        skills_dirs: tuple[str, ...]) -> None:
    """Run SKILL with --params and print its result as JSON on stdout."""
    from ..api import prepare
    from ..params import read_params, validate_params
    from ..result import check_output

    bundle, manifest = prepare(skill, all_skills_dirs(ctx, skills_dirs))
    params = read_params(params_spec)
    validate_params(manifest, params)
    if isolated or manifest.execution == "container" or dry_run:
        from ..runners.container import run_in_container

        value = run_in_container(bundle, manifest, params, engine=engine, runtime=runtime, dry_run=dry_run,
                                 allow_unenforced_limits=allow_unenforced_limits, warn=_warn,
                                 stderr_sink=_to_stderr, debug=debug_enabled(ctx))
        if dry_run:
            click.echo(value)
            return
    else:
        from ..runners.in_process import run_in_process

        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the result alone (`| jq` must work)
            value = run_in_process(bundle, manifest, params)
    result = check_output(manifest, value)
    click.echo(dumps(result, sys.stdout.isatty() if pretty is None else pretty))


def _to_stderr(data: bytes) -> None:
    """The skill's own stderr, passed through live."""
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def _warn(message: str) -> None:
    click.echo(f"skillware: warning: {message}", err=True)
