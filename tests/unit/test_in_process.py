"""In-process runs: each bundle imports its own helpers, gets only its declared env, and cannot hurt the host."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest

from skillware.api import run_skill
from skillware.core.base_skill import BaseSkill
from skillware.errors import BadOutput, BundleError, RequirementsError, SkillRaised
from tests.bundles import skill_body

MakeBundle = Callable[..., Path]


def run(skills_root: Path, skill_id: str, params: Optional[Dict[str, Any]] = None,
        env: Optional[Dict[str, str]] = None) -> Any:
    return run_skill(skill_id, params or {}, skills_dirs=[str(skills_root)], env=env)


RETURNS_HELPER = """\
from helpers import answer
from skillware.core.base_skill import BaseSkill


class Skill(BaseSkill):
    def execute(self, params):
        return {"answer": answer()}
"""


# --- imports ----------------------------------------------------------------------------------


def test_skill_imports_a_sibling_helper_module(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 42\n"})
    assert run(skills_root, "cat/x") == {"answer": 42}


def test_skill_imports_a_sibling_with_a_relative_import(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = RETURNS_HELPER.replace("from helpers import", "from .helpers import")
    make_bundle("cat/x", skill=skill, files={"helpers.py": "def answer():\n    return 'relative'\n"})
    assert run(skills_root, "cat/x") == {"answer": "relative"}


def test_skill_imports_a_helper_package(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = RETURNS_HELPER.replace("from helpers import", "from lib.core import")
    make_bundle("cat/x", skill=skill, files={"lib/__init__.py": "", "lib/core.py": "def answer():\n    return 'pkg'\n"})
    assert run(skills_root, "cat/x") == {"answer": "pkg"}


def test_helper_imported_lazily_inside_execute_is_found(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = """\
        from skillware.core.base_skill import BaseSkill


        class Skill(BaseSkill):
            def execute(self, params):
                import helpers
                return helpers.answer()
        """
    make_bundle("cat/x", skill=skill, files={"helpers.py": "def answer():\n    return 'lazy'\n"})
    assert run(skills_root, "cat/x") == "lazy"
    assert run(skills_root, "cat/x") == "lazy"


def test_two_bundles_with_same_helper_and_class_names_do_not_collide(
    make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/a", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 'a'\n"})
    make_bundle("cat/b", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 'b'\n"})
    results = [run(skills_root, skill)["answer"] for skill in ("cat/a", "cat/b", "cat/a", "cat/b")]
    assert results == ["a", "b", "a", "b"]


def test_bundle_helpers_do_not_leak_into_sys_modules(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 1\n"})
    run(skills_root, "cat/x")
    assert "helpers" not in sys.modules
    assert str(skills_root / "cat" / "x") not in sys.path


def test_host_module_with_a_helper_name_is_restored_after_the_run(
    make_bundle: MakeBundle, skills_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_module = type(sys)("helpers")
    monkeypatch.setitem(sys.modules, "helpers", host_module)
    make_bundle("cat/x", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 'bundle'\n"})
    assert run(skills_root, "cat/x") == {"answer": "bundle"}
    assert sys.modules["helpers"] is host_module


def test_one_bundles_helper_is_not_visible_to_another_bundle(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/a", skill=RETURNS_HELPER, files={"helpers.py": "def answer():\n    return 'a'\n"})
    make_bundle("cat/b", skill=RETURNS_HELPER)  # imports helpers but ships none
    run(skills_root, "cat/a")
    with pytest.raises(RequirementsError, match="helpers"):
        run(skills_root, "cat/b")


def test_bundles_with_the_same_class_name_get_distinct_modules(make_bundle: MakeBundle, skills_root: Path) -> None:
    from skillware.api import load_skill

    make_bundle("cat/a")
    make_bundle("cat/b")
    a = load_skill("cat/a", skills_dirs=[str(skills_root)])
    b = load_skill("cat/b", skills_dirs=[str(skills_root)])
    assert a["class"].__name__ == b["class"].__name__ == "EchoSkill"
    assert a["class"] is not b["class"]
    assert a["module"].__name__ != b["module"].__name__


def test_skill_subclasses_the_public_base_skill(make_bundle: MakeBundle, skills_root: Path) -> None:
    from skillware.api import load_skill

    make_bundle("cat/x")
    assert issubclass(load_skill("cat/x", skills_dirs=[str(skills_root)])["class"], BaseSkill)


# --- config and credentials -------------------------------------------------------------------

RETURNS_CONFIG = """\
from skillware.core.base_skill import BaseSkill


class Skill(BaseSkill):
    def execute(self, params):
        return {"config": self.config, "key": self.credential("API_KEY")}
