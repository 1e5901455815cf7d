"""Skills as Model Context Protocol tools over stdio (`skillware mcp`).

The catalogue (`build_tools`) and the call (`call_tool`) know nothing of the SDK; `serve_stdio`
is the thin shell that hands them to the official `mcp` package, imported only here and only
when serving. Every call goes through one SkillRunner, so policy, the audit log, containers and
warm workers behave exactly as for `skillware run`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from .errors import SkillwareError, UsageError
from .tool_export import tool_name

if TYPE_CHECKING:
    from .skill_runner import SkillRunner

# An instructions.md longer than this is cut: it travels in every tools/list answer.
_MAX_INSTRUCTIONS = 64 * 1024
_INSTALL_HINT = "pip install 'skillware[mcp]' (needs Python 3.10 or later)"


@dataclass(frozen=True)
class McpTool:
    """One skill as an MCP tool: its unique tool name, the skill it runs, what the client is shown."""

    name: str
    skill_id: str
    description: str
    input_schema: Mapping[str, Any]
    instructions: Optional[str] = None
    warm: bool = True  # warm containers unless the manifest forbids (a custom command cannot serve them)


@dataclass(frozen=True)
class CallOutcome:
    """What one tools/call answers: JSON text, the object itself when it is one, or an error line."""

    text: str
    structured: Optional[Dict[str, Any]] = None
    is_error: bool = False


def unique_tool_names(skill_ids: Iterable[str]) -> Dict[str, str]:
    """Skill id → tool name; ids that sanitise alike keep the name in id order, later ones get a hash.

    The suffix is derived from the id itself, so a skill's name depends only on which ids
    collide with it, never on how many.
    """
    names: Dict[str, str] = {}
    taken: set[str] = set()
    for skill_id in sorted(set(skill_ids)):
        name = tool_name(skill_id)
        if name in taken:
            suffix = "_" + hashlib.sha256(skill_id.encode()).hexdigest()[:8]
            name = name[: 64 - len(suffix)] + suffix
        taken.add(name)
        names[skill_id] = name
    return names


def _read_instructions(folder: Path) -> Optional[str]:
    path = folder / "instructions.md"
    if not path.is_file():
        return None
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        text = handle.read(_MAX_INSTRUCTIONS + 1)
    if len(text) > _MAX_INSTRUCTIONS:
        text = text[:_MAX_INSTRUCTIONS] + "\n…"
    return text.strip() or None


def build_tools(roots: Sequence[Path], warn: Callable[[str], None]) -> List[McpTool]:
    """The tools for every valid, unshadowed skill of the roots; invalid ones are skipped with a warning."""
    from .bundle import check_bundle_location, iter_bundles
    from .manifest import load_manifest

    found = []
    for bundle, shadowed in iter_bundles(roots):
        if shadowed:
            continue
        try:
            check_bundle_location(bundle)
            manifest = load_manifest(bundle)
            instructions = _read_instructions(bundle.path)
        except (SkillwareError, OSError) as exc:
            message = exc.one_line() if isinstance(exc, SkillwareError) else str(exc)
            warn(f"{bundle.id} is not offered: {message}")
            continue
        found.append((bundle.id, manifest.description or manifest.short_description, manifest.parameters,
                      instructions, manifest.container.command is None))
    names = unique_tool_names(skill_id for skill_id, *_ in found)
    tools = []
    for skill_id, description, parameters, instructions, warm in found:
        long = f"{description}\n\n{instructions}" if instructions else description
        tools.append(McpTool(names[skill_id], skill_id, long.strip() or skill_id, parameters, instructions, warm))
    return sorted(tools, key=lambda tool: tool.name)


def error_line(exc: BaseException) -> str:
    """The line `skillware run` prints for this error on stderr."""
    if isinstance(exc, SkillwareError):
        return exc.stderr_line()
    detail = " ".join(str(exc).split())
    return f"skillware: internal error: {type(exc).__name__}{': ' + detail if detail else ''}"


def call_tool(runner: SkillRunner, tools: Mapping[str, McpTool], name: str,
              arguments: Optional[Mapping[str, Any]]) -> CallOutcome:
    """Run one tools/call; never raises: every failure is an error outcome with the CLI's line."""
    tool = tools.get(name)
    if tool is None:
        return CallOutcome(f"skillware: usage error: unknown tool {name!r} (tools/list shows the tools offered)",
                           is_error=True)
    try:
        # A skill's print() must never reach stdout, the MCP stream.
        with contextlib.redirect_stdout(sys.stderr):
            result = runner.run(tool.skill_id, dict(arguments or {}), reuse=tool.warm)
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    except BaseException as exc:  # noqa: B036 - a bad call must never take the server down
        if not isinstance(exc, SkillwareError):
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return CallOutcome(error_line(exc), is_error=True)
    return CallOutcome(text, result if isinstance(result, dict) else None)


def require_sdk() -> None:
    """Raise a UsageError with the install hint when the `mcp` package cannot be imported."""
    try:
        import mcp.server.lowlevel  # noqa: F401
        import mcp.server.stdio  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"`skillware mcp` needs the `mcp` package, which is not installed ({exc})",
                         _INSTALL_HINT) from None


