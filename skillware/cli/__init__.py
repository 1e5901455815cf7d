"""The `skillware` command: a click group whose commands live one per module."""

from __future__ import annotations

from .main import cli, main

__all__ = ["cli", "main"]
