"""The per-run egress proxy: an HTTP and SOCKS5 proxy on a Unix socket, for one container run only.

The container keeps `--network none`; its only way out is this socket, bind-mounted read-only
into it (connecting to a socket needs write permission on the socket, not on the mount). The
proxy allows `CONNECT host:port`, absolute-URI HTTP requests and SOCKS5 CONNECT (told apart by
the first byte) to the run's allow-list; it
resolves names itself, refuses non-global addresses (unless the policy allows private egress)
and connects to exactly the address it checked. Everything else gets `403` with a text body
saying why. It lives in threads of the skillware process and is always closed with the run.

Socket reachability: the parent directory is 0700 (no other host user can reach the socket),
the bind-mounted directory inside it 0711 and the socket 0666, so the container's random uid
(an "other" to the host, rootful or rootless) can connect, and nothing else on the host can.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Sequence

from ..egress import EgressPattern, IPAddress, address_refusal, first_match, is_ip_literal
from . import socks5
from .http_proxy_request import HEADER_TIMEOUT, Denied, destination, parse_head, read_head, response

SOCKET_NAME = "proxy.sock"
MOUNT_DIR_NAME = "egress"
MAX_CONNECTIONS = 32
MAX_BYTES = 64 * 1024 * 1024
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class EgressDecision:
    """One request the proxy decided on (the audit log's `egress` entries)."""

    host: str
    port: int
    allowed: bool
    reason: str
    address: Optional[str] = None
    bytes: int = 0

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "allowed": self.allowed, "reason": self.reason,
                "address": self.address, "bytes": self.bytes}

    def describe(self, closed: bool = False) -> str:
        verdict = "closed" if closed else "allowed" if self.allowed else "denied"
        via = f" via {self.address}" if self.address else ""
        detail = f"{self.bytes:,} bytes" if closed else self.reason
        return f"egress {verdict}: {self.host}:{self.port}{via} ({detail})"


