"""The SOCKS5 side of the egress proxy (RFC 1928, CONNECT only, no authentication), for
non-HTTP TCP clients. The same allow-list and address checks apply as for HTTP CONNECT."""

from __future__ import annotations

import ipaddress
import socket
import struct
from typing import Tuple

VERSION = 5
# Reply codes: the reason itself is in the run's audit record; SOCKS has only these numbers.
SUCCEEDED, GENERAL_FAILURE, NOT_ALLOWED, HOST_UNREACHABLE, REFUSED = 0, 1, 2, 4, 5
COMMAND_NOT_SUPPORTED, ADDRESS_TYPE_NOT_SUPPORTED = 7, 8


class SocksError(Exception):
    """The request cannot be served; `code` is the SOCKS reply to send."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _recv_exact(client: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            raise OSError("the client closed the connection")
        data += chunk
    return data


def read_request(client: socket.socket) -> Tuple[str, int]:
    """Do the greeting and read a CONNECT request; return (host, port) as the client named them.

    An IPv4/IPv6 address instead of a name is returned as its text, so the caller's checks
    (which refuse IP literals) decide about it like about any other destination.
    """
    version, count = _recv_exact(client, 2)
    methods = _recv_exact(client, count)
    if version != VERSION or 0 not in methods:
        client.sendall(bytes([VERSION, 0xFF]))  # "no acceptable methods"
        raise SocksError(GENERAL_FAILURE, "SOCKS5 without the no-authentication method")
    client.sendall(bytes([VERSION, 0]))
    version, command, _, address_type = _recv_exact(client, 4)
    if version != VERSION:
        raise SocksError(GENERAL_FAILURE, "not a SOCKS5 request")
    if address_type == 1:
        host = str(ipaddress.IPv4Address(_recv_exact(client, 4)))
    elif address_type == 4:
        host = str(ipaddress.IPv6Address(_recv_exact(client, 16)))
    elif address_type == 3:
        length = _recv_exact(client, 1)[0]
        try:
            host = _recv_exact(client, length).decode("ascii")  # IDNA names arrive as punycode
        except UnicodeDecodeError:
            raise SocksError(GENERAL_FAILURE, "the host name is not ASCII (send it IDNA-encoded)") from None
    else:
        raise SocksError(ADDRESS_TYPE_NOT_SUPPORTED, f"SOCKS address type {address_type} is not supported")
    (port,) = struct.unpack("!H", _recv_exact(client, 2))
    if command != 1:
        raise SocksError(COMMAND_NOT_SUPPORTED, "only SOCKS CONNECT is supported (no BIND, no UDP)")
    return host, port


def reply(code: int) -> bytes:
    """A reply with an unspecified bound address (clients do not need ours)."""
    return bytes([VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0])
