"""Bounds for YAML files a stranger may have written; a module of their own so that checking
a file's size never has to import PyYAML."""

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64
