"""The command group and the one place where errors become exit codes and one-line messages."""

from __future__ import annotations

import sys
import traceback
from typing import Any, Optional

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED, SkillwareError

_COMMANDS = {
    "run": ("skillware.cli.run_cmd", "run"),
    "validate": ("skillware.cli.validate_cmd", "validate"),
    "list": ("skillware.cli.list_cmd", "list_skills"),
    "info": ("skillware.cli.info_cmd", "info"),
    "new": ("skillware.cli.new_cmd", "new"),
    "doctor": ("skillware.cli.doctor_cmd", "doctor"),
    "gc": ("skillware.cli.gc_cmd", "gc"),
    "image": ("skillware.cli.image_cmd", "image"),
    "build": ("skillware.cli.build_cmd", "build"),
    "lock": ("skillware.cli.lock_cmd", "lock"),
    "log": ("skillware.cli.log_cmd", "log"),
    "policy": ("skillware.cli.policy_cmd", "policy"),
    "audit": ("skillware.cli.audit_cmd", "audit"),
    "mcp": ("skillware.cli.mcp_cmd", "mcp"),
    "kube": ("skillware.cli.kube_cmd", "kube"),
}


class SkillwareGroup(click.Group):
    """Loads each command's module on demand and maps SkillwareError to its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name not in _COMMANDS:
            return None
        import importlib

        module_name, attr = _COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Click's own usage errors become one line too, with the exit code 2."""
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "skillware"
            click.echo(f"skillware: usage error: {exc.format_message()} (see '{where} --help')", err=True)
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("skillware: interrupted", err=True)
            code = EXIT_INTERRUPTED
        except click.ClickException as exc:
            click.echo(f"skillware: error: {exc.format_message()}", err=True)
            code = exc.exit_code
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkillwareError as exc:
            report(exc, ctx)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("skillware: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def report(exc: SkillwareError, ctx: click.Context) -> None:
    """Print one line on stderr (and the traceback with --debug)."""
    if debug_enabled(ctx):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    click.echo(exc.stderr_line(), err=True)


def debug_enabled(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug"))


@click.group(cls=SkillwareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--skills-dir", "skills_dirs", multiple=True, type=click.Path(file_okay=False),
              help="A skills root to search first (repeatable).")
@click.version_option(__version__, prog_name="skillware")
@click.pass_context
def cli(ctx: click.Context, debug: bool, skills_dirs: tuple[str, ...]) -> None:
    """Run agent skills safely: in process, or in a hardened container.

    Skill ids are category/name, looked up in --skills-dir roots, then SKILLWARE_PATH,
    then ./skills, then the demo skills shipped with skillware.
    """
    ctx.ensure_object(dict)
    ctx.obj["skills_dirs"] = skills_dirs


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="skillware")
