"""JSON Pointer (RFC 6901) helpers."""


def escape_pointer(token: str) -> str:
    """Escape one JSON Pointer reference token."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape_pointer(token: str) -> str:
    """Undo escape_pointer for one reference token."""
    return token.replace("~1", "/").replace("~0", "~")
