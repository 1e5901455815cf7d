"""The exact bytes a cold run writes to the container's stdin, and the shim's envelope."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # a cold run imports this module; typing costs ~2 ms
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional, Sequence

# The host contract's version; shim.CONTRACT_VERSION must equal it (tests/unit/test_argv.py checks),
# kept here so a cold run need not import the shim module.
CONTRACT_VERSION = "1"


def payload(manifest_raw: Mapping[str, Any], granted: Sequence[str], envelope: bool, env_lines: bool,
            params: Dict[str, Any], env: Optional[Mapping[str, str]]) -> bytes:
    """Params (in the shim's envelope, or bare for a custom command), after any NAME=BASE64 lines."""
    values = granted_values(granted, env)
    document = shim_envelope(manifest_raw, values, params) if envelope else params
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    if not env_lines:
        return body
    import base64

    lines = [f"{name}={base64.b64encode(value.encode()).decode()}\n".encode() for name, value in values.items()]
    return b"".join(lines) + b"\n" + body


def granted_values(granted: Sequence[str], env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The values of the granted env vars, from `env` (default: this process's)."""
    source = os.environ if env is None else env
    return {name: source[name] for name in granted if name in source}


def shim_envelope(manifest_raw: Mapping[str, Any], env_values: Mapping[str, str],
                  params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The shim's stdin envelope; without params it is a warm worker's set-up line."""
    document = {"skillware": CONTRACT_VERSION, "manifest": dict(manifest_raw), "env": dict(env_values)}
    if params is not None:
        document["params"] = params
    return document