@contextlib.contextmanager
def _private_stdout() -> Any:
    """The real stdout as a private file; fd 1 and sys.stdout point at stderr meanwhile.

    Only the MCP transport writes to the returned file, so nothing a skill, a library or a
    child process prints can corrupt the stream.
    """
    sys.stdout.flush()
    wire = os.dup(1)
    os.dup2(2, 1)
    with os.fdopen(wire, "w", encoding="utf-8", newline="\n") as private, contextlib.redirect_stdout(sys.stderr):
        yield private


def serve_stdio(runner: SkillRunner, tools: Sequence[McpTool], version: str) -> None:
    """Answer MCP requests on stdin/stdout until the client closes stdin (or SIGTERM/SIGINT)."""
    import signal

    import anyio

    by_name = {tool.name: tool for tool in tools}

    async def main(wire: Any) -> None:
        from mcp.server.stdio import stdio_server

        server = _build_server(runner, tools, by_name, version)
        async with anyio.create_task_group() as group:
            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        group.cancel_scope.cancel()
                        return

            async def serve() -> None:
                stdin = anyio.wrap_file(open(0, encoding="utf-8", errors="replace", closefd=False))
                async with stdio_server(stdin=stdin, stdout=anyio.wrap_file(wire)) as (read, write):
                    await server.run(read, write, server.create_initialization_options())
                group.cancel_scope.cancel()

            group.start_soon(stop_on_signal)
            group.start_soon(serve)

    with _private_stdout() as wire:
        anyio.run(main, wire)


def _build_server(runner: SkillRunner, tools: Sequence[McpTool], by_name: Mapping[str, McpTool],
                  version: str) -> Any:
    """A low-level SDK Server answering tools/list, tools/call and (where skills have instructions) prompts.

    The SDK's objects are typed Any here: v1 (decorators, `request_handlers`) and v2
    (constructor `on_*` handlers) differ in shape, and both are supported.
    """
    import importlib

    import anyio.to_thread

    types: Any = importlib.import_module("mcp.types")
    server_class: Any = importlib.import_module("mcp.server.lowlevel").Server

    listed = types.ListToolsResult.model_validate(
        {"tools": [{"name": t.name, "description": t.description, "inputSchema": dict(t.input_schema)}
                   for t in tools]})
    with_prompts = [t for t in tools if t.instructions]
    prompts = types.ListPromptsResult.model_validate(
        {"prompts": [{"name": t.name, "description": f"How to use the {t.skill_id} skill"} for t in with_prompts]})

    async def call(name: str, arguments: Optional[Mapping[str, Any]]) -> Any:
        outcome = await anyio.to_thread.run_sync(call_tool, runner, by_name, name, arguments)
        wire: Dict[str, Any] = {"content": [{"type": "text", "text": outcome.text}], "isError": outcome.is_error}
        if outcome.structured is not None:
            wire["structuredContent"] = outcome.structured
        return types.CallToolResult.model_validate(wire)

    def prompt(name: str) -> Any:
        tool = by_name.get(name)
        if tool is None or not tool.instructions:
            raise ValueError(f"unknown prompt {name!r}")
        return types.GetPromptResult.model_validate(
            {"description": f"How to use the {tool.skill_id} skill",
             "messages": [{"role": "user", "content": {"type": "text", "text": tool.instructions}}]})

    if "on_call_tool" in inspect.signature(server_class.__init__).parameters:  # SDK 2.x
        async def on_list_tools(ctx: Any, params: Any) -> Any:
            return listed

        async def on_call_tool(ctx: Any, params: Any) -> Any:
            return await call(params.name, params.arguments)

        async def on_list_prompts(ctx: Any, params: Any) -> Any:
            return prompts

        async def on_get_prompt(ctx: Any, params: Any) -> Any:
            return prompt(params.name)

        handlers: Dict[str, Any] = {"on_list_tools": on_list_tools, "on_call_tool": on_call_tool}
        if with_prompts:
            handlers.update(on_list_prompts=on_list_prompts, on_get_prompt=on_get_prompt)
        return server_class("skillware", version=version, **handlers)

    server = server_class("skillware")  # SDK 1.x: handlers keyed by request type, returning ServerResult

    async def list_tools_v1(request: Any) -> Any:
        return types.ServerResult(listed)

    async def call_tool_v1(request: Any) -> Any:
        return types.ServerResult(await call(request.params.name, request.params.arguments))

    async def list_prompts_v1(request: Any) -> Any:
        return types.ServerResult(prompts)

    async def get_prompt_v1(request: Any) -> Any:
        return types.ServerResult(prompt(request.params.name))

    server.request_handlers[types.ListToolsRequest] = list_tools_v1
    server.request_handlers[types.CallToolRequest] = call_tool_v1
    if with_prompts:
        server.request_handlers[types.ListPromptsRequest] = list_prompts_v1
        server.request_handlers[types.GetPromptRequest] = get_prompt_v1
    return server
