"""`skillware mcp` end to end: the official SDK's client talks to the server over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest

import skillware
from tests.bundles import write_bundle

pytest.importorskip("mcp", reason="the MCP server needs the optional `mcp` package (skillware[mcp])")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

PHONE = {"text": "call +44 20 7946 0958"}
SLEEPY_SKILL = """\
import time
from skillware.core.base_skill import BaseSkill


class Sleepy(BaseSkill):
    def execute(self, params):
        time.sleep(params.get("sleep", 0))
        return {"slept": params.get("sleep", 0)}
"""
NOISY_SKILL = """\
import os
from skillware.core.base_skill import BaseSkill


class Noisy(BaseSkill):
    def execute(self, params):
        print("print() from the skill")
        os.write(1, b"a raw write to fd 1\\n")
        os.system("echo a child process writing to its stdout")
        return {"quiet": True}
"""


def serve(tmp_path: Path, scenario: Callable[[ClientSession], Awaitable[Any]], *extra: str,
          engine: Optional[str] = None, stderr: Optional[List[str]] = None) -> Any:
    """Start `skillware mcp --skills-dir TMP EXTRA…`, run the scenario against it, and stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLWARE_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    if engine:
        env["SKILLWARE_ENGINE"] = engine
    params = StdioServerParameters(command=sys.executable, args=["-m", "skillware", "mcp", "--skills-dir",
                                                                  str(tmp_path / "skills"), *extra],
                                   env=env, cwd=str(tmp_path))

    async def run() -> Any:
        errlog = (tmp_path / "server.stderr").open("w")
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await asyncio.wait_for(scenario(session), timeout=60)
        finally:
            errlog.close()
            if stderr is not None:
                stderr.append((tmp_path / "server.stderr").read_text())

    (tmp_path / "skills").mkdir(exist_ok=True)
    return asyncio.run(run())


def wire(model: Any) -> Dict[str, Any]:
    """A result as the protocol spells it (SDK 1.x and 2.x name the Python attributes differently)."""
    dumped: Dict[str, Any] = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def only_text(result: Any) -> str:
    content = wire(result)["content"]
    assert len(content) == 1 and content[0]["type"] == "text"
    return str(content[0]["text"])


def is_error(result: Any) -> bool:
    return bool(wire(result).get("isError"))


def test_lists_every_skill_with_its_manifest_schema_and_instructions(tmp_path):
    write_bundle(tmp_path / "skills", "demo/echo", "name: demo/echo\ndescription: Echo.\n"
                 "parameters: {type: object, properties: {x: {type: integer}}, required: [x]}\n",
                 files={"instructions.md": "Call it with x."})

    async def scenario(session: ClientSession) -> Any:
        return (await session.list_tools()).tools, (await session.list_prompts()).prompts

    tools, prompts = serve(tmp_path, scenario)
    by_name = {tool.name: wire(tool) for tool in tools}
    assert {"demo_echo", "compliance_example_skill", "text_wc_sh"} <= set(by_name)
    assert by_name["demo_echo"]["inputSchema"] == {"type": "object", "properties": {"x": {"type": "integer"}},
                                                   "required": ["x"]}
    assert by_name["demo_echo"]["description"] == "Echo.\n\nCall it with x."
    example = skillware.SkillRunner().run_prepare_check("compliance/example_skill")
    assert by_name["compliance_example_skill"]["inputSchema"] == example.parameters
    assert "demo_echo" in {prompt.name for prompt in prompts}


def test_prompt_carries_the_skill_instructions(tmp_path):
    write_bundle(tmp_path / "skills", "demo/echo", files={"instructions.md": "Call it with x."})

    async def scenario(session: ClientSession) -> Any:
        return await session.get_prompt("demo_echo")

    prompt = serve(tmp_path, scenario)
    assert wire(prompt)["messages"] == [{"role": "user", "content": {"type": "text", "text": "Call it with x."}}]


def test_calls_an_in_process_skill(tmp_path):
    async def scenario(session: ClientSession) -> Any:
        return await session.call_tool("compliance_example_skill", PHONE)

    result = serve(tmp_path, scenario)
    expected = {"findings": [{"type": "phone", "start": 5, "end": 21, "value": "+44 20 7946 0958"}],
                "redacted": "call [PHONE]"}
    assert not is_error(result)
    assert json.loads(only_text(result)) == expected
    assert wire(result)["structuredContent"] == expected


