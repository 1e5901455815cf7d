"""Servers on the host's 127.0.0.1 for egress tests (loopback only, never any other address)."""

from __future__ import annotations

import http.server
import threading
from typing import Iterator


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def hello_server() -> Iterator[int]:
    """Yield the port of an HTTP server answering `hello PATH`; stop it afterwards."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
