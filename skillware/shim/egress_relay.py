"""The egress relay, run INSIDE the container (standard library only; mounted read-only at
/opt/skillware/egress_relay.py for runs with an egress allow-list): 127.0.0.1:PORT is relayed to
the run's proxy socket, and the proxy variables point there."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def start_egress_relay() -> Optional[int]:
    """With an egress socket (SKILLWARE_EGRESS), relay 127.0.0.1:PORT to it and point the proxy
    variables there; return the relay's pid. The container still has no network: the host's
    proxy behind the socket decides every connection; what ignores the variables has no route.
    """
    import socket

    path = os.environ.get("SKILLWARE_EGRESS")
    if not path:
        return None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(2, 1)  # never hold the result pipe open
            _relay(listener, path)
        finally:
            os._exit(0)
    listener.close()
    for name in _PROXY_VARS:
        # ALL_PROXY is for everything that is not HTTP: SOCKS5 with names resolved by the proxy.
        scheme = "socks5h" if name.lower() == "all_proxy" else "http"
        os.environ[name] = f"{scheme}://127.0.0.1:{port}"
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    return pid


def _relay(listener: Any, path: str) -> None:
    """One process, one select loop: each TCP client gets its own connection to the socket.

    Half-closes pass through (EOF from one side becomes shutdown(SHUT_WR) on the other once its
    buffer is written); a side stops being read while its peer has 1 MiB waiting.
    """
    import selectors
    import socket

    selector = selectors.DefaultSelector()
    peer: Dict[Any, Any] = {}
    out: Dict[Any, bytearray] = {}    # bytes waiting to be written to this socket
    ended: Dict[Any, bool] = {}       # this socket sent EOF
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ)

    def close_pair(sock: Any) -> None:
        for one in (sock, peer.get(sock)):
            if one is None or one not in peer:
                continue
            peer.pop(one)
            out.pop(one, None)
            ended.pop(one, None)
            try:
                selector.unregister(one)
            except (KeyError, ValueError):
                pass
            one.close()

    def rearm(sock: Any) -> None:
        events = selectors.EVENT_WRITE if out[sock] else 0
        if not ended[sock] and len(out[peer[sock]]) < (1 << 20):
            events |= selectors.EVENT_READ
        registered = sock in selector.get_map()
        if events and registered:
            selector.modify(sock, events)
        elif events:
            selector.register(sock, events)
        elif registered:
            selector.unregister(sock)

    while True:
        for key, mask in selector.select():
            sock: Any = key.fileobj
            if sock is listener:
                try:
                    client, _ = listener.accept()
                except OSError:
                    continue
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    upstream.connect(path)
                except OSError:
                    client.close()
                    upstream.close()
                    continue
                for one, other in ((client, upstream), (upstream, client)):
                    one.setblocking(False)
                    peer[one], out[one], ended[one] = other, bytearray(), False
                    selector.register(one, selectors.EVENT_READ)
                continue
            if sock not in peer:
                continue
            other = peer[sock]
            try:
                if mask & selectors.EVENT_WRITE and out[sock]:
                    del out[sock][:sock.send(out[sock])]
                    if not out[sock] and ended[other]:
                        sock.shutdown(socket.SHUT_WR)
                if mask & selectors.EVENT_READ:
                    chunk = sock.recv(65536)
                    if chunk:
                        out[other] += chunk
                    else:
                        ended[sock] = True
                        if not out[other]:
                            other.shutdown(socket.SHUT_WR)
                if ended[sock] and ended[other] and not out[sock] and not out[other]:
                    close_pair(sock)
                    continue
                rearm(sock)
                rearm(other)
            except OSError:
                close_pair(sock)
