"""Operator policy files: precedence, validation with file + pointer + fix, origins, and refusals at plan time."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Dict, Optional

import pytest
from click.testing import CliRunner

from skillware.bundle import Bundle
from skillware.cli import cli
from skillware.container_spec import plan_container
from skillware.engine import EngineProbe
from skillware.errors import EXIT_POLICY, PolicyError
from skillware.manifest import load_manifest
from skillware.policy import DEFAULT_POLICY, MiB
from skillware.policy_file import (
    BUILT_IN,
    KEYS,
    PolicyFileError,
    find_policy_file,
    load_policy,
    policy_sources,
)
from skillware.schema_check import load_schema

PODMAN = EngineProbe(name="podman", path="/usr/bin/podman", version="4.3.1", rootless=False, cgroup_version="v2",
                     cgroup_manager="systemd", default_runtime="runc", runtimes=("runc",), seccomp=True,
                     controllers=("memory", "pids", "cpu"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def env(home: Path) -> Dict[str, str]:
    return {"HOME": str(home)}


def refused(text: str, tmp_path: Path, env: Dict[str, str]) -> PolicyFileError:
    file = write(tmp_path / "policy.yaml", text)
    with pytest.raises(PolicyFileError) as caught:
        load_policy(str(file), cwd=tmp_path, env=env)
    assert caught.value.exit_code == EXIT_POLICY
    return caught.value


# --- finding the file ----------------------------------------------------------------------------


def test_no_policy_file_gives_the_built_in_defaults(tmp_path, env):
    policy = load_policy(cwd=tmp_path, env=env)
    assert policy == DEFAULT_POLICY
    assert policy.source is None
    assert set(policy.origins) == set(KEYS) and set(policy.origins.values()) == {BUILT_IN}


def test_precedence_is_flag_then_env_then_cwd_then_user_config(tmp_path, home):
    flag = write(tmp_path / "flag.yaml", "engine: docker\n")
    named = write(tmp_path / "named.yaml", "runtime: crun\n")
    local = write(tmp_path / "skillware.yaml", "runtime: runsc\n")
    user = write(home / ".config" / "skillware" / "policy.yaml", "runtime: runc\n")
    env = {"HOME": str(home), "SKILLWARE_POLICY": str(named)}
    assert load_policy(str(flag), cwd=tmp_path, env=env).source == str(flag)
    assert load_policy(cwd=tmp_path, env=env).source == str(named)
    env.pop("SKILLWARE_POLICY")
    assert load_policy(cwd=tmp_path, env=env).source == str(local)
    local.unlink()
    assert load_policy(cwd=tmp_path, env=env).source == str(user)
    assert find_policy_file(cwd=tmp_path, env=env).selected_by == "user config"


def test_files_are_never_merged(tmp_path, home):
    write(tmp_path / "skillware.yaml", "engine: docker\n")
    write(home / ".config" / "skillware" / "policy.yaml", "runtime: runsc\nengine: podman\n")
    policy = load_policy(cwd=tmp_path, env={"HOME": str(home)})
    assert policy.engine == "docker" and policy.runtime is None


def test_a_working_directory_policy_that_loosens_the_users_is_said(tmp_path, home):
    write(home / ".config" / "skillware" / "policy.yaml", """\
        ceilings: {memory: 512m, timeout: 60}
        require_isolation: ["untrusted/*"]
        allowed_env_vars: [API_KEY]
        """)
    local = write(tmp_path / "skillware.yaml", """\
        ceilings: {memory: 1g, timeout: 30}
        allow_unenforced_limits: true
        allowed_egress: ["api.example.org:443"]
        audit_log: /tmp/elsewhere.jsonl
        """)
    policy = load_policy(cwd=tmp_path, env={"HOME": str(home)})
    (note,) = policy.notes
    assert note.startswith(f"./skillware.yaml overrides your policy {home}/.config/skillware/policy.yaml")
    for part in ("ceilings.memory 1g > 512m", "allow_unenforced_limits: true",
                 "allowed_egress adds api.example.org:443", "allowed_env_vars adds (any)",
                 "require_isolation drops untrusted/*", "audit_log moves to /tmp/elsewhere.jsonl"):
        assert part in note
    assert "timeout" not in note  # 30s is stricter than 60s
    local.write_text("ceilings: {memory: 128m, timeout: 60}\nrequire_isolation: ['untrusted/*']\n"
                     "allowed_env_vars: [API_KEY]\n")
    assert load_policy(cwd=tmp_path, env={"HOME": str(home)}).notes == ()


def test_a_working_directory_policy_without_a_user_policy_is_not_said(tmp_path, home):
    write(tmp_path / "skillware.yaml", "allow_unenforced_limits: true\n")
    assert load_policy(cwd=tmp_path, env={"HOME": str(home)}).notes == ()


def test_xdg_config_home_holds_the_user_policy(tmp_path, home):
    user = write(tmp_path / "xdg" / "skillware" / "policy.yaml", "engine: docker\n")
    policy = load_policy(cwd=tmp_path, env={"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert policy.source == str(user)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_named_policy_file_that_is_missing_is_an_error(tmp_path, env, how):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError) as caught:
        if how == "flag":
            load_policy(missing, cwd=tmp_path, env=env)
        else:
            load_policy(cwd=tmp_path, env={**env, "SKILLWARE_POLICY": missing})
    assert "nope.yaml" in caught.value.one_line() and "not found" in caught.value.one_line()
    assert caught.value.exit_code == EXIT_POLICY


def test_relative_policy_path_resolves_against_cwd_and_tilde_against_home(tmp_path, home):
    write(tmp_path / "p.yaml", "engine: docker\n")
    write(home / "q.yaml", "engine: podman\n")
    assert load_policy("p.yaml", cwd=tmp_path, env={"HOME": str(home)}).engine == "docker"
    assert load_policy("~/q.yaml", cwd=tmp_path, env={"HOME": str(home)}).engine == "podman"


# --- values and origins --------------------------------------------------------------------------


def test_values_are_parsed_and_each_names_its_origin(tmp_path, env):
    file = write(tmp_path / "policy.yaml", """\
        engine: docker
        runtime: runc
        image: localhost/skillware-python:3.11
        defaults: {memory: 128m, timeout: 20, output: 1m}
        ceilings: {memory: 1g, cpus: 1.5, pids: 128, tmpfs: 32m}
        require_isolation: ["finance/*"]
        allowed_images: ["localhost/*"]
        allow_unenforced_limits: false
        allowed_env_vars: ["API_*"]
        audit_log: logs/audit.jsonl
    """)
    policy = load_policy(str(file), cwd=tmp_path, env=env)
    assert policy.defaults.memory == 128 * MiB and policy.defaults.timeout == 20.0
    assert policy.defaults.output == MiB
    assert policy.ceilings.memory == 1024 * MiB and policy.ceilings.cpus == 1.5 and policy.ceilings.pids == 128
    assert policy.require_isolation == ("finance/*",) and policy.requires_isolation("finance/ledger")
    assert policy.allowed_env_vars == ("API_*",) and not policy.env_var_allowed("HOME_TOKEN")
    assert policy.audit_log == str(tmp_path / "logs" / "audit.jsonl")  # relative to the policy file
    assert policy.origins["defaults.memory"] == f"{file}#/defaults/memory"
    assert policy.origins["ceilings.cpus"] == f"{file}#/ceilings/cpus"
    assert policy.origins["defaults.pids"] == BUILT_IN
    assert policy_sources(str(file), cwd=tmp_path, env=env) == dict(policy.origins)


def test_a_lower_ceiling_caps_the_built_in_default_and_says_so(tmp_path, env):
    file = write(tmp_path / "policy.yaml", "ceilings: {memory: 128m, pids: 32}\n")
    policy = load_policy(str(file), cwd=tmp_path, env=env)
    assert policy.defaults.memory == 128 * MiB and policy.defaults.pids == 32
    assert policy.origins["defaults.memory"] == f"{BUILT_IN}, capped at {file}#/ceilings/memory"


def test_audit_log_tilde_expands_to_home(tmp_path, env, home):
    file = write(tmp_path / "policy.yaml", "audit_log: ~/skillware/audit.jsonl\n")
    assert load_policy(str(file), cwd=tmp_path, env=env).audit_log == str(home / "skillware" / "audit.jsonl")


# --- clear errors --------------------------------------------------------------------------------


def test_default_above_its_ceiling_names_field_and_ceiling(tmp_path, env):
    error = refused("ceilings: {memory: 512m}\ndefaults: {memory: 1g}\n", tmp_path, env)
    line = error.one_line()
    assert "policy.yaml: /defaults/memory:" in line
    assert "1g" in line and "ceilings.memory (512m)" in line and "lower defaults.memory" in line


def test_default_above_the_built_in_ceiling_is_an_error(tmp_path, env):
    line = refused("defaults: {timeout: 900}\n", tmp_path, env).one_line()
    assert "/defaults/timeout" in line and "built-in ceiling (600s)" in line


@pytest.mark.parametrize("key", ["privileged", "network", "host_network", "devices", "docker_socket", "volumes",
                                 "pid", "cap_add", "userns", "security_opt"])
def test_options_that_would_weaken_isolation_do_not_exist(tmp_path, env, key):
    error = refused(f"{key}: true\n", tmp_path, env)
    line = error.one_line()
    assert f"/{key}: unknown field '{key}'" in line
    assert "can never enable host network, privileged mode, host namespaces" in line


def test_forbidden_option_nested_in_limits_is_refused_too(tmp_path, env):
    line = refused("ceilings: {privileged: true}\n", tmp_path, env).one_line()
    assert "/ceilings/privileged" in line and "can never enable" in line


def test_schema_has_no_field_for_host_access():
    schema = load_schema("policy.schema.json")
    text = json.dumps(schema)
    for word in ("privileged", "host_network", "devices", "socket\"", "volumes", "cap_add"):
        assert f'"{word}' not in text
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["limits"]["additionalProperties"] is False


def test_unknown_field_lists_the_allowed_ones(tmp_path, env):
    line = refused("ceilings: {memroy: 1g}\n", tmp_path, env).one_line()
    assert "/ceilings/memroy: unknown field 'memroy'" in line and "allowed: cpus, memory" in line


def test_wrong_type_names_the_pointer(tmp_path, env):
    line = refused("ceilings: {pids: many}\n", tmp_path, env).one_line()
    assert "/ceilings/pids" in line and "expected integer" in line


def test_every_problem_is_kept(tmp_path, env):
    error = refused("engine: lxc\nallow_unenforced_limits: yes please\n", tmp_path, env)
    assert [p.pointer for p in error.problems] == ["/allow_unenforced_limits", "/engine"]
    assert "+1 more" in error.one_line()


def test_yaml_syntax_error_names_the_file(tmp_path, env):
    line = refused("ceilings: {memory: 1g\n", tmp_path, env).one_line()
    assert line.startswith(str(tmp_path / "policy.yaml")) or line.startswith("policy.yaml") or "policy.yaml" in line
    assert "YAML syntax error" in line


def test_duplicate_keys_are_an_error(tmp_path, env):
    assert "duplicate key" in refused("engine: docker\nengine: podman\n", tmp_path, env).one_line()


def test_empty_file_says_how_to_get_defaults(tmp_path, env):
    assert "write `{}`" in refused("# nothing\n", tmp_path, env).one_line()


def test_zero_size_is_an_error(tmp_path, env):
    assert "/ceilings/tmpfs" in refused("ceilings: {tmpfs: 0m}\n", tmp_path, env).one_line()


def test_default_image_must_be_allowed(tmp_path, env):
    line = refused("allowed_images: ['registry.example/*']\n", tmp_path, env).one_line()
    assert "/allowed_images" in line and "localhost/skillware-python:3.11" in line


# --- the policy at plan time ---------------------------------------------------------------------


def bundle_with(tmp_path: Path, container: str, skill_id: str = "cat/thing", env_vars: str = "") -> tuple:
    folder = tmp_path / "skills" / skill_id
    write(folder / "manifest.yaml", f"name: {skill_id}\nexecution: container\ncontainer: {container}\n{env_vars}")
    bundle = Bundle(id=skill_id, path=folder, root=tmp_path / "skills")
    return bundle, load_manifest(bundle)


def plan(tmp_path: Path, policy_text: str, container: str = "{}", env_vars: str = "",
         caller_env: Optional[Dict[str, str]] = None, env: Optional[Dict[str, str]] = None):
    file = write(tmp_path / "policy.yaml", policy_text)
    policy = load_policy(str(file), cwd=tmp_path, env=env or {"HOME": str(tmp_path)})
    bundle, manifest = bundle_with(tmp_path, container, env_vars=env_vars)
    return plan_container(bundle, manifest, policy, PODMAN, caller_env=caller_env or {})


def test_manifest_above_the_policy_ceiling_is_refused_naming_field_and_ceiling(tmp_path):
    with pytest.raises(PolicyError) as caught:
        plan(tmp_path, "ceilings: {memory: 512m}\n", "{memory: 1g}")
    line = caught.value.one_line()
    assert "container.memory asks for 1024m" in line and "ceiling of 512m" in line
    assert "raise ceilings.memory in the policy" in line
    assert caught.value.exit_code == EXIT_POLICY


@pytest.mark.parametrize("field,asked,ceiling,shown", [("pids", "500", "pids: 100", "100"),
                                                       ("timeout", "700", "timeout: 60", "60s"),
                                                       ("cpus", "4", "cpus: 1", "1")])
def test_each_limit_is_bounded_by_its_ceiling(tmp_path, field, asked, ceiling, shown):
    with pytest.raises(PolicyError) as caught:
        plan(tmp_path, f"ceilings: {{{ceiling}}}\n", f"{{{field}: {asked}}}")
    assert f"container.{field}" in caught.value.one_line() and f"ceiling of {shown}" in caught.value.one_line()


def test_policy_defaults_fill_what_the_manifest_leaves_out(tmp_path):
    spec = plan(tmp_path, "defaults: {memory: 96m, pids: 20, timeout: 9}\n")
    assert (spec.limits.memory, spec.limits.pids, spec.limits.timeout) == (96 * MiB, 20, 9.0)


def test_image_outside_allowed_images_is_refused(tmp_path):
    with pytest.raises(PolicyError) as caught:
        plan(tmp_path, "allowed_images: ['localhost/*']\n", "{image: 'docker.io/library/python:3'}")
    assert "allowed_images" in caught.value.one_line()


def test_env_vars_outside_the_allow_list_are_withheld(tmp_path):
    spec = plan(tmp_path, "allowed_env_vars: ['API_*']\n", "{}",
                env_vars="env_vars: {API_KEY: {}, DB_PASSWORD: {}}\n",
                caller_env={"API_KEY": "a", "DB_PASSWORD": "b"})
    assert spec.granted_env == ("API_KEY",)
    assert any("DB_PASSWORD withheld" in d for d in spec.decisions)


# --- `skillware policy show` ---------------------------------------------------------------------


def test_policy_show_json_gives_every_value_and_origin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SKILLWARE_POLICY", raising=False)
    write(tmp_path / "skillware.yaml", "ceilings: {memory: 1g}\n")
    result = CliRunner().invoke(cli, ["policy", "show", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["selected_by"] == "./skillware.yaml"
    values = {v["key"]: v for v in data["values"]}
    assert values["ceilings.memory"]["value"] == 1024 * MiB
    assert values["ceilings.memory"]["origin"].endswith("skillware.yaml#/ceilings/memory")
    assert values["defaults.memory"]["origin"] == BUILT_IN


def test_policy_show_table_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    file = write(tmp_path / "p.yaml", "defaults: {timeout: 10}\n")
    result = CliRunner().invoke(cli, ["policy", "show", "--policy", str(file)])
    assert result.exit_code == 0
    assert f"policy: {file} (selected by --policy)" in result.stdout
    assert any(line.split()[:3] == ["defaults.timeout", "10s", "file"] for line in result.stdout.splitlines())


def test_policy_show_lists_every_problem_and_exits_4(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    file = write(tmp_path / "p.yaml", "privileged: true\nengine: lxc\n")
    result = CliRunner().invoke(cli, ["policy", "show", "--policy", str(file)])
    assert result.exit_code == EXIT_POLICY
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and {"/engine", "/privileged"} == {line.split(": ")[1] for line in lines[:2]}
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_invalid_policy_is_one_line_for_other_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    file = write(tmp_path / "p.yaml", "network: host\n")
    result = CliRunner().invoke(cli, ["audit", "--policy", str(file), "text/word_stats"])
    assert result.exit_code == EXIT_POLICY
    assert result.stderr.count("\n") == 1 and "skillware: policy error:" in result.stderr
    assert "can never enable host network" in result.stderr


def test_a_policy_value_of_nan_is_refused(tmp_path, env):
    error = refused("ceilings:\n  timeout: .nan\n", tmp_path, env)
    assert [p.pointer for p in error.problems] == ["/ceilings/timeout"]
