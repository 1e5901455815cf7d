"""Hostile: look for a way out of `--network none` (interfaces, host loopback, bridge addresses, DNS)."""

import socket

from skillware.core.base_skill import BaseSkill


def _connect(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return "connected"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


class NetProbe(BaseSkill):
    def execute(self, params):
        with open("/proc/net/dev", encoding="ascii") as handle:
            proc_net_dev = sorted(line.split(":")[0].strip() for line in handle.readlines()[2:] if ":" in line)
        # Positive control: the container's own loopback works, so a failure below is the sandbox.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        own_loopback = _connect("127.0.0.1", listener.getsockname()[1])
        listener.close()
        resolved = {}
        for name in params["names"]:
            try:
                resolved[name] = sorted({info[4][0] for info in socket.getaddrinfo(name, 80)})
            except OSError as exc:
                resolved[name] = f"{type(exc).__name__}: {exc}"
        return {
            "if_nameindex": sorted(name for _, name in socket.if_nameindex()),
            "proc_net_dev": proc_net_dev,
            "own_loopback": own_loopback,
            "connect": {host: _connect(host, params["port"]) for host in params["hosts"]},
            "resolve": resolved,
        }