def test_invalid_params_are_a_tool_error_and_the_server_keeps_answering(tmp_path):
    async def scenario(session: ClientSession) -> Any:
        return (await session.call_tool("compliance_example_skill", {"text": 5}),
                await session.call_tool("compliance_example_skill", PHONE))

    bad, good = serve(tmp_path, scenario)
    assert is_error(bad)
    assert only_text(bad) == ("skillware: params error: invalid params for compliance/example_skill: "
                              "/text: 5 is not of type 'string' (expected string)")
    assert not is_error(good)


def test_unknown_tool_is_a_tool_error(tmp_path):
    async def scenario(session: ClientSession) -> Any:
        return await session.call_tool("no_such_tool", {})

    result = serve(tmp_path, scenario)
    assert is_error(result) and "unknown tool 'no_such_tool'" in only_text(result)


def test_a_skill_writing_to_stdout_does_not_corrupt_the_stream(tmp_path):
    write_bundle(tmp_path / "skills", "demo/noisy", skill=NOISY_SKILL)
    stderr: List[str] = []

    async def scenario(session: ClientSession) -> Any:
        return (await session.call_tool("demo_noisy", {}), await session.call_tool("demo_noisy", {}))

    first, second = serve(tmp_path, scenario, stderr=stderr)
    assert json.loads(only_text(first)) == json.loads(only_text(second)) == {"quiet": True}
    for line in ("print() from the skill", "a raw write to fd 1", "a child process writing to its stdout"):
        assert line in stderr[0]


def test_missing_sdk_is_a_one_line_usage_error_with_the_install_hint(tmp_path):
    code = ("import sys; sys.modules['mcp'] = None; sys.argv = ['skillware', 'mcp']; "
            "from skillware.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the `mcp` package" in lines[0] and "pip install 'skillware[mcp]'" in lines[0]


# --- container skills, on each engine --------------------------------------------------------------


def container_args(target: Any) -> Dict[str, Any]:
    if target.user is not None:
        pytest.skip("the MCP server runs as this process's user; rootless Podman as another user is covered "
                    "through `skillware run`")
    return {"engine": target.engine}


def engine_containers(target: Any, skill_id: str) -> List[str]:
    done = target.engine_cmd(["ps", "-a", "--filter", f"label=io.skillware.skill={skill_id}", "--format",
                              "{{.Names}}"])
    return done.stdout.split()


@pytest.mark.container
def test_container_skill_runs_warm_and_leaves_no_container(target, tmp_path):
    write_bundle(tmp_path / "skills", "mcp/sleepy", "name: mcp/sleepy\nexecution: container\n"
                 "container: {reuse: true, timeout: 2}\nparameters: {type: object}\n", skill=SLEEPY_SKILL)

    async def scenario(session: ClientSession) -> Any:
        answers = [await session.call_tool("mcp_sleepy", {}) for _ in range(3)]
        return answers, engine_containers(target, "mcp/sleepy")

    answers, running = serve(tmp_path, scenario, *target.extra_args, **container_args(target))
    assert [json.loads(only_text(a)) for a in answers] == [{"slept": 0}] * 3
    assert len(running) == 1  # one warm container served every call
    assert engine_containers(target, "mcp/sleepy") == []


@pytest.mark.container
def test_timeout_is_a_tool_error_and_the_next_call_works(target, tmp_path):
    write_bundle(tmp_path / "skills", "mcp/sleepy", "name: mcp/sleepy\nexecution: container\n"
                 "container: {reuse: true, timeout: 2}\nparameters: {type: object}\n", skill=SLEEPY_SKILL)

    async def scenario(session: ClientSession) -> Any:
        return (await session.call_tool("mcp_sleepy", {"sleep": 30}), await session.call_tool("mcp_sleepy", {}))

    slow, after = serve(tmp_path, scenario, *target.extra_args, **container_args(target))
    assert is_error(slow)
    assert only_text(slow).startswith("skillware: timeout error: mcp/sleepy ran longer than its 2s timeout")
    assert json.loads(only_text(after)) == {"slept": 0}
    assert engine_containers(target, "mcp/sleepy") == []


@pytest.mark.container
def test_custom_command_container_skill_runs_cold(target, tmp_path):
    async def scenario(session: ClientSession) -> Any:
        return await session.call_tool("text_wc_sh", {"text": "a b\nc"})

    result = serve(tmp_path, scenario, *target.extra_args, **container_args(target))
    assert json.loads(only_text(result)) == {"lines": 1, "words": 3, "characters": 5}
