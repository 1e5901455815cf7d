"""The manifest schema: upstream manifests pass unchanged; every problem has a pointer and a hint."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, List

import pytest
from jsonschema import Draft202012Validator

from skillware.bundle import resolve
from skillware.errors import ManifestError
from skillware.manifest import load_manifest, validate_bundle
from skillware.problem import Problem
from skillware.schema_check import load_schema

MakeBundle = Callable[..., Path]

UPSTREAM_OLD_STYLE = """\
name: wallet_screening
version: 1.0.0
description: |
  A comprehensive crypto wallet screening tool.
category: finance
parameters:
  type: object
  properties:
    address:
      type: string
      description: The Ethereum wallet address to screen (starts with 0x).
  required:
    - address
output:
  type: object
  description: A detailed JSON report.
constitution: |
  1. USER PRIVACY: Do not store or log the wallet address externally.
env_vars:
  ETHERSCAN_API_KEY:
    description: "API key for Etherscan to fetch transaction data."
    required: true
  COINGECKO_API_KEY:
    description: "Optional API key for CoinGecko."
    required: false
requirements:
  - requests
"""

UPSTREAM_NEW_STYLE = """\
name: compliance/pii_masker
version: 0.1.1
description: High-precision, local PII detection and redaction.
short_description: "Use before sending text to cloud models or logs."
category: compliance
issuer:
  name: Ross Peili
  email: someone@example.org
  github: someone
  org: ARPAHLS
parameters:
  type: object
  properties:
    text:
      type: string
      description: The raw, sensitive input string.
    mode:
      type: string
  required:
    - text
outputs:
  masked_text:
    type: string
    description: The text with PII masked.
presentation:
  icon: shield
  color: "#3498DB"
requirements:
  - requests>=2.0; python_version >= "3.8"
  - PyYAML[extra] ==6.*
constitution: |
  1. USER PRIVACY: Do not store or transmit sensitive PII externally.
