"""HTTP forward-proxy requests as the egress proxy reads them: the head, the destination, the
request to forward, and the refusal a client can read."""

from __future__ import annotations

import socket
import time
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from ..egress import normalise_host

MAX_HEADER = 64 * 1024
HEADER_TIMEOUT = 30.0
_HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


class Denied(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def response(status: int, body: str) -> bytes:
    """A refusal whose reason is in the body and in the status line (clients that tunnel with
    CONNECT, like urllib, show only the status line)."""
    reason = "".join(c if " " <= c < "\x7f" else "?" for c in body.strip())[:300]
    data = body.encode("utf-8", "replace")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nX-Skillware-Egress: denied\r\nConnection: close\r\n\r\n").encode() + data


def read_head(client: socket.socket) -> Tuple[bytes, bytes]:
    """The request head (up to the blank line) and whatever came after it."""
    data = b""
    deadline = time.monotonic() + HEADER_TIMEOUT
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEADER or time.monotonic() > deadline:
            raise Denied(400, "the request head is too large or too slow")
        chunk = client.recv(65536)
        if not chunk:
            raise OSError("the client closed the connection")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def parse_head(head: bytes) -> Tuple[str, str, str, List[Tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise Denied(400, "not an HTTP proxy request (use CONNECT host:port or an absolute http:// URL)")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise Denied(400, "a malformed header line")
        headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], parts[2], headers


def destination(method: str, target: str, version: str, headers: List[Tuple[bytes, bytes]]
                 ) -> Tuple[str, int, Optional[bytes]]:
    """(host, port, bytes to send upstream first); None for CONNECT (a tunnel, nothing to rewrite)."""
    if method == "CONNECT":
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit():
            raise Denied(400, f"CONNECT needs host:port, got {target[:200]!r}")
        return _host(host), int(port), None
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise Denied(405 if url.scheme else 400, "only CONNECT and absolute http:// URLs are proxied "
                      "(https goes through CONNECT)")
    try:
        url_port = url.port or 80
    except ValueError:
        raise Denied(400, "the URL's port is not a number") from None
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    lines = [f"{method} {path} {version}".encode("latin-1")]
    lines += [name + b": " + value for name, value in headers if name.lower() not in _HOP_HEADERS]
    lines.append(b"Connection: close")  # one request per tunnel: the destination was checked once
    return _host(url.hostname), url_port, b"\r\n".join(lines) + b"\r\n\r\n"


def _host(text: str) -> str:
    host = normalise_host(text.strip("[]"))
    if not host or len(host) > 253:
        raise Denied(400, "no host name")
    return host
