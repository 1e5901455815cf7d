"""`skillware policy show`: the effective operator policy and where each value came from."""

from __future__ import annotations

from typing import Any, Callable, Optional

import click

from .options import dumps, json_option, table

F = Callable[..., Any]


def policy_option(func: F) -> F:
    """`--policy FILE`: use this policy file instead of SKILLWARE_POLICY / ./skillware.yaml / ~/.config."""
    return click.option("--policy", "policy_path", metavar="FILE",
                        help="Policy file (default: SKILLWARE_POLICY, ./skillware.yaml, "
                             "~/.config/skillware/policy.yaml, else built-in defaults).")(func)


@click.group()
def policy() -> None:
    """Operator policy: defaults, ceilings, forced isolation, allow-lists."""


@policy.command()
@policy_option
@json_option
@click.pass_context
def show(ctx: click.Context, policy_path: Optional[str], as_json: bool) -> None:
    """Print the effective policy: every value and the file + JSON pointer it came from.

    An invalid policy file prints every problem, one line each, and exits 4.
    """
    from ..errors import EXIT_POLICY
    from ..policy_file import PolicyFileError, find_policy_file, format_value, load_policy, policy_values

    location = find_policy_file(policy_path)
    try:
        effective = load_policy(policy_path)
    except PolicyFileError as exc:
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
        click.echo(f"skillware: policy error: {len(exc.problems)} problem(s) in the policy file", err=True)
        ctx.exit(EXIT_POLICY)
    values = policy_values(effective)
    if as_json:
        click.echo(dumps({"source": effective.source, "selected_by": location.selected_by,
                          "notes": list(effective.notes),
                          "values": [{"key": key, "value": value, "origin": effective.origins[key]}
                                     for key, value in values.items()]}, pretty=False))
        return
    where = f"{effective.source} (selected by {location.selected_by})" if effective.source else \
        "built-in defaults (no policy file found)"
    click.echo(f"policy: {where}\n")
    for note in effective.notes:
        click.echo(f"warning: {note}\n")
    rows = [[key, format_value(key, value), _short_origin(effective.origins[key], effective.source)]
            for key, value in values.items()]
    click.echo(table(rows, ["key", "value", "origin"]))


def _short_origin(origin: str, source: Optional[str]) -> str:
    """`#/pointer` is enough in the table: the file is named on the first line."""
    return origin.replace(f"{source}#", "file #") if source else origin
