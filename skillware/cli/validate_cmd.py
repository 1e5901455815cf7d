"""`skillware validate`: every problem of every manifest, one line each."""

from __future__ import annotations

from typing import List

import click

from .options import all_skills_dirs, skills_dir_option


@click.command()
@click.argument("skills", nargs=-1)
@click.option("--all", "all_skills", is_flag=True, help="Validate every skill of every root.")
@skills_dir_option
@click.pass_context
def validate(ctx: click.Context, skills: tuple[str, ...], all_skills: bool, skills_dirs: tuple[str, ...]) -> None:
    """Check manifests (SKILL ids or bundle folders; none or --all: every skill). Exit 1 on any error."""
    from ..bundle import Bundle, iter_bundles, resolve, skill_roots
    from ..errors import BundleError
    from ..manifest import validate_bundle
    from ..problem import Problem

    roots = skill_roots(all_skills_dirs(ctx, skills_dirs))
    targets: List[Bundle] = []
    failed = unresolved = 0
    for skill in skills:
        try:
            targets.append(resolve(skill, roots))
        except BundleError as exc:
            click.echo(Problem(skill, "", exc.message, exc.hint).format())
            failed += 1
            unresolved += 1
    if all_skills or not skills:
        targets += [b for b, shadowed in iter_bundles(roots) if not shadowed]
    for bundle in targets:
        problems = validate_bundle(bundle)
        for problem in problems:
            click.echo(problem.format(), err=problem.warning)
        if any(not p.warning for p in problems):
            failed += 1
        else:
            click.echo(f"{bundle.display}: ok")
    if failed:
        click.echo(f"skillware: {failed} of {unresolved + len(targets)} skill(s) invalid", err=True)
        ctx.exit(1)
