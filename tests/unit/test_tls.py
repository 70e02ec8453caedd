"""Local HTTPS: generated CA, server certificate and bundle, verified by a real TLS handshake."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509

from callcard.tls import TlsFiles, ensure_certificates, system_ca_file


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello over tls"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[TlsFiles, int]]:
    files = ensure_certificates(tmp_path)
    port = free_port()
    config = uvicorn.Config(
        hello_app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(files.server_cert),
        ssl_keyfile=str(files.server_key),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield files, port
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_https_request_verified_with_bundle(https_server: tuple[TlsFiles, int], host: str) -> None:
    files, port = https_server
    ctx = ssl.create_default_context(cafile=str(files.bundle))
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    with urllib.request.urlopen(f"https://{host}:{port}/rest", context=ctx, timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"hello over tls"


def test_untrusted_without_the_local_ca(https_server: tuple[TlsFiles, int]) -> None:
    _, port = https_server
    system = system_ca_file()
    ctx = ssl.create_default_context(cafile=str(system) if system else None)
    with pytest.raises(urllib.error.URLError) as info:
        urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=ctx, timeout=5)
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)


def test_files_modes_names_and_bundle(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    assert files.ca_cert.parent == tmp_path / "tls"
    for key in (files.server_key, files.ca_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True

    bundle = files.bundle.read_bytes()
    assert bundle.endswith(files.ca_cert.read_bytes())
    system = system_ca_file()
    if system is not None:
        assert bundle.startswith(system.read_bytes().rstrip(b"\n"))
        assert bundle.count(b"BEGIN CERTIFICATE") == system.read_bytes().count(b"BEGIN CERTIFICATE") + 1
    assert files.client_env() == {"REQUESTS_CA_BUNDLE": str(files.bundle), "SSL_CERT_FILE": str(files.bundle)}


def test_second_call_reuses_files(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    paths = (first.ca_cert, first.ca_key, first.server_cert, first.server_key, first.bundle)
    before = {p: p.read_bytes() for p in paths}
    second = ensure_certificates(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in paths} == before


def test_missing_server_cert_or_new_name_reissues_with_same_ca(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    ca_before = files.ca_cert.read_bytes()
    old_server = files.server_cert.read_bytes()
    files.server_cert.unlink()
    ensure_certificates(tmp_path)
    assert files.server_cert.read_bytes() != old_server
    assert files.ca_cert.read_bytes() == ca_before

    ensure_certificates(tmp_path, extra_names=["192.168.1.5", "callcard.test"])
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) == ["127.0.0.1", "192.168.1.5"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "callcard.test"]
    assert files.ca_cert.read_bytes() == ca_before
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_before))
