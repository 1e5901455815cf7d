"""BaseSkill: the class every Python skill subclasses (upstream-compatible import path).

This file is also mounted read-only into containers at
/opt/skillware/skillware/core/base_skill.py, so it must stay standard-library only.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Optional


class SkillwareParamValidationError(ValueError):
    """Raised by validate_params when params do not satisfy the manifest `parameters` schema."""


class BaseSkill:
    """The foundation of a skill: subclasses implement `execute(params)` (or `aexecute`)."""

    # Set by the loader (in process) or the shim (in a container) on the instance, so that
    # skills which do not define `manifest` themselves still see their own manifest.
    _skillware_manifest: Optional[Dict[str, Any]] = None

    def __init__(
        self,
        config: Optional[Dict[str, Any]] = None,
        credential_fn: Optional[Callable[[str], Optional[str]]] = None,
        **kwargs: Any,
    ) -> None:
        self.config: Dict[str, Any] = dict(config or {})
        self._credential_fn = credential_fn

    def credential(self, key: str) -> Optional[str]:
        """Return the value of a declared env var: config first, then credential_fn, then os.environ."""
        for source in (self.config.get(key), self._call_credential_fn(key), os.environ.get(key)):
            if source is not None:
                text = str(source).strip()
                if text:
                    return text
        return None

    def _call_credential_fn(self, key: str) -> Optional[str]:
        return self._credential_fn(key) if self._credential_fn is not None else None

    @property
    def manifest(self) -> Dict[str, Any]:
        """The skill's manifest as a dict (skills may override this, as upstream ones do)."""
        return dict(self._skillware_manifest or {})

    @staticmethod
    def load_manifest_from_dir(directory: str) -> Dict[str, Any]:
        """Read `manifest.yaml` from a bundle folder.

        Inside a container PyYAML may be absent; the shim then provides the host-parsed
        manifest through SKILLWARE_MANIFEST_JSON.
        """
        preparsed = os.environ.get("SKILLWARE_MANIFEST_JSON")
        if preparsed:
            value = json.loads(preparsed)
            return value if isinstance(value, dict) else {}
        import yaml  # deferred: only in-process skills reach this, and the host has PyYAML

        with open(os.path.join(directory, "manifest.yaml"), encoding="utf-8") as handle:
            value = yaml.safe_load(handle)
        return value if isinstance(value, dict) else {}

    def execute(self, params: Dict[str, Any]) -> Any:
        """Run the skill; subclasses override this or `aexecute`."""
        if type(self).aexecute is not BaseSkill.aexecute:
            return _run_coroutine_sync(self.aexecute(params))
        raise NotImplementedError(f"{type(self).__name__} must implement execute() or aexecute()")

    async def aexecute(self, params: Dict[str, Any]) -> Any:
        """Async entry point; by default runs `execute` in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.execute, params)

    def validate_params(self, params: Dict[str, Any]) -> bool:
        """Check params against the manifest's `parameters` schema; raise SkillwareParamValidationError."""
        schema = self.manifest.get("parameters")
        if not isinstance(schema, dict) or not schema:
            return True
        name = self.manifest.get("name", type(self).__name__)
        if not isinstance(params, dict):
            raise SkillwareParamValidationError(
                f"Skill '{name}' expects parameters as a JSON object, got {type(params).__name__}."
            )
        try:
            import jsonschema
        except ImportError:  # inside a container: the host validated params before the run
            return True
        try:
            jsonschema.validate(instance=params, schema=schema)
        except jsonschema.ValidationError as exc:
            where = "/" + "/".join(str(part) for part in exc.absolute_path)
            raise SkillwareParamValidationError(
                f"Skill '{name}' parameter validation failed at '{where}': {exc.message}"
            ) from exc
        return True


def _run_coroutine_sync(coro: Any) -> Any:
    """Run a coroutine to completion even when called from inside a running event loop."""
    # asyncio costs ~15 ms to import; most skills are synchronous and never pay it.
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coro).result()
