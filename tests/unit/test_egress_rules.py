"""Egress allow-lists and the per-run proxy, without containers (loopback only)."""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from skillware.audit_static import egress_findings, trace_argv
from skillware.egress import address_refusal, allowed_by, is_broad, is_ip_literal, parse_pattern, pattern_problem
from skillware.errors import EgressProxyError, ManifestError, PolicyError
from skillware.policy import Policy
from skillware.policy_file import PolicyFileError, policy_from_file
from skillware.runners.egress_proxy import EgressProxy, start_proxy
from tests.loopback import hello_server
from tests.unit.test_argv import argv_for, make_bundle

LOCAL = Policy(allowed_egress=("localhost:8080", "*.example.com:443"), allow_private_egress=True)


# --- patterns ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.2.3.4:80", "127.1:80", "0x7f000001:80", "10.0.0.1:443", "*.1.2.3:80"])
def test_ip_literals_are_not_patterns(text):
    assert "IP address" in (pattern_problem(text) or "")


@pytest.mark.parametrize("text", ["api.example.com", "api.example.com:0", "api.example.com:65536",
                                  "api.example.com:*", "a..b:80", "*:443", "-a.com:80", "a.*.com:80"])
def test_malformed_patterns_are_refused(text):
    assert pattern_problem(text)


def test_ipv6_literal_is_an_ip_literal():
    assert is_ip_literal("[::1]") and is_ip_literal("fd00:ec2::254") and not is_ip_literal("localhost")


def test_exact_pattern_matches_only_its_host_and_port():
    pattern = parse_pattern("API.Example.com:443")
    assert pattern.matches("api.example.com", 443) and pattern.matches("api.example.com.", 443)
    assert not pattern.matches("api.example.com", 80)
    assert not pattern.matches("x.api.example.com", 443)
    assert not pattern.matches("api.example.com.evil.net", 443)


def test_suffix_pattern_matches_names_strictly_below_it():
    pattern = parse_pattern("*.example.com:443")
    assert pattern.matches("a.example.com", 443) and pattern.matches("a.b.example.com", 443)
    assert not pattern.matches("example.com", 443)
    assert not pattern.matches("badexample.com", 443)


def test_policy_patterns_cover_manifest_entries():
    policy = [parse_pattern("*.example.com:443"), parse_pattern("localhost:8080")]
    assert allowed_by(parse_pattern("api.example.com:443"), policy)
    assert allowed_by(parse_pattern("*.api.example.com:443"), policy)
    assert allowed_by(parse_pattern("*.example.com:443"), policy)
    assert allowed_by(parse_pattern("localhost:8080"), policy)
    assert not allowed_by(parse_pattern("example.com:443"), policy)
    assert not allowed_by(parse_pattern("api.example.com:80"), policy)
    assert not allowed_by(parse_pattern("*.localhost:8080"), policy)


@pytest.mark.parametrize("text,broad", [("*.com:443", True), ("*.co.uk:443", True), ("*.example.com:443", False),
                                        ("com:443", False), ("api.example.com:443", False)])
def test_broad_wildcards_are_recognised(text, broad):
    assert is_broad(parse_pattern(text)) is broad


# --- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("address,word", [("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
                                          ("172.16.0.1", "private"), ("192.168.1.1", "private"),
                                          ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
                                          ("100.64.0.1", "carrier-grade NAT"), ("fc00::1", "private"),
                                          ("::ffff:127.0.0.1", "loopback")])
def test_non_global_addresses_are_refused_by_default(address, word):
    refusal = address_refusal(ipaddress.ip_address(address), allow_private=False)
    assert refusal and word in refusal


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_with_private_allowed(address):
    assert "metadata" in (address_refusal(ipaddress.ip_address(address), allow_private=True) or "")


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "240.0.0.1", "::"])
def test_non_unicast_addresses_are_always_refused(address):
    assert address_refusal(ipaddress.ip_address(address), allow_private=True)


def test_private_addresses_pass_with_the_opt_in_and_global_ones_always():
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert address_refusal(ipaddress.ip_address("93.184.216.34"), allow_private=False) is None