"""


def problems_for(make_bundle: MakeBundle, skill_id: str, manifest: str) -> List[Problem]:
    folder = make_bundle(skill_id, manifest)
    return validate_bundle(resolve(skill_id, [folder.parent.parent.resolve()]))


def errors_for(make_bundle: MakeBundle, skill_id: str, manifest: str) -> List[Problem]:
    return [p for p in problems_for(make_bundle, skill_id, manifest) if not p.warning]


def only_error(make_bundle: MakeBundle, skill_id: str, manifest: str) -> Problem:
    errors = errors_for(make_bundle, skill_id, manifest)
    assert len(errors) == 1, [e.format() for e in errors]
    return errors[0]


def pointers(problems: List[Problem]) -> List[str]:
    return sorted(p.pointer for p in problems)


def test_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema("manifest.schema.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_upstream_old_style_manifest_with_bare_name_has_no_problems(make_bundle: MakeBundle) -> None:
    assert problems_for(make_bundle, "finance/wallet_screening", UPSTREAM_OLD_STYLE) == []


def test_upstream_old_style_manifest_loads_its_fields(make_bundle: MakeBundle) -> None:
    folder = make_bundle("finance/wallet_screening", UPSTREAM_OLD_STYLE)
    manifest = load_manifest(resolve("finance/wallet_screening", [folder.parent.parent.resolve()]))
    assert (manifest.id, manifest.name, manifest.version) == ("finance/wallet_screening", "wallet_screening", "1.0.0")
    assert manifest.execution == "in_process"
    assert [(v.name, v.required) for v in manifest.env_vars] == [("ETHERSCAN_API_KEY", True),
                                                                 ("COINGECKO_API_KEY", False)]
    assert manifest.requirements == ("requests",)


def test_upstream_new_style_manifest_with_issuer_outputs_presentation_has_no_problems(
    make_bundle: MakeBundle,
) -> None:
    assert problems_for(make_bundle, "compliance/pii_masker", UPSTREAM_NEW_STYLE) == []


def test_unknown_top_level_key_is_a_warning_not_an_error(make_bundle: MakeBundle) -> None:
    problems = problems_for(make_bundle, "utility/my-awesome-skill", """\
        name: "my-awesome-skill"
        version: "0.1.0"
        inputs:
          param1: {type: string}
        """)
    assert [(p.pointer, p.warning) for p in problems] == [("/inputs", True)]


def test_manifest_with_only_warnings_loads_and_keeps_them(make_bundle: MakeBundle) -> None:
    folder = make_bundle("utility/extra", "name: extra\nsomething_new: 1\n")
    manifest = load_manifest(resolve("utility/extra", [folder.parent.parent.resolve()]))
    assert [p.pointer for p in manifest.warnings] == ["/something_new"]


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ("volumes: ['/:/host']", "/container/volumes"),
        ("privileged: true", "/container/privileged"),
        ("network: host", "/container/network"),
        ("cap_add: [SYS_ADMIN]", "/container/cap_add"),
    ],
)
def test_dangerous_container_option_is_refused_with_its_pointer(
    make_bundle: MakeBundle, block: str, pointer: str
) -> None:
    manifest = f"name: box\nexecution: container\ncontainer:\n  image: alpine\n  {block}\n"
    assert only_error(make_bundle, "cat/box", manifest).pointer == pointer


def test_network_none_is_accepted(make_bundle: MakeBundle) -> None:
    manifest = "name: box\nexecution: container\ncontainer:\n  image: alpine\n  network: none\n"
    assert errors_for(make_bundle, "cat/box", manifest) == []


def test_full_container_block_is_accepted(make_bundle: MakeBundle) -> None:
    manifest = """\
        name: box
        execution: container
        container:
          image: localhost/skillware-python:3.11
          command: ["python3", "/opt/skillware/shim.py"]
          network: none
          egress: ["api.example.org:443"]
          memory: 256m
          cpus: 1
          pids: 64
          timeout: 30
          tmpfs: 64m
          reuse: false
          isolation: gvisor
        """
    assert problems_for(make_bundle, "cat/box", manifest) == []


def test_container_image_and_build_together_are_refused(make_bundle: MakeBundle) -> None:
    manifest = "name: box\ncontainer:\n  image: alpine\n  build: Dockerfile\n"
    assert only_error(make_bundle, "cat/box", manifest).pointer == "/container"


def test_container_build_outside_the_bundle_is_refused(make_bundle: MakeBundle) -> None:
    manifest = "name: box\ncontainer:\n  build: ../Dockerfile\n"
    assert only_error(make_bundle, "cat/box", manifest).pointer == "/container/build"


def test_unknown_execution_mode_is_refused(make_bundle: MakeBundle) -> None:
    error = only_error(make_bundle, "cat/x", "name: x\nexecution: sandbox\n")
    assert error.pointer == "/execution" and "in_process" in error.hint


def test_parameters_that_are_not_a_valid_schema_point_into_parameters(make_bundle: MakeBundle) -> None:
    manifest = "name: x\nparameters:\n  type: object\n  properties:\n    text: {type: strng}\n"
    error = only_error(make_bundle, "cat/x", manifest)
    assert error.pointer == "/parameters/properties/text/type"
    assert "not a valid JSON Schema" in error.message


def test_output_that_is_not_a_valid_schema_points_into_output(make_bundle: MakeBundle) -> None:
    error = only_error(make_bundle, "cat/x", "name: x\noutput:\n  minLength: -1\n")
    assert error.pointer == "/output/minLength"


def test_parameters_that_are_not_a_mapping_are_refused(make_bundle: MakeBundle) -> None:
    assert only_error(make_bundle, "cat/x", "name: x\nparameters: [text]\n").pointer == "/parameters"


def test_name_matching_neither_folder_nor_id_is_refused(make_bundle: MakeBundle) -> None:
    error = only_error(make_bundle, "cat/x", "name: other\n")
    assert error.pointer == "/name"
    assert "'cat/x'" in error.message


def test_name_with_another_category_is_refused(make_bundle: MakeBundle) -> None:
    assert only_error(make_bundle, "cat/x", "name: dog/x\n").pointer == "/name"


@pytest.mark.parametrize("name", ["x", "cat/x"])
def test_bare_name_and_full_id_both_match_the_bundle(make_bundle: MakeBundle, name: str) -> None:
    assert problems_for(make_bundle, "cat/x", f"name: {name}\n") == []


def test_missing_name_is_refused(make_bundle: MakeBundle) -> None:
    error = only_error(make_bundle, "cat/x", "version: 1.0.0\n")
    assert error.pointer == "/name" and error.hint


def test_requirement_that_is_not_pep_508_is_refused(make_bundle: MakeBundle) -> None:
    manifest = "name: x\nrequirements: [requests, 'not a requirement!!']\n"
    assert only_error(make_bundle, "cat/x", manifest).pointer == "/requirements/1"


def test_reserved_env_var_is_refused(make_bundle: MakeBundle) -> None:
    assert only_error(make_bundle, "cat/x", "name: x\nenv_vars:\n  PATH: {}\n").pointer == "/env_vars/PATH"


def test_manifest_that_is_not_a_mapping_is_refused(make_bundle: MakeBundle) -> None:
    error = only_error(make_bundle, "cat/x", "- name: x\n")
    assert error.pointer == "" and "mapping" in error.message


def test_date_like_version_is_kept_as_a_string(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x", "name: x\nversion: 2024-01-01\n")
    assert load_manifest(resolve("cat/x", [folder.parent.parent.resolve()])).version == "2024-01-01"


def test_every_problem_is_listed_not_just_the_first(make_bundle: MakeBundle) -> None:
    manifest = """\
        name: other
        version: [1]
        execution: sandbox
        parameters: {type: objekt}
        container: {privileged: true}
        """
    errors = errors_for(make_bundle, "cat/x", manifest)
    assert pointers(errors) == ["/container/privileged", "/execution", "/name", "/parameters/type", "/version"]
    assert all(e.hint for e in errors)


def test_load_manifest_raises_with_every_problem(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x", "name: other\nexecution: sandbox\nparameters: {type: objekt}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(resolve("cat/x", [folder.parent.parent.resolve()]))
    assert pointers(caught.value.problems) == ["/execution", "/name", "/parameters/type"]
    assert "(+2 more" in caught.value.one_line()
    assert caught.value.exit_code == 2


def test_problem_is_formatted_as_path_pointer_message_hint() -> None:
    problem = Problem("skills/a/b/manifest.yaml", "/container/volumes", "unknown field 'volumes'", "remove it")
    assert problem.format() == "skills/a/b/manifest.yaml: /container/volumes: unknown field 'volumes' (remove it)"


def test_editing_a_cached_manifest_validates_it_again(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x", "name: x\n")
    bundle = resolve("cat/x", [folder.parent.parent.resolve()])
    load_manifest(bundle)
    (folder / "manifest.yaml").write_text("name: x\nexecution: sandbox\n", encoding="utf-8")
    with pytest.raises(ManifestError):
        load_manifest(bundle)


def test_valid_manifest_is_cached_under_xdg_cache_home(make_bundle: MakeBundle) -> None:
    folder = make_bundle("cat/x", "name: x\n")
    load_manifest(resolve("cat/x", [folder.parent.parent.resolve()]))
    cached = list((Path(os.environ["XDG_CACHE_HOME"]) / "skillware" / "manifests").glob("*.json"))
    assert len(cached) == 1
    assert json.loads(cached[0].read_text(encoding="utf-8")) == {"name": "x"}


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_yaml_nan_and_infinity_are_refused_where_json_has_none(make_bundle: MakeBundle, value: str) -> None:
    manifest = f"name: box\nexecution: container\ncontainer:\n  timeout: {value}\n"
    problem = only_error(make_bundle, "cat/box", manifest)
    assert problem.pointer == "/container/timeout" and "is not a number JSON allows" in problem.message
    nested = f"name: box\nparameters: {{type: object, properties: {{n: {{maximum: {value}}}}}}}\n"
    assert only_error(make_bundle, "cat/nested", nested).pointer == "/parameters/properties/n/maximum"