class EgressProxy:
    """Start with `start()`, always `close()`; `failure` says why it stopped on its own."""

    def __init__(self, parent_dir: str, patterns: Sequence[EgressPattern], *, allow_private: bool = False,
                 on_decision: Optional[Callable[[EgressDecision, bool], None]] = None,
                 on_failure: Optional[Callable[[str], None]] = None, max_connections: int = MAX_CONNECTIONS,
                 max_bytes: int = MAX_BYTES) -> None:
        self.parent_dir = parent_dir
        self.socket_path = os.path.join(parent_dir, MOUNT_DIR_NAME, SOCKET_NAME)
        self.patterns = tuple(patterns)
        self.allow_private = allow_private
        self.decisions: List[EgressDecision] = []
        self.failure: Optional[str] = None
        self._on_decision = on_decision
        self._on_failure = on_failure
        self._slots = threading.BoundedSemaphore(max_connections)
        self._max_connections = max_connections
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._listener: Optional[socket.socket] = None
        self._open: set[socket.socket] = set()
        self._thread: Optional[threading.Thread] = None
        self._workers: List[threading.Thread] = []

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Create the private directory and the socket, and start accepting. Raises OSError."""
        os.mkdir(self.parent_dir, 0o700)  # fails if anything (a symlink too) already has the name
        try:
            mount_dir = os.path.dirname(self.socket_path)
            os.mkdir(mount_dir, 0o700)
            os.chmod(mount_dir, 0o711)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener = listener
            # Bound through /proc/self/fd: a socket path may be at most 107 bytes, a TMPDIR may be longer.
            fd = os.open(mount_dir, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                listener.bind(f"/proc/self/fd/{fd}/{SOCKET_NAME}")
            finally:
                os.close(fd)
            os.chmod(self.socket_path, 0o666)
            listener.listen(64)
            self._thread = threading.Thread(target=self._accept_loop, name="skillware-egress", daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop accepting, cut every connection, remove the directory. Safe to call twice."""
        self._closing.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the loop
            listener.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            workers = list(self._workers)
        deadline = time.monotonic() + 2  # let cut connections record their byte counts
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        shutil.rmtree(self.parent_dir, ignore_errors=True)

    def _accept_loop(self) -> None:
        try:
            while not self._closing.is_set():
                listener = self._listener
                if listener is None:
                    return
                client, _ = listener.accept()
                worker = threading.Thread(target=self._serve, args=(client,), daemon=True)
                with self._lock:
                    self._workers = [w for w in self._workers if w.is_alive()] + [worker]
                worker.start()
        except BaseException as exc:  # noqa: B036 - whatever stops the loop must end the run
            if not self._closing.is_set():
                self.failure = f"the egress proxy stopped: {exc or type(exc).__name__}"
                if self._on_failure is not None:
                    self._on_failure(self.failure)

    def _refuse_busy(self, client: socket.socket) -> None:
        reason = f"more than {self._max_connections} connections at once"
        with contextlib.suppress(OSError, Denied):
            client.settimeout(1)
            read_head(client)  # closing with the request unread would reset the connection
        with contextlib.suppress(OSError):
            client.sendall(response(503, f"skillware egress: refused: {reason}\n"))
        client.close()
        self._decide(EgressDecision("-", 0, False, reason))

    # --- one connection ----------------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(client)
            return
        upstream: Optional[socket.socket] = None
        self._track(client)
        try:
            client.settimeout(HEADER_TIMEOUT)
            socks = client.recv(1, socket.MSG_PEEK) == bytes([socks5.VERSION])
            if socks:
                host, port = socks5.read_request(client)
                rest, forward = b"", None
            else:
                head, rest = read_head(client)
                method, target, version, headers = parse_head(head)
                host, port, forward = destination(method, target, version, headers)
            decision_host = f"{host}:{port}"
            try:
                address = self._check(host, port)
                upstream = socket.create_connection((str(address), port), timeout=CONNECT_TIMEOUT)
            except Denied as denied:
                self._decide(EgressDecision(host, port, False, denied.reason))
                with contextlib.suppress(OSError):
                    client.sendall(socks5.reply(socks5.NOT_ALLOWED if denied.status == 403 else
                                                socks5.HOST_UNREACHABLE) if socks else
                                   response(denied.status, f"skillware egress: {decision_host} denied: "
                                                            f"{denied.reason}\n"))
                return
            except OSError as exc:
                reason = f"cannot connect: {exc.strerror or exc}"
                self._decide(EgressDecision(host, port, False, reason, str(address)))
                with contextlib.suppress(OSError):
                    client.sendall(socks5.reply(socks5.REFUSED) if socks else
                                   response(502, f"skillware egress: {decision_host}: {reason}\n"))
                return
            self._track(upstream)
            index = self._decide(EgressDecision(host, port, True, "on the allow-list", str(address)))
            if socks:
                client.sendall(socks5.reply(socks5.SUCCEEDED))
            elif forward is None:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(forward)
            if rest:
                upstream.sendall(rest)
            moved = self._relay(client, upstream) + len(rest) + len(forward or b"")
            with self._lock:
                self.decisions[index] = replace(self.decisions[index], bytes=moved)
            self._notify(self.decisions[index], closed=True)
        except socks5.SocksError as refused:
            self._decide(EgressDecision("-", 0, False, refused.reason))
            with contextlib.suppress(OSError):
                client.sendall(socks5.reply(refused.code))
        except Denied as denied:
            self._decide(EgressDecision("-", 0, False, denied.reason))
            with contextlib.suppress(OSError):
                client.sendall(response(denied.status, f"skillware egress: denied: {denied.reason}\n"))
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    self._untrack(sock)
                    sock.close()
            self._slots.release()

    def _check(self, host: str, port: int) -> IPAddress:
        """The address to connect to, or Denied with the reason."""
        if is_ip_literal(host):
            raise Denied(403, "IP literals are never allowed; use a host name on the allow-list")
        if first_match(host, port, self.patterns) is None:
            raise Denied(403, "not on the skill's egress allow-list")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise Denied(502, f"cannot resolve the name: {exc.strerror or exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise Denied(502, "the name has no address")
        for address in addresses:  # one bad address refuses the name (no DNS-rebinding games)
            refusal = address_refusal(address, self.allow_private)
            if refusal:
                raise Denied(403, refusal)
        return addresses[0]

    def _relay(self, client: socket.socket, upstream: socket.socket) -> int:
        """Copy both ways until both sides finish; return the bytes moved (capped per run)."""
        moved = [0]

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while True:
                    chunk = source.recv(65536)
                    if not chunk:
                        break
                    if not self._spend(len(chunk)):
                        self._decide(EgressDecision("-", 0, False, f"the run's egress byte limit "
                                                                   f"({self._max_bytes:,}) was reached"))
                        for sock in (source, sink):
                            with contextlib.suppress(OSError):
                                sock.shutdown(socket.SHUT_RDWR)
                        return
                    sink.sendall(chunk)
                    moved[0] += len(chunk)
            except OSError:
                pass
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

        client.settimeout(None)
        upstream.settimeout(None)
        other = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        other.start()
        pump(client, upstream)
        other.join()
        return moved[0]

    def _spend(self, count: int) -> bool:
        with self._lock:
            if self._bytes + count > self._max_bytes:
                return False
            self._bytes += count
            return True

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _decide(self, decision: EgressDecision) -> int:
        with self._lock:
            self.decisions.append(decision)
            index = len(self.decisions) - 1
        self._notify(decision, closed=False)
        return index

    def _notify(self, decision: EgressDecision, closed: bool) -> None:
        if self._on_decision is not None:
            with contextlib.suppress(Exception):
                self._on_decision(decision, closed)


def start_proxy(parent_dir: str, egress: Sequence[str], allow_private: bool, *,
                on_decision: Optional[Callable[[EgressDecision, bool], None]] = None,
                on_failure: Optional[Callable[[str], None]] = None) -> EgressProxy:
    """Start the proxy for one run, or raise EgressProxyError (the skill must then not run)."""
    from ..egress import parse_pattern
    from ..errors import EgressProxyError

    proxy = EgressProxy(parent_dir, [parse_pattern(e) for e in egress], allow_private=allow_private,
                        on_decision=on_decision, on_failure=on_failure)
    try:
        proxy.start()
    except OSError as exc:
        raise EgressProxyError(f"cannot start the egress proxy at {proxy.socket_path}: {exc.strerror or exc}; "
                               "the skill was not run", "check that the temporary directory is writable") from None
    return proxy