"""

DECLARES_API_KEY = """\
name: x
env_vars:
  API_KEY:
    description: a key
  OPTIONAL_THING:
    required: false
"""


def test_config_holds_only_declared_env_vars_the_caller_provides(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", DECLARES_API_KEY, skill=RETURNS_CONFIG)
    result = run(skills_root, "cat/x", env={"API_KEY": "k1", "UNDECLARED": "secret"})
    assert result == {"config": {"API_KEY": "k1"}, "key": "k1"}


def test_config_comes_from_the_process_environment_by_default(
    make_bundle: MakeBundle, skills_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "from-env")
    monkeypatch.setenv("UNDECLARED", "nope")
    make_bundle("cat/x", DECLARES_API_KEY, skill=RETURNS_CONFIG)
    assert run(skills_root, "cat/x")["config"] == {"API_KEY": "from-env"}


def test_missing_required_env_var_is_named(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nenv_vars:\n  API_KEY: {required: true}\n", skill=RETURNS_CONFIG)
    with pytest.raises(RequirementsError, match="API_KEY") as caught:
        run(skills_root, "cat/x", env={})
    assert caught.value.exit_code == 3


def test_credential_prefers_config_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "from-env")
    assert BaseSkill(config={"API_KEY": "from-config"}).credential("API_KEY") == "from-config"


def test_credential_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "from-env")
    assert BaseSkill(config={}).credential("API_KEY") == "from-env"


def test_credential_of_an_unset_key_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    assert BaseSkill().credential("API_KEY") is None


def test_skill_without_a_config_argument_still_gets_config(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = """\
        from skillware.core.base_skill import BaseSkill


        class Skill(BaseSkill):
            def __init__(self):
                super().__init__()

            def execute(self, params):
                return self.config
        """
    make_bundle("cat/x", DECLARES_API_KEY, skill=skill)
    assert run(skills_root, "cat/x", env={"API_KEY": "k"}) == {"API_KEY": "k"}


def test_skill_sees_its_own_manifest(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = """\
        from skillware.core.base_skill import BaseSkill


        class Skill(BaseSkill):
            def execute(self, params):
                return self.manifest["version"]
        """
    make_bundle("cat/x", "name: x\nversion: 3.2.1\n", skill=skill)
    assert run(skills_root, "cat/x") == "3.2.1"


# --- requirements -----------------------------------------------------------------------------


def test_missing_requirement_names_the_package_and_the_pip_command(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: [surely-not-installed-pkg-xyz>=1.0, click]\n")
    with pytest.raises(RequirementsError) as caught:
        run(skills_root, "cat/x")
    error = caught.value
    assert "surely-not-installed-pkg-xyz" in error.message and "click" not in error.message
    assert "pip install 'surely-not-installed-pkg-xyz>=1.0'" in error.hint
    assert error.exit_code == 3


def test_requirements_are_checked_before_skill_py_is_imported(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: [surely-not-installed-pkg-xyz]\n",
                skill="raise RuntimeError('imported')\n")
    with pytest.raises(RequirementsError):
        run(skills_root, "cat/x")


def test_installed_version_outside_the_specifier_is_missing(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: ['click<1']\n")
    with pytest.raises(RequirementsError, match="click<1"):
        run(skills_root, "cat/x")


def test_requirement_for_another_platform_is_skipped(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", "name: x\nrequirements: ['surely-not-installed-pkg-xyz; python_version < \"3\"', PyYAML]\n")
    assert run(skills_root, "cat/x", {"ok": 1}) == {"ok": 1}


def test_import_of_an_uninstalled_module_is_a_requirements_error(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill="import surely_not_installed_mod_xyz\n")
    with pytest.raises(RequirementsError, match="surely_not_installed_mod_xyz") as caught:
        run(skills_root, "cat/x")
    assert "pip install" in caught.value.hint


# --- failures stay in the skill -----------------------------------------------------------------


def test_skill_exception_becomes_skill_raised_with_exit_1(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("raise ValueError('bad input\\nsecond line')"))
    with pytest.raises(SkillRaised) as caught:
        run(skills_root, "cat/x")
    assert caught.value.exit_code == 1
    assert "ValueError" in caught.value.message and "bad input" in caught.value.message
    assert "\n" not in caught.value.one_line()


def test_system_exit_inside_execute_does_not_end_the_host(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=skill_body("sys.exit(7)"))
    with pytest.raises(SkillRaised, match="SystemExit"):
        run(skills_root, "cat/x")


def test_system_exit_while_importing_skill_py_does_not_end_the_host(
    make_bundle: MakeBundle, skills_root: Path
) -> None:
    make_bundle("cat/x", skill="import sys\nsys.exit(7)\n")
    with pytest.raises(SkillRaised, match="SystemExit"):
        run(skills_root, "cat/x")


def test_exception_while_importing_skill_py_is_skill_raised(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill="raise RuntimeError('at import')\n")
    with pytest.raises(SkillRaised, match="at import"):
        run(skills_root, "cat/x")


def test_syntax_error_in_skill_py_names_the_line(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill="x = 1\ndef broken(:\n")
    with pytest.raises(BundleError, match="line 2"):
        run(skills_root, "cat/x")


def test_skill_py_without_a_skill_class_is_refused(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill="x = 1\n")
    with pytest.raises(BundleError, match="no subclass of BaseSkill"):
        run(skills_root, "cat/x")


def test_skill_py_with_two_skill_classes_is_refused(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = """\
        from skillware.core.base_skill import BaseSkill


        class One(BaseSkill):
            pass


        class Two(BaseSkill):
            pass
        """
    make_bundle("cat/x", skill=skill)
    with pytest.raises(BundleError, match="One, Two"):
        run(skills_root, "cat/x")


def test_a_base_class_and_its_subclass_count_as_one_skill(make_bundle: MakeBundle, skills_root: Path) -> None:
    skill = """\
        from skillware.core.base_skill import BaseSkill


        class Base(BaseSkill):
            def execute(self, params):
                return type(self).__name__


        class Leaf(Base):
            pass
        """
    make_bundle("cat/x", skill=skill)
    assert run(skills_root, "cat/x") == "Leaf"


def test_missing_skill_py_is_refused(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=None)
    with pytest.raises(BundleError, match="skill.py"):
        run(skills_root, "cat/x")


# --- results ----------------------------------------------------------------------------------


def returning(expression: str) -> str:
    return (
        "from skillware.core.base_skill import BaseSkill\n\n\n"
        "class Skill(BaseSkill):\n"
        "    def execute(self, params):\n"
        f"        return {expression}\n"
    )


@pytest.mark.parametrize("expression", ["object()", "{'when': __import__('datetime').date(2024, 1, 1)}",
                                        "float('nan')", "{1j: 2}"])
def test_result_that_is_not_json_serialisable_is_bad_output(
    make_bundle: MakeBundle, skills_root: Path, expression: str
) -> None:
    make_bundle("cat/x", skill=returning(expression))
    with pytest.raises(BadOutput) as caught:
        run(skills_root, "cat/x")
    assert caught.value.exit_code == 9


def test_result_that_violates_output_is_bad_output(make_bundle: MakeBundle, skills_root: Path) -> None:
    manifest = "name: x\noutput:\n  type: object\n  required: [count]\n  properties:\n    count: {type: integer}\n"
    make_bundle("cat/x", manifest, skill=returning("{'count': 'many'}"))
    with pytest.raises(BadOutput, match="/count") as caught:
        run(skills_root, "cat/x")
    assert caught.value.exit_code == 9


def test_result_that_satisfies_output_is_returned_as_plain_json(make_bundle: MakeBundle, skills_root: Path) -> None:
    manifest = "name: x\noutput:\n  type: object\n  properties:\n    items: {type: array}\n"
    make_bundle("cat/x", manifest, skill=returning("{'items': (1, 2)}"))
    assert run(skills_root, "cat/x") == {"items": [1, 2]}


ASYNC_SKILL = """\
import asyncio

from skillware.core.base_skill import BaseSkill


class Skill(BaseSkill):
    async def aexecute(self, params):
        await asyncio.sleep(0)
        return {"async": params["n"] * 2}
"""


def test_skill_with_only_aexecute_runs(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=ASYNC_SKILL)
    assert run(skills_root, "cat/x", {"n": 21}) == {"async": 42}


def test_async_skill_runs_when_called_from_a_running_event_loop(make_bundle: MakeBundle, skills_root: Path) -> None:
    make_bundle("cat/x", skill=ASYNC_SKILL)

    async def caller() -> Any:
        return run(skills_root, "cat/x", {"n": 1})

    assert asyncio.run(caller()) == {"async": 2}


def test_skill_without_execute_is_skill_raised(make_bundle: MakeBundle, skills_root: Path) -> None:
    no_execute = "from skillware.core.base_skill import BaseSkill\n\n\nclass Skill(BaseSkill):\n    pass\n"
    make_bundle("cat/x", skill=no_execute)
    with pytest.raises(SkillRaised, match="NotImplementedError"):
        run(skills_root, "cat/x")