# --- manifest, policy, plan, audit ---------------------------------------------------------------


def test_manifest_with_an_ip_literal_is_invalid(tmp_path):
    with pytest.raises(ManifestError) as caught:
        make_bundle(tmp_path, 'container: {egress: ["10.0.0.1:443"]}')
    assert "/container/egress/0" in str(caught.value) and "IP address" in str(caught.value)


def test_policy_file_reads_the_egress_fields(tmp_path):
    file = tmp_path / "policy.yaml"
    file.write_text('allowed_egress: ["api.example.com:443"]\nallow_private_egress: true\n')
    policy = policy_from_file(file)
    assert policy.allowed_egress == ("api.example.com:443",) and policy.allow_private_egress


def test_policy_file_refuses_an_ip_literal(tmp_path):
    file = tmp_path / "policy.yaml"
    file.write_text('allowed_egress: ["127.0.0.1:80"]\n')
    with pytest.raises(PolicyFileError, match="allowed_egress/0"):
        policy_from_file(file)


def test_default_policy_allows_no_egress():
    assert Policy().allowed_egress == () and not Policy().allow_private_egress


def test_host_not_allowed_by_policy_is_refused_before_the_run(tmp_path):
    with pytest.raises(PolicyError) as caught:
        argv_for(tmp_path, container='container: {egress: ["api.github.com:443"]}')
    assert "api.github.com:443" in caught.value.message and caught.value.exit_code == 4


def test_egress_adds_one_read_only_socket_mount_and_its_variable(tmp_path):
    argv, spec = argv_for(tmp_path, container='container: {egress: ["localhost:8080"]}', policy=LOCAL)
    assert spec.egress == ("localhost:8080",) and spec.allow_private_egress
    assert spec.egress_dir is not None and os.path.basename(spec.egress_dir).startswith("skillware-egress-")
    mount = f"type=bind,source={spec.egress_dir}/egress,destination=/run/skillware-egress,readonly"
    assert mount in argv
    assert "SKILLWARE_EGRESS=/run/skillware-egress/proxy.sock" in argv
    assert ["--network", "none"] == argv[argv.index("--network"):argv.index("--network") + 2]
    assert not os.path.exists(spec.egress_dir)  # planning creates nothing


def test_no_egress_means_no_mount_and_no_variable(tmp_path):
    argv, spec = argv_for(tmp_path)
    assert spec.egress_dir is None and not any("skillware-egress" in a for a in argv)


def test_audit_traces_the_egress_mount_to_sw22(tmp_path):
    argv, spec = argv_for(tmp_path, container='container: {egress: ["localhost:8080"]}', policy=LOCAL)
    bundle, manifest = make_bundle(tmp_path / "again", 'container: {egress: ["localhost:8080"]}')
    traces, findings = trace_argv(argv, spec, manifest, spec.mounts[0].source)
    assert any(t.checklist == "SW-22" and "/run/skillware-egress" in t.flag for t in traces)
    assert not [f for f in findings if f.status == "fail"], findings


def test_audit_lists_the_allow_list_and_flags_broad_and_refused_entries(tmp_path):
    _, manifest = make_bundle(tmp_path, 'container: {egress: ["*.com:443", "localhost:9999"]}')
    policy = Policy(allowed_egress=("*.com:443",), allow_private_egress=True)
    findings = {(f.id, f.status, f.message) for f in egress_findings(manifest, policy)}
    assert any(i == "network.egress" and "*.com:443, localhost:9999" in m for i, _, m in findings)
    assert any(i == "egress.broad" and s == "warn" and "*.com:443" in m for i, s, m in findings)
    assert any(i == "egress.policy" and s == "fail" and "localhost:9999" in m for i, s, m in findings)
    assert any(i == "egress.private" for i, _, _ in findings)


# --- the proxy -----------------------------------------------------------------------------------


@pytest.fixture
def web() -> Iterator[int]:
    yield from hello_server()


