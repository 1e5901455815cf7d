"""Options shared by several commands."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import click

F = Callable[..., Any]


def skills_dir_option(func: F) -> F:
    """`--skills-dir` on a subcommand too, merged after the group's (both orders work)."""
    return click.option("--skills-dir", "skills_dirs", multiple=True, type=click.Path(file_okay=False),
                        help="A skills root to search first (repeatable).")(func)


def all_skills_dirs(ctx: click.Context, local: Sequence[str]) -> tuple[str, ...]:
    root = ctx.find_root().obj or {}
    return tuple(local) + tuple(root.get("skills_dirs", ()))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def dumps(value: Any, pretty: bool) -> str:
    """JSON for stdout: indented for people, compact for pipes."""
    from ..result import result_text

    return result_text(value, pretty)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
