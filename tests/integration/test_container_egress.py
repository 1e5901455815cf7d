"""Egress through the per-run proxy, on every engine. Loopback only: the servers below listen on
127.0.0.1 of the host, and an explicit test policy allows `localhost:PORT` with private egress.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from tests.integration.test_container_faults import one_line, write_bundle
from tests.loopback import hello_server

pytestmark = pytest.mark.container

# Requests from inside the container, through HTTP_PROXY (urllib) or by hand through CONNECT.
SKILL = """\
import json, os, socket, urllib.error, urllib.request
from skillware.core.base_skill import BaseSkill


def connect_echo(target, text):
    proxy = os.environ["HTTPS_PROXY"].rsplit(":", 1)
    with socket.create_connection(("127.0.0.1", int(proxy[1])), timeout=10) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\\r\\nHost: {target}\\r\\n\\r\\n".encode())
        head = b""
        while b"\\r\\n\\r\\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        status, _, rest = head.partition(b"\\r\\n\\r\\n")
        if not status.startswith(b"HTTP/1.1 200"):
            return "refused: " + (status + b" " + rest).decode(errors="replace")
        sock.sendall(text.encode())
        return "echo: " + sock.recv(4096).decode()


def socks_echo(target, text):
    # A raw TCP client through ALL_PROXY (socks5h://): no HTTP anywhere.
    proxy = os.environ["ALL_PROXY"]
    assert proxy.startswith("socks5h://"), proxy
    host, port = target.rsplit(":", 1)
    with socket.create_connection(("127.0.0.1", int(proxy.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(b"\\x05\\x01\\x00")
        if sock.recv(2) != b"\\x05\\x00":
            return "refused: greeting"
        name = host.encode()
        sock.sendall(bytes([5, 1, 0, 3, len(name)]) + name + int(port).to_bytes(2, "big"))
        reply = sock.recv(10)
        if reply[1] != 0:
            return f"refused: socks reply {reply[1]}"
        sock.sendall(text.encode())
        return "echo: " + sock.recv(4096).decode()


class NetSkill(BaseSkill):
    def execute(self, params):
        out = {}
        for step in params["steps"]:
            kind, arg = step
            try:
                if kind == "get":
                    out[arg] = "ok: " + urllib.request.urlopen(arg, timeout=10).read().decode()
                elif kind == "get_direct":
                    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                    out[arg] = "ok: " + opener.open(arg, timeout=5).read().decode()
                elif kind == "tcp_direct":
                    host, port = arg.rsplit(":", 1)
                    socket.create_connection((host, int(port)), timeout=5).close()
                    out[arg] = "ok: connected"
                elif kind == "connect":
                    out[arg] = connect_echo(arg, "ping")
                elif kind == "socks":
                    out[arg] = socks_echo(arg, "ping")
                elif kind == "env":
                    out[arg] = os.environ.get(arg)
            except urllib.error.HTTPError as exc:
                out[arg] = f"http {exc.code}: {exc.read().decode()}"
            except Exception as exc:
                out[arg] = f"error {type(exc).__name__}: {exc}"
        return out
"""


@pytest.fixture
def web() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1."""
    yield from hello_server()


@pytest.fixture
def echo() -> Iterator[int]:
    """A raw TCP echo server on the host's 127.0.0.1 (what a TLS server looks like to the proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(4096)
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EgressRun:
    """Writes the bundle and the policy where the target's user can read them, with a private TMPDIR
    (where the proxy's directory goes) and audit log, so a run's leftovers can be checked exactly."""

    def __init__(self, target: Any, tmp_path: Path) -> None:
        self.target = target
        self.tmp_path = tmp_path
        if target.user:
            # Rootless podman keeps its run directory under TMPDIR when there is no XDG_RUNTIME_DIR:
            # leave TMPDIR alone and look for new proxy directories in /tmp instead.
            self.tmpdir = Path("/tmp")
            self.env: Dict[str, str] = {}
            self.log = Path(f"/home/{target.user}") / f".skillware-egress-test-{uuid.uuid4().hex[:12]}.jsonl"
        else:
            self.tmpdir = tmp_path / "tmpdir"
            self.tmpdir.mkdir()
            self.env = {"TMPDIR": str(self.tmpdir)}
            self.log = tmp_path / "audit.jsonl"

    def run(self, egress: List[str], steps: List[List[str]], *, allowed: Optional[List[str]] = None,
            private: bool = True, extra: tuple[str, ...] = ()) -> Any:
        folder, policy = self._bundle_and_policy(egress, allowed, private)
        return self._cli(["run", *self.target.extra_args, "--policy", str(policy), *extra, str(folder),
                          "--params", json.dumps({"steps": steps})])

    def audit_probe(self, egress: List[str]) -> Any:
        folder, policy = self._bundle_and_policy(egress, None, True)
        return self._cli(["audit", "--probe", "--format", "json", "--policy", str(policy), str(folder)])

    def _cli(self, args: List[str]) -> Any:
        before = self._proxy_dirs()
        done = self.target.cli(args, env=self.env)
        assert self._proxy_dirs() - before == set(), "the proxy's directory was left behind"
        return done

    def _bundle_and_policy(self, egress: List[str], allowed: Optional[List[str]], private: bool) -> tuple[Path, Path]:
        name = f"net/t{uuid.uuid4().hex[:8]}"
        manifest = f"execution: container\ncontainer: {{egress: {json.dumps(egress)}, timeout: 60}}\n"
        folder = self.target.place_bundle(write_bundle(self.tmp_path, name, manifest, {"skill.py": SKILL}))
        policy_dir = self.tmp_path / "policies" / uuid.uuid4().hex[:8]
        policy_dir.mkdir(parents=True)
        (policy_dir / "policy.yaml").write_text(json.dumps({
            "allowed_egress": egress if allowed is None else allowed, "allow_private_egress": private,
            "audit_log": str(self.log)}))
        return folder, self.target.place_bundle(policy_dir) / "policy.yaml"

    def _proxy_dirs(self) -> set[Path]:
        return set(self.tmpdir.glob("skillware-egress-*"))

    def records(self) -> List[Dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def close(self) -> None:
        self.log.unlink(missing_ok=True)


@pytest.fixture
def egress(target: Any, tmp_path: Path) -> Iterator[EgressRun]:
    run = EgressRun(target, tmp_path)
    yield run
    run.close()


def result(done: Any) -> Dict[str, str]:
    assert done.returncode == 0, done.stderr
    value: Dict[str, str] = json.loads(done.stdout)
    return value


def test_allowed_host_is_reached_over_plain_http(egress, web):
    url = f"http://localhost:{web}/hi"
    out = result(egress.run([f"localhost:{web}"], [["get", url], ["env", "HTTP_PROXY"]]))
    assert out[url] == "ok: hello /hi"
    assert out["HTTP_PROXY"].startswith("http://127.0.0.1:")


def test_allowed_port_is_reached_through_connect(egress, echo):
    out = result(egress.run([f"localhost:{echo}"], [["connect", f"localhost:{echo}"]]))
    assert out[f"localhost:{echo}"] == "echo: ping"


def test_port_not_on_the_list_is_refused_with_403_naming_it(egress, web, echo):
    other = f"http://localhost:{echo}/"
    out = result(egress.run([f"localhost:{web}"], [["get", other], ["connect", f"localhost:{echo}"]]))
    assert out[other].startswith("http 403:") and f"localhost:{echo}" in out[other]
    assert "not on the skill's egress allow-list" in out[other]
    assert out[f"localhost:{echo}"].startswith("refused: HTTP/1.1 403")


def test_ip_literal_is_refused(egress, web):
    url = f"http://127.0.0.1:{web}/"
    out = result(egress.run([f"localhost:{web}"], [["get", url], ["connect", f"127.0.0.1:{web}"]]))
    assert out[url].startswith("http 403:") and "IP literals" in out[url]
    assert "IP literals" in out[f"127.0.0.1:{web}"]


def test_private_destination_is_refused_without_the_policy_opt_in(egress, web):
    url = f"http://localhost:{web}/"
    out = result(egress.run([f"localhost:{web}"], [["get", url]], private=False))
    assert out[url].startswith("http 403:") and "loopback" in out[url] and "allow_private_egress" in out[url]


def test_a_client_that_ignores_the_proxy_has_no_route(egress, web):
    url = f"http://localhost:{web}/"
    out = result(egress.run([f"localhost:{web}"], [["get_direct", url], ["tcp_direct", f"127.0.0.1:{web}"]]))
    # Refused on the container's own loopback, or no address to use at all (docker, ::1 first).
    assert out[url].startswith("error URLError"), out[url]
    assert out[f"127.0.0.1:{web}"].startswith("error ConnectionRefusedError")


def test_host_not_allowed_by_the_policy_is_refused_before_the_run(egress, web):
    done = egress.run([f"localhost:{web}"], [["get", f"http://localhost:{web}/"]], allowed=["localhost:1"])
    assert done.returncode == 4
    assert f"localhost:{web}" in one_line(done.stderr)


def test_decisions_are_logged_and_shown_with_verbose(egress, web, free_port):
    allowed_url, denied = f"http://localhost:{web}/a", f"http://localhost:{free_port}/"
    done = egress.run([f"localhost:{web}"], [["get", allowed_url], ["get", denied]], extra=("--verbose",))
    out = result(done)
    assert out[allowed_url] == "ok: hello /a"
    assert f"skillware: egress allowed: localhost:{web}" in done.stderr
    assert f"skillware: egress denied: localhost:{free_port}" in done.stderr
    record = egress.records()[-1]
    allowed = [e for e in record["egress"] if e["allowed"]]
    assert [(e["host"], e["port"]) for e in allowed] == [("localhost", web)] and allowed[0]["bytes"] > 0
    assert any(e["port"] == free_port and not e["allowed"] for e in record["egress"])
    assert any("egress: localhost" in d for d in record["decisions"])


def test_dry_run_shows_the_socket_mount_and_creates_nothing(egress, web):
    done = egress.run([f"localhost:{web}"], [], extra=("--dry-run",))
    assert done.returncode == 0, done.stderr
    assert "destination=/run/skillware-egress,readonly" in done.stdout
    assert "--network none" in done.stdout


def test_proxy_crash_ends_the_run_with_a_clear_error(target, tmp_path, web, monkeypatch):
    """In process (the proxy must be reachable from the test): rootful targets only."""
    if target.user is not None:
        pytest.skip("the crash is injected into the proxy's thread, which needs the run in this process; "
                    "the rootless target runs skillware as another user")
    from skillware.bundle import Bundle
    from skillware.errors import EgressProxyError
    from skillware.manifest import load_manifest
    from skillware.policy import Policy
    from skillware.runners import egress_proxy
    from skillware.runners.container import run_in_container

    original = egress_proxy.EgressProxy._serve

    def serve_then_crash(self: Any, client: Any) -> None:
        original(self, client)
        listener = self._listener
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)  # the accept loop fails: the proxy is gone

    monkeypatch.setattr(egress_proxy.EgressProxy, "_serve", serve_then_crash)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    # The skill keeps asking: the second request finds no proxy and the run is ended.
    skill = SKILL + "\nimport time\n_execute = NetSkill.execute\nNetSkill.execute = lambda self, p: " \
        "(_execute(self, p), time.sleep(50))[0]\n"
    folder = write_bundle(tmp_path / "skills", "net/crash", "execution: container\ncontainer: "
                          f"{{egress: ['localhost:{web}'], timeout: 60}}\n", {"skill.py": skill})
    bundle = Bundle(id="net/crash", path=folder, root=tmp_path / "skills")
    policy = Policy(engine=target.engine, allowed_egress=(f"localhost:{web}",), allow_private_egress=True,
                    allow_unenforced_limits=not target.limits_enforced)
    with pytest.raises(EgressProxyError) as caught:
        run_in_container(bundle, load_manifest(bundle), {"steps": [["get", f"http://localhost:{web}/"]]},
                         policy=policy, env={})
    assert "egress proxy stopped" in caught.value.message and "run ended" in caught.value.message
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("skillware-egress-")]
    listed = target.engine_cmd(["ps", "-a", "--filter", "label=io.skillware.skill=net/crash", "--format",
                                "{{.Names}}"])
    assert listed.stdout.strip() == ""


def test_raw_tcp_reaches_an_allowed_port_through_socks5(egress, echo):
    done = egress.run([f"localhost:{echo}"], [["socks", f"localhost:{echo}"], ["socks", f"localhost:{echo + 1}"]])
    out = result(done)
    assert out[f"localhost:{echo}"] == "echo: ping"
    assert out[f"localhost:{echo + 1}"] == "refused: socks reply 2"  # not allowed by ruleset


def test_audit_probe_proves_a_host_outside_the_list_is_refused_from_inside(egress, web):
    done = egress.audit_probe([f"localhost:{web}"])
    report = json.loads(done.stdout)
    checks = {f["id"]: f for f in report["findings"]}
    assert checks["probe.egress"]["status"] == "pass", checks["probe.egress"]
    assert "403" in checks["probe.egress"]["message"]
    assert checks["probe.sockets"]["status"] == "pass"  # the run's own egress socket is expected
    assert checks["probe.network"]["status"] == "pass"
