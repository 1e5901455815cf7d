"""The host contract's Python side, run INSIDE the container: `python3 /opt/skillware/shim.py`.

Standard library only. It reads the params JSON on stdin, runs the bundle's skill (mounted
read-only at /skill) in a forked child whose fd 1 is the container's stderr, so nothing the
skill or its children print can reach stdout; the child hands its result back over a private
pipe and the parent writes exactly one JSON document to stdout. A child that dies from a
signal is told apart from an out-of-memory kill by the cgroup's oom_kill counter.

With `--serve`, it answers JSON lines (one request per line, one response per line) for a
warm worker instead of a single call.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import sys
import traceback
import types
from typing import Any, Dict, List, Optional, Tuple

CONTRACT_VERSION = "1"
BUNDLE_DIR = os.environ.get("SKILLWARE_BUNDLE", "/skill")
MAX_INPUT = 64 * 1024 * 1024
# cgroup v2 and v1 places of the counters that tell a limit kill from an ordinary failure.
_OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
_PIDS_FILES = ("/sys/fs/cgroup/pids.events", "/sys/fs/cgroup/pids/pids.events")


def skill_classes(module: types.ModuleType, base: type) -> List[type]:
    """The most-derived subclasses of `base` defined in `module` (shared with the host loader)."""
    classes = [
        obj for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base and obj.__module__ == module.__name__
    ]
    return [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]


def describe(exc: BaseException) -> str:
    """The exception's message; the skill's code decides it, so str() itself may fail (shared with
    the host's in-process runner)."""
    try:
        return str(exc) or type(exc).__name__
    except Exception:  # a broken __str__ in the skill's exception class
        return f"(its message could not be shown: {type(exc).__name__}.__str__ failed)"


def error_document(kind: str, message: str, error_type: str = "") -> Dict[str, Any]:
    """The contract's failure object (schemas/result.schema.json)."""
    return {"error": {"kind": kind, "type": error_type or kind, "message": message[:4000]},
            "contract": CONTRACT_VERSION}


def _counter(paths: Tuple[str, ...], key: str) -> int:
    for path in paths:
        try:
            with open(path, encoding="ascii") as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def _load_skill() -> Any:
    from skillware.core.base_skill import BaseSkill

    package = types.ModuleType("skillware_bundle")
    package.__path__ = [BUNDLE_DIR]
    sys.modules["skillware_bundle"] = package
    sys.path.insert(0, BUNDLE_DIR)
    module = importlib.import_module("skillware_bundle.skill")
    found = skill_classes(module, BaseSkill)
    if len(found) != 1:
        raise LookupError(f"skill.py must define exactly one BaseSkill subclass, found {len(found)}")
    manifest = json.loads(os.environ.get("SKILLWARE_MANIFEST_JSON") or "{}")
    names = [n for n in os.environ.get("SKILLWARE_ENV_VARS", "").split(",") if n]
    config = {n: os.environ[n] for n in names if os.environ.get(n)}
    try:
        instance = found[0](config=config)
    except TypeError:
        instance = found[0]()
        instance.config = config
    instance._skillware_manifest = manifest
    return instance


def _child(write_fd: int, params: Any, instance: Any) -> None:
    """Runs in the forked child: stdout becomes stderr, the result goes to write_fd."""
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        if instance is None:
            instance = _load_skill()
        result = instance.execute(params)
        try:
            # ASCII on the pipe: a lone surrogate in the result (not UTF-8-encodable) stays an escape
            # the host can name (bad output) instead of crashing this child.
            payload = json.dumps(result, allow_nan=False)
            code = 0
        except (TypeError, ValueError, RecursionError) as exc:
            payload = json.dumps(error_document("bad_output", f"result is not JSON-serialisable: {exc}"))
            code = 1
    except BaseException as exc:  # the skill failed: report it, never a traceback on stdout
        if os.environ.get("SKILLWARE_DEBUG") == "1":
            traceback.print_exc(file=sys.stderr)
        kind = "resource_limit" if isinstance(exc, MemoryError) else "skill_error"
        payload = json.dumps(error_document(kind, describe(exc), type(exc).__name__))
        code = 1
    data = payload.encode("utf-8")
    view = memoryview(data)
    while view:
        written = os.write(write_fd, view)
        view = view[written:]
    os._exit(code)


def _collect(read_fd: int, pid: int) -> Tuple[List[bytes], int]:
    """Read the child's result until it exits; return (chunks, wait status).

    Not "until EOF": a process the skill started and left running inherits the pipe's write
    end and would hold EOF back until the timeout. Once the child itself has exited, whatever
    is in the pipe is the whole result.
    """
    import select

    chunks: List[bytes] = []
    while True:
        ready, _, _ = select.select([read_fd], [], [], 0.05)
        if ready:
            chunk = os.read(read_fd, 1 << 16)
            if chunk:
                chunks.append(chunk)
                continue
            _, status = os.waitpid(pid, 0)  # EOF: the child closed its end and is exiting
            break
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os.set_blocking(read_fd, False)
            try:
                while True:
                    chunk = os.read(read_fd, 1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except BlockingIOError:
                pass
            break
    os.close(read_fd)
    return chunks, status


def run_once(params: Any, instance: Any = None) -> Tuple[int, str]:
    """Run one call in a child process; return (exit code, stdout JSON text)."""
    oom_before = _counter(_OOM_FILES, "oom_kill")
    pids_before = _counter(_PIDS_FILES, "max")
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        return 1, json.dumps(error_document("resource_limit", f"cannot start the skill: {exc}", "OSError"))
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, params, instance)
    os.close(write_fd)
    chunks, status = _collect(read_fd, pid)
    text = b"".join(chunks).decode("utf-8", "replace")
    if _counter(_PIDS_FILES, "max") > pids_before and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        return 1, json.dumps(error_document("resource_limit", "the skill hit the process limit (pids)", "PidsLimit"))
    if os.WIFEXITED(status) and text:
        return os.WEXITSTATUS(status), text
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if _counter(_OOM_FILES, "oom_kill") > oom_before:
            return 1, json.dumps(error_document("resource_limit", "killed by the memory limit (out of memory)",
                                                "OOMKilled"))
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return 1, json.dumps(error_document("crashed", f"the skill was killed by signal {sig} ({name})", name))
    code = os.WEXITSTATUS(status)
    return 1, json.dumps(error_document("crashed", f"the skill exited with status {code} without a result",
                                        "Exit"))


def start_egress_relay() -> Optional[int]:
    """With an egress socket, start the relay (its own file, mounted only for egress runs)."""
    if not os.environ.get("SKILLWARE_EGRESS"):
        return None
    import egress_relay  # type: ignore[import-not-found]  # /opt/skillware/egress_relay.py, on PYTHONPATH

    pid: Optional[int] = egress_relay.start_egress_relay()
    return pid


def _read_params(text: str) -> Optional[Any]:
    try:
        return json.loads(text)
    except ValueError:
        return None


def accept_envelope(document: Any) -> Any:
    """Unwrap the host's stdin envelope: env values and manifest go into os.environ; return params.

    A plain JSON object (no `skillware` key) is taken as the params themselves, so the shim can
    be driven by hand: echo '{"text": "hi"}' | python3 shim.py
    """
    if not (isinstance(document, dict) and "skillware" in document):
        return document
    env = document.get("env") or {}
    for name, value in env.items():
        os.environ[str(name)] = str(value)
    if "env" in document:  # without it (a Kubernetes params file) the pod's own SKILLWARE_ENV_VARS stands
        os.environ["SKILLWARE_ENV_VARS"] = ",".join(env)
    os.environ["SKILLWARE_MANIFEST_JSON"] = json.dumps(document.get("manifest") or {})
    return document.get("params")


def _read_input() -> str:
    """The params document: from SKILLWARE_PARAMS_FILE when set (a Kubernetes Job has no stdin), else stdin."""
    path = os.environ.get("SKILLWARE_PARAMS_FILE")
    if not path:
        return sys.stdin.read(MAX_INPUT + 1)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_INPUT + 1)
    except (OSError, UnicodeDecodeError):
        return ""  # reported as a usage error: no params object


