"""Property: any manifest built from valid field values validates cleanly, loads and runs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Dict

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from skillware.api import run_skill
from skillware.bundle import resolve, skill_roots
from skillware.core.loader import SkillLoader
from skillware.manifest import RESERVED_ENV, validate_bundle
from skillware.schema_check import load_schema

SKILL = """\
from skillware.core.base_skill import BaseSkill


class PropertySkill(BaseSkill):
    def execute(self, params):
        return {"ok": True}
"""

PART = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
JSON_TYPES = ["string", "integer", "number", "boolean", "array", "object", "null"]
SAMPLE_VALUE: Dict[str, Any] = {"string": "s", "integer": 1, "number": 1.5, "boolean": True, "array": [],
                                "object": {}, "null": None}
ENV_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(lambda n: not RESERVED_ENV.match(n))
KNOWN_KEYS = set(load_schema("manifest.schema.json")["properties"])
UNKNOWN_KEY = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True).filter(lambda k: k not in KNOWN_KEYS)
INSTALLED_REQUIREMENTS = ["click", "PyYAML>=5", "pyyaml", "jsonschema >= 4.0", "click[extra]",
                          'surely-not-installed-pkg-xyz; python_version < "3"']


@st.composite
def parameter_schemas(draw: st.DrawFn) -> Dict[str, Any]:
    properties = draw(st.dictionaries(TEXT, st.fixed_dictionaries(
        {"type": st.sampled_from(JSON_TYPES)}, optional={"description": TEXT}), max_size=4))
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    if properties:
        schema["required"] = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


@st.composite
def manifests(draw: st.DrawFn) -> tuple[str, Dict[str, Any]]:
    category, name = draw(PART), draw(PART)
    skill_id = f"{category}/{name}"
    manifest: Dict[str, Any] = {"name": draw(st.sampled_from([name, skill_id]))}
    optional = {
        "version": st.one_of(st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
                             st.integers(0, 1000), st.floats(0, 1000)),
        "description": TEXT,
        "short_description": TEXT,
        "category": st.sampled_from([category]) | PART,
        "issuer": st.fixed_dictionaries({}, optional={k: TEXT for k in ("name", "email", "github", "org")}),
        "parameters": parameter_schemas(),
        "output": st.sampled_from([True, {"type": "object"},
                                   {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}]),
        "outputs": st.dictionaries(PART, st.fixed_dictionaries({"type": st.sampled_from(JSON_TYPES),
                                                                "description": TEXT}), max_size=3),
        "env_vars": st.dictionaries(ENV_NAME, st.one_of(st.none(), st.fixed_dictionaries(
            {}, optional={"description": TEXT, "required": st.booleans()})), max_size=3),
        "requirements": st.lists(st.sampled_from(INSTALLED_REQUIREMENTS), max_size=3),
        "constitution": st.one_of(TEXT, st.lists(TEXT, max_size=3)),
        "presentation": st.fixed_dictionaries({}, optional={"icon": TEXT, "color": TEXT}),
        "execution": st.just("in_process"),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            manifest[key] = draw(strategy)
    for key in draw(st.lists(UNKNOWN_KEY, max_size=2, unique=True)):
        manifest[key] = draw(TEXT)
    return skill_id, manifest


def params_for(manifest: Dict[str, Any]) -> Dict[str, Any]:
    schema = manifest.get("parameters") or {}
    props = schema.get("properties", {})
    return {key: SAMPLE_VALUE[props[key]["type"]] for key in schema.get("required", [])}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_any_manifest_the_schema_accepts_validates_loads_and_runs(generated: tuple[str, Dict[str, Any]]) -> None:
    skill_id, manifest = generated
    assert Draft202012Validator(load_schema("manifest.schema.json")).is_valid(manifest)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / skill_id
        folder.mkdir(parents=True)
        # allow_unicode=False: PyYAML writes NEL/LS/PS raw otherwise, and YAML reads them as line breaks
        (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=False, sort_keys=False),
                                              encoding="utf-8")
        (folder / "skill.py").write_text(SKILL, encoding="utf-8")

        problems = validate_bundle(resolve(skill_id, skill_roots([tmp], env={})))
        assert [p.format() for p in problems if not p.warning] == []

        env = {var: "value" for var in manifest.get("env_vars", {})}
        assert run_skill(skill_id, params_for(manifest), skills_dirs=[tmp], env=env) == {"ok": True}
        loaded = SkillLoader.load_skill(skill_id, skills_dirs=[tmp])
        assert loaded["registry_id"] == skill_id
        assert loaded["class"].__name__ == "PropertySkill"
