"""`skillware run` of a planned cold container run, without click or the planner (see cold_plan.py).

Only the plain form is handled here:

    run SKILL [--params JSON] [--isolated] [--engine E] [--runtime R] [--allow-unenforced-limits]
              [--policy FILE] [--skills-dir DIR]... [--pretty | --compact]

and only when a stored plan still holds, the params pass the quick schema check, the bundle
is readable and no orphan collection is due. Every other case returns None before anything
has run, and the full command runs (and reports any error) instead. Once the engine has
started, the run goes through the same supervision, result and audit-log code as the full
command, so its output, errors and exit codes are the same.

This module is imported on every `skillware` start: at import time it needs only os and sys.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from ..audit_log import RunRecord
    from ..runners.spawn import Spawned
    from ..runners.supervise import Outcome

_VALUE_OPTIONS = ("--params", "--engine", "--runtime", "--policy", "--skills-dir")
_ENGINES = ("podman", "docker")


class Args:
    """The plain `run` command line."""

    def __init__(self) -> None:
        self.skill: Optional[str] = None
        self.params: Optional[str] = None
        self.isolated = False
        self.allow_unenforced_limits = False
        self.pretty: Optional[bool] = None
        self.values: Dict[str, str] = {}
        self.skills_dirs: List[str] = []


def parse(argv: List[str]) -> Optional[Args]:
    """The plain form of `run`, or None for anything else (help, batch, @file, stdin, unknown …)."""
    if not argv or argv[0] != "run":
        return None
    args, rest = Args(), argv[1:]
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=")
        if name in _VALUE_OPTIONS:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or value.startswith("-"):
                return None
            if name == "--skills-dir":
                args.skills_dirs.append(value)
            elif name in args.values:
                return None
            else:
                args.values[name] = value
        elif token == "--isolated":
            args.isolated = True
        elif token == "--allow-unenforced-limits":
            args.allow_unenforced_limits = True
        elif token in ("--pretty", "--compact"):
            args.pretty = token == "--pretty"
        elif token.startswith("-") or args.skill is not None:
            return None
        else:
            args.skill = token
    args.params = args.values.get("--params")
    if args.skill is None or (args.params is not None and args.params.startswith("@")):
        return None
    engine = args.values.get("--engine") or os.environ.get("SKILLWARE_ENGINE") or None
    if engine is not None and engine not in _ENGINES:
        return None
    if engine is not None:
        args.values["--engine"] = engine
    return args


def try_run(argv: List[str]) -> Optional[int]:
    """The exit code of a fast cold run, or None when the full command must run."""
    args = parse(argv)
    if args is None or args.skill is None:
        return None
    from .. import cold_plan

    key = cold_plan.options_key(args.skill, args.isolated, args.values.get("--engine"), args.values.get("--runtime"),
                                args.allow_unenforced_limits, args.values.get("--policy"), args.skills_dirs)
    plan = cold_plan.load(key)
    if plan is None:
        return None
    params = _params(args.params)
    if params is None or _gc_due(plan):
        return None
    from ..errors import BundleError
    from ..fast_schema import quick_valid
    from ..runners.preflight import check_readable
    from ..time_bound import Exceeded, TimeBound

    try:
        with TimeBound():
            if not quick_valid(plan["parameters"], params):
                return None
    except Exceeded:
        return None  # the full command checks again and reports it
    try:
        check_readable(plan["bundle"])
    except BundleError:
        return None
    return run_planned(plan, params, args.pretty)


def _params(text: Optional[str]) -> Optional[Dict[str, Any]]:
    """Inline params as the full command reads them; None for anything it would report."""
    if text is None:
        return {}
    from ..json_strict import MAX_PARAMS_BYTES, loads, lone_surrogate_at

    if len(text) > MAX_PARAMS_BYTES:
        return None
    try:
        value = loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and lone_surrogate_at(value) is None else None


def _gc_due(plan: Dict[str, Any]) -> bool:
    """The full command collects orphaned containers once a minute; leave that run to it."""
    import time

    try:
        return bool(time.time() - os.stat(plan["gc_stamp"]).st_mtime >= plan["gc_interval"])
    except OSError:
        return True


def run_planned(plan: Dict[str, Any], params: Dict[str, Any], pretty: Optional[bool]) -> int:
    """Run the planned container once; print the result or the one-line error; return the exit code.

    The engine is started first, with builtin modules only (runners/spawn.py); everything else
    is imported while it sets the container up.
    """
    import time

    from ..cold_plan import fill_argv
    from ..container_ids import container_name, owner_token, random_uid
    from ..errors import EXIT_INTERRUPTED, SkillwareError
    from ..runners.spawn import SigtermAsException, spawn_engine

    started = time.time()
    uid = random_uid()
    name, user, owner = container_name(), f"{uid}:{uid}", owner_token()
    argv = fill_argv(plan["argv"], name, user, owner)
    for message in plan["warnings"]:
        _warn(message)
    try:
        with SigtermAsException():
            proc = spawn_engine(argv)
            result = _supervised(plan, params, proc, argv, (name, user, owner), started)
    except SkillwareError as exc:
        _say(exc.stderr_line())
        return exc.exit_code
    except KeyboardInterrupt:
        _say("skillware: interrupted")
        return EXIT_INTERRUPTED
    from ..result import result_text

    sys.stdout.write(result_text(result, sys.stdout.isatty() if pretty is None else pretty) + "\n")
    sys.stdout.flush()
    return 0


def _supervised(plan: Dict[str, Any], params: Dict[str, Any], proc: Spawned, argv: List[str],
                identity: Tuple[str, str, str], started: float) -> Any:
    """Supervise the started engine process like the full command; the checked result, or its error.

    `identity`: the container's name, user and owner token, as filled into `argv`."""
    name = identity[0]
    handed_over = False  # from then on supervise() removes the container on every way out
    try:
        from ..audit_log import RunRecord, recorded_at
        from ..result import check_result
        from ..runners.outcome import result_of
        from ..runners.stdin_payload import payload
        from ..runners.supervise import note_truncation, supervise
        from ..terminal_safe import SafeStream

        skill, cap = plan["skill"], plan["stderr_cap"]
        stream = SafeStream(sys.stderr.buffer)
        record = RunRecord(skill=skill, execution="container")
        record.started = started
        record.engine, record.image, record.argv_hash = plan["engine"], plan["image"], plan["argv_hash"]
        record.decisions = list(plan["decisions"])
        with recorded_at(record, plan["audit_log"], _warn):
            handed_over = True
            outcome = supervise(argv, lambda: payload(plan["manifest_raw"], plan["granted"], plan["envelope"],
                                                      plan["env_lines"], params, None),
                                engine_path=plan["engine_path"], name=name, timeout=plan["timeout"],
                                output_cap=plan["output"], stderr_sink=stream.write, stderr_cap=cap,
                                while_running=lambda: _meanwhile(plan, record), started=proc)
            note_truncation(outcome, cap, stream.write)
            record.bytes_out = len(outcome.stdout)
            record.stderr_truncated = outcome.stderr_total > cap
            value = result_of(outcome, skill) if outcome.clean else _interpret(plan, outcome, identity)
            return check_result(skill, plan["output_schema"], value)
    except BaseException as exc:
        if not handed_over:
            _abandon(proc, plan["engine_path"], name)
            from ..runners.spawn import Terminated

            if isinstance(exc, (KeyboardInterrupt, Terminated)):
                from ..errors import Interrupted

                raise Interrupted("interrupted; the container was removed", "") from exc
        raise