def main(argv: List[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    relay = start_egress_relay()
    try:
        if "--serve" in argv:
            return serve()
        text = _read_input()
        params = accept_envelope(_read_params(text))
        if not isinstance(params, dict):
            sys.stdout.write(json.dumps(error_document("usage", "stdin must hold the params as a JSON object")))
            return 2
        code, out = run_once(params)
        sys.stdout.write(out)
        sys.stdout.flush()
        return code
    finally:
        if relay is not None:
            try:
                os.kill(relay, signal.SIGKILL)
                os.waitpid(relay, 0)
            except OSError:
                pass


def _serve_call(instance: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """One warm call, in this process: the worker's container is the isolation boundary."""
    pids_before = _counter(_PIDS_FILES, "max")
    try:
        result = instance.execute(params)
    except BaseException as exc:  # noqa: B036 - SystemExit too: a skill must not end the worker
        if isinstance(exc, KeyboardInterrupt):
            raise
        if os.environ.get("SKILLWARE_DEBUG") == "1":
            traceback.print_exc(file=sys.stderr)
        limited = isinstance(exc, MemoryError) or _counter(_PIDS_FILES, "max") > pids_before
        kind = "resource_limit" if limited else "skill_error"
        return {"ok": False, **error_document(kind, describe(exc), type(exc).__name__)}
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return {"ok": False, **error_document("bad_output", f"result is not JSON-serialisable: {exc}")}
    return {"ok": True, "result": result}


def serve() -> int:
    """Warm worker: one JSON request per stdin line, one `{"ok": …}` response per stdout line.

    Responses go to a private duplicate of fd 1; fd 1 itself becomes stderr, so nothing the
    skill or its children print can corrupt the response stream. A skill that crashes or is
    killed takes the worker with it, and the host replaces the worker.
    """
    responses = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    instance = None
    for line in sys.stdin:
        document = _read_params(line)
        is_envelope = isinstance(document, dict) and "skillware" in document
        params = accept_envelope(document)
        if is_envelope and params is None:
            continue  # a set-up line (env, manifest) gets no response
        if not isinstance(params, dict):
            response: Dict[str, Any] = {"ok": False, **error_document("usage", "each line must be a JSON object")}
        else:
            try:
                instance = instance or _load_skill()
                response = _serve_call(instance, params)
            except Exception as exc:  # the skill could not even be imported
                response = {"ok": False, **error_document("skill_error", describe(exc), type(exc).__name__)}
        responses.write(json.dumps(response) + "\n")  # ASCII: see _child
        responses.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
