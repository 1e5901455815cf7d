"""`skillware run`: validate params, run the skill (in process or in a container), print JSON."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional, TextIO

import click

from ..errors import UsageError
from ..policy import Policy
from ..stdout_guard import results_only_on_stdout
from .main import debug_enabled
from .options import all_skills_dirs, dumps, skills_dir_option

if TYPE_CHECKING:
    from ..terminal_safe import SafeStream


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
@click.option("--batch", "batch_file", type=click.File("r"), metavar="FILE",
              help="JSON lines of params (- for stdin); prints one {\"ok\": …} line per input line, in order.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Parallel calls in --batch.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Operator policy file (default: ./skillware.yaml, then ~/.config/skillware/policy.yaml).")
@click.option("--reuse/--no-reuse", default=None,
              help="Warm containers for repeated calls (default: on for --batch unless the manifest forbids).")
@click.option("--verbose", is_flag=True, help="Say on stderr what the egress proxy allows and denies.")
@skills_dir_option
@click.pass_context
def run(ctx: click.Context, skill: str, params_spec: Optional[str], pretty: Optional[bool], isolated: bool,
        engine: Optional[str], runtime: Optional[str], dry_run: bool, allow_unenforced_limits: bool,
        batch_file: Optional[TextIO], jobs: int, policy_path: Optional[str], reuse: Optional[bool],
        skills_dirs: tuple[str, ...], verbose: bool = False) -> None:
    """Run SKILL with --params (or --batch) and print its result as JSON on stdout."""
    import time

    from ..api import RunOptions, execute, prepare, runs_in_container
    from ..params import read_params, validate_params
    from ..policy_file import load_policy

    started = time.time()
    policy = load_policy(policy_path)
    for note in policy.notes:
        _warn(note)
    if batch_file is not None:
        if params_spec is not None or dry_run:
            raise UsageError("--batch cannot be combined with --params or --dry-run", "pass params in the batch file")
        _run_batch(ctx, skill, batch_file, jobs, isolated, engine, runtime, allow_unenforced_limits,
                   True if reuse is None else reuse, all_skills_dirs(ctx, skills_dirs), policy)
        return
    bundle, manifest = prepare(skill, all_skills_dirs(ctx, skills_dirs))
    params = read_params(params_spec)
    validate_params(manifest, params)
    if dry_run:
        from ..runners.container import run_in_container

        click.echo(run_in_container(bundle, manifest, params, engine=engine, runtime=runtime, dry_run=True,
                                    policy=policy, allow_unenforced_limits=allow_unenforced_limits))
        return
    warnings = list(policy.notes)
    container = runs_in_container(manifest, policy, isolated)
    if container and not isolated and manifest.execution != "container":
        warnings.append(f"policy require_isolation matches {manifest.id}: running it in a container")
        _warn(warnings[-1])
    recorder = None
    if container and not debug_enabled(ctx):
        from ..cold_plan import options_key
        from ..cold_plan_make import PlanRecorder

        key = options_key(skill, isolated, engine, runtime, allow_unenforced_limits, policy_path,
                          all_skills_dirs(ctx, skills_dirs))
        recorder = PlanRecorder(key, bundle, manifest, policy, warnings, started)
    options = RunOptions(isolated=isolated, engine=engine, runtime=runtime,
                         allow_unenforced_limits=allow_unenforced_limits, warn=_warn, stderr_sink=_to_stderr,
                         debug=debug_enabled(ctx), on_egress=_note if verbose else None, plan_sink=recorder)
    with results_only_on_stdout():
        result = execute(bundle, manifest, params, policy, options)
    click.echo(dumps(result, sys.stdout.isatty() if pretty is None else pretty))


def _run_batch(ctx: click.Context, skill: str, batch_file: TextIO, jobs: int, isolated: bool, engine: Optional[str],
               runtime: Optional[str], allow_unenforced_limits: bool, reuse: bool,
               skills_dirs: tuple[str, ...], policy: Policy) -> None:
    from ..batch import run_batch
    from ..skill_runner import SkillRunner

    failed = 0
    with SkillRunner(skills_dirs, engine=engine, runtime=runtime, pool_size=jobs, policy=policy,
                     allow_unenforced_limits=allow_unenforced_limits) as runner:
        runner.run_prepare_check(skill)  # an unknown skill or bad manifest stops before any line runs
        bar = _progress_bar()
        try:
            with results_only_on_stdout() as results:
                for line in run_batch(lambda p: runner.run(skill, p, isolated=isolated or None, reuse=reuse),
                                      batch_file, jobs, progress=bar.tick if bar else None):
                    failed += line.startswith('{"ok":false')
                    click.echo(line, file=results)
                    results.flush()
        finally:
            if bar:
                bar.done()
    if failed:
        click.echo(f"skillware: {failed} line(s) of the batch failed", err=True)
        ctx.exit(1)


class _Bar:
    """A one-line counter on stderr (only when stderr is a terminal)."""

    def __init__(self) -> None:
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        click.echo(f"\r{self.count} done", err=True, nl=False)

    def done(self) -> None:
        click.echo("", err=True)


def _progress_bar() -> Optional[_Bar]:
    return _Bar() if sys.stderr.isatty() else None


def _to_stderr(data: bytes) -> None:
    """The skill's own stderr, passed through live, with terminal control characters defused."""
    global _SKILL_STDERR
    if _SKILL_STDERR is None:
        from ..terminal_safe import SafeStream

        _SKILL_STDERR = SafeStream(sys.stderr.buffer)
    _SKILL_STDERR.write(data)


_SKILL_STDERR: Optional[SafeStream] = None


def _note(message: str) -> None:
    from ..terminal_safe import neutralise

    click.echo(f"skillware: {neutralise(message)}", err=True)


def _warn(message: str) -> None:
    click.echo(f"skillware: warning: {message}", err=True)
