"""Upstream-compatible import paths: skillware.core.base_skill and skillware.core.loader."""
