"""`skillware mcp`: serve the skills of every root as MCP tools over stdio."""

from __future__ import annotations

from typing import Optional

import click

from .options import all_skills_dirs, skills_dir_option


@click.command()
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Operator policy file (default: ./skillware.yaml, then ~/.config/skillware/policy.yaml).")
@click.option("--engine", type=click.Choice(["podman", "docker"]), envvar="SKILLWARE_ENGINE",
              help="Container engine (default: podman, rootless first, then docker). Env: SKILLWARE_ENGINE.")
@click.option("--runtime", help="OCI runtime for the engine (e.g. runc, crun, runsc).")
@click.option("--allow-unenforced-limits", is_flag=True,
              help="Run container skills even where the engine cannot enforce memory/pids/cpu limits.")
@skills_dir_option
@click.pass_context
def mcp(ctx: click.Context, policy_path: Optional[str], engine: Optional[str], runtime: Optional[str],
        allow_unenforced_limits: bool, skills_dirs: tuple[str, ...]) -> None:
    """Serve every skill as a Model Context Protocol tool on stdin/stdout (needs skillware[mcp]).

    Container skills run in their hardened containers, warm between calls unless the manifest
    forbids it; policy and the audit log apply as for `skillware run`. A failed call is a tool
    error carrying the line `skillware run` would print. Diagnostics go to stderr.
    """
    from .. import __version__
    from ..bundle import skill_roots
    from ..mcp_server import build_tools, require_sdk, serve_stdio
    from ..policy_file import load_policy
    from ..skill_runner import SkillRunner

    require_sdk()
    policy = load_policy(policy_path)
    dirs = all_skills_dirs(ctx, skills_dirs)
    tools = build_tools(skill_roots(dirs), _warn)
    click.echo(f"skillware: serving {len(tools)} skill(s) as MCP tools on stdio", err=True)
    with SkillRunner(dirs, engine=engine, policy=policy, runtime=runtime,
                     allow_unenforced_limits=allow_unenforced_limits) as runner:
        serve_stdio(runner, tools, __version__)


def _warn(message: str) -> None:
    click.echo(f"skillware: warning: {message}", err=True)
