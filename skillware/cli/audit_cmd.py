"""`skillware audit`: check skills against SECURITY_CHECKLIST.md (static, and with --probe inside the container)."""

from __future__ import annotations

from typing import Optional

import click

from .options import all_skills_dirs, skills_dir_option
from .policy_cmd import policy_option


@click.command()
@click.argument("skills", nargs=-1)
@click.option("--all", "all_skills", is_flag=True, help="Audit every skill of every root.")
@click.option("--probe", is_flag=True, help="Also run a posture probe inside the exact container the skill gets.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="Output: a table, JSON (stable schema) or Markdown (for a pull-request comment).")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on failures.")
@click.option("--engine", type=click.Choice(["podman", "docker"]), envvar="SKILLWARE_ENGINE",
              help="Container engine whose argv is audited (default: as `run`). Env: SKILLWARE_ENGINE.")
@policy_option
@skills_dir_option
@click.pass_context
def audit(ctx: click.Context, skills: tuple[str, ...], all_skills: bool, probe: bool, fmt: str, strict: bool,
          engine: Optional[str], policy_path: Optional[str], skills_dirs: tuple[str, ...]) -> None:
    """Audit SKILL(s) against the security checklist; exit 1 when an automatic item fails.

    Static checks need no container: the argv `run --isolated` would execute, every option traced
    to its checklist item; the manifest, policy, bundle files and Python code. --probe runs a
    probe in that same container and checks capabilities, seccomp, mounts, network, cgroup
    limits, sockets and environment from inside.
    """
    from ..audit import audit_skills
    from ..audit_report import overall_status, render
    from ..errors import UsageError
    from ..policy_file import load_policy

    if not skills and not all_skills:
        raise UsageError("name a SKILL to audit, or use --all", "e.g. skillware audit compliance/example_skill")
    policy = load_policy(policy_path)
    reports = audit_skills(skills, all_skills=all_skills, skills_dirs=all_skills_dirs(ctx, skills_dirs),
                           policy=policy, engine=engine, probe=probe)
    if not reports:
        click.echo("no skills found (add a root with --skills-dir or SKILLWARE_PATH)", err=True)
        return
    click.echo(render(reports, fmt, strict))
    if overall_status(reports, strict) == "fail":
        ctx.exit(1)