def _abandon(proc: Spawned, engine_path: str, name: str) -> None:
    """The engine runs but nothing supervises it yet: stop it and remove the container."""
    from ..runners.supervise import remove_container

    try:
        proc.kill()
    except ProcessLookupError:
        pass
    remove_container(engine_path, name)
    proc.wait()


def _meanwhile(plan: Dict[str, Any], record: RunRecord) -> None:
    """While the container starts: what the audit record needs, and the imports its line needs."""
    from ..bundle_hash import combined_hash, file_hashes
    from ..image_ids import lookup

    try:
        record.bundle_hash = combined_hash(file_hashes(plan["bundle"]))
    except OSError:
        pass
    try:
        record.image_digest = lookup(plan["engine_path"], plan["image"], plan["image_index"]) or "unknown"
    except Exception:  # the id is for the log only: a failed lookup must not fail the run (as in the full path)
        record.image_digest = "unknown"
    import datetime  # noqa: F401  (RunRecord.to_line, after the run)
    import getpass  # noqa: F401


def _interpret(plan: Dict[str, Any], outcome: Outcome, identity: Tuple[str, str, str]) -> Any:
    """Anything but a clean exit: the full runner's interpretation, with the spec the plan kept."""
    from ..container_ids import OWNER_LABEL
    from ..container_spec import spec_from_plain
    from ..runners.outcome import interpret

    name, user, owner = identity
    labels = tuple((k, owner if k == OWNER_LABEL else v) for k, v in plan["spec"]["labels"])
    return interpret(outcome, spec_from_plain(plan["spec"], name=name, user=user, labels=labels), plan["skill"])


def _warn(message: str) -> None:
    _say(f"skillware: warning: {message}")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