@pytest.fixture
def proxy_for(tmp_path) -> Iterator[object]:
    started: List[EgressProxy] = []

    def start(*patterns: str, allow_private: bool = True, **kw: int) -> EgressProxy:
        proxy = EgressProxy(str(tmp_path / f"egress-{len(started)}"), [parse_pattern(p) for p in patterns],
                            allow_private=allow_private, **kw)
        proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()


def ask(proxy: EgressProxy, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(proxy.socket_path)
        sock.sendall(request)
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_proxy_forwards_an_absolute_url_to_an_allowed_host(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    answer = ask(proxy, f"GET http://localhost:{web}/x?y=1 HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"hello /x?y=1")
    proxy.close()  # joins the connection threads: every byte count is final
    assert proxy.decisions[0].allowed and proxy.decisions[0].host == "localhost" and proxy.decisions[0].bytes > 0


def test_proxy_tunnels_connect_to_an_allowed_port(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(proxy.socket_path)
        sock.sendall(f"CONNECT localhost:{web} HTTP/1.1\r\n\r\n".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /tunnel HTTP/1.0\r\n\r\n")
        assert _read_all(sock).endswith(b"hello /tunnel")


@pytest.mark.parametrize("request_line,words", [
    ("CONNECT localhost:{other} HTTP/1.1", ["403", "localhost:{other}", "not on the skill's egress allow-list"]),
    ("CONNECT 127.0.0.1:{port} HTTP/1.1", ["403", "127.0.0.1:{port}", "IP literals"]),
    ("CONNECT [::1]:{port} HTTP/1.1", ["403", "IP literals"]),
    ("GET http://localhost:{other}/ HTTP/1.1", ["403", "localhost:{other}"]),
    ("GET https://localhost:{port}/ HTTP/1.1", ["405", "CONNECT"]),
    ("GET / HTTP/1.1", ["400"]),
    ("hello", ["400", "not an HTTP proxy request"]),
])
def test_proxy_refuses_with_a_reason_the_skill_can_read(proxy_for, web, request_line, words):
    proxy = proxy_for(f"localhost:{web}")
    line = request_line.format(port=web, other=web + 1)
    answer = ask(proxy, line.encode() + b"\r\nHost: x\r\n\r\n").decode()
    for word in words:
        assert word.format(port=web, other=web + 1) in answer
    assert not any(d.allowed for d in proxy.decisions)


def test_proxy_refuses_loopback_without_the_private_opt_in(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}", allow_private=False)
    answer = ask(proxy, f"CONNECT localhost:{web} HTTP/1.1\r\n\r\n".encode()).decode()
    assert answer.startswith("HTTP/1.1 403") and "loopback" in answer and "allow_private_egress" in answer


def test_proxy_directory_is_private_and_the_socket_reachable(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    mount_dir = os.path.dirname(proxy.socket_path)
    assert stat.S_IMODE(os.stat(proxy.parent_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(mount_dir).st_mode) == 0o711
    assert stat.S_IMODE(os.stat(proxy.socket_path).st_mode) == 0o666
    proxy.close()
    assert not os.path.exists(proxy.parent_dir)


def test_proxy_refuses_to_start_over_an_existing_path(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(EgressProxyError, match="cannot start the egress proxy"):
        start_proxy(str(tmp_path / "taken"), ["localhost:80"], True)
    assert (tmp_path / "taken").exists()  # not ours: left alone


def test_proxy_limits_concurrent_connections(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}", max_connections=2)
    held: List[socket.socket] = []
    for _ in range(2):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(proxy.socket_path)
        sock.sendall(f"CONNECT localhost:{web} HTTP/1.1\r\n\r\n".encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        held.append(sock)
    answer = ask(proxy, f"CONNECT localhost:{web} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 503") and b"connections" in answer
    for sock in held:
        sock.close()


def test_proxy_cuts_a_run_over_its_byte_limit(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}", max_bytes=100)
    answer = ask(proxy, f"GET http://localhost:{web}/{'a' * 300} HTTP/1.1\r\n\r\n".encode())
    assert not answer.startswith(b"HTTP/1.0 200")
    assert any("byte limit" in d.reason for d in proxy.decisions)


def test_proxy_failure_is_reported_once_and_close_still_cleans_up(tmp_path, web):
    failures: List[str] = []
    proxy = EgressProxy(str(tmp_path / "egress"), [parse_pattern(f"localhost:{web}")], allow_private=True,
                        on_failure=failures.append)
    proxy.start()
    listener = proxy._listener
    assert listener is not None
    listener.shutdown(socket.SHUT_RDWR)  # what a crash of the accept loop looks like
    assert proxy._thread is not None
    proxy._thread.join(timeout=5)
    assert failures and proxy.failure and "egress proxy stopped" in proxy.failure
    proxy.close()
    assert not (tmp_path / "egress").exists()


def decisions_of(proxy: EgressProxy) -> List[Tuple[str, bool]]:
    return [(d.host, d.allowed) for d in proxy.decisions]


def test_bytes_are_counted_per_connection(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    ask(proxy, f"GET http://localhost:{web}/one HTTP/1.1\r\n\r\n".encode())
    ask(proxy, f"GET http://localhost:{web}/two HTTP/1.1\r\n\r\n".encode())
    proxy.close()
    assert decisions_of(proxy) == [("localhost", True), ("localhost", True)]
    assert all(d.bytes > 0 for d in proxy.decisions)


def test_nothing_is_left_in_the_temporary_directory(tmp_path, web):
    proxy = start_proxy(str(tmp_path / "run"), [f"localhost:{web}"], True)
    ask(proxy, f"GET http://localhost:{web}/ HTTP/1.1\r\n\r\n".encode())
    proxy.close()
    assert list(Path(tmp_path).iterdir()) == []


def socks_connect(proxy: EgressProxy, host: bytes, port: int, address_type: int = 3) -> Tuple[socket.socket, bytes]:
    """Greet and send a SOCKS5 CONNECT; return the socket and the 10-byte reply."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(proxy.socket_path)
    sock.sendall(b"\x05\x01\x00")
    assert sock.recv(2) == b"\x05\x00"
    address = bytes([len(host)]) + host if address_type == 3 else host
    sock.sendall(bytes([5, 1, 0, address_type]) + address + port.to_bytes(2, "big"))
    reply = b""
    while len(reply) < 10:
        chunk = sock.recv(10 - len(reply))
        if not chunk:
            break
        reply += chunk
    return sock, reply


def test_socks5_connect_to_an_allowed_host_tunnels(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    sock, reply = socks_connect(proxy, b"localhost", web)
    with sock:
        assert reply[:2] == b"\x05\x00"
        sock.sendall(b"GET /socks HTTP/1.0\r\n\r\n")
        assert _read_all(sock).endswith(b"hello /socks")
    assert decisions_of(proxy)[0] == ("localhost", True)


def test_socks5_refuses_a_port_off_the_list_with_not_allowed(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    sock, reply = socks_connect(proxy, b"localhost", web + 1 if web < 65535 else web - 1)
    sock.close()
    assert reply[:2] == b"\x05\x02"
    assert decisions_of(proxy)[0][1] is False


def test_socks5_refuses_ip_addresses(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    sock, reply = socks_connect(proxy, bytes([127, 0, 0, 1]), web, address_type=1)
    sock.close()
    assert reply[:2] == b"\x05\x02"
    proxy.close()
    assert "IP literals" in proxy.decisions[0].reason


def test_socks5_refuses_loopback_without_the_private_opt_in(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}", allow_private=False)
    sock, reply = socks_connect(proxy, b"localhost", web)
    sock.close()
    assert reply[:2] == b"\x05\x02"


def test_socks5_bind_and_udp_are_not_supported(proxy_for, web):
    proxy = proxy_for(f"localhost:{web}")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(proxy.socket_path)
        sock.sendall(b"\x05\x01\x00")
        sock.recv(2)
        sock.sendall(bytes([5, 3, 0, 3, 9]) + b"localhost" + web.to_bytes(2, "big"))
        assert sock.recv(10)[:2] == b"\x05\x07"
